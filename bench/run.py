"""tapgate benchmarks: `make bench` prints a table and writes docs/benchmarks.md.

Ratios are measured side by side in one run (machines are noisy; a ratio of
two numbers taken together travels better than either number). Where a goal
is missed the table says so; docs/benchmarks.md says why and what would close
it. Never loosen a measurement to meet a goal.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.hardening: the forged key and in-memory adapters
PY = sys.executable


@dataclass
class Row:
    name: str
    value: str
    goal: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


def timed(fn: Callable[[], Any], *, repeat: int) -> float:
    """Median seconds per call over ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# -- 1. verify in-process vs bare ECDSA vs py_webauthn --------------------------------------


def bench_verify(rounds: int = 400, *, cached_hints: bool = False) -> tuple[list[Row], float]:
    import hashlib  # noqa: PLC0415

    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from fido2.cose import ES256  # noqa: PLC0415
    from fido2.utils import websafe_decode  # noqa: PLC0415
    from webauthn import verify_authentication_response  # noqa: PLC0415

    from tests.functional.broker_harness import api_event  # noqa: PLC0415
    from tests.hardening.fakes import MemoryDeployment  # noqa: PLC0415
    from tests.hardening.forge import ForgedKey  # noqa: PLC0415

    if cached_hints:
        # What-if only, never shipped: fido2 re-evaluates its dataclasses' string
        # annotations (typing.get_type_hints -> compile) on every from_dict/__post_init__.
        import functools  # noqa: PLC0415
        import typing  # noqa: PLC0415

        import fido2.utils  # noqa: PLC0415

        fido2.utils.get_type_hints = functools.cache(typing.get_type_hints)  # type: ignore[assignment]
        try:
            return bench_verify(rounds, cached_hints=False)
        finally:
            fido2.utils.get_type_hints = typing.get_type_hints
    dep = MemoryDeployment()
    key = ForgedKey()
    arn = "arn:aws:iam::123456789012:user/alice"

    def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = dep.app.resolve(
            api_event("POST", path, body=body, user_arn=arn), None
        )
        return result

    options = json.loads(call("/registration/options", {})["body"])
    reg = call(
        "/registration/verify",
        {
            "ceremonyId": options["ceremonyId"],
            "credential": key.register(options["publicKey"], dep.origin),
        },
    )
    assert reg["statusCode"] == 201, reg
    # Prepare every ceremony and assertion first; time only the verify requests.
    events, last = [], None
    for _ in range(rounds):
        opts = json.loads(call("/authentication/options", {"roleArn": dep.role_arn})["body"])
        last = (opts, key.assertion(opts["publicKey"], dep.origin))
        body = {"ceremonyId": opts["ceremonyId"], "credential": last[1], "roleArn": dep.role_arn}
        events.append(api_event("POST", "/authentication/verify", body=body, user_arn=arn))
    statuses: Counter[int] = Counter()
    samples = []
    for event in events:
        start = time.perf_counter()
        statuses[dep.app.resolve(event, None)["statusCode"]] += 1
        samples.append(time.perf_counter() - start)
    assert statuses == {200: rounds}, statuses
    ours = statistics.median(samples)

    assert last is not None
    opts, assertion = last
    response = assertion["response"]
    auth_data = websafe_decode(response["authenticatorData"])
    client_data = websafe_decode(response["clientDataJSON"])
    signature = websafe_decode(response["signature"])
    message = auth_data + hashlib.sha256(client_data).digest()
    public = key.private_key.public_key()
    bare = timed(
        lambda: public.verify(signature, message, ec.ECDSA(hashes.SHA256())), repeat=rounds
    )

    cose_key = bytes(
        __import__("fido2.cbor", fromlist=["encode"]).encode(
            dict(ES256.from_cryptography_key(public))
        )
    )

    def py_webauthn() -> None:
        verify_authentication_response(
            credential=assertion,
            expected_challenge=websafe_decode(opts["publicKey"]["challenge"]),
            expected_rp_id=dep.rp_id,
            expected_origin=dep.origin,
            credential_public_key=cose_key,
            credential_current_sign_count=0,
        )

    theirs = timed(py_webauthn, repeat=rounds)
    return [
        Row("verify in-process (resolver + broker, in-memory AWS)", f"{ours * 1e3:.3f} ms"),
        Row("bare cryptography ECDSA P-256 verify", f"{bare * 1e3:.3f} ms"),
        Row("py_webauthn verify_authentication_response", f"{theirs * 1e3:.3f} ms"),
        Row("verify / bare ECDSA", f"{ours / bare:.1f}x", "<= 10x", ours / bare <= 10),
        Row("verify / py_webauthn", f"{ours / theirs:.2f}x", "<= 1.0x", ours / theirs <= 1.0),
    ], ours


