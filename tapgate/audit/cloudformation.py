"""CloudFormation templates, JSON or YAML (cdk.out/*.template.json, hand-written *.yaml): IAM
users, groups, roles and policies with their attachments, boundaries and group membership.

YAML is read with cfn-flip's loader (`!Ref`, `!Sub`, `!GetAtt` and the other short forms become
their `Fn::` objects); intrinsic functions then become placeholder strings such as `{MyRole}`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tapgate.audit.account import AWS_MANAGED
from tapgate.audit.inventory import Inventory, Subject, SubjectKind
from tapgate.audit.lines import LineIndex, YamlLineIndex, parse_located
from tapgate.audit.policy import Policy, PolicyKind, parse_policy
from tapgate_contract import environment
from tapgate_contract.tags import ANY_ASSURANCE


def resolve_intrinsics(value: Any, resources: dict[str, Any]) -> Any:
    """Replace CloudFormation intrinsic functions with placeholder strings; never raises."""
    if isinstance(value, list):
        return [resolve_intrinsics(v, resources) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return _ref(arg, resources)
        if fn == "Fn::GetAtt":
            return _get_att(arg, resources)
        if fn == "Fn::Join":
            if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                parts = [resolve_intrinsics(p, resources) for p in arg[1]]
                return str(arg[0]).join(p if isinstance(p, str) else "{?}" for p in parts)
            return "{Fn::Join}"
        if fn == "Fn::Sub":
            template = arg[0] if isinstance(arg, list) and arg else arg
            if not isinstance(template, str):
                return "{Fn::Sub}"
            return re.sub(r"\$\{(!?)([^}]*)\}", lambda m: _sub(m, resources), template)
        if fn == "Fn::If":
            if isinstance(arg, list) and len(arg) == 3:
                return resolve_intrinsics(arg[1], resources)
            return "{Fn::If}"
        if fn.startswith("Fn::") or fn == "Condition":
            return "{" + fn + "}"
    return {k: resolve_intrinsics(v, resources) for k, v in value.items()}


_PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def _ref(name: Any, resources: dict[str, Any]) -> str:
    if not isinstance(name, str):
        return "{Ref}"
    return _PSEUDO.get(name, "{" + name + "}")


def _get_att(arg: Any, resources: dict[str, Any]) -> str:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        return "{Fn::GetAtt}"
    logical, attribute = arg
    resource = resources.get(logical)
    if (
        attribute == "Arn"
        and isinstance(resource, dict)
        and resource.get("Type") == "AWS::IAM::Role"
    ):
        return f"arn:aws:iam::{{AWS::AccountId}}:role/{{{logical}}}"
    return "{" + f"{logical}.{attribute}" + "}"


def _sub(match: re.Match[str], resources: dict[str, Any]) -> str:
    if match.group(1):  # ${!Literal} is an escaped literal ${Literal}
        return "${" + match.group(2) + "}"
    name = match.group(2)
    if "." in name:
        return _get_att(name.split(".", 1), resources)
    return _ref(name, resources)


_TEMPLATE_ROLE = re.compile(r"arn:aws:iam::\{AWS::AccountId\}:role/\{([^{}]+)\}")


def _role_assurance(typed: dict[str, Any], resources: dict[str, Any]) -> dict[str, str]:
    """A tapgate broker's requirement per gated role, from its function's environment
    (``TAPGATE_ROLES``): by the role's logical id when the template makes it, else by the
    role name in its ARN. Nothing for a template without a tapgate broker."""
    out: dict[str, str] = {}
    for resource in typed.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = _properties(resource).get("Environment", {})
        raw = variables.get("Variables", {}) if isinstance(variables, dict) else {}
        value = raw.get(environment.ROLES) if isinstance(raw, dict) else None
        try:
            roles = json.loads(resolve_intrinsics(value, resources))
        except (TypeError, ValueError):
            continue
        for role in roles if isinstance(roles, list) else ():
            if not isinstance(role, dict) or not isinstance(role.get("arn"), str):
                continue
            made_here = _TEMPLATE_ROLE.fullmatch(role["arn"])
            name = made_here.group(1) if made_here else role["arn"].rsplit("/", 1)[-1]
            out[name] = str(role.get("assurance", ANY_ASSURANCE))
    return out


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties")
    return props if isinstance(props, dict) else {}


def _logical_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i["Ref"] for i in items if isinstance(i, dict) and isinstance(i.get("Ref"), str)]


def load_yaml(text: str) -> tuple[Any, YamlLineIndex]:
    """A YAML template (or policy) with cfn-flip's loader, recording each mapping's line."""
    import yaml  # noqa: PLC0415 (only YAML inputs need it)
    from cfn_tools.yaml_loader import CfnYamlLoader, construct_mapping  # noqa: PLC0415

    lines: dict[int, int] = {}

    class _Loader(CfnYamlLoader):  # a SafeLoader: builds plain data only
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        result = construct_mapping(loader, node, deep)
        lines[id(result)] = node.start_mark.line + 1
        return result

    _Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    document = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    return document, YamlLineIndex(text, lines)


IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")


def load_template(template: dict[str, Any], *, source: str, index: LineIndex) -> Inventory:
    resources: dict[str, Any] = template["Resources"]
    inventory = Inventory()
    attached: dict[str, list[Policy]] = {}  # principal logical id or group name -> policies
    managed: dict[str, Policy] = {}
    attached_somewhere: set[int] = set()

    def parse(raw: Any, *, name: str, logical: str, kind: PolicyKind | None) -> Policy | None:
        policy, error = parse_located(
            raw,
            name=name,
            source=source,
            index=index,
            kind=kind,
            resolved=resolve_intrinsics(raw, resources),
            anchor=logical,
        )
        if error is not None:
            inventory.errors.append(error)
        return policy

    typed = {
        logical: resource
        for logical, resource in resources.items()
        if isinstance(resource, dict) and isinstance(resource.get("Type"), str)
    }
    group_of = _group_names(typed)
    for logical, resource in typed.items():
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            props = _properties(resource)
            policy = parse(props.get("PolicyDocument"), name=logical, logical=logical, kind=None)
            if policy is None:
                continue
            managed[logical] = policy
            for key in ("Roles", "Users", "Groups"):
                for target in _targets(props.get(key, []), group_of if key == "Groups" else {}):
                    attached.setdefault(target, []).append(policy)
                    attached_somewhere.add(id(policy))
    inventory.role_assurance.update(_role_assurance(typed, resources))
    members = _memberships(typed, group_of)
    own: dict[str, tuple[list[Policy], Policy | None, Policy | None]] = {}
    for logical, resource in typed.items():
        if resource["Type"] not in IAM_TYPES:
            continue
        props = _properties(resource)
        identity: list[Policy] = list(attached.get(logical, []))
        for i, inline in enumerate(props.get("Policies") or []):
            if isinstance(inline, dict):
                name = inline.get("PolicyName")
                label = f"{logical}/{name if isinstance(name, str) else i}"
                policy = parse(
                    inline.get("PolicyDocument"), name=label, logical=logical, kind="identity"
                )
                if policy is not None:
                    identity.append(policy)
        for arn in props.get("ManagedPolicyArns") or []:
            identity.extend(_managed_policy(arn, managed, resources, attached_somewhere))
        boundary = None
        if props.get("PermissionsBoundary") is not None:
            found = _managed_policy(
                props["PermissionsBoundary"], managed, resources, attached_somewhere
            )
            boundary = found[0] if found else None
        trust = None
        if resource["Type"] == "AWS::IAM::Role":
            trust = parse(
                props.get("AssumeRolePolicyDocument"),
                name=f"{logical} trust policy",
                logical=logical,
                kind="trust",
            )
        own[logical] = (identity, boundary, trust)
    joined = {group for groups in members.values() for group in groups}
    for logical, (identity, boundary, trust) in own.items():
        kind = typed[logical]["Type"]
        if kind == "AWS::IAM::Group":
            if logical in joined:
                continue  # its members carry its policies
            subject_kind: SubjectKind = "group"
        else:
            subject_kind = "role" if kind == "AWS::IAM::Role" else "user"
        from_groups = [p for group in members.get(logical, ()) for p in own[group][0]]
        inventory.subjects.append(
            Subject(
                name=logical,
                kind=subject_kind,
                source=source,
                identity=(*identity, *from_groups),
                trust=trust,
                boundary=boundary,
            )
        )
    for policy in managed.values():
        if id(policy) not in attached_somewhere and policy.kind == "identity":
            inventory.subjects.append(Subject(policy.name, "policy", source, identity=(policy,)))
        elif policy.kind != "identity":
            inventory.loose_policies.append(policy)
    return inventory


def _group_names(typed: dict[str, Any]) -> dict[str, str]:
    """A group's name as written in the template (GroupName) -> its logical id."""
    out = {}
    for logical, resource in typed.items():
        if resource["Type"] == "AWS::IAM::Group":
            name = _properties(resource).get("GroupName")
            out[name if isinstance(name, str) else logical] = logical
    return out


