"""What an audit looks at: principals with their policies, loose policies, and read errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tapgate.audit.policy import Policy

SubjectKind = Literal["user", "group", "role", "policy"]


@dataclass(frozen=True)
class Subject:
    """A principal (or, for a loose identity policy, "whoever it is attached to")."""

    name: str
    kind: SubjectKind
    source: str
    arn: str | None = None
    identity: tuple[Policy, ...] = ()
    trust: Policy | None = None
    boundary: Policy | None = None


@dataclass(frozen=True)
class ReadError:
    source: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class CredentialReportRow:
    user: str
    arn: str
    password_enabled: bool
    mfa_active: bool


@dataclass
class Inventory:
    subjects: list[Subject] = field(default_factory=list)
    loose_policies: list[Policy] = field(default_factory=list)  # trust/resource policies alone
    errors: list[ReadError] = field(default_factory=list)
    credential_report: list[CredentialReportRow] | None = None
    # What a tapgate broker in the input requires of each gated role's keys: role (logical
    # id in a template, else role name) -> its "assurance" (tapgate_contract.tags).
    role_assurance: dict[str, str] = field(default_factory=dict)

    def extend(self, other: Inventory) -> None:
        self.subjects.extend(other.subjects)
        self.loose_policies.extend(other.loose_policies)
        self.errors.extend(other.errors)
        self.role_assurance.update(other.role_assurance)
        if other.credential_report is not None:
            self.credential_report = [*(self.credential_report or []), *other.credential_report]

    def all_policies(self) -> list[Policy]:
        """Every distinct policy once (a managed policy attached to many principals too)."""
        seen: dict[int, Policy] = {}
        for subject in self.subjects:
            for policy in (*subject.identity, subject.trust, subject.boundary):
                if policy is not None:
                    seen.setdefault(id(policy), policy)
        for policy in self.loose_policies:
            seen.setdefault(id(policy), policy)
        return list(seen.values())
