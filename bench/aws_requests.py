"""DynamoDB and STS requests per ceremony, counted on the broker's own boto3 clients.

moto in-process, the functional suite's harness (the real adapters and wiring), and a
``provide-client-params.*.*`` hook that sees every request the broker's clients make
(retries excluded: they reuse the parameters). Each ceremony is counted per HTTP call.
The items written are sized with DynamoDB's size rules, for the cost model.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules (names + values; numbers about 1 byte per 2 digits)."""

    def value_size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "B":
            return len(inner)
        if kind == "N":
            return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
        if kind == "L":
            return 3 + sum(value_size(v) + 1 for v in inner)
        if kind in ("SS", "NS", "BS"):
            return sum(value_size({kind[0]: v}) for v in inner)
        raise ValueError(kind)

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass
class Phase:
    """One HTTP call's AWS requests."""

    route: str
    status: int
    requests: Counter[str] = field(default_factory=Counter)
    # (operation, table, consistent read) per DynamoDB request, for the cost model
    dynamodb: list[tuple[str, str, bool]] = field(default_factory=list)

    def count(self, service: str) -> int:
        return sum(n for name, n in self.requests.items() if name.startswith(service + ":"))


@dataclass
class Ceremony:
    name: str
    phases: list[Phase]

    def describe(self) -> str:
        return " + ".join(
            f"{p.route}: "
            + (", ".join(f"{n}x {k}" for k, n in sorted(p.requests.items())) or "none")
            for p in self.phases
        )

    def total(self, service: str) -> int:
        return sum(p.count(service) for p in self.phases)


@dataclass
class Counts:
    ceremonies: dict[str, Ceremony]
    item_bytes: dict[str, int]  # largest item written per table


def measure() -> Counts:
    from moto import mock_aws  # noqa: PLC0415

    from tests.support.broker_harness import ORIGIN, REGION  # noqa: PLC0415
    from tests.support.forge import ForgedKey  # noqa: PLC0415

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(  # moto's fake credentials
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        AWS_DEFAULT_REGION=REGION,
    )
    with mock_aws(), tempfile.TemporaryDirectory(prefix="tapgate-requests-") as tmp:
        from tests.support.deployment import make_harness  # noqa: PLC0415

        h = make_harness(Path(tmp))
        seen: list[tuple[str, dict[str, Any]]] = []

        def hook(event_name: str, params: dict[str, Any], **_: Any) -> None:
            service, operation = event_name.split(".")[1:3]
            seen.append((f"{service}:{operation}", params))

        broker: Any = h.broker
        clients = {id(c): c for c in (broker._credentials._client, broker._issuer._client)}
        for client in clients.values():
            client.meta.events.register("provide-client-params.*.*", hook)

        sizes: dict[str, int] = {}

        def note_sizes() -> None:
            for _, params in seen:
                puts = [params] if "Item" in params else []
                puts += [t["Put"] for t in params.get("TransactItems", []) if "Put" in t]
                for put in puts:
                    table = put["TableName"]
                    sizes[table] = max(sizes.get(table, 0), item_bytes(put["Item"]))

        def call(
            method: str, path: str, body: dict[str, Any], *, user: str | None = None, **kw: Any
        ) -> tuple[Phase, Any]:
            seen.clear()
            arn = h.user_arn(user) if user else None
            reply = h.call(method, path, body=body, user_arn=arn, **kw)
            note_sizes()
            route = (
                path
                if "/credentials/" not in path
                else path.split("/credentials/", maxsplit=1)[0] + "/credentials/{id}"
            )
            phase = Phase(f"{method} {route}", reply.status)
            phase.requests.update(name for name, _ in seen)
            for name, params in seen:
                if name.startswith("dynamodb:"):
                    operation = name.split(":", 1)[1]
                    table = params.get("TableName", "")
                    if operation == "TransactWriteItems":
                        for item in params["TransactItems"]:
                            ((kind, inner),) = item.items()
                            phase.dynamodb.append(("Transact" + kind, inner["TableName"], True))
                        continue
                    consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
                    phase.dynamodb.append((operation, table, consistent))
            if reply.status >= 300:
                raise RuntimeError(f"{method} {path}: {reply.status} {reply.body}")
            return phase, reply.body

        def ceremony(
            name: str,
            options_path: str,
            verify: Callable[[dict[str, Any]], tuple[str, str, dict[str, Any]]],
            body: dict[str, Any],
            **kw: Any,
        ) -> Ceremony:
            first, options = call("POST", options_path, body, **kw)
            method, path, answer = verify(options)
            second, _ = call(method, path, {"ceremonyId": options["ceremonyId"], **answer}, **kw)
            return Ceremony(name, [first, second])

        role = h.settings.roles[0].arn
        first, second = ForgedKey(), ForgedKey()
        found: dict[str, Ceremony] = {}
        found["registration"] = ceremony(
            "first-key registration (SigV4)",
            "/registration/options",
            lambda o: (
                "POST",
                "/registration/verify",
                {"credential": first.register(o["publicKey"], ORIGIN)},
            ),
            {},
            user="alice",
        )
        found["second_registration"] = ceremony(
            "second-key registration (SigV4 + step-up)",
            "/registration/options",
            lambda o: (
                "POST",
                "/registration/verify",
                {
                    "credential": second.register(o["publicKey"], ORIGIN),
                    "stepUp": first.assertion(o["stepUp"], ORIGIN),
                },
            ),
            {},
            user="alice",
        )
        found["authentication"] = ceremony(
            "authentication (SigV4)",
            "/authentication/options",
            lambda o: (
                "POST",
                "/authentication/verify",
                {"credential": first.assertion(o["publicKey"], ORIGIN), "roleArn": role},
            ),
            {"roleArn": role},
            user="alice",
        )
        found["passkey"] = ceremony(
            "passkey sign-in (discoverable, UV)",
            "/passkey/options",
            lambda o: (
                "POST",
                "/passkey/verify",
                {
                    "credential": first.assertion(o["publicKey"], ORIGIN, user_verified=True),
                    "roleArn": role,
                },
            ),
            {"roleArn": role},
        )
        issue, link = call("POST", "/enrollments", {}, user="bob")
        bearer = {"headers": {"Authorization": f"Bearer {link['token']}"}}
        enrolled = ceremony(
            "enrollment-link registration",
            "/enrollment/options",
            lambda o: (
                "POST",
                "/enrollment/verify",
                {"credential": ForgedKey().register(o["publicKey"], ORIGIN)},
            ),
            {},
            **bearer,
        )
        found["enrollment"] = Ceremony(enrolled.name, [issue, *enrolled.phases])
        target = first.credential_id
        found["revoke"] = ceremony(
            "revoke a key (SigV4 + fresh assertion)",
            "/authentication/options",
            lambda o: (
                "DELETE",
                "/credentials/" + _b64(target),
                {"credential": second.assertion(o["publicKey"], ORIGIN)},
            ),
            {"purpose": "manage"},
            user="alice",
        )
    return Counts(found, sizes)


def _b64(raw: bytes) -> str:
    from fido2.utils import websafe_encode  # noqa: PLC0415

    return websafe_encode(raw)


if __name__ == "__main__":
    counts = measure()
    for c in counts.ceremonies.values():
        print(f"{c.name}: {c.describe()}")
    print(counts.item_bytes)
    print(counts.ceremonies["authentication"].phases[1].dynamodb)
