"""The checks' ids, severities and fixes, in one table (docs/audit.md explains each)."""

from __future__ import annotations

from tapgate.audit.findings import CheckInfo, Severity

CHECKS: dict[str, CheckInfo] = {
    c.check_id: c
    for c in (
        CheckInfo(
            "MFA000",
            "policy-unreadable",
            Severity.MEDIUM,
            "Fix the JSON or the policy grammar; AWS would reject this policy or the audit could "
            "not read it, so nothing in it was checked.",
        ),
        CheckInfo(
            "MFA001",
            "sensitive-action-without-mfa",
            Severity.HIGH,
            "Add an MFA guard: a Deny with BoolIfExists aws:MultiFactorAuthPresent=false (or "
            "tapgate's gating policy), or require Bool aws:MultiFactorAuthPresent=true on the "
            "Allow.",
        ),
        CheckInfo(
            "MFA002",
            "deny-bool-false",
            Severity.HIGH,
            'Use "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}: with Bool the Deny does '
            "not apply when the key is absent, which is exactly the long-term access key case.",
        ),
        CheckInfo(
            "MFA003",
            "allow-boolifexists-true",
            Severity.HIGH,
            'Use "Bool": {"aws:MultiFactorAuthPresent": "true"} on Allow statements: IfExists lets '
            "requests signed with long-term access keys (no key at all) through.",
        ),
        CheckInfo(
            "MFA004",
            "null-false-gate",
            Severity.HIGH,
            'Null "false" only says the key exists, which any temporary credentials satisfy, '
            'MFA or not. Use "Bool": {"aws:MultiFactorAuthPresent": "true"}.',
        ),
        CheckInfo(
            "MFA005",
            "deny-null-true",
            Severity.HIGH,
            "A Deny on Null true stops only long-term keys; temporary credentials without MFA "
            'pass. Use "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}.',
        ),
        CheckInfo(
            "MFA006",
            "allow-mfa-false",
            Severity.HIGH,
            "An Allow that requires aws:MultiFactorAuthPresent=false grants access precisely to "
            'sessions without MFA. Require "true", or delete the statement.',
        ),
        CheckInfo(
            "MFA007",
            "mfa-age",
            Severity.MEDIUM,
            'Bound the MFA age: "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"} on the Allow '
            "(or a Deny with NumericGreaterThanIfExists) at or under the configured limit.",
        ),
        CheckInfo(
            "MFA008",
            "mfa-value-type",
            Severity.MEDIUM,
            'Use Bool with "true"/"false" for aws:MultiFactorAuthPresent and Numeric* with '
            "whole seconds for aws:MultiFactorAuthAge.",
        ),
        CheckInfo(
            "MFA009",
            "set-operator-on-single-valued-key",
            Severity.MEDIUM,
            "Drop ForAllValues:/ForAnyValue: on single-valued keys. ForAllValues is true when the "
            "key is missing, so an Allow written with it admits requests without MFA.",
        ),
        CheckInfo(
            "MFA010",
            "trust-without-mfa",
            Severity.HIGH,
            'Require MFA to assume the role ("Bool": {"aws:MultiFactorAuthPresent": "true"}) or '
            "trust only tapgate's broker role with the tapgate-mfa session tag required.",
        ),
        CheckInfo(
            "MFA011",
            "guard-exemption-hole",
            Severity.HIGH,
            "Narrow the NotAction/NotResource of the MFA guard to the MFA self-service actions "
            "(iam:CreateVirtualMFADevice, iam:EnableMFADevice, iam:ListMFADevices, ...).",
        ),
        CheckInfo(
            "MFA012",
            "spoofable-tapgate-tags",
            Severity.CRITICAL,
            "Allow sts:TagSession (and AssumeRole) only to tapgate's broker role ARN, or pin "
            "aws:PrincipalArn to it: whoever can pass tapgate-* tags can fake the MFA.",
        ),
        CheckInfo(
            "MFA013",
            "final-decision-without-mfa",
            Severity.HIGH,
            "After boundary, SCP and session policy the action is still allowed without MFA: add "
            "the MFA guard to the identity policy or to an SCP.",
        ),
        CheckInfo(
            "MFA014",
            "console-user-without-mfa",
            Severity.HIGH,
            "Assign an MFA device (a FIDO security key for console sign-in) to the user, or remove "
            "the console password.",
        ),
        CheckInfo(
            "MFA015",
            "admin-without-mfa",
            Severity.CRITICAL,
            "Administrator-equivalent permissions need MFA: attach tapgate's gating policy or an "
            "MFA guard, and route access through an MFA-gated role.",
        ),
        CheckInfo(
            "MFA016",
            "assurance-trust-mismatch",
            Severity.MEDIUM,
            "Build the role's trust policy with tapgate's gated_role_trust_policy(assurance=...) "
            "for the role's cdk.json assurance, so IAM requires the same tapgate-assurance "
            "values the broker does.",
        ),
    )
}
