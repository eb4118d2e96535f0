"""Terraform plans as `terraform show -json PLANFILE` writes them: the planned values of IAM
users, groups, roles and policies, their attachments and group memberships, and the policy
documents of `aws_iam_policy_document` data sources.

Planned values hold a policy as a JSON string; a value known only after apply (the ARN of a
policy created in the same plan) is followed through the configuration's references instead.
A finding points at the line of the resource's address in the plan file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tapgate.audit.account import AWS_MANAGED
from tapgate.audit.errors import PolicyFormatError
from tapgate.audit.inventory import Inventory, ReadError, Subject, SubjectKind
from tapgate.audit.lines import LineIndex
from tapgate.audit.policy import Policy, PolicyKind, parse_policy


def is_plan(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and "format_version" in document
        and any(k in document for k in ("planned_values", "values", "prior_state"))
    )


@dataclass
class _Resource:
    address: str
    type: str
    values: dict[str, Any]
    references: dict[str, list[str]] = field(default_factory=dict)


def _modules(module: Any) -> Iterator[dict[str, Any]]:
    if isinstance(module, dict):
        yield module
        for child in module.get("child_modules") or []:
            yield from _modules(child)


def _resources(plan: dict[str, Any]) -> list[_Resource]:
    """Planned resources and the data sources read at plan time (prior_state), with the
    references each attribute's expression makes (from the configuration)."""
    found: dict[str, _Resource] = {}
    roots = [
        (plan.get("prior_state") or {}).get("values", {}).get("root_module"),
        (plan.get("planned_values") or {}).get("root_module"),
        (plan.get("values") or {}).get("root_module"),  # `terraform show -json` of a state
    ]
    for root in roots:
        for module in _modules(root):
            for raw in module.get("resources") or []:
                if isinstance(raw, dict) and isinstance(raw.get("values"), dict):
                    address = str(raw.get("address", ""))
                    found[address] = _Resource(address, str(raw.get("type")), raw["values"])
    for module_address, config in _configured_modules(plan.get("configuration") or {}):
        for raw in config.get("resources") or []:
            address = f"{module_address}{raw.get('address', '')}"
            resource = found.get(address)
            if resource is None:
                continue
            for key, expression in (raw.get("expressions") or {}).items():
                if isinstance(expression, dict) and expression.get("references"):
                    resource.references[key] = [
                        f"{module_address}{r}" for r in expression["references"]
                    ]
    return list(found.values())


