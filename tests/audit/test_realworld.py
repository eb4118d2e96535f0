"""The real-world corpus: MFA policies nobody here wrote (AWS documentation, Terraform modules,
scanner test cases, CloudFormation samples), each with its source and the reasoning for its
expected result (realworld.json). No false negative, no false positive above low, every
finding names real actions, and the oracle agrees with every decision the reasoning rests on.
The session's precision and recall are printed at the end of the run (conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tapgate.audit.actions import load_catalog
from tapgate.audit.checks import run_checks
from tapgate.audit.loaders import load_file
from tests.audit import realworld
from tests.audit.test_differential import ours, run_oracle

MANIFEST = realworld.MANIFEST


def test_every_input_has_a_source_reasoning_and_expectation() -> None:
    on_disk = {p.name for p in realworld.CORPUS.iterdir()}
    assert on_disk == set(MANIFEST)
    for entry in MANIFEST.values():
        assert entry["source"].startswith("https://")
        assert len(entry["reasoning"]) > 80
        assert all(re.fullmatch(r"MFA0\d\d", c) for c in entry["expected"])


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_input_gets_exactly_its_expected_findings(name: str) -> None:
    assert sorted(realworld.found_checks(name)) == MANIFEST[name]["expected"]


def test_precision_and_recall_on_the_corpus() -> None:
    result = realworld.score()
    realworld.LAST = result
    assert (result.precision, result.recall) == (1.0, 1.0), result.line()


_ALLOWS = re.compile(r" allows (?:\d+ actions, e\.g\. )?(.*?) without MFA")


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_findings_name_real_actions(name: str) -> None:
    catalog = load_catalog()
    for finding in run_checks(load_file(realworld.CORPUS / name)):
        if finding.check_id in ("MFA001", "MFA013"):
            match = _ALLOWS.search(finding.message)
            assert match, finding.message
            named = [a.strip() for a in match.group(1).split(",")]
            assert named and all(catalog.index(a) is not None for a in named), named


def _oracle_case(entry_file: str, claim: dict[str, Any]) -> dict[str, Any]:
    document = load_file(realworld.CORPUS / entry_file)
    raw = json.loads((realworld.CORPUS / entry_file).read_text())
    case: dict[str, Any] = {
        "action": claim["action"],
        "resource": claim["resource"],
        "context": claim["context"],
        "principal": claim.get("principal", "arn:aws:iam::111122223333:user/alice"),
    }
    if document.loose_policies:  # a trust policy: the caller may call STS, as the audit assumes
        case["resourcePolicy"] = raw
        case["identity"] = [
            {"Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}
        ]
    else:
        case["identity"] = [raw]
    return case


CLAIMS = [(name, claim) for name, entry in sorted(MANIFEST.items()) for claim in entry["claims"]]


def test_the_oracle_agrees_with_every_claim(oracle_ready: Path) -> None:
    cases = [_oracle_case(name, claim) for name, claim in CLAIMS]
    answers = run_oracle(oracle_ready, cases)
    wrong = []
    for (name, claim), case, answer in zip(CLAIMS, cases, answers, strict=True):
        if "error" in answer or answer["ignored"]:
            wrong.append((name, claim, answer))
        elif not claim["decision"] == answer["decision"] == ours(case):
            wrong.append((name, claim, answer["decision"], ours(case)))
    assert len(CLAIMS) > 25
    assert not wrong, wrong
