"""Authentication and registration in-process vs bare ECDSA vs py_webauthn, same inputs.

Ours is ``POST /v1/authentication/verify`` (and ``POST /v1/registration/verify``) through
the real resolver and Broker (``build_app``), the AWS ports replaced by the in-memory
fakes of ``tests/support/fakes.py``. Each round prepares one ceremony and one assertion
(and one registration, of a new user's first key); then, for that round, ours verifies
it through the resolver, py_webauthn ``verify_authentication_response`` (and
``verify_registration_response``) verifies the same JSON against the same challenge (key
and counter), and ``cryptography`` verifies the assertion's signature over the same
authenticatorData || SHA-256(clientDataJSON). A registration with "none" attestation
verifies no signature; its ECDSA ratio uses the same bare verify as the unit of cost. The
sides take turns in a rotating order, so drift on a noisy machine hits them alike; each
side's median is reported.

Also ``instructions``: ``valgrind --tool=callgrind`` instruction counts, which a busy
machine does not disturb: the same script is run once per side (and once with no side)
and the difference divided by the rounds.
"""

from __future__ import annotations

import cProfile
import hashlib
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support: the forged key and in-memory adapters

USER_ARN = "arn:aws:iam::123456789012:user/alice"
SIDES = ("ours", "ecdsa", "py_webauthn", "ours_registration", "py_webauthn_registration")


@dataclass
class Round:
    event: dict[str, Any]  # the verify request, as API Gateway hands it to the handler
    assertion: dict[str, Any]  # AuthenticationResponseJSON
    challenge: bytes
    sign_count_before: int
    message: bytes  # authenticatorData || SHA-256(clientDataJSON)
    signature: bytes


@dataclass
class Registration:
    event: dict[str, Any]  # the registration verify request of a new user's first key
    credential: dict[str, Any]  # RegistrationResponseJSON
    challenge: bytes


@dataclass
class Bench:
    """A deployment with one registered key, and the comparisons' shared inputs."""

    deployment: Any
    key: Any
    cose_key: bytes = b""
    rounds: list[Round] = field(default_factory=list)
    options_seconds: list[float] = field(default_factory=list)  # authentication/options
    registrations: list[Registration] = field(default_factory=list)

    @classmethod
    def create(cls) -> Bench:
        from fido2 import cbor  # noqa: PLC0415
        from fido2.cose import ES256  # noqa: PLC0415

        from tests.support.fakes import MemoryDeployment  # noqa: PLC0415
        from tests.support.forge import ForgedKey  # noqa: PLC0415

        bench = cls(deployment=MemoryDeployment(), key=ForgedKey())
        options = bench.call("/registration/options", {})
        reply = bench.deployment.app.resolve(
            _event(
                "/registration/verify",
                {
                    "ceremonyId": options["ceremonyId"],
                    "credential": bench.key.register(options["publicKey"], bench.deployment.origin),
                },
            ),
            None,
        )
        assert reply["statusCode"] == 201, reply
        public = bench.key.private_key.public_key()
        bench.cose_key = bytes(cbor.encode(dict(ES256.from_cryptography_key(public))))
        return bench

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.deployment.app.resolve(_event(path, body), None)
        assert reply["statusCode"] == 200, reply
        return dict(json.loads(reply["body"]))

    def prepare(self, count: int) -> None:
        """Ceremonies and assertions made ahead; only the verifications are measured."""
        from fido2.utils import websafe_decode  # noqa: PLC0415

        dep = self.deployment
        for _ in range(count):
            start = time.perf_counter()
            options = self.call("/authentication/options", {"roleArn": dep.role_arn})
            self.options_seconds.append(time.perf_counter() - start)
            before = self.key.counter
            assertion = self.key.assertion(options["publicKey"], dep.origin)
            response = assertion["response"]
            client_data = websafe_decode(response["clientDataJSON"])
            body = {
                "ceremonyId": options["ceremonyId"],
                "credential": assertion,
                "roleArn": dep.role_arn,
            }
            self.rounds.append(
                Round(
                    event=_event("/authentication/verify", body),
                    assertion=assertion,
                    challenge=websafe_decode(options["publicKey"]["challenge"]),
                    sign_count_before=before,
                    message=websafe_decode(response["authenticatorData"])
                    + hashlib.sha256(client_data).digest(),
                    signature=websafe_decode(response["signature"]),
                )
            )

    def prepare_registrations(self, count: int) -> None:
        """One new user per round (a first key needs no step-up); made ahead like the rest."""
        from tests.support.forge import ForgedKey  # noqa: PLC0415

        dep = self.deployment
        for n in range(count):
            user = f"arn:aws:iam::123456789012:user/bench-{len(self.registrations) + n}"
            reply = dep.app.resolve(_event("/registration/options", {}, user_arn=user), None)
            assert reply["statusCode"] == 200, reply
            options = json.loads(reply["body"])
            credential = ForgedKey().register(options["publicKey"], dep.origin)
            body = {"ceremonyId": options["ceremonyId"], "credential": credential}
            self.registrations.append(
                Registration(
                    event=_event("/registration/verify", body, user_arn=user),
                    credential=credential,
                    challenge=websafe_decode(options["publicKey"]["challenge"]),
                )
            )


