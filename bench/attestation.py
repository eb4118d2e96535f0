"""What packed attestation verification adds to a registration.

Two deployments of the real resolver and Broker over the in-memory fakes
(``tests/hardening/fakes.py``): one whose roles need no attestation (registration asks for
none; the soft key answers with "none"), one with a role requiring ``certified`` keys
(registration asks "direct"; the soft key answers a packed statement with an x5c chain of
the test PKI, and the broker verifies it up to a root a test MDS3 blob lists for its AAGUID,
the blob parsed once beforehand as a warm container has it). Each round registers a new
user's first key on both, in turns; the medians and their difference are reported.

Run alone: ``.venv/bin/python bench/attestation.py [ROUNDS]``.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests: the test PKI and the in-memory adapters

ORIGIN = "http://localhost:8080"
CERTIFIED_ROLE = "arn:aws:iam::123456789012:role/tapgate-certified"


@dataclass(frozen=True)
class AttestationTimes:
    without: float  # seconds, median registration verify, no attestation
    with_attestation: float  # seconds, median registration verify, packed + metadata
    rounds: int


class _Side:
    def __init__(self, deployment: Any, key: Path, level: str) -> None:
        self.deployment = deployment
        self.key = key
        self.level = level  # what each registration must store: the measured path ran
        self.events: list[dict[str, Any]] = []

    def prepare(self, rounds: int) -> None:
        from tapgate.authenticators.soft import soft_client  # noqa: PLC0415
        from tests.support.broker_harness import api_event, make_credential  # noqa: PLC0415

        client = soft_client(self.key, ORIGIN)
        for i in range(rounds):
            arn = f"arn:aws:iam::123456789012:user/bench-{i}"
            answer = self.deployment.app.resolve(
                api_event("POST", "/registration/options", body={}, user_arn=arn), None
            )
            options = json.loads(answer["body"])
            credential = make_credential(client, options["publicKey"])
            body = {"ceremonyId": options["ceremonyId"], "credential": credential}
            self.events.append(api_event("POST", "/registration/verify", body=body, user_arn=arn))

    def run(self, i: int) -> None:
        answer = self.deployment.app.resolve(self.events[i], None)
        assert answer["statusCode"] == 201, answer["body"]


def measure(rounds: int = 100, warmup: int = 5) -> AttestationTimes:
    from fido2.webauthn import Aaguid  # noqa: PLC0415

    from tapgate.authenticators.soft import SoftAuthenticator  # noqa: PLC0415
    from tapgate_broker.core.assurance import MetadataIndex  # noqa: PLC0415
    from tapgate_broker.core.metadata import TrustRoot, verify_metadata  # noqa: PLC0415
    from tapgate_broker.core.models import RoleConfig  # noqa: PLC0415
    from tests.assurance.pki import Pki, attestation_identity, metadata_entry  # noqa: PLC0415
    from tests.support.fakes import MemoryDeployment  # noqa: PLC0415

    model = Aaguid.parse("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a")
    pki = Pki.make()
    entry = metadata_entry(aaguid=model, roots=[pki.attestation_root], description="bench key")
    now = dt.datetime.now(dt.UTC)
    blob = pki.blob(entries=[entry], no=1, next_update=now.date() + dt.timedelta(days=30))
    index = MetadataIndex(
        verify_metadata(
            blob, root=TrustRoot(certificates=(pki.metadata_root.der,)), now=now
        ).payload
    )
    with tempfile.TemporaryDirectory() as work:
        plain_key, attested_key = Path(work) / "plain.json", Path(work) / "attested.json"
        SoftAuthenticator.create(plain_key)
        SoftAuthenticator.create(
            attested_key, attestation=attestation_identity(pki.attestation_root, aaguid=model)
        )
        sides = {
            "without": _Side(MemoryDeployment(), plain_key, "device-bound"),
            "with": _Side(
                MemoryDeployment(
                    extra_roles=(
                        RoleConfig(arn=CERTIFIED_ROLE, name="certified", assurance="certified"),
                    ),
                    metadata=lambda: index,
                ),
                attested_key,
                "certified",
            ),
        }
        for side in sides.values():
            side.prepare(warmup + rounds)
        for i in range(warmup):
            for side in sides.values():
                side.run(i)
        samples: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for n, i in enumerate(range(warmup, warmup + rounds)):
            order = names if n % 2 == 0 else names[::-1]  # take turns going first
            for name in order:
                start = time.perf_counter()
                sides[name].run(i)
                samples[name].append(time.perf_counter() - start)
    return AttestationTimes(
        without=statistics.median(samples["without"]),
        with_attestation=statistics.median(samples["with"]),
        rounds=rounds,
    )


if __name__ == "__main__":
    times = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    added = (times.with_attestation - times.without) * 1e3
    print(
        f"registration verify, median of {times.rounds}: without attestation "
        f"{times.without * 1e3:.3f} ms, packed attestation verified against metadata "
        f"{times.with_attestation * 1e3:.3f} ms (+{added:.3f} ms)"
    )
