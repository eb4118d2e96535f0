"""Read policies from files: policy JSON, CloudFormation templates (cdk.out/*.template.json)
and saved `aws iam get-account-authorization-details` output. A file that cannot be read is
recorded as a ReadError and the audit goes on with the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tapgate.audit.account import AWS_MANAGED, inventory_from_authorization_details
from tapgate.audit.errors import PolicyFormatError
from tapgate.audit.inventory import Inventory, ReadError, Subject
from tapgate.audit.policy import Policy, PolicyKind, parse_policy

_EFFECT = re.compile(r'"Effect"\s*:')
_SKIP_DIRS = {"node_modules", ".git", ".venv", "__pycache__"}

# ------------------------------------------------------------------------ statement lines


class LineIndex:
    """Maps each statement object of a parsed JSON document to the line where it starts."""

    def __init__(self, text: str, document: Any) -> None:
        self._text = text
        self._positions = [m.start() for m in _EFFECT.finditer(text)]
        self._ordinal: dict[int, int] = {}
        self._walk(document)
        self._usable = len(self._ordinal) == len(self._positions)

    def _walk(self, node: Any) -> None:
        if isinstance(node, dict):
            if "Effect" in node:
                self._ordinal[id(node)] = len(self._ordinal)
            for value in node.values():
                self._walk(value)
        elif isinstance(node, list):
            for item in node:
                self._walk(item)

    def line_of(self, statement: Any) -> int | None:
        ordinal = self._ordinal.get(id(statement))
        if not self._usable or ordinal is None:
            return None
        return self._text.count("\n", 0, self._open_brace(self._positions[ordinal])) + 1

    def _open_brace(self, position: int) -> int:
        depth = 0
        in_string = False
        for i in range(position - 1, -1, -1):
            ch = self._text[i]
            if ch == '"' and self._text[i - 1] != "\\":
                in_string = not in_string
            elif in_string:
                continue
            elif ch == "}":
                depth += 1
            elif ch == "{":
                if depth == 0:
                    return i
                depth -= 1
        return position

    def lines_for(self, raw_document: Any) -> tuple[int | None, ...]:
        raw = raw_document.get("Statement") if isinstance(raw_document, dict) else None
        items = raw if isinstance(raw, list) else [raw]
        return tuple(self.line_of(item) for item in items)

    def line_of_text(self, needle: str) -> int | None:
        found = self._text.find(needle)
        return None if found < 0 else self._text.count("\n", 0, found) + 1


# -------------------------------------------------------------------------------- files


def iter_files(paths: Iterable[str | Path]) -> Iterable[tuple[Path, bool]]:
    """(file, named on the command line?) for each input; directories are walked for *.json,
    leaving out dependency trees and cdk.out's bundled assets (``asset.*``)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*.json")):
                parts = found.relative_to(path).parts[:-1]
                if _SKIP_DIRS.intersection(parts) or any(p.startswith("asset.") for p in parts):
                    continue
                yield found, False
        else:
            yield path, True


def load_paths(paths: Iterable[str | Path]) -> Inventory:
    inventory = Inventory()
    for path, named in iter_files(paths):
        inventory.extend(load_file(path, named=named))
    return inventory


def load_file(path: Path, *, named: bool = True) -> Inventory:
    """A policy file, template or saved authorization details. A file found by walking a
    directory (``named=False``) that is valid JSON of some other kind (cdk.out's
    manifest.json, tree.json, ...) is not an input and is skipped; JSON that does not parse
    is always reported, since it may be a broken policy."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Inventory(errors=[ReadError(source, f"cannot read {source}: {exc}")])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return Inventory(errors=[ReadError(source, f"invalid JSON: {exc.msg}", exc.lineno)])
    index = LineIndex(text, document)
    if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
        return load_template(document, source=source, index=index)
    if isinstance(document, dict) and any(
        k in document for k in ("UserDetailList", "RoleDetailList", "Policies")
    ):
        return inventory_from_authorization_details([document], source=source)
    if isinstance(document, dict) and "Statement" in document:
        policy, error = _parse(document, name=path.name, source=source, index=index)
        if policy is None:
            return Inventory(errors=[error] if error else [])
        if policy.kind == "identity":
            return Inventory(subjects=[Subject(path.name, "policy", source, identity=(policy,))])
        return Inventory(loose_policies=[policy])
    if not named:
        return Inventory()
    return Inventory(
        errors=[ReadError(source, "neither an IAM policy nor a CloudFormation template", 1)]
    )


def _parse(
    raw_document: Any,
    *,
    name: str,
    source: str,
    index: LineIndex,
    kind: PolicyKind | None = None,
    resolved: Any = None,
    anchor: str | None = None,
) -> tuple[Policy | None, ReadError | None]:
    lines = index.lines_for(raw_document) if isinstance(raw_document, dict) else ()
    try:
        document = raw_document if resolved is None else resolved
        return parse_policy(document, name=name, kind=kind, source=source, lines=lines), None
    except PolicyFormatError as exc:
        line = index.line_of_text(anchor) if anchor else (lines[0] if lines else None)
        return None, ReadError(source, f"{name}: {exc}", line)


# --------------------------------------------------------------------- CloudFormation


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


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties")
    return props if isinstance(props, dict) else {}


def _logical_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i["Ref"] for i in items if isinstance(i, dict) and isinstance(i.get("Ref"), str)]


def load_template(template: dict[str, Any], *, source: str, index: LineIndex) -> Inventory:
    resources: dict[str, Any] = template["Resources"]
    inventory = Inventory()
    attached: dict[str, list[Policy]] = {}  # principal logical id -> policies
    boundaries: dict[str, Policy] = {}
    managed: dict[str, Policy] = {}
    attached_somewhere: set[int] = set()

    def parse(raw: Any, *, name: str, logical: str, kind: PolicyKind | None) -> Policy | None:
        policy, error = _parse(
            raw,
            name=name,
            source=source,
            index=index,
            kind=kind,
            resolved=resolve_intrinsics(raw, resources),
            anchor=f'"{logical}"',
        )
        if error is not None:
            inventory.errors.append(error)
        return policy

    for logical, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        props = _properties(resource)
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            policy = parse(props.get("PolicyDocument"), name=logical, logical=logical, kind=None)
            if policy is None:
                continue
            managed[logical] = policy
            for key in ("Roles", "Users"):
                for target in _logical_ids(props.get(key, [])):
                    attached.setdefault(target, []).append(policy)
                    attached_somewhere.add(id(policy))
    for logical, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") not in (
            "AWS::IAM::Role",
            "AWS::IAM::User",
        ):
            continue
        props = _properties(resource)
        is_role = resource["Type"] == "AWS::IAM::Role"
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
            if boundary is not None:
                boundaries[logical] = boundary
        trust = None
        if is_role:
            trust = parse(
                props.get("AssumeRolePolicyDocument"),
                name=f"{logical} trust policy",
                logical=logical,
                kind="trust",
            )
        inventory.subjects.append(
            Subject(
                name=logical,
                kind="role" if is_role else "user",
                source=source,
                identity=tuple(identity),
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
