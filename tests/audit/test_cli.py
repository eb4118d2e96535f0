"""`tapgate audit` through its public entry points: exit codes, formats, SARIF locations."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tapgate.audit import cli

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"

TRIGGER = str(CORPUS / "mfa002_trigger_deny_bool_false.json")
CLEAN = str(CORPUS / "mfa002_nearmiss_deny_boolifexists_false.json")
MALFORMED = str(CORPUS / "mfa000_trigger_malformed.json")


def run(argv: list[str]) -> int:
    return cli.main(argv)


def test_fail_on_sets_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([TRIGGER, "--fail-on", "high"]) == 1
    assert run([TRIGGER, "--fail-on", "critical"]) == 0
    assert run([CLEAN, "--fail-on", "info"]) == 0
    assert run([TRIGGER]) == 0  # no --fail-on: report only


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([TRIGGER, MALFORMED, "--format", "json"]) == 2  # one input could not be read
    captured = capsys.readouterr()
    assert captured.err == f"tapgate audit: not audited: {MALFORMED}:4: invalid JSON: " + (
        "Expecting ',' delimiter\n"
    )
    document = json.loads(captured.out)
    assert [f["checkId"] for f in document["findings"]] == ["MFA002", "MFA000"]
    assert document["findings"][0]["name"] == "deny-bool-false"
    assert document["summary"]["high"] == 1 and document["summary"]["medium"] == 1


def test_sarif_report_points_at_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([TRIGGER, "--format", "sarif"]) == 0
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert rule_ids == [f"MFA{i:03d}" for i in range(17)]
    (result,) = run_["results"]
    assert result["ruleId"] == "MFA002" and result["level"] == "error"
    assert rule_ids[result["ruleIndex"]] == "MFA002"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == TRIGGER
    line = location["region"]["startLine"]
    assert '"Sid": "DenyWithoutMfa"' in Path(TRIGGER).read_text().splitlines()[line]


def test_table_report_and_output_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.txt"
    assert run([CLEAN, "--output", str(out)]) == 0
    assert out.read_text() == "no findings\n"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        [str(CORPUS / "does-not-exist.json")],
        [TRIGGER, "--fail-on", "severe"],
        [TRIGGER, "--scp", MALFORMED],
        [TRIGGER, "--max-mfa-age", "0"],
    ],
)
def test_bad_usage_is_one_line_on_stderr_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapgate audit: ") and err.count("\n") == 1


def test_scp_option_changes_the_final_decision(capsys: pytest.CaptureFixture[str]) -> None:
    target = str(CORPUS / "mfa001_trigger_iam_without_mfa.json")
    guard = str(CORPUS / "mfa002_nearmiss_deny_boolifexists_false.json")
    assert run([target, "--fail-on", "high"]) == 1
    assert run([target, "--scp", guard, "--fail-on", "low"]) == 0


def test_add_parser_registers_the_audit_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tapgate")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["audit", TRIGGER, "--fail-on", "medium", "--format", "json"])
    assert args.func is cli.run
    assert args.func(args) == 1


def test_directory_audit_of_the_corpus_keeps_going_past_malformed_files() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tapgate.audit", str(CORPUS), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2, completed.stderr  # the malformed files were not audited
    assert "mfa000_trigger_malformed.json:4: invalid JSON" in completed.stderr
    found = json.loads(completed.stdout)["findings"]
    sources = {f["source"].rsplit("/", 1)[-1] for f in found}
    assert "mfa000_trigger_malformed.json" in sources
    assert "mfa012_trigger_account_can_pass_tapgate_tags.json" in sources


def test_sarif_locates_template_findings_on_the_statement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    template = CORPUS / "mfa013_trigger_boundary_allows_iam.template.json"
    assert run([str(template), "--format", "sarif"]) == 0
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"MFA013", "MFA015"}
    lines = template.read_text().splitlines()
    for result in results:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert lines[region["startLine"] - 1].strip() == "{"
        assert '"Sid": "IamAdmin"' in lines[region["startLine"]]


@pytest.mark.parametrize(
    ("folder", "reported"),
    [("asset.0123abcd", False), ("policies", True)],  # cdk.out's bundled code is not walked
)
def test_directory_walk_skips_bundled_assets(
    tmp_path: Path, folder: str, reported: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / folder / "data.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    assert run([str(tmp_path), "--format", "json"]) == (2 if reported else 0)
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [f["checkId"] for f in found] == (["MFA000"] if reported else [])


@pytest.mark.parametrize("fail_on", ["critical", "high", "info"])
def test_an_unread_input_fails_the_gate_whatever_fail_on_says(
    tmp_path: Path, fail_on: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = tmp_path / "notes.json"
    unknown.write_text('{"hello": "world"}')
    assert run([CLEAN, str(unknown), "--fail-on", fail_on]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tapgate audit: not audited: {unknown}:1: neither an IAM policy")


def test_a_byte_order_mark_is_not_content(tmp_path: Path) -> None:
    marked = tmp_path / "bom.json"
    marked.write_bytes(b"\xef\xbb\xbf" + Path(TRIGGER).read_bytes())
    assert run([str(marked), "--fail-on", "high"]) == 1  # read, and its MFA002 found
    assert run([TRIGGER, "--fail-on", "high"]) == 1
