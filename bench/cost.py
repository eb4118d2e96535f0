"""A cost model for 1 M authentications a month (options + verify), from measured inputs.

Measured here: the in-process time of both requests (bench/verify.py), the AWS requests
each makes and the sizes of the items it writes (bench/aws_requests.py). Assumed: the
prices below, the AWS round-trip latencies, and that a Lambda of 512 MB gets 512/1769 of
one vCPU (AWS documents 1 vCPU at 1,769 MB) of a core about as fast as this machine's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# List prices, us-east-1. Each is read from the stored copy of a public page (the search
# tool's "pages" corpus, read 2026-12-02): AWS's own where its stored text has the rate,
# else a third-party summary of AWS's page, as PRICE_SOURCES says. Check them against
# aws.amazon.com/<service>/pricing before quoting the total. Free tiers are ignored.
PRICES_READ_ON = "2026-12-02"
PRICES_AS_OF = f"us-east-1 list prices, read {PRICES_READ_ON} from stored pages (sources below)"
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
APIGW_REST_REQUEST = 3.50 / 1e6  # first 333 M requests a month
DDB_WRITE_UNIT = 0.625 / 1e6  # on-demand, after the November 2024 price cut
DDB_READ_UNIT = 0.125 / 1e6
DDB_STORAGE_GB_MONTH = 0.25
WAF_WEB_ACL_MONTH = 5.00
WAF_RULE_MONTH = 1.00
WAF_REQUEST = 0.60 / 1e6
# (what, price as the source states it, source, how it was read)
PRICE_SOURCES = (
    (
        "Lambda arm64 duration; requests",
        "$0.0000133334 per GB-second; $0.20 per million",
        "git.mcrn.ar/mariano/lambda_local_runner docs/lambdas-md/lambda-13-cost.md",
        "third-party table; aws.amazon.com/lambda/pricing renders its rates client-side, "
        "so its stored copy has none",
    ),
    (
        "API Gateway REST requests",
        "$3.50 per million (first 333 M a month)",
        "docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-"
        "integration/cost-optimization.html (Table 4)",
        "AWS whitepaper",
    ),
    (
        "DynamoDB on-demand write / read request units",
        "$0.625 / $0.125 per million",
        "airbyte.com/data-engineering-resources/dynamodb-pricing",
        "third-party; one 2026 summary (infratally.com) still gives $0.25 per million reads, "
        "the figure before AWS halved on-demand prices in November 2024",
    ),
    (
        "DynamoDB storage",
        "$0.25 per GB-month",
        "not found in the stored pages",
        "remembered; used only for the audit-storage aside, not in the total",
    ),
    (
        "WAF web ACL; rule; requests",
        "$5.00 per month; $1.00 per month; $0.60 per million",
        "c3x.dev/blog/aws-waf-cost-explained (and awsnegotiations.com/waf-pricing-strategy)",
        "third-party; AWS's WAF blog states the price is the same in every region",
    ),
    ("STS AssumeRole", "no charge", "AWS STS is a free service", "remembered"),
)
# The per-user view: a user signs in this many times a day (one credential_process
# refresh an hour of a working day is about 8; a console sign-in or two is 1-2).
SIGN_INS_PER_USER_PER_DAY = 4
DAYS_PER_MONTH = 30
WAF_RULES = 2  # stacks/waf.py: public-per-ip and all-per-ip

LAMBDA_MEMORY_MB = 512  # stacks/broker.py
VCPU_MB = 1769
AWS_LATENCY_MS = {"dynamodb": 6.0, "sts": 25.0}  # assumed in-region round trips
AUDIT_RETENTION_DAYS = 400  # the broker's default
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's per-item storage overhead


@dataclass(frozen=True)
class Invocation:
    route: str
    cpu_ms: float  # measured on this machine, one core
    requests: dict[str, int]
    dynamodb: list[tuple[str, str, bool]]

    @property
    def lambda_cpu_ms(self) -> float:
        return self.cpu_ms * VCPU_MB / LAMBDA_MEMORY_MB

    @property
    def wait_ms(self) -> float:
        return sum(AWS_LATENCY_MS[k.split(":")[0]] * n for k, n in self.requests.items())

    @property
    def billed_ms(self) -> int:
        return math.ceil(self.lambda_cpu_ms + self.wait_ms)


def units(invocation: Invocation, sizes: dict[str, int]) -> tuple[float, float]:
    """(write units, read units) by DynamoDB's rounding: 1 KB per WRU, 4 KB per RRU,
    half for an eventually consistent read, twice for a transaction."""
    writes = reads = 0.0
    for operation, table, consistent in invocation.dynamodb:
        size = sizes.get(table, 1024)
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            writes += math.ceil(size / 1024)
        elif operation.startswith("Transact"):
            writes += 2 * math.ceil(size / 1024)
        elif operation in ("GetItem", "Query"):
            reads += math.ceil(size / 4096) * (1.0 if consistent else 0.5)
    return writes, reads


def model(
    invocations: list[Invocation], sizes: dict[str, int], *, per_month: float = 1e6
) -> dict[str, Any]:
    n = per_month
    calls = len(invocations)
    billed = sum(i.billed_ms for i in invocations)
    writes = sum(units(i, sizes)[0] for i in invocations)
    reads = sum(units(i, sizes)[1] for i in invocations)
    audit_gb = (
        n
        * (sizes.get("tapgate-audit", 256) + ITEM_OVERHEAD_BYTES)
        * AUDIT_RETENTION_DAYS
        / 30
        / 1e9
    )
    lines = {
        f"Lambda requests ({calls} per authentication)": calls * n * LAMBDA_REQUEST,
        f"Lambda arm64 compute ({billed} ms billed in all x {LAMBDA_MEMORY_MB} MB)": n
        * billed
        / 1e3
        * LAMBDA_MEMORY_MB
        / 1024
        * LAMBDA_ARM_GB_SECOND,
        f"API Gateway REST ({calls} requests per authentication)": calls * n * APIGW_REST_REQUEST,
        f"DynamoDB on-demand ({writes:g} WRU + {reads:g} RRU per authentication)": n
        * (writes * DDB_WRITE_UNIT + reads * DDB_READ_UNIT),
        f"WAF web ACL ({WAF_RULES} rules; fixed)": WAF_WEB_ACL_MONTH + WAF_RULES * WAF_RULE_MONTH,
        f"WAF requests inspected ({calls} per authentication)": calls * n * WAF_REQUEST,
        "STS AssumeRole": 0.0,
    }
    total = sum(lines.values())
    return {
        "lines": lines,
        "total": total,
        "audit_storage": (audit_gb, audit_gb * DDB_STORAGE_GB_MONTH),
        "invocations": invocations,
        "billed_ms": billed,
    }


def per_users(
    invocations: list[Invocation], sizes: dict[str, int], *, users: int = 1000
) -> dict[str, Any]:
    """The model at ``users`` users signing in SIGN_INS_PER_USER_PER_DAY times a day."""
    per_month = users * SIGN_INS_PER_USER_PER_DAY * DAYS_PER_MONTH
    costs = model(invocations, sizes, per_month=per_month)
    fixed = WAF_WEB_ACL_MONTH + WAF_RULES * WAF_RULE_MONTH
    return {
        "users": users,
        "authentications": per_month,
        "total": costs["total"],
        "fixed": fixed,
        "variable": costs["total"] - fixed,
    }