def _configured_modules(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    root = config.get("root_module")
    stack = [("", root)] if isinstance(root, dict) else []
    while stack:
        prefix, module = stack.pop()
        yield prefix, module
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict) and isinstance(call.get("module"), dict):
                stack.append((f"{prefix}module.{name}.", call["module"]))


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def load_plan(plan: dict[str, Any], *, source: str, index: LineIndex) -> Inventory:
    inventory = Inventory()
    resources = _resources(plan)
    by_address = {r.address: r for r in resources}

    def parse(text: Any, resource: _Resource, kind: PolicyKind | None, name: str) -> Policy | None:
        line = index.line_of_key_value("address", resource.address)
        try:
            document = json.loads(text) if isinstance(text, str) else text
            statements = document.get("Statement") if isinstance(document, dict) else None
            count = len(statements) if isinstance(statements, list) else 1
            return parse_policy(
                document, name=name, kind=kind, source=source, lines=(line,) * count
            )
        except (ValueError, PolicyFormatError) as exc:
            inventory.errors.append(ReadError(source, f"{resource.address}: {exc}", line))
            return None

    policies: dict[str, Policy] = {}  # address of aws_iam_policy -> policy; also by ARN
    for r in resources:
        if r.type == "aws_iam_policy" and r.values.get("policy") is not None:
            policy = parse(r.values["policy"], r, "identity", r.address)
            if policy is not None:
                policies[r.address] = policy
                if isinstance(r.values.get("arn"), str):
                    policies[r.values["arn"]] = policy

    def policy_for(r: _Resource) -> Policy | None:
        arn = r.values.get("policy_arn")
        if isinstance(arn, str):
            if arn in policies:
                return policies[arn]
            name = arn.rsplit("/", 1)[-1]
            if ":iam::aws:policy/" in arn and name in AWS_MANAGED:
                return parse_policy(AWS_MANAGED[name], name=name, kind="identity", source=arn)
        for ref in r.references.get("policy_arn", []):
            if ref in policies:
                return policies[ref]
        return None

    principals: dict[tuple[SubjectKind, str], _Principal] = {}  # (kind, name) -> principal

    def principal(kind: SubjectKind, name: str, address: str = "") -> _Principal:
        key = (kind, name)
        if key not in principals:
            principals[key] = _Principal(kind, name, address)
        elif address:
            principals[key].address = address
        return principals[key]

    kinds: dict[str, SubjectKind] = {
        "aws_iam_user": "user",
        "aws_iam_group": "group",
        "aws_iam_role": "role",
    }
    for r in resources:
        name = r.values.get("name")
        if r.type in kinds and isinstance(name, str):
            p = principal(kinds[r.type], name, r.address)
            p.line = index.line_of_key_value("address", r.address)
            if r.type == "aws_iam_role":
                if r.values.get("assume_role_policy"):
                    p.trust = parse(
                        r.values["assume_role_policy"], r, "trust", f"{name} trust policy"
                    )
                for inline in r.values.get("inline_policy") or []:
                    if isinstance(inline, dict) and inline.get("policy"):
                        found = parse(
                            inline["policy"], r, "identity", f"{name}/{inline.get('name')}"
                        )
                        p.add(found)
                for arn in r.values.get("managed_policy_arns") or []:
                    p.add(policies.get(arn) or _aws_managed(arn))
            boundary = r.values.get("permissions_boundary")
            if isinstance(boundary, str) and boundary:
                p.boundary = policies.get(boundary) or _aws_managed(boundary)
    inline_types: dict[str, SubjectKind] = {
        "aws_iam_user_policy": "user",
        "aws_iam_group_policy": "group",
        "aws_iam_role_policy": "role",
    }
    attach_types: dict[str, SubjectKind] = {
        "aws_iam_user_policy_attachment": "user",
        "aws_iam_group_policy_attachment": "group",
        "aws_iam_role_policy_attachment": "role",
    }
    attached: set[int] = set()
    # a data source's document that a resource uses is audited there, not a second time alone
    used = {ref for r in resources for refs in r.references.values() for ref in refs}
    for r in resources:
        if r.type in inline_types:
            kind = inline_types[r.type]
            holder = r.values.get(kind)
            if isinstance(holder, str):
                principal(kind, holder).add(parse(r.values.get("policy"), r, "identity", r.address))
        elif r.type in attach_types:
            kind = attach_types[r.type]
            owner = r.values.get(kind)
            found = policy_for(r)
            if isinstance(owner, str) and found is not None:
                principal(kind, owner).add(found)
                attached.add(id(found))
        elif r.type == "aws_iam_policy_attachment":
            found = policy_for(r)
            if found is not None:
                plural: tuple[tuple[SubjectKind, str], ...] = (
                    ("user", "users"),
                    ("group", "groups"),
                    ("role", "roles"),
                )
                for each, key in plural:
                    for member in _names(r.values.get(key)):
                        principal(each, member).add(found)
                        attached.add(id(found))
        elif r.type == "aws_iam_group_membership":
            group = r.values.get("group")
            for member in _names(r.values.get("users")):
                if isinstance(group, str):
                    principal("user", member).groups.append(group)
        elif r.type == "aws_iam_user_group_membership":
            joiner = r.values.get("user")
            if isinstance(joiner, str):
                principal("user", joiner).groups.extend(_names(r.values.get("groups")))
        elif r.type == "aws_iam_policy_document" and r.address not in used:
            document = r.values.get("json")
            if isinstance(document, str) and document:
                found = parse(document, r, None, r.address)
                if found is not None and found.kind != "identity":
                    inventory.loose_policies.append(found)
    joined = {g for p in principals.values() if p.kind == "user" for g in p.groups}
    for (kind, name), p in principals.items():
        if kind == "group" and name in joined:
            continue  # its members carry its policies
        identity = list(p.identity)
        for group in p.groups:
            identity.extend(
                principals.get(("group", group), _Principal("group", group, "")).identity
            )
        if not identity and p.trust is None:
            continue
        attached.update(id(x) for x in identity)
        inventory.subjects.append(
            Subject(
                name=p.address or f"{kind}/{name}",
                kind=kind,
                source=source,
                identity=tuple(identity),
                trust=p.trust,
                boundary=p.boundary,
            )
        )
    for address, policy in policies.items():
        if address in by_address and id(policy) not in attached:
            inventory.subjects.append(Subject(address, "policy", source, identity=(policy,)))
    return inventory


def _aws_managed(arn: str) -> Policy | None:
    name = arn.rsplit("/", 1)[-1]
    if ":iam::aws:policy/" in arn and name in AWS_MANAGED:
        return parse_policy(AWS_MANAGED[name], name=name, kind="identity", source=arn)
    return None


@dataclass
class _Principal:
    kind: SubjectKind
    name: str
    address: str
    identity: list[Policy] = field(default_factory=list)
    trust: Policy | None = None
    boundary: Policy | None = None
    groups: list[str] = field(default_factory=list)
    line: int | None = None

    def add(self, policy: Policy | None) -> None:
        if policy is not None and all(policy is not p for p in self.identity):
            self.identity.append(policy)
