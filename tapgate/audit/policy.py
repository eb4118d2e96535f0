"""IAM policy documents parsed into frozen records the evaluator and the checks share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tapgate.audit.errors import PolicyFormatError

PolicyKind = Literal["identity", "trust", "resource", "boundary", "scp", "session"]

SET_OPERATORS = ("forallvalues", "foranyvalue")


@dataclass(frozen=True)
class Condition:
    """One (operator, key, values) triple of a statement's Condition block."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written; compare with key_lower
    values: tuple[str, ...]
    set_operator: str | None  # "forallvalues" | "foranyvalue" | None
    base: str  # lower-cased base operator without set prefix and IfExists: "stringequals"
    if_exists: bool

    @property
    def key_lower(self) -> str:
        return self.key.lower()


@dataclass(frozen=True)
class Statement:
    effect: Literal["Allow", "Deny"]
    index: int
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principal: Mapping[str, tuple[str, ...]] | None = None  # {"AWS": (...)}; "*" as {"*": ("*",)}
    not_principal: Mapping[str, tuple[str, ...]] | None = None
    conditions: tuple[Condition, ...] = ()
    line: int | None = None  # 1-based line in the source text, when known

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"Statement[{self.index}]"


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    name: str = "policy"
    kind: PolicyKind = "identity"
    source: str = ""  # file path, ARN, or template path + logical id
    extra: Mapping[str, Any] = field(default_factory=dict)


_BASE_OPERATORS = {
    "stringequals",
    "stringnotequals",
    "stringequalsignorecase",
    "stringnotequalsignorecase",
    "stringlike",
    "stringnotlike",
    "numericequals",
    "numericnotequals",
    "numericlessthan",
    "numericlessthanequals",
    "numericgreaterthan",
    "numericgreaterthanequals",
    "dateequals",
    "datenotequals",
    "datelessthan",
    "datelessthanequals",
    "dategreaterthan",
    "dategreaterthanequals",
    "bool",
    "binaryequals",
    "ipaddress",
    "notipaddress",
    "arnequals",
    "arnlike",
    "arnnotequals",
    "arnnotlike",
    "null",
}


def parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """Split "ForAllValues:StringLikeIfExists" into ("forallvalues", "stringlike", True)."""
    text = operator.strip()
    set_operator = None
    if ":" in text:
        prefix, _, text = text.partition(":")
        if prefix.lower() not in SET_OPERATORS:
            raise PolicyFormatError(f"unknown set operator {prefix!r} in {operator!r}")
        set_operator = prefix.lower()
    lowered = text.lower()
    if_exists = lowered.endswith("ifexists")
    base = lowered[: -len("ifexists")] if if_exists else lowered
    if base not in _BASE_OPERATORS:
        raise PolicyFormatError(f"unknown condition operator {operator!r}")
    if base == "null" and if_exists:
        raise PolicyFormatError("NullIfExists is not a valid condition operator")
    return set_operator, base, if_exists


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyFormatError(f"{what} must be a string or a non-empty list of strings")


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyFormatError(f"condition value for {where} must be a string, number or bool")
    if not out:
        raise PolicyFormatError(f"condition {where} has no values")
    return tuple(out)


def _principal(value: Any, what: str) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise PolicyFormatError(f'{what} must be "*" or an object such as {{"AWS": ...}}')
    return {str(k): _strings(v, f"{what}.{k}") for k, v in value.items()}


def parse_statement(raw: Any, index: int, *, line: int | None = None) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyFormatError(f"statement {index} must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyFormatError(
            f'statement {index}: Effect must be "Allow" or "Deny", got {effect!r}'
        )
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyFormatError(
            f"statement {index}: exactly one of Action or NotAction is required"
        )
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyFormatError(f"statement {index}: both Resource and NotResource")
    conditions: list[Condition] = []
    block = raw.get("Condition", {})
    if not isinstance(block, dict):
        raise PolicyFormatError(f"statement {index}: Condition must be an object")
    for operator, pairs in block.items():
        set_operator, base, if_exists = parse_operator(operator)
        if not isinstance(pairs, dict) or not pairs:
            raise PolicyFormatError(f"statement {index}: {operator} must map keys to values")
        for key, values in pairs.items():
            conditions.append(
                Condition(
                    operator=operator,
                    key=key,
                    values=_condition_values(values, f"{operator}/{key}"),
                    set_operator=set_operator,
                    base=base,
                    if_exists=if_exists,
                )
            )
    sid = raw.get("Sid")
    return Statement(
        effect=effect,
        index=index,
        sid=sid if isinstance(sid, str) and sid else None,
        actions=_strings(raw["Action"], "Action") if "Action" in raw else None,
        not_actions=_strings(raw["NotAction"], "NotAction") if "NotAction" in raw else None,
        resources=_strings(raw["Resource"], "Resource") if "Resource" in raw else None,
        not_resources=_strings(raw["NotResource"], "NotResource") if "NotResource" in raw else None,
        principal=_principal(raw["Principal"], "Principal") if "Principal" in raw else None,
        not_principal=_principal(raw["NotPrincipal"], "NotPrincipal")
        if "NotPrincipal" in raw
        else None,
        conditions=tuple(conditions),
        line=line,
    )


def parse_policy(
    document: Any,
    *,
    name: str = "policy",
    kind: PolicyKind | None = None,
    source: str = "",
    lines: tuple[int | None, ...] = (),
) -> Policy:
    """Parse a policy document (already JSON-decoded). `kind` is guessed when not given:
    statements with a Principal make a trust policy if they grant sts:*, else a resource policy.
    """
    if not isinstance(document, dict):
        raise PolicyFormatError("a policy document must be a JSON object")
    raw = document.get("Statement")
    if raw is None:
        raise PolicyFormatError("the policy has no Statement")
    raws = raw if isinstance(raw, list) else [raw]
    if not raws:
        raise PolicyFormatError("Statement is empty")
    statements = tuple(
        parse_statement(item, i, line=lines[i] if i < len(lines) else None)
        for i, item in enumerate(raws)
    )
    if kind is None:
        kind = guess_kind(statements)
    return Policy(statements=statements, name=name, kind=kind, source=source)


def guess_kind(statements: tuple[Statement, ...]) -> PolicyKind:
    with_principal = [s for s in statements if s.principal or s.not_principal]
    if not with_principal:
        return "identity"
    for s in with_principal:
        for action in s.actions or ():
            if action.lower().startswith("sts:"):
                return "trust"
    return "resource"