def websafe_decode(value: str) -> bytes:
    from fido2.utils import websafe_decode as decode  # noqa: PLC0415

    return decode(value)


def _event(path: str, body: dict[str, Any], *, user_arn: str = USER_ARN) -> dict[str, Any]:
    from tests.support.broker_harness import api_event  # noqa: PLC0415

    return api_event("POST", path, body=body, user_arn=user_arn)


def side_callables(main: Bench) -> dict[str, Callable[[int], None]]:
    """One callable per side; each verifies round ``i``'s input once."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from webauthn import (  # noqa: PLC0415
        verify_authentication_response,
        verify_registration_response,
    )

    public = main.key.private_key.public_key()
    algorithm = ec.ECDSA(hashes.SHA256())
    dep = main.deployment

    def resolved(event: dict[str, Any], status: int) -> None:
        reply = dep.app.resolve(event, None)
        if reply["statusCode"] != status:
            raise AssertionError(reply)

    def ours(i: int) -> None:
        resolved(main.rounds[i].event, 200)

    def ecdsa(i: int) -> None:
        public.verify(main.rounds[i].signature, main.rounds[i].message, algorithm)

    def py_webauthn(i: int) -> None:
        r = main.rounds[i]
        verify_authentication_response(
            credential=r.assertion,
            expected_challenge=r.challenge,
            expected_rp_id=dep.rp_id,
            expected_origin=dep.origin,
            credential_public_key=main.cose_key,
            credential_current_sign_count=r.sign_count_before,
        )

    def ours_registration(i: int) -> None:
        resolved(main.registrations[i].event, 201)

    def py_webauthn_registration(i: int) -> None:
        r = main.registrations[i]
        verify_registration_response(
            credential=r.credential,
            expected_challenge=r.challenge,
            expected_rp_id=dep.rp_id,
            expected_origin=dep.origin,
        )

    return {
        "ours": ours,
        "ecdsa": ecdsa,
        "py_webauthn": py_webauthn,
        "ours_registration": ours_registration,
        "py_webauthn_registration": py_webauthn_registration,
    }


@dataclass(frozen=True)
class VerifyTimes:
    seconds: dict[str, float]  # median per side
    rounds: int
    options_seconds: float  # median in-process authentication/options (cost model)

    def ratio(self, a: str, b: str) -> float:
        return self.seconds[a] / self.seconds[b]


def prepared(rounds: int, warmup: int) -> tuple[Bench, dict[str, Callable[[int], None]]]:
    main = Bench.create()
    main.prepare(warmup + rounds)
    main.prepare_registrations(warmup + rounds)
    return main, side_callables(main)


def measure(rounds: int = 400, warmup: int = 20) -> VerifyTimes:
    main, sides = prepared(rounds, warmup)
    for i in range(warmup):
        for call in sides.values():
            call(i)
    samples: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for n, i in enumerate(range(warmup, warmup + rounds)):
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            start = time.perf_counter()
            sides[name](i)
            samples[name].append(time.perf_counter() - start)
    return VerifyTimes(
        {k: statistics.median(v) for k, v in samples.items()},
        rounds,
        statistics.median(main.options_seconds[warmup:]),
    )


# -- where the time goes (cProfile) -------------------------------------------------------

# (label, how to find it in the profile): cumulative time of these functions.
PROFILE_PARTS = (
    (
        "the assertion JSON into fido2's types (core.webauthn.parse_assertion)",
        "core/webauthn.py",
        "parse_assertion",
    ),
    (
        "  of which the JSON-shape check (check_json_shape)",
        "core/webauthn.py",
        "check_json_shape",
    ),
    (
        "typing.get_type_hints (fido2's from_dict; none is left on this path)",
        "typing.py",
        "get_type_hints",
    ),
    (
        "fido2 authenticate_complete (checks + signature)",
        "fido2/server.py",
        "authenticate_complete",
    ),
    ("  of which the ECDSA verify (cryptography)", "", "<method 'verify' of 'cryptography"),
    (
        "COSE key from the stored credential (AttestedCredentialData)",
        "core/webauthn.py",
        "credential_data_from_bytes",
    ),
    ("request body parse (parse_json_body)", "api/requests.py", "parse_json_body"),
    ("caller from the event (caller_from_event)", "api/identity.py", "caller_from_event"),
    ("audit record + counter + issuer (in-memory fakes)", "support/fakes.py", ""),
    (
        "response building (Powertools _build_response, JSON encode)",
        "api_gateway.py",
        "_build_response",
    ),
)


def profile(rounds: int = 200) -> tuple[float, list[tuple[str, float]]]:
    """Shares of the verify request's time, under cProfile (which inflates Python code)."""
    bench = Bench.create()
    bench.prepare(rounds + 10)
    for r in bench.rounds[:10]:
        bench.deployment.app.resolve(r.event, None)
    profiler = cProfile.Profile()
    profiler.enable()
    for r in bench.rounds[10:]:
        bench.deployment.app.resolve(r.event, None)
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    total = 0.0
    parts = dict.fromkeys((label for label, _, _ in PROFILE_PARTS), 0.0)
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if name == "resolve" and filename.endswith("api_gateway.py"):
            total = max(total, cumulative)
        for label, file_part, name_part in PROFILE_PARTS:
            if file_part == "support/fakes.py":
                if filename.endswith(file_part) and name in (
                    "record",
                    "advance_counter",
                    "assume",
                    "consume",
                ):
                    parts[label] += cumulative
            elif (file_part == "" or filename.endswith(file_part)) and (
                name == name_part or (name_part.startswith("<") and name.startswith(name_part))
            ):
                # from_dict recurses: take the outermost (largest) entry only.
                parts[label] = max(parts[label], cumulative)
    return total, [(label, seconds / total) for label, seconds in parts.items()]


