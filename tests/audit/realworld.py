"""The real-world corpus (realworld/, described in realworld.json: each policy's public source,
the checks expected at medium or above, and why) and its scoring. A file's result is the set of
check ids the audit reports at medium or above; precision and recall count (file, check id)
pairs against the expected sets. `python -m tests.audit.realworld` prints the scores (it uses
only load_file and run_checks, so it also scores an older checkout for comparison)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "realworld"
MANIFEST: dict[str, dict[str, Any]] = json.loads((HERE / "realworld.json").read_text())
REPORTED = 2  # Severity.MEDIUM: low and info are advisories, not counted
LAST: Score | None = None  # the session's score, printed by conftest.py


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    files: int = 0

    def add(self, expected: set[str], found: set[str]) -> None:
        self.files += 1
        self.true_positives += len(expected & found)
        self.false_positives += len(found - expected)
        self.false_negatives += len(expected - found)

    @property
    def precision(self) -> float:
        reported = self.true_positives + self.false_positives
        return self.true_positives / reported if reported else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    def line(self) -> str:
        return (
            f"audit real-world corpus: {self.files} inputs, precision {self.precision:.0%}, "
            f"recall {self.recall:.0%} ({self.true_positives} found, "
            f"{self.false_positives} false alarms, {self.false_negatives} missed)"
        )


def found_checks(name: str) -> set[str]:
    from tapgate.audit.checks import run_checks  # noqa: PLC0415
    from tapgate.audit.loaders import load_file  # noqa: PLC0415

    findings = run_checks(load_file(CORPUS / name))
    return {f.check_id for f in findings if int(f.severity) >= REPORTED}


def score() -> Score:
    total = Score()
    for name, entry in sorted(MANIFEST.items()):
        total.add(set(entry["expected"]), found_checks(name))
    return total


if __name__ == "__main__":
    result = score()
    for name, entry in sorted(MANIFEST.items()):
        found, expected = found_checks(name), set(entry["expected"])
        if found != expected:
            print(f"{name}: expected {sorted(expected)}, found {sorted(found)}", file=sys.stderr)
    print(result.line())
