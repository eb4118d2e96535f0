"""Condition keys whose value a credential scenario does not fix (aws:RequestedRegion,
aws:SecureTransport, aws:SourceIp, aws:PrincipalOrgID, a principal's other tags, service keys).

Every request carries some of them and the caller chooses others, so a statement conditioned on
them *may* apply. Instead of reading such a condition as "never matches" (what the evaluator
does with a missing key), the audit asks: is there a value for each such key that lets the
request through? The candidates for a key are the values the policies compare it with (and
the values just beside each number, date and address), one value that matches none of them,
and "absent" for keys a request may lack. Each candidate context is an ordinary concrete
request, so the evaluator decides it exactly (a guard and an Allow that test the same key are
never both assumed to apply) and the oracle can check the same request; the values that let
the request through are what the finding names as its deciding condition.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Mapping

from tapgate.audit.conditions import ContextValue, parse_date, parse_number
from tapgate.audit.policy import Condition, Statement

# Keys every request to an AWS API carries (AWS "global condition context keys": "this key is
# always included in the request context"), so "absent" is no candidate for them.
ALWAYS_PRESENT = frozenset(
    {
        "aws:requestedregion",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:userid",
        "aws:viaawsservice",
    }
)
OTHER = "tapgate-audit-other-value"
MAX_CONTEXTS = 256  # past this many combinations, each key is varied alone (documented)


def _near(condition: Condition, value: str) -> list[str]:
    """The value itself and, for ordered types, one on each side of it."""
    base = condition.base
    if base.startswith("numeric"):
        number = parse_number(value)
        return [value] if number is None else [str(number - 1), value, str(number + 1)]
    if base.startswith("date"):
        seconds = parse_date(value)
        if seconds is None:
            return [value]
        return [str(int(seconds) - 1), value.strip(), str(int(seconds) + 1)]
    if base in ("ipaddress", "notipaddress"):
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            return [value]
        return [str(network.network_address)]
    if base == "bool":
        return ["true", "false"]
    if "$" in value:
        return []  # a policy variable: its value is the scenario's, not a free choice
    return [value.replace("*", "x").replace("?", "x")]


def _outside(condition: Condition) -> str:
    if condition.base in ("ipaddress", "notipaddress"):
        return "192.0.2.1" if ":" not in "".join(condition.values) else "2001:db8:ffff::1"
    if condition.base.startswith(("numeric", "date")):
        return "0"
    return OTHER


def candidates(
    statements: Iterable[Statement], fixed: Iterable[str]
) -> dict[str, list[ContextValue | None]]:
    """For each key the statements test and the scenario does not fix: the values to try."""
    known = {key.lower() for key in fixed}
    found: dict[str, list[ContextValue | None]] = {}
    for statement in statements:
        for condition in statement.conditions:
            key = condition.key_lower
            if key in known:
                continue
            values = found.setdefault(key, [] if key in ALWAYS_PRESENT else [None])
            options: list[str] = [] if condition.base == "bool" else [_outside(condition)]
            for value in condition.values:
                if condition.base != "null":
                    options.extend(_near(condition, value))
            for option in options:
                item: ContextValue = (option,) if condition.set_operator else option
                if item not in values:
                    values.append(item)
    return found


def contexts(
    base: Mapping[str, ContextValue], free: Mapping[str, list[ContextValue | None]]
) -> list[tuple[dict[str, ContextValue], dict[str, ContextValue | None]]]:
    """(request context, the values assumed for the free keys) for each combination to try;
    the first is the one that assumes least (every free key at its first candidate)."""
    keys = sorted(free)
    if not keys:
        return [(dict(base), {})]
    sizes = 1
    for key in keys:
        sizes *= len(free[key])
    if sizes <= MAX_CONTEXTS:
        combos: Iterable[tuple[ContextValue | None, ...]] = itertools.product(
            *(free[k] for k in keys)
        )
    else:
        first = tuple(free[k][0] for k in keys)
        combos = [first] + [
            (*first[:i], value, *first[i + 1 :])
            for i, key in enumerate(keys)
            for value in free[key][1:]
        ]
    out = []
    for combo in combos:
        context = dict(base)
        assumed = dict(zip(keys, combo, strict=True))
        for key, value in assumed.items():
            if value is not None:
                context[key] = value
        out.append((context, assumed))
    return out


def describe(assumed: Mapping[str, ContextValue | None], statements: Iterable[Statement]) -> str:
    """ "aws:RequestedRegion=us-east-1, aws:SourceIp absent": the assumed values of the keys
    that the given statements (the ones that decided) test, spelled as the policy spells them."""
    spelled: dict[str, str] = {}
    for statement in statements:
        for condition in statement.conditions:
            spelled.setdefault(condition.key_lower, condition.key)
    parts = []
    for key in sorted(set(spelled) & set(assumed)):
        value, name = assumed[key], spelled[key]
        if value is None:
            parts.append(f"{name} absent")
        elif value in (OTHER, (OTHER,)):
            parts.append(f"{name} any other value")
        else:
            text = value if isinstance(value, str) else ",".join(value)
            parts.append(f"{name}={text}")
    return ", ".join(parts)
