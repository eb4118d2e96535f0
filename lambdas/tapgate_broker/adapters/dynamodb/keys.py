"""What the DynamoDB adapters share: item keys that are not user data."""

from __future__ import annotations

from typing import Any

GUARD_USER = "#credential-id"
KEY_SET_ID = "#keyset"
ENROLLMENT_KIND = "enrollment"
ENROLLMENT_PREFIX = "enrollment#"
Item = dict[str, dict[str, Any]]