# -- instruction counts (callgrind) ----------------------------------------------------------


def callgrind_available() -> bool:
    return shutil.which("valgrind") is not None


def _instructions(side: str, *, rounds: int, warmup: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(Path(__file__)),
            "--side",
            side,
            "--rounds",
            str(rounds),
            "--warmup",
            str(warmup),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no total: {done.stderr[-400:]}")
    return int(match.group(1))


def instructions(rounds: int = 40, warmup: int = 5) -> dict[str, float]:
    """Instructions per verification for each side (callgrind; two runs at a time)."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    names = ("none", *SIDES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(
            zip(
                names,
                pool.map(lambda s: _instructions(s, rounds=rounds, warmup=warmup), names),
                strict=True,
            )
        )
    return {side: (totals[side] - totals["none"]) / rounds for side in SIDES}


def _child(side: str, rounds: int, warmup: int) -> None:
    """Under callgrind: the same setup for every side, then ``rounds`` calls of one side."""
    _, sides = prepared(rounds, warmup)
    for i in range(warmup):
        for call in sides.values():
            call(i)
    if side != "none":
        call = sides[side]
        for i in range(warmup, warmup + rounds):
            call(i)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=("none", *SIDES))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if args.side:
        _child(args.side, args.rounds, args.warmup)
    else:
        times = measure(rounds=args.rounds)
        print({k: f"{v * 1e3:.3f} ms" for k, v in times.seconds.items()})
        print(
            f"verify: /ecdsa {times.ratio('ours', 'ecdsa'):.1f}x, "
            f"/py_webauthn {times.ratio('ours', 'py_webauthn'):.2f}x; registration: "
            f"/ecdsa {times.ratio('ours_registration', 'ecdsa'):.1f}x, /py_webauthn "
            f"{times.ratio('ours_registration', 'py_webauthn_registration'):.2f}x"
        )
        total, parts = profile()
        for label, share in parts:
            print(f"{share:6.1%}  {label}")