# -- 2. cold import --------------------------------------------------------------------------


def import_micros(module: str) -> int:
    """Cumulative import time of ``module`` in a fresh interpreter (-X importtime)."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    root = module.split(".", maxsplit=1)[0]
    total = 0
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match and match.group(2).split(".")[0] == root:
            total += int(match.group(1))  # top-level entries only (no indentation)
    return total


def heaviest(module: str, count: int = 6) -> list[tuple[str, int]]:
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)$", line)
        if match and len(match.group(2)) <= 4:
            rows.append((match.group(3), int(match.group(1))))
    return sorted(rows, key=lambda r: -r[1])[:count]


def bench_import(runs: int = 9) -> tuple[list[Row], list[tuple[str, int]]]:
    handler, boto = [], []
    for _ in range(runs):  # interleaved, so drift hits both alike
        handler.append(import_micros("tapgate_broker.handler"))
        boto.append(import_micros("boto3"))
    h, b = statistics.median(handler), statistics.median(boto)
    return [
        Row("cold import tapgate_broker.handler (median of 9)", f"{h / 1e3:.0f} ms"),
        Row("cold import boto3 (median of 9)", f"{b / 1e3:.0f} ms"),
        Row("handler import / boto3 import", f"{h / b:.2f}x", "<= 1.3x", h / b <= 1.3),
    ], heaviest("tapgate_broker.handler")


# -- 3. cached `tapgate credentials` ----------------------------------------------------------


def bench_cached_credentials() -> list[Row]:
    script = ROOT / "bench" / "cached_credentials.py"
    if not script.exists():
        return [
            Row(
                "cached `tapgate credentials` / python3 -I -c pass",
                "not measured",
                "<= 2x",
                None,
                "bench/cached_credentials.py is not in the tree yet",
            )
        ]
    done = subprocess.run([PY, str(script)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return [
            Row("cached `tapgate credentials`", "failed", "<= 2x", None, done.stderr.strip()[-200:])
        ]
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
        ratio = float(result["ratio"])
    except (ValueError, KeyError, IndexError):
        return [Row("cached `tapgate credentials`", done.stdout.strip()[-120:], "<= 2x")]
    return [
        Row(
            "cached `tapgate credentials` / python3 -I -c pass",
            f"{ratio:.2f}x",
            "<= 2x",
            ratio <= 2,
            json.dumps({k: v for k, v in result.items() if k != "ratio"}),
        )
    ]


# -- 4. AWS requests per ceremony (moto, botocore event hook) ------------------------------------


def bench_requests() -> tuple[list[Row], dict[str, Any]]:
    from moto import mock_aws  # noqa: PLC0415

    from tests.functional.broker_harness import ORIGIN, REGION, api_event  # noqa: PLC0415
    from tests.hardening.forge import ForgedKey  # noqa: PLC0415

    os.environ.update(  # moto's fake credentials
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        AWS_DEFAULT_REGION=REGION,
    )
    with mock_aws():
        from tests.hardening.conftest import make_harness  # noqa: PLC0415

        h = make_harness(Path(tempfile.mkdtemp()))
        calls: list[str] = []
        sizes: dict[str, list[int]] = {}

        def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
            service, operation = event_name.split(".")[1:3]
            calls.append(f"{service}:{operation}")
            item = params.get("Item")
            if item:
                sizes.setdefault(params["TableName"], []).append(
                    len(json.dumps(item, default=lambda b: "x" * len(b)))
                )

        broker: Any = h.broker
        for client in (broker._credentials._client, broker._issuer._client):
            client.meta.events.register("provide-client-params.*.*", count)
        arn = h.user_arn("alice")

        def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
            result = h.app.resolve(api_event("POST", path, body=body, user_arn=arn), None)
            return dict(json.loads(result["body"]))

        def ceremony(
            options_path: str,
            verify_path: str,
            body: dict[str, Any],
            answer: Callable[[dict[str, Any]], dict[str, Any]],
        ) -> tuple[Counter[str], Counter[str]]:
            calls.clear()
            options = call(options_path, body)
            opts = Counter(calls)
            calls.clear()
            call(verify_path, {"ceremonyId": options["ceremonyId"], **answer(options), **body})
            return opts, Counter(calls)

        first, second = ForgedKey(), ForgedKey()
        reg1 = ceremony(
            "/registration/options",
            "/registration/verify",
            {},
            lambda o: {"credential": first.register(o["publicKey"], ORIGIN)},
        )
        reg2 = ceremony(
            "/registration/options",
            "/registration/verify",
            {},
            lambda o: {
                "credential": second.register(o["publicKey"], ORIGIN),
                "stepUp": first.assertion(o["stepUp"], ORIGIN),
            },
        )
        role = h.settings.roles[0].arn
        auth = ceremony(
            "/authentication/options",
            "/authentication/verify",
            {"roleArn": role},
            lambda o: {"credential": first.assertion(o["publicKey"], ORIGIN)},
        )

    def fmt(pair: tuple[Counter[str], Counter[str]]) -> str:
        return " + ".join(", ".join(f"{n}x {k}" for k, n in sorted(c.items())) for c in pair)

    def total(c: Counter[str], service: str) -> int:
        return sum(n for k, n in c.items() if k.startswith(service))

    ddb, sts = total(auth[1], "dynamodb"), total(auth[1], "sts")
    rows = [
        Row("requests: first-key registration (options + verify)", fmt(reg1)),
        Row("requests: second-key registration (options + verify)", fmt(reg2)),
        Row("requests: authentication (options + verify)", fmt(auth)),
        Row(
            "authentication verify: DynamoDB + STS",
            f"{ddb} + {sts}",
            "<= 3 + 1",
            ddb <= 3 and sts <= 1,
        ),
    ]
    return rows, {
        "auth_options": auth[0],
        "auth_verify": auth[1],
        "item_bytes": {k: max(v) for k, v in sizes.items()},
    }


# -- 5. local-mode throughput ----------------------------------------------------------------


def bench_local_throughput(seconds: float = 4.0) -> list[Row]:
    try:
        from tapgate.local.server import start_local  # noqa: PLC0415
    except ImportError as exc:
        return [Row("local-mode throughput", "not measured", note=f"tapgate.local.server: {exc}")]
    from bench.local_client import LocalClient  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        handle = start_local(state_dir=Path(tmp))
        try:
            # One key per client (each its own counter); keys after the first need a step-up.
            clients = [LocalClient(handle.state) for _ in range(16)]
            for index, client in enumerate(clients):
                status = client.register(clients[0].key if index else None)
                if status != 201:
                    return [
                        Row("local-mode throughput", "not measured", note=f"register: {status}")
                    ]
            return [run_clients(clients[:n], seconds) for n in (1, 4, 16)]
        finally:
            handle.stop()


def run_clients(clients: list[Any], seconds: float) -> Row:
    done: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(client: Any) -> None:
        while time.perf_counter() < stop:
            status = str(client.authenticate())
            with lock:
                done[status] += 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = done["200"] / (time.perf_counter() - start)
    note = "" if set(done) == {"200"} else f"statuses {dict(done)}"
    return Row(
        f"local mode: authentications/s, {len(clients)} client(s)", f"{rate:.1f}/s", note=note
    )


# -- 6. zipped Lambda asset ------------------------------------------------------------------------


# What the Python 3.12 Lambda runtime already has (aws-xray-sdk pulls botocore in).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def zip_size(source: Path, archive: Path, *, skip: tuple[str, ...]) -> tuple[int, Counter[str]]:
    per_top: Counter[str] = Counter()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            top = path.relative_to(source).parts[0]
            name = re.split(r"[-.]", top, maxsplit=1)[0].replace("python_", "")
            if not path.is_file() or name in skip:
                continue
            zf.write(path, path.relative_to(source))
            per_top[top] += path.stat().st_size
    return archive.stat().st_size, per_top


def bench_asset() -> tuple[list[Row], list[tuple[str, int]]]:
    work = Path(tempfile.mkdtemp(prefix="tapgate-asset-"))
    try:
        target = work / "asset"
        subprocess.run(
            [
                PY,
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(ROOT / "lambdas" / "requirements.txt"),
                "--target",
                str(target),
                "--platform",
                "manylinux2014_aarch64",
                "--only-binary=:all:",
                "--no-compile",
                "--python-version",
                "3.12",
                "--implementation",
                "cp",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        shutil.copytree(
            ROOT / "lambdas" / "tapgate_broker",
            target / "tapgate_broker",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        full, per_top = zip_size(target, work / "asset.zip", skip=())
        slim, _ = zip_size(target, work / "slim.zip", skip=RUNTIME_PROVIDED)
        return [
            Row(
                "zipped Lambda asset (arm64, py3.12)",
                f"{full / 1e6:.2f} MB",
                "<= 10 MB",
                full <= 10e6,
            ),
            Row(
                "what-if: same, without what the Lambda runtime provides",
                f"{slim / 1e6:.2f} MB",
                "<= 10 MB",
                slim <= 10e6,
                "boto3/botocore/s3transfer/jmespath/urllib3/dateutil/six left out",
            ),
        ], per_top.most_common(6)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- 7. cost model -----------------------------------------------------------------------------

# List prices from memory, us-east-1, as of 2025-06; CHECK them before relying on this.
PRICES_AS_OF = "2025-06 (list prices from memory, us-east-1; check the current price pages)"
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
APIGW_REST_REQUEST = 3.50 / 1e6
DDB_WRITE_UNIT = 0.625 / 1e6
DDB_READ_UNIT = 0.125 / 1e6
LAMBDA_MEMORY_GB = 0.5  # assumed function memory
AWS_LATENCY_MS = {"dynamodb": 6.0, "sts": 25.0}  # assumed in-region round trips


def cost_model(verify_seconds: float, counts: dict[str, Any]) -> tuple[list[Row], list[str]]:
    opts, verify = counts["auth_options"], counts["auth_verify"]

    def latency(c: Counter[str]) -> float:
        return sum(AWS_LATENCY_MS[k.split(":")[0]] * n for k, n in c.items()) / 1e3

    # Duration = measured in-process CPU time + assumed round trips; options costs about a verify.
    seconds = 2 * verify_seconds + latency(opts) + latency(verify)
    billed = (
        sum(
            max(1, round(x * 1e3))
            for x in (verify_seconds + latency(opts), verify_seconds + latency(verify))
        )
        / 1e3
    )
    n = 1e6
    sizes = counts["item_bytes"]
    # WCU: 1 per KB of the larger of old/new item; consume rewrites the ceremony item.
    ceremony_kb = max(1, -(-sizes.get("tapgate-ceremonies", 1024) // 1024))
    audit_kb = max(1, -(-sizes.get("tapgate-audit", 1024) // 1024))
    writes = ceremony_kb * 2 + 1 + audit_kb  # put ceremony, consume it, counter, audit
    reads = 1  # consistent Query of the user's keys (< 4 KB)
    lines = {
        "Lambda requests (2 per authentication)": 2 * n * LAMBDA_REQUEST,
        f"Lambda arm64 compute ({billed * 1e3:.0f} ms billed x {LAMBDA_MEMORY_GB} GB)": n
        * billed
        * LAMBDA_MEMORY_GB
        * LAMBDA_ARM_GB_SECOND,
        "API Gateway REST (2 requests per authentication)": 2 * n * APIGW_REST_REQUEST,
        f"DynamoDB on-demand ({writes} WRU + {reads} RRU per authentication)": n
        * (writes * DDB_WRITE_UNIT + reads * DDB_READ_UNIT),
        "STS AssumeRole": 0.0,
    }
    total = sum(lines.values())
    rows = [
        Row(
            "cost of 1 M authentications / month",
            f"${total:.2f}",
            note=f"prices as of {PRICES_AS_OF}",
        )
    ]
    text = [f"| {k} | ${v:,.2f} |" for k, v in lines.items()] + [
        f"| **total** | **${total:,.2f}** |"
    ]
    text.append(
        f"\nModelled Lambda time per authentication: {seconds * 1e3:.1f} ms (two invocations)."
    )
    return rows, text


# -- report ------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    out = ["| measure | value | goal | verdict | note |", "| --- | --- | --- | --- | --- |"]
    out += [f"| {r.name} | {r.value} | {r.goal} | {r.verdict} | {r.note} |" for r in rows]
    return "\n".join(out)


def main() -> int:
    rows: list[Row] = []
    section: dict[str, Any] = {}
    verify_rows, verify_seconds = bench_verify()
    rows += verify_rows
    what_if, _ = bench_verify(cached_hints=True)
    for row in what_if[-2:]:
        row.name = "what-if, fido2 type hints cached: " + row.name
        row.note = "not shipped; see notes"
    rows += what_if[-2:]
    import_rows, section["heavy_imports"] = bench_import()
    rows += import_rows
    rows += bench_cached_credentials()
    request_rows, counts = bench_requests()
    rows += request_rows
    rows += bench_local_throughput()
    asset_rows, section["asset_top"] = bench_asset()
    rows += asset_rows
    cost_rows, section["cost"] = cost_model(verify_seconds, counts)
    rows += cost_rows
    rendered = table(rows)
    print(rendered)
    write_doc(rendered, section)
    return 0


def write_doc(rendered: str, section: dict[str, Any]) -> None:
    from bench.notes import NOTES  # noqa: PLC0415

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    heavy = "\n".join(
        f"| {name} | {micros / 1e3:.0f} ms |" for name, micros in section["heavy_imports"]
    )
    asset = "\n".join(f"| {name} | {size / 1e6:.2f} MB |" for name, size in section["asset_top"])
    doc = NOTES.format(
        stamp=stamp,
        machine=machine,
        table=rendered,
        heavy=heavy,
        asset=asset,
        cost="\n".join(section["cost"]),
        prices_as_of=PRICES_AS_OF,
    )
    (ROOT / "docs" / "benchmarks.md").write_text(doc)


if __name__ == "__main__":
    sys.exit(main())
