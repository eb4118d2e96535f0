"""Local-mode throughput: complete SigV4 authentications per second, 1 to 32 clients.

``start_local(port=0, state_file=...)`` runs moto, the gateway and the real handler in
this process. The clients run in a separate process (so their signing and HTTP do not
compete for this one's GIL), one thread per client, each its own IAM user with one key,
doing options + verify in a loop for a fixed time. The SigV4 routes are not throttled by
the local gateway (only the open routes are, per IP), so every answer should be 200.

Every authentication is counted, whatever happens to it: an HTTP status other than 200
and a transport error (a reset, a refused or timed-out connection, an answer that is not
HTTP or not JSON) are failures, by kind. A worker never dies on one; its time counts in
the latency percentiles like any other attempt.
"""

from __future__ import annotations

import http.client
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLIENT_COUNTS = (1, 4, 16, 32)


@dataclass(frozen=True)
class Throughput:
    clients: int
    per_second: float  # successful authentications per second
    statuses: dict[str, int]  # "200", other statuses, or "transport: <error>" -> count
    median_ms: float
    p99_ms: float

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values())

    @property
    def failures(self) -> int:
        return self.attempts - self.statuses.get("200", 0)


def make_users(state: dict[str, Any], count: int) -> list[dict[str, str]]:
    """IAM users with access keys in local mode's moto, one per client."""
    import boto3  # noqa: PLC0415

    iam = boto3.client(
        "iam",
        endpoint_url=state["awsEndpointUrl"],
        region_name=state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )
    users = []
    for index in range(count):
        name = f"bench-{index:02d}"
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users.append(
            {
                "userName": name,
                "accessKeyId": key["AccessKeyId"],
                "secretAccessKey": key["SecretAccessKey"],
            }
        )
    return users


def measure(seconds: float = 5.0) -> list[Throughput]:
    from tapgate.local.server import start_local  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="tapgate-throughput-") as tmp:
        state_file = Path(tmp) / "local.json"
        handle = start_local(port=0, state_file=state_file)
        try:
            users = make_users(handle.state, max(CLIENT_COUNTS))
            users_file = Path(tmp) / "users.json"
            users_file.write_text(json.dumps(users))
            done = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__)),
                    str(state_file),
                    str(users_file),
                    str(seconds),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"throughput clients failed: {done.stderr[-600:]}")
            return [Throughput(**row) for row in json.loads(done.stdout.splitlines()[-1])]
        finally:
            handle.stop()


def _clients(state_file: Path, users_file: Path, seconds: float) -> list[dict[str, Any]]:
    """In the client process: register each user's key, then run the loops."""
    from bench.local_client import LocalClient  # noqa: PLC0415

    state = json.loads(state_file.read_text())
    clients = []
    for user in json.loads(users_file.read_text()):
        client = LocalClient({**state, "demoUser": user})
        status = client.register(None)
        if status != 201:
            raise SystemExit(f"registering {user['userName']}'s key answered {status}")
        clients.append(client)
    for client in clients[:2]:  # warm both processes' code paths
        client.authenticate()
    return [_run(clients[:n], seconds) for n in CLIENT_COUNTS]


def _attempt(client: Any) -> str:
    """One authentication's outcome: its final HTTP status, or the transport error."""
    try:
        return str(client.authenticate())
    except (OSError, http.client.HTTPException, ValueError) as error:
        # OSError covers resets, refusals and timeouts (URLError is one); ValueError an
        # answer that is not JSON.
        reason = getattr(error, "reason", None)
        return f"transport: {type(reason if isinstance(reason, Exception) else error).__name__}"


def _run(clients: list[Any], seconds: float) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    durations: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(client: Any) -> None:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            outcome = _attempt(client)
            took = time.perf_counter() - start
            with lock:
                statuses[outcome] += 1
                durations.append(took)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "clients": len(clients),
        "per_second": statuses["200"] / elapsed,
        "statuses": dict(statuses),
        "median_ms": _percentile(durations, 50) * 1e3,
        "p99_ms": _percentile(durations, 99) * 1e3,
    }


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(_clients(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))))
    else:
        for row in measure(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 3.0):
            print(row)
