"""IAM policy evaluation for one request: explicit deny beats allow; SCPs, permissions
boundaries and session policies must each allow; identity or resource policy grants.

How a resource (or trust) policy grants depends on how it names the caller, as in AWS's
"policy evaluation logic" for one account: naming the caller itself (its user or session ARN,
``*``, or a ``NotPrincipal`` that leaves it in) is enough alone, and a permissions boundary
does not limit it; naming the role of a role session is enough unless a boundary is given,
which must then allow; naming the account only delegates to the account, so the identity
policy must allow (and the boundary). A trust policy must always allow (a role cannot be
assumed on identity policy alone), and across accounts both sides must allow.

Left out, as the audit does not ask about them: RCPs, VPC endpoint policies, and the rule that
a resource policy naming a session ARN is not limited by that session's session policy.
Matching follows AWS: actions case-insensitive with wildcards, resources segment-wise by ARN
with wildcards and policy variables.
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
    resource_account: str | None = None  # None: the principal's own account

    @classmethod
    def make(
        cls,
        action: str,
        resource: str = "*",
        *,
        principal: str = "arn:aws:iam::111122223333:user/alice",
        context: Mapping[str, ContextValue | list[str]] | None = None,
        resource_account: str | None = None,
    ) -> Request:
        return cls(action, resource, principal, normalize_context(context or {}), resource_account)


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


GrantKind = Literal["caller", "role", "account"]
_GRANT_STRENGTH: dict[GrantKind, int] = {"account": 0, "role": 1, "caller": 2}


def grant_kind(statement: Statement, principal: str) -> GrantKind | None:
    """How a resource policy statement names ``principal`` (the strongest way, if several)."""
    if statement.principal is None:
        if statement.not_principal is None:
            return None
        return None if principal_matches(statement.not_principal, principal) else "caller"
    found: GrantKind | None = None
    for kind, values in statement.principal.items():
        for value in values:
            current: GrantKind | None = None
            if value in ("*", principal):
                current = "caller"
            elif kind == "AWS" and _session_role(principal) == value:
                current = "role"
            elif kind == "AWS" and principal_matches({kind: (value,)}, principal):
                current = "account"
            if current is not None and (
                found is None or _GRANT_STRENGTH[current] > _GRANT_STRENGTH[found]
            ):
                found = current
    return found


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


def _not_principal_denies(
    policies: Sequence[Policy], request: Request
) -> list[tuple[Policy, Statement]]:
    """A Deny with NotPrincipal in a resource policy denies every principal that has a
    permissions boundary, whatever NotPrincipal names (AWS: "NotPrincipal" key points)."""
    return [
        (policy, statement)
        for policy in policies
        for statement in policy.statements
        if statement.effect == "Deny"
        and statement.not_principal is not None
        and principal_matches(statement.not_principal, request.principal)
        and statement_applies(statement, request, check_principal=False)
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
        *(_not_principal_denies(resource_list, request) if boundaries else ()),
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
    within_boundaries = all(_matching([b], request, "Allow") for b in boundaries)
    same_account = (
        request.resource_account is None
        or _account_of(request.principal) == request.resource_account
    )
    if same_account:
        kinds = [(grant, grant_kind(grant[1], request.principal)) for grant in by_resource]
        alone = [grant for grant, kind in kinds if kind == "caller"]
        if not alone and within_boundaries:
            alone = [grant for grant, kind in kinds if kind == "role"]
        if alone:
            return Decision("Allowed", allowed_by=tuple(alone))
    if resource is not None and resource.kind == "trust" and not by_resource:
        return Decision("ImplicitlyDenied")  # identity policy alone never assumes a role
    if not same_account and not by_resource:
        return Decision("ImplicitlyDenied")  # across accounts, both sides must allow
    by_identity = _matching(identity, request, "Allow")
    if not by_identity or not within_boundaries:
        return Decision("ImplicitlyDenied")
    return Decision("Allowed", allowed_by=(*by_resource, *by_identity))
