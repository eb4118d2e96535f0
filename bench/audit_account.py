"""`tapgate audit` on a 500-policy account, end to end as a CI job runs it.

The account is saved `aws iam get-account-authorization-details` output built from the shapes
real accounts hold (AWS's documented force-MFA and EC2/S3 MFA examples, admin and service
wildcards, Region-conditioned grants, cross-account and service trusts): 100 users with an
inline policy, 25 groups with an inline policy and members, 125 roles with a trust and an
inline policy, 125 customer managed policies attached across them, 500 policy documents in
all. The time is the wall clock of `python -m tapgate.audit FILE --format json` in a fresh
interpreter (imports, the action catalog, every check), median of several runs.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "111122223333"
GUARD = {
    "Sid": "BlockMostAccessUnlessSignedInWithMFA",
    "Effect": "Deny",
    "NotAction": [
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:GetUser",
        "iam:ListMFADevices",
        "iam:ListVirtualMFADevices",
        "iam:ResyncMFADevice",
        "sts:GetSessionToken",
    ],
    "Resource": "*",
    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
}
SHAPES: list[list[dict[str, Any]]] = [
    [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    [{"Effect": "Allow", "Action": "*", "Resource": "*"}, GUARD],
    [
        {"Sid": "AllowAllActionsForEC2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {
            "Sid": "DenyStopAndTerminateWhenMFAIsNotPresent",
            "Effect": "Deny",
            "Action": ["ec2:StopInstances", "ec2:TerminateInstances"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
    [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::*/*",
        },
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::Production/*", "arn:aws:s3:::Production"],
            "Condition": {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "1800"}},
        },
    ],
    [
        {
            "Effect": "Allow",
            "Action": "ec2:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-2"}},
        }
    ],
    [{"Effect": "Allow", "Action": ["dynamodb:*", "lambda:*", "logs:*"], "Resource": "*"}],
    [{"Effect": "Allow", "Action": ["ec2:Describe*", "s3:List*", "s3:Get*"], "Resource": "*"}],
    [
        {
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
]
TRUSTS: list[dict[str, Any]] = [
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    },
    {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    },
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
]


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def account(*, users: int = 100, groups: int = 25, roles: int = 125, managed: int = 125) -> dict:
    """Saved authorization details with users + groups + 2 x roles + managed documents."""
    policies = [
        {
            "PolicyName": f"managed-{i}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/managed-{i}",
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {"VersionId": "v1", "IsDefaultVersion": True, "Document": _document(SHAPES[i % 8])}
            ],
        }
        for i in range(managed)
    ]

    def attached(i: int) -> list[dict[str, str]]:
        chosen = policies[(i * 7) % managed]
        return [{"PolicyName": chosen["PolicyName"], "PolicyArn": chosen["Arn"]}]

    group_list = [
        {
            "GroupName": f"group-{g}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/group-{g}",
            "GroupPolicyList": [
                {"PolicyName": "inline", "PolicyDocument": _document(SHAPES[(g + 3) % 8])}
            ],
            "AttachedManagedPolicies": attached(g),
        }
        for g in range(groups)
    ]
    user_list = [
        {
            "UserName": f"user-{u}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/user-{u}",
            "UserPolicyList": [
                {"PolicyName": "inline", "PolicyDocument": _document(SHAPES[u % 8])}
            ],
            "GroupList": [f"group-{u % groups}"],
            "AttachedManagedPolicies": attached(u + 1),
        }
        for u in range(users)
    ]
    role_list = [
        {
            "RoleName": f"role-{r}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/role-{r}",
            "AssumeRolePolicyDocument": _document([TRUSTS[r % 4]]),
            "RolePolicyList": [
                {"PolicyName": "inline", "PolicyDocument": _document(SHAPES[(r + 5) % 8])}
            ],
            "AttachedManagedPolicies": attached(r + 2),
        }
        for r in range(roles)
    ]
    return {
        "UserDetailList": user_list,
        "GroupDetailList": group_list,
        "RoleDetailList": role_list,
        "Policies": policies,
    }


@dataclass(frozen=True)
class AuditTime:
    seconds: float  # wall clock, median
    cpu_seconds: float  # user + system of the audit process, median (robust to a busy machine)
    runs: int
    documents: int
    findings: int


def measure(*, runs: int = 5) -> AuditTime:
    details = account()
    documents = (
        len(details["UserDetailList"])
        + len(details["GroupDetailList"])
        + 2 * len(details["RoleDetailList"])
        + len(details["Policies"])
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "authorization-details.json"
        path.write_text(json.dumps(details))
        command = [sys.executable, "-m", "tapgate.audit", str(path), "--format", "json"]
        times, cpu, out = [], [], ""
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            out = done.stdout
    findings = len(json.loads(out)["findings"])
    return AuditTime(statistics.median(times), statistics.median(cpu), runs, documents, findings)


if __name__ == "__main__":  # the row alone: python bench/audit_account.py
    result = measure()
    print(
        f"{result.documents} documents, {result.findings} findings: {result.seconds:.3f} s "
        f"(CPU {result.cpu_seconds:.3f} s)"
    )