def _targets(value: Any, names: dict[str, str]) -> list[str]:
    """Logical ids named by Ref, or (for groups) by the literal GroupName."""
    items = value if isinstance(value, list) else [value]
    out = _logical_ids(items)
    out.extend(names[i] for i in items if isinstance(i, str) and i in names)
    return out


def _memberships(typed: dict[str, Any], group_of: dict[str, str]) -> dict[str, list[str]]:
    """User logical id -> group logical ids, from User.Groups and UserToGroupAddition."""
    out: dict[str, list[str]] = {}
    for logical, resource in typed.items():
        props = _properties(resource)
        if resource["Type"] == "AWS::IAM::User":
            out.setdefault(logical, []).extend(_targets(props.get("Groups", []), group_of))
        elif resource["Type"] == "AWS::IAM::UserToGroupAddition":
            for group in _targets(props.get("GroupName"), group_of):
                for user in _logical_ids(props.get("Users", [])):
                    out.setdefault(user, []).append(group)
    return out


def _managed_policy(
    ref: Any, managed: dict[str, Policy], resources: dict[str, Any], attached: set[int]
) -> list[Policy]:
    ids = _logical_ids(ref)
    if ids and ids[0] in managed:
        attached.add(id(managed[ids[0]]))
        return [managed[ids[0]]]
    arn = resolve_intrinsics(ref, resources)
    if isinstance(arn, str) and ":policy/" in arn:
        name = arn.rsplit("/", 1)[-1]
        if ":iam::aws:policy/" in arn and name in AWS_MANAGED:
            return [parse_policy(AWS_MANAGED[name], name=name, kind="identity", source=arn)]
    return []
