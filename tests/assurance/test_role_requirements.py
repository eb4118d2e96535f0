"""Per-role key requirements, decided by the broker over in-memory ports (no AWS).

Keys are the soft authenticator with real packed attestation (the test PKI); the
metadata is a verified test blob that a test may swap for a newer one, as the refresh does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fido2.webauthn import Aaguid

from tapgate.authenticators.soft import SoftAuthenticator, soft_client
from tapgate_broker.core.models import RoleConfig
from tests.assurance.pki import attestation_identity, metadata_entry
from tests.support.broker_harness import api_event, get_assertion, make_credential
from tests.support.fakes import MemoryDeployment

MODEL = Aaguid.parse("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a")
OTHER_MODEL = Aaguid.parse("0b4d6c4e-42a5-4a5b-9d4c-3b0c2a8e7f11")
NAME = "Tapgate Test Key"
ACCOUNT = "123456789012"
ANY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-test-admin"
CERTIFIED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-certified"
DEVICE_BOUND_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-device-bound"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-model"
USER = "alice"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
PIN = "4321"  # passkey sign-in requires user verification
NOT_ALLOWED = "https://tapgate.dev/problems/authenticator-not-allowed"


class World:
    """A deployment with one role per requirement, and metadata a test can replace."""

    def __init__(self, tmp: Path, pki: Any, index: Any, *, roles: tuple[RoleConfig, ...]) -> None:
        self.tmp, self.pki, self.index = tmp, pki, index
        self.metadata = index([self.entry(MODEL), self.entry(OTHER_MODEL, name="Other Key")])
        self.deployment = MemoryDeployment(extra_roles=roles, metadata=lambda: self.metadata)

    def entry(self, aaguid: Aaguid, *, name: str = NAME, **options: Any) -> dict[str, Any]:
        return metadata_entry(
            aaguid=aaguid, roots=[self.pki.attestation_root], description=name, **options
        )

    def key(self, name: str, *, attest: Aaguid | None = MODEL, **options: Any) -> Path:
        """A soft key attesting as model `attest` (None: self attestation) with `options`."""
        path = self.tmp / f"{name}.json"
        if attest is not None:
            options["attestation"] = attestation_identity(self.pki.attestation_root, aaguid=attest)
        SoftAuthenticator.create(path, pin=PIN, **options)
        return path

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        result = self.deployment.app.resolve(api_event(method, path, **kwargs), None)
        assert result["statusCode"] < 500, result
        return result["statusCode"], json.loads(result["body"]) if result["body"] else None

    def register(self, key: Path) -> dict[str, Any]:
        status, options = self.call("POST", "/registration/options", body={}, user_arn=USER_ARN)
        assert status == 200, options
        body: dict[str, Any] = {
            "ceremonyId": options["ceremonyId"],
            "credential": make_credential(soft_client(key, ORIGIN, pin=PIN), options["publicKey"]),
        }
        if "stepUp" in options:
            body["stepUp"] = get_assertion(
                soft_client(self.first, ORIGIN, pin=PIN), options["stepUp"]
            )
        else:
            self.first = key
        status, reply = self.call("POST", "/registration/verify", body=body, user_arn=USER_ARN)
        assert status == 201, reply
        return dict(reply["credential"])

    def sign_in(self, key: Path, role: str) -> tuple[int, Any]:
        status, options = self.call(
            "POST", "/authentication/options", body={"roleArn": role}, user_arn=USER_ARN
        )
        if status != 200:
            return status, options
        assertion = get_assertion(soft_client(key, ORIGIN, pin=PIN), options["publicKey"])
        return self.call(
            "POST",
            "/authentication/verify",
            body={"ceremonyId": options["ceremonyId"], "credential": assertion, "roleArn": role},
            user_arn=USER_ARN,
        )

    def passkey_sign_in(self, key: Path, role: str) -> tuple[int, Any]:
        status, options = self.call("POST", "/passkey/options", body={"roleArn": role})
        assert status == 200, options
        assertion = get_assertion(soft_client(key, ORIGIN, pin=PIN), options["publicKey"])
        return self.call(
            "POST",
            "/passkey/verify",
            body={"ceremonyId": options["ceremonyId"], "credential": assertion, "roleArn": role},
        )

    @property
    def tags(self) -> list[dict[str, str]]:
        return self.deployment.issuer.tags

    def audit(self, event: str) -> list[Any]:
        return [r for r in self.deployment.audit.records if r.event == event]


ORIGIN = "http://localhost:8080"
ROLES = (
    RoleConfig(arn=CERTIFIED_ROLE, name="certified", assurance="certified"),
    RoleConfig(arn=DEVICE_BOUND_ROLE, name="device-bound", assurance="device-bound"),
    RoleConfig(arn=MODEL_ROLE, name="model", aaguids=(str(MODEL),)),
)


@pytest.fixture
def world(tmp_path: Path, pki: Any, index: Any) -> World:
    return World(tmp_path, pki, index, roles=ROLES)


def test_registration_asks_for_attestation_only_when_a_role_can_use_it(tmp_path, pki, index):
    plain = World(tmp_path, pki, index, roles=())
    _, options = plain.call("POST", "/registration/options", body={}, user_arn=USER_ARN)
    assert options["publicKey"].get("attestation", "none") == "none"
    strict = World(tmp_path, pki, index, roles=ROLES)
    _, options = strict.call("POST", "/registration/options", body={}, user_arn=USER_ARN)
    assert options["publicKey"]["attestation"] == "direct"


def test_a_certified_key_is_stored_named_and_opens_a_certified_role_tagged(world):
    key = world.key("certified")
    summary = world.register(key)
    assert (summary["assurance"], summary["authenticator"], summary["aaguid"]) == (
        "certified",
        NAME,
        str(MODEL),
    )
    status, body = world.sign_in(key, CERTIFIED_ROLE)
    assert status == 200, body
    assert world.tags[-1] == {"tapgate-assurance": "certified"}
    assert world.audit("authenticate")[-1].extra["assurance"] == "certified"


@pytest.mark.parametrize(
    ("options", "level"),
    [
        ({"attest": None}, "device-bound"),  # self attestation
        ({"backup_eligible": True}, "synced"),  # attested, but a synced passkey
    ],
    ids=["self-attested", "backup-eligible"],
)
def test_a_weaker_key_is_refused_a_certified_role_and_told_why(world, options, level):
    key = world.key("weak", **options)
    assert world.register(key)["assurance"] == level
    status, problem = world.sign_in(key, CERTIFIED_ROLE)
    assert (status, problem["type"]) == (403, NOT_ALLOWED)
    assert "certified" in problem["detail"]
    assert world.tags == []
    # A passkey sign-in has no allow list: the verify step refuses, and audits it.
    status, problem = world.passkey_sign_in(key, CERTIFIED_ROLE)
    assert (status, problem["type"]) == (403, NOT_ALLOWED)
    assert world.tags == []
    failure = world.audit("authenticate")[-1]
    assert (failure.outcome, failure.role_arn) == ("failure", CERTIFIED_ROLE)
    assert f"key is {level}" in failure.reason


def test_options_for_a_role_offer_only_the_keys_that_meet_it(world):
    weak, strong = world.key("weak", attest=None), world.key("strong")
    weak_id = world.register(weak)["credentialId"]
    strong_id = world.register(strong)["credentialId"]

    def offered(role: str) -> set[str]:
        _, options = world.call(
            "POST", "/authentication/options", body={"roleArn": role}, user_arn=USER_ARN
        )
        return {c["id"] for c in options["publicKey"]["allowCredentials"]}

    assert offered(CERTIFIED_ROLE) == {strong_id}
    assert offered(DEVICE_BOUND_ROLE) == {weak_id, strong_id}
    assert offered(ANY_ROLE) == {weak_id, strong_id}


def test_a_role_naming_models_takes_only_an_attested_key_of_those_models(world):
    claimed = world.key("claims-model", attest=None, aaguid=MODEL)  # claims, proves nothing
    assert world.register(claimed)["aaguid"] is None
    status, problem = world.sign_in(claimed, MODEL_ROLE)
    assert (status, problem["type"]) == (403, NOT_ALLOWED)
    other = world.key("other-model", attest=OTHER_MODEL)
    world.register(other)
    assert world.passkey_sign_in(other, MODEL_ROLE)[0] == 403
    model = world.key("model")
    world.register(model)
    assert world.sign_in(model, MODEL_ROLE)[0] == 200


def test_a_model_revoked_since_registration_loses_certified_at_the_next_sign_in(world):
    key = world.key("certified")
    world.register(key)
    assert world.sign_in(key, CERTIFIED_ROLE)[0] == 200
    world.metadata = world.index(
        [world.entry(MODEL, statuses=("FIDO_CERTIFIED_L1", "REVOKED"))], no=8
    )
    status, problem = world.sign_in(key, CERTIFIED_ROLE)
    assert (status, problem["type"]) == (403, NOT_ALLOWED)
    assert "model status REVOKED" in world.audit("authenticate")[-1].reason
    # A role that takes any key still opens, tagged with the level the key has now, and the
    # change is kept with the key and in the audit trail.
    assert world.sign_in(key, ANY_ROLE)[0] == 200
    assert world.tags[-1] == {"tapgate-assurance": "device-bound"}
    success = world.audit("authenticate")[-1]
    assert success.extra["assuranceChange"].startswith("certified -> device-bound")
    _, listed = world.call("GET", "/credentials", user_arn=USER_ARN)
    assert [c["assurance"] for c in listed["credentials"]] == ["device-bound"]
    assert "REVOKED" in listed["credentials"][0]["assuranceReason"]
