"""The credential scenarios every principal is evaluated under.

- long-term access key: no MFA key in the request context at all;
- temporary credentials without MFA: aws:MultiFactorAuthPresent=false;
- temporary credentials with MFA: aws:MultiFactorAuthPresent=true and an aws:MultiFactorAuthAge;
- a tapgate session: the broker's role session, so MultiFactorAuthPresent=false, with the
  session tags tapgate-mfa=webauthn, tapgate-uv, tapgate-credential and a SourceIdentity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tapgate.audit.conditions import ContextValue
from tapgate_contract.tags import (
    CREDENTIAL_TAG,
    MFA_TAG,
    MFA_TAG_VALUE,
    SESSION_TAG_KEYS,
    UV_TAG,
    uv_tag_value,
)

ScenarioName = Literal["long-term-key", "temporary-no-mfa", "temporary-mfa", "tapgate-session"]


@dataclass(frozen=True)
class Scenario:
    name: ScenarioName
    has_mfa: bool
    context: dict[str, ContextValue]


# The keys a scenario decides, present or absent; every other condition key is free (unknowns).
SCENARIO_KEYS = (
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    *(f"aws:principaltag/{key}" for key in SESSION_TAG_KEYS),
    "aws:tokenissuetime",
    "aws:username",
    "aws:principalarn",
)


def scenarios(*, mfa_age: int = 300, user_name: str = "alice") -> tuple[Scenario, ...]:
    return (
        Scenario("long-term-key", False, {}),
        Scenario(
            "temporary-no-mfa",
            False,
            {"aws:MultiFactorAuthPresent": "false", "aws:TokenIssueTime": "2025-01-01T00:00:00Z"},
        ),
        Scenario(
            "temporary-mfa",
            True,
            {
                "aws:MultiFactorAuthPresent": "true",
                "aws:MultiFactorAuthAge": str(mfa_age),
                "aws:TokenIssueTime": "2025-01-01T00:00:00Z",
            },
        ),
        Scenario(
            "tapgate-session",
            True,
            {
                "aws:MultiFactorAuthPresent": "false",
                "aws:TokenIssueTime": "2025-01-01T00:00:00Z",
                f"aws:PrincipalTag/{MFA_TAG}": MFA_TAG_VALUE,
                f"aws:PrincipalTag/{UV_TAG}": uv_tag_value(True),
                f"aws:PrincipalTag/{CREDENTIAL_TAG}": "k1",
                "aws:SourceIdentity": user_name,
            },
        ),
    )


def without_mfa(all_scenarios: tuple[Scenario, ...]) -> tuple[Scenario, ...]:
    return tuple(s for s in all_scenarios if not s.has_mfa)
