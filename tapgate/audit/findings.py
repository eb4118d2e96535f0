"""What the audit reports: a finding with a stable check id, a severity and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


@dataclass(frozen=True)
class CheckInfo:
    check_id: str
    name: str
    severity: Severity  # the default; some findings raise or lower it
    fix: str


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: Severity
    message: str
    fix: str
    source: str  # file path, template path, or ARN of the policy
    subject: str = ""  # the principal or policy the finding is about
    statement: str = ""  # Sid or Statement[i]
    line: int | None = None

    def sort_key(self) -> tuple[int, str, str, int, str]:
        return (-self.severity, self.source, self.check_id, self.line or 0, self.message)
