"""Local-mode throughput: complete SigV4 authentications per second, 1, 4 and 16 clients.

``start_local(port=0, state_file=...)`` runs moto, the gateway and the real handler in
this process. The clients run in a separate process (so their signing and HTTP do not
compete for this one's GIL), one thread per client, each its own IAM user with one key,
doing options + verify in a loop for a fixed time. The SigV4 routes are not throttled by
the local gateway (only the open routes are, per IP), so every answer should be 200.
"""

from __future__ import annotations

import json
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

CLIENT_COUNTS = (1, 4, 16)


@dataclass(frozen=True)
class Throughput:
    clients: int
    per_second: float
    statuses: dict[str, int]
    median_ms: float


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


def _run(clients: list[Any], seconds: float) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    durations: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(client: Any) -> None:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            status = str(client.authenticate())
            took = time.perf_counter() - start
            with lock:
                statuses[status] += 1
                durations.append(took)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    durations.sort()
    return {
        "clients": len(clients),
        "per_second": statuses["200"] / elapsed,
        "statuses": dict(statuses),
        "median_ms": durations[len(durations) // 2] * 1e3 if durations else 0.0,
    }


if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(_clients(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))))
    else:
        for row in measure(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 3.0):
            print(row)
