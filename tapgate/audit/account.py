"""Account mode: read principals and policies with `get_account_authorization_details`
(paginated) and console MFA state from the credential report. boto3 is imported lazily so
file mode never needs it; the IAM client is injected (tests pass one bound to moto).
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tapgate.audit.errors import InputError, PolicyFormatError
from tapgate.audit.inventory import (
    CredentialReportRow,
    Inventory,
    ReadError,
    Subject,
    SubjectKind,
)
from tapgate.audit.policy import Policy, PolicyKind, parse_policy

# AWS managed policies whose meaning the audit knows without reading the account.
AWS_MANAGED: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "IAMFullAccess": {"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]},
    "PowerUserAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*", "account:*"],
                "Resource": "*",
            }
        ]
    },
}


def _document(raw: Any) -> Any:
    """IAM returns URL-encoded JSON; boto3 usually decodes it already."""
    if isinstance(raw, str):
        return json.loads(urllib.parse.unquote(raw))
    return raw


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[ReadError] = []

    def parse(self, raw: Any, *, name: str, source: str, kind: PolicyKind) -> Policy | None:
        try:
            return parse_policy(_document(raw), name=name, kind=kind, source=source)
        except (PolicyFormatError, ValueError) as exc:
            self.errors.append(ReadError(source or self.source, f"{name}: {exc}"))
            return None


def inventory_from_authorization_details(
    pages: Iterable[Mapping[str, Any]], *, source: str = "account"
) -> Inventory:
    users: list[dict] = []
    groups: dict[str, dict] = {}
    roles: list[dict] = []
    managed_raw: dict[str, dict] = {}
    for page in pages:
        users.extend(page.get("UserDetailList", []))
        groups.update({g["GroupName"]: g for g in page.get("GroupDetailList", [])})
        roles.extend(page.get("RoleDetailList", []))
        managed_raw.update({p["Arn"]: p for p in page.get("Policies", [])})
    builder = _Builder(source)
    managed: dict[str, Policy | None] = {}

    def managed_policy(arn: str) -> Policy | None:
        if arn not in managed:
            raw = managed_raw.get(arn)
            policy = None
            if raw is not None:
                versions = raw.get("PolicyVersionList", [])
                default = next((v for v in versions if v.get("IsDefaultVersion")), None)
                if default is not None:
                    policy = builder.parse(
                        default.get("Document"),
                        name=raw.get("PolicyName") or arn.rsplit("/", 1)[-1],
                        source=arn,
                        kind="identity",
                    )
            elif arn.rsplit("/", 1)[-1] in AWS_MANAGED and ":iam::aws:policy/" in arn:
                name = arn.rsplit("/", 1)[-1]
                policy = parse_policy(AWS_MANAGED[name], name=name, kind="identity", source=arn)
            managed[arn] = policy
        return managed[arn]

    def identity_of(detail: dict, inline_key: str) -> list[Policy]:
        policies = []
        owner = detail.get("UserName") or detail.get("RoleName") or detail.get("GroupName")
        for inline in detail.get(inline_key, []):
            policy = builder.parse(
                inline.get("PolicyDocument"),
                name=f"{owner}/{inline.get('PolicyName')}",
                source=detail.get("Arn", source),
                kind="identity",
            )
            if policy is not None:
                policies.append(policy)
        for attached in detail.get("AttachedManagedPolicies", []):
            found = managed_policy(attached["PolicyArn"])
            if found is not None:
                policies.append(found)
        return policies

    def boundary_of(detail: dict) -> Policy | None:
        boundary = detail.get("PermissionsBoundary") or {}
        arn = boundary.get("PermissionsBoundaryArn")
        return managed_policy(arn) if arn else None

    def subject(detail: dict, kind: SubjectKind, identity: list[Policy], **more: Any) -> Subject:
        name = detail.get(f"{kind.capitalize()}Name", "")
        arn = detail.get("Arn")
        return Subject(name, kind, arn or source, arn=arn, identity=tuple(identity), **more)

    inventory = Inventory()
    for user in users:
        identity = identity_of(user, "UserPolicyList")
        for group_name in user.get("GroupList", []):
            if group_name in groups:
                identity.extend(identity_of(groups[group_name], "GroupPolicyList"))
        inventory.subjects.append(subject(user, "user", identity, boundary=boundary_of(user)))
    joined = {name for user in users for name in user.get("GroupList", [])}
    for group in groups.values():
        if group["GroupName"] not in joined:  # members carry their groups' policies
            inventory.subjects.append(
                subject(group, "group", identity_of(group, "GroupPolicyList"))
            )
    for role in roles:
        trust = builder.parse(
            role.get("AssumeRolePolicyDocument"),
            name=f"{role['RoleName']} trust policy",
            source=role.get("Arn", source),
            kind="trust",
        )
        identity = identity_of(role, "RolePolicyList")
        inventory.subjects.append(
            subject(role, "role", identity, trust=trust, boundary=boundary_of(role))
        )
    inventory.errors.extend(builder.errors)
    return inventory


def parse_credential_report(content: bytes | str) -> list[CredentialReportRow]:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(
            CredentialReportRow(
                user=row.get("user", ""),
                arn=row.get("arn", ""),
                password_enabled=row.get("password_enabled", "").lower() == "true",
                mfa_active=row.get("mfa_active", "").lower() == "true",
            )
        )
    return rows


def read_account(
    iam: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    report_attempts: int = 20,
    page_size: int | None = None,
) -> Inventory:
    """Read the account through an injected boto3 IAM client."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 (lazy: boto3)

    try:
        paginator = iam.get_paginator("get_account_authorization_details")
        config = {"PageSize": page_size} if page_size else {}
        pages = paginator.paginate(PaginationConfig=config)
        inventory = inventory_from_authorization_details(pages, source="account")
        for _ in range(report_attempts):
            state = iam.generate_credential_report().get("State")
            if state == "COMPLETE":
                break
            sleep(1.0)
        else:
            raise InputError("the IAM credential report did not complete in time")
        report = iam.get_credential_report()
    except (BotoCoreError, ClientError) as exc:
        raise InputError(f"cannot read the account: {exc}") from exc
    inventory.credential_report = parse_credential_report(report["Content"])
    return inventory


def iam_client(*, profile: str | None = None, region: str | None = None) -> Any:
    import boto3  # noqa: PLC0415 (lazy: only account mode needs boto3)
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    try:
        return boto3.session.Session(profile_name=profile, region_name=region).client("iam")
    except BotoCoreError as exc:  # an unknown profile, a broken config file, ...
        raise InputError(f"cannot read the account: {exc}") from exc
