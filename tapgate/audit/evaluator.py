"""IAM policy evaluation for one request: explicit deny beats allow; SCPs, permissions
boundaries and session policies must each allow; identity or resource policy grants.

The model is same-account and leaves out what the audit does not ask about (RCPs, VPC
endpoint policies, cross-account trust). Matching follows AWS: actions case-insensitive with
wildcards, resources segment-wise by ARN with wildcards and policy variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tapgate.audit.conditions import Context, ContextValue, _resolve, conditions_match, glob_regex
from tapgate.audit.policy import Policy, Statement

DecisionResult = Literal["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]


def normalize_context(context: Mapping[str, ContextValue | list[str]]) -> dict[str, ContextValue]:
    """Condition keys are case-insensitive: store them lower-cased, lists as tuples."""
    return {k.lower(): (v if isinstance(v, str) else tuple(v)) for k, v in context.items()}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    principal: str = "arn:aws:iam::111122223333:user/alice"
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        action: str,
        resource: str = "*",
        *,
        principal: str = "arn:aws:iam::111122223333:user/alice",
        context: Mapping[str, ContextValue | list[str]] | None = None,
    ) -> Request:
        return cls(action, resource, principal, normalize_context(context or {}))


@dataclass(frozen=True)
class Decision:
    result: DecisionResult
    allowed_by: tuple[tuple[Policy, Statement], ...] = ()
    denied_by: tuple[tuple[Policy, Statement], ...] = ()

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


def action_matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    return bool(glob_regex(pattern.lower()).fullmatch(action.lower()))


def resource_matches(pattern: str, resource: str, context: Context) -> bool:
    if pattern == "*":
        return True
    resolved = _resolve(pattern, context)
    if resolved is None:
        return False
    policy_parts = resolved.split(":", 5)
    request_parts = resource.split(":", 5)
    if len(policy_parts) != len(request_parts):
        return bool(glob_regex(resolved).fullmatch(resource))
    return all(glob_regex(p).fullmatch(r) for p, r in zip(policy_parts, request_parts, strict=True))


def _account_of(principal: str) -> str | None:
    parts = principal.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else None


def principal_matches(principal_block: Mapping[str, tuple[str, ...]], principal: str) -> bool:
    """Does a Principal element name the requesting principal?"""
    for kind, values in principal_block.items():
        for value in values:
            if value == "*":
                return True
            if kind == "AWS":
                if value.isdigit() or value.endswith(":root"):
                    account = value if value.isdigit() else _account_of(value)
                    if account is not None and _account_of(principal) == account:
                        return True
                elif value == principal or _session_role(principal) == value:
                    return True
            elif value == principal:
                return True
    return False


def _session_role(principal: str) -> str | None:
    """arn:aws:sts::A:assumed-role/R/S → arn:aws:iam::A:role/R (trust names the role)."""
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return None


def statement_applies(statement: Statement, request: Request, *, check_principal: bool) -> bool:
    if statement.actions is not None:
        if not any(action_matches(a, request.action) for a in statement.actions):
            return False
    elif statement.not_actions is not None and any(
        action_matches(a, request.action) for a in statement.not_actions
    ):
        return False
    if statement.resources is not None:
        if not any(
            resource_matches(r, request.resource, request.context) for r in statement.resources
        ):
            return False
    elif statement.not_resources is not None and any(
        resource_matches(r, request.resource, request.context) for r in statement.not_resources
    ):
        return False
    if check_principal:
        if statement.principal is not None and not principal_matches(
            statement.principal, request.principal
        ):
            return False
        if statement.not_principal is not None and principal_matches(
            statement.not_principal, request.principal
        ):
            return False
    return conditions_match(statement.conditions, request.context)


def _matching(
    policies: Sequence[Policy], request: Request, effect: str, *, check_principal: bool = False
) -> list[tuple[Policy, Statement]]:
    return [
        (policy, statement)
        for policy in policies
        for statement in policy.statements
        if statement.effect == effect
        and statement_applies(statement, request, check_principal=check_principal)
    ]


def evaluate(
    request: Request,
    *,
    identity: Sequence[Policy] = (),
    resource: Policy | None = None,
    boundaries: Sequence[Policy] = (),
    scps: Sequence[Sequence[Policy]] = (),
    session: Policy | None = None,
) -> Decision:
    """The decision for one request. `scps` is one sequence of policies per level of the
    organization (root first); each level must allow. An empty sequence means "not given"."""
    resource_list = [resource] if resource is not None else []
    denied = [
        *(d for level in scps for d in _matching(level, request, "Deny")),
        *_matching(resource_list, request, "Deny", check_principal=True),
        *_matching(boundaries, request, "Deny"),
        *_matching([session] if session else [], request, "Deny"),
        *_matching(identity, request, "Deny"),
    ]
    if denied:
        return Decision("ExplicitlyDenied", denied_by=tuple(denied))
    for level in scps:
        if not _matching(level, request, "Allow"):
            return Decision("ImplicitlyDenied")
    if session is not None and not _matching([session], request, "Allow"):
        return Decision("ImplicitlyDenied")
    by_resource = _matching(resource_list, request, "Allow", check_principal=True)
    if by_resource:
        return Decision("Allowed", allowed_by=tuple(by_resource))
    by_identity = _matching(identity, request, "Allow")
    if not by_identity:
        return Decision("ImplicitlyDenied")
    for boundary in boundaries:
        if not _matching([boundary], request, "Allow"):
            return Decision("ImplicitlyDenied")
    return Decision("Allowed", allowed_by=tuple(by_identity))
