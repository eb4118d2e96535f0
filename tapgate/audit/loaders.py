"""Read the audit's inputs from files: policy documents (JSON or YAML), CloudFormation
templates (JSON or YAML), Terraform plans (`terraform show -json`) and saved
`aws iam get-account-authorization-details` output. A file that cannot be read is recorded as
a ReadError with its reason (the CLI then exits 2); the audit goes on with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tapgate.audit.account import inventory_from_authorization_details
from tapgate.audit.cloudformation import load_template, load_yaml, resolve_intrinsics
from tapgate.audit.inventory import Inventory, ReadError, Subject
from tapgate.audit.lines import LineIndex, parse_located
from tapgate.audit.terraform import is_plan, load_plan

__all__ = [
    "LineIndex",
    "iter_files",
    "load_file",
    "load_paths",
    "load_template",
    "resolve_intrinsics",
]

_SKIP_DIRS = {"node_modules", ".git", ".venv", "__pycache__", ".terraform"}
YAML_SUFFIXES = (".yaml", ".yml")
SUFFIXES = (".json", *YAML_SUFFIXES)


def iter_files(paths: Iterable[str | Path]) -> Iterable[tuple[Path, bool]]:
    """(file, named on the command line?) for each input; directories are walked for .json,
    .yaml and .yml, leaving out dependency trees and cdk.out's bundled assets (``asset.*``)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            for file in sorted(found):
                parts = file.relative_to(path).parts[:-1]
                if _SKIP_DIRS.intersection(parts) or any(p.startswith("asset.") for p in parts):
                    continue
                yield file, False
        else:
            yield path, True


def load_paths(paths: Iterable[str | Path]) -> Inventory:
    inventory = Inventory()
    for path, named in iter_files(paths):
        inventory.extend(load_file(path, named=named))
    return inventory


def _decode(path: Path, text: str) -> tuple[Any, LineIndex]:
    """JSON, or YAML for .yaml/.yml files; raises ValueError with the reason and line."""
    if path.suffix.lower() in YAML_SUFFIXES:
        import yaml  # noqa: PLC0415

        try:
            return load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise _Unreadable(f"invalid YAML: {problem}", line) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"invalid JSON: {exc.msg}", exc.lineno) from exc
    return document, LineIndex(text, document)


class _Unreadable(ValueError):
    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.line = line


def load_file(path: Path, *, named: bool = True) -> Inventory:
    """A policy, template, Terraform plan or saved authorization details. A file found by
    walking a directory (``named=False``) that parses but is none of them (cdk.out's
    manifest.json, tree.json, a Kubernetes manifest, ...) is not an input and is skipped; one
    that does not parse is always reported, since it may be a broken policy."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is not content
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Inventory(errors=[ReadError(source, f"cannot read {source}: {reason}")])
    try:
        document, index = _decode(path, text)
    except _Unreadable as exc:
        return Inventory(errors=[ReadError(source, str(exc), exc.line)])
    if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
        return load_template(document, source=source, index=index)
    if is_plan(document):
        return load_plan(document, source=source, index=index)
    if isinstance(document, dict) and any(
        k in document for k in ("UserDetailList", "RoleDetailList", "GroupDetailList")
    ):
        return inventory_from_authorization_details([document], source=source)
    if isinstance(document, dict) and "Statement" in document:
        policy, error = parse_located(document, name=path.name, source=source, index=index)
        if policy is None:
            return Inventory(errors=[error] if error else [])
        if policy.kind == "identity":
            return Inventory(subjects=[Subject(path.name, "policy", source, identity=(policy,))])
        return Inventory(loose_policies=[policy])
    if not named:
        return Inventory()
    return Inventory(
        errors=[
            ReadError(
                source,
                "neither an IAM policy, a CloudFormation template, a Terraform plan nor "
                "saved authorization details",
                1,
            )
        ]
    )
