"""Condition operators with AWS's missing-key, IfExists and set-operator rules.

Rules (AWS "Condition operators" and "Multivalued context keys" documentation):
- a missing key makes a condition false, except negated operators (String/Numeric/Date/Arn
  Not…, NotIpAddress) and `…IfExists`, which are true;
- `Null` tests presence: "true" matches a missing key, "false" a present one;
- several policy values for one key are OR-ed; for negated operators the request value must
  match none of them;
- a multi-valued key needs a set operator; without one the condition is false;
- `ForAllValues:` is true when the key is missing, else every request value must match;
  `ForAnyValue:` is false when the key is missing, else one request value must match;
- a value that cannot be read as its operator's type (a number, a date, an IP address, a
  boolean, an ARN) never matches, and a policy variable `${key}` that cannot be resolved to a
  single value makes that policy value never match.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from tapgate.audit.policy import Condition

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]  # keys lower-cased

NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "numericnotequals",
    "datenotequals",
    "notipaddress",
    "arnnotequals",
    "arnnotlike",
}

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _resolve(value: str, context: Context) -> str | None:
    """Substitute `${key}` policy variables; None when one cannot be resolved."""
    failed = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal failed
        inner = match.group(1)
        if inner in _ESCAPES:
            return "\x00" + inner  # a literal wildcard character, kept apart from real ones
        name, _, default = inner.partition(", ")
        if ":" not in name:
            return match.group(0)  # `${Partition}`-style template placeholder: opaque text
        found = context.get(name.strip().lower())
        if isinstance(found, str):
            return found
        if found is None and default.startswith("'") and default.endswith("'") and len(default) > 1:
            return default[1:-1]
        failed = True
        return ""

    resolved = _VARIABLE.sub(substitute, value)
    return None if failed else resolved


@lru_cache(maxsize=8192)
def glob_regex(pattern: str, *, wildcards: bool = True, flags: int = 0) -> re.Pattern[str]:
    """A full-match regex for an IAM pattern; `*` and `?` are wildcards when `wildcards`."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\x00" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if wildcards and ch == "*":
            out.append(".*")
        elif wildcards and ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), flags | re.DOTALL)


def _string_match(policy: str, request: str, context: Context, *, like: bool, fold: bool) -> bool:
    resolved = _resolve(policy, context)
    if resolved is None:
        return False
    return bool(
        glob_regex(resolved, wildcards=like, flags=re.IGNORECASE if fold else 0).fullmatch(request)
    )


def parse_number(text: str) -> float | None:
    try:
        return float(text) if "." in text else int(text.strip(), 10)
    except ValueError:
        return None


def parse_date(text: str) -> float | None:
    """Seconds since the epoch from an ISO 8601 date(-time) or an integer epoch."""
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        return float(int(stripped))
    try:
        parsed = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _bool(text: str) -> str | None:
    lowered = text.lower()
    return lowered if lowered in ("true", "false") else None


def _ip_match(policy: str, request: str) -> bool | None:
    """True/False when in/not in the network; None when the policy value is not an address."""
    try:
        network = ipaddress.ip_network(policy.strip(), strict=False)
    except ValueError:
        return None
    try:
        address = ipaddress.ip_address(request.strip())
    except ValueError:
        return None
    return address.version == network.version and address in network


def _arn_match(policy: str, request: str, context: Context) -> bool | None:
    """ArnEquals/ArnLike: segment-wise glob; None when either side is not an ARN."""
    policy_parts = policy.split(":", 5)
    request_parts = request.split(":", 5)
    if len(policy_parts) < 6 or len(request_parts) < 6:
        return None
    for policy_part, request_part in zip(policy_parts[1:], request_parts[1:], strict=True):
        resolved = _resolve(policy_part, context)
        if resolved is None:
            return None
        if not glob_regex(resolved).fullmatch(request_part):
            return False
    return True


def _value_matches(base: str, policy: str, request: str, context: Context) -> bool:
    """The positive form of `base` for one policy value; False when types do not parse."""
    kind = base.replace("not", "", 1) if base in NEGATED else base
    if kind in ("stringequals", "stringlike", "stringequalsignorecase"):
        return _string_match(
            policy,
            request,
            context,
            like=kind == "stringlike",
            fold=kind == "stringequalsignorecase",
        )
    if kind.startswith("numeric"):
        p, r = parse_number(policy), parse_number(request)
        return p is not None and r is not None and _COMPARE[kind[len("numeric") :]](r, p)
    if kind.startswith("date"):
        pd, rd = parse_date(policy), parse_date(request)
        return pd is not None and rd is not None and _COMPARE[kind[len("date") :]](rd, pd)
    if kind == "bool":
        resolved = _resolve(policy, context)
        pb = _bool(resolved) if resolved is not None else None
        rb = _bool(request)
        return pb is not None and rb is not None and pb == rb
    if kind == "binaryequals":
        return policy == request
    if kind == "ipaddress":
        return bool(_ip_match(policy, request))
    if kind in ("arnequals", "arnlike"):
        return bool(_arn_match(policy, request, context))
    raise AssertionError(f"unhandled operator {base}")


def _value_valid(base: str, policy: str, request: str) -> bool:
    """For negated operators: a value of the wrong type makes that policy value not match."""
    if base.startswith("numeric"):
        return parse_number(policy) is not None and parse_number(request) is not None
    if base.startswith("date"):
        return parse_date(policy) is not None and parse_date(request) is not None
    if base == "notipaddress":
        try:
            ipaddress.ip_network(policy.strip(), strict=False)
            ipaddress.ip_address(request.strip())
        except ValueError:
            return False
        return True
    return True


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "equals": lambda r, p: r == p,
    "lessthan": lambda r, p: r < p,
    "lessthanequals": lambda r, p: r <= p,
    "greaterthan": lambda r, p: r > p,
    "greaterthanequals": lambda r, p: r >= p,
}


def _operator_matches(base: str, request: str, values: tuple[str, ...], context: Context) -> bool:
    """One request value against all policy values: OR for positive, NOR for negated."""
    if base in NEGATED:
        for policy in values:
            if base in ("stringnotequals", "stringnotequalsignorecase", "stringnotlike"):
                if _resolve(policy, context) is None:
                    return False
            elif base in ("arnnotequals", "arnnotlike"):
                if _arn_match(policy, request, context) is None:
                    return False
            elif not _value_valid(base, policy, request):
                return False
            if _value_matches(base, policy, request, context):
                return False
        return True
    return any(_value_matches(base, policy, request, context) for policy in values)


def condition_matches(condition: Condition, context: Context) -> bool:
    """Does the request context satisfy this one condition?"""
    value = context.get(condition.key_lower)
    if condition.base == "null":
        goal = "true" if value is None else "false"
        return any(v.lower() == goal for v in condition.values)
    if condition.set_operator is not None:
        if value is None:
            return condition.set_operator == "forallvalues"
        items = (value,) if isinstance(value, str) else value
        results = [_operator_matches(condition.base, v, condition.values, context) for v in items]
        return all(results) if condition.set_operator == "forallvalues" else any(results)
    if value is None:
        return condition.if_exists or condition.base in NEGATED
    if not isinstance(value, str):
        return False  # a multi-valued key needs a set operator
    return _operator_matches(condition.base, value, condition.values, context)


def conditions_match(conditions: tuple[Condition, ...], context: Context) -> bool:
    """All conditions of a statement must hold (AND across operators and keys)."""
    return all(condition_matches(c, context) for c in conditions)
