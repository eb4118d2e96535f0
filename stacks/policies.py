"""The policy documents shipped in policies/*.json, loaded as the stack deploys them.

The JSON files are the single source: the audit command, the docs and the stack read the
same text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import Aws

POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
GATING_POLICY_FILE = POLICIES_DIR / "gating-policy.json"
SELF_SERVICE_POLICY_FILE = POLICIES_DIR / "self-service-policy.json"

MFA_TAG = "tapgate-mfa"
MFA_TAG_VALUE = "webauthn"
UV_TAG = "tapgate-uv"
CREDENTIAL_TAG = "tapgate-credential"
SESSION_TAG_KEYS = (MFA_TAG, UV_TAG, CREDENTIAL_TAG)
GATED_ROLE_TAG = "tapgate-gated"

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def gating_policy_document() -> dict[str, Any]:
    """Deny everything unless the session carries tapgate-mfa=webauthn (absent tag: denied)."""
    document: dict[str, Any] = json.loads(GATING_POLICY_FILE.read_text(encoding="utf-8"))
    return document


def self_service_policy_document(*, api_id: str) -> dict[str, Any]:
    """The users' execute-api policy with ${Partition}/${Region}/${Account}/${ApiId} replaced
    by CloudFormation references (the pseudo parameters and the API's id), so one template
    fits every account and region."""
    variables = {
        "Partition": Aws.PARTITION,
        "Region": Aws.REGION,
        "Account": Aws.ACCOUNT_ID,
        "ApiId": api_id,
    }
    document = json.loads(SELF_SERVICE_POLICY_FILE.read_text(encoding="utf-8"))
    return _substitute(document, variables)


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        unknown = set(_PLACEHOLDER.findall(value)) - set(variables)
        if unknown:
            raise ValueError(f"unknown placeholders {sorted(unknown)} in {value!r}")
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], value)
    return value
