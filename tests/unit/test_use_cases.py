"""The use cases on the in-memory fakes (tests/support/fakes.py): no AWS, milliseconds each.

Each test drives one use case through its public verbs, as the routes do, and checks what
the ports were asked to keep: keys, counters, audit records, issued credentials.
"""

from __future__ import annotations

from typing import Any

import pytest
from fido2.utils import websafe_encode

from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.errors import (
    CeremonyFailedError,
    DependencyError,
    ForbiddenError,
    NotFoundError,
)
from tapgate_broker.core.models import AuditRecord, Caller, Via
from tapgate_broker.core.sign_in import AuthenticationResult
from tests.support.fakes import MemoryAudit, MemoryDeployment
from tests.support.forge import ForgedKey

ALICE = Caller(user_name="alice", arn="arn:aws:iam::123456789012:user/alice")
ANONYMOUS = Caller(user_name=None, arn=None)


def registered(deployment: MemoryDeployment, key: ForgedKey) -> None:
    registration = deployment.broker.registration
    options = registration.options(ALICE, nickname=None, via=Via.SIGV4)
    registration.verify(
        ALICE,
        ceremony_id=options.ceremony_id,
        credential=key.register(options.public_key, deployment.origin),
        nickname="laptop",
        step_up=None,
        via=Via.SIGV4,
    )


def events(audit: MemoryAudit) -> list[tuple[str, str, str]]:
    return [(r.event, r.outcome, r.user_name) for r in audit.records]


def sign_in(
    deployment: MemoryDeployment, caller: Caller, key: ForgedKey, **assertion: Any
) -> AuthenticationResult:
    sign_in = deployment.broker.sign_in
    options = sign_in.options(caller, role_arn=deployment.role_arn, purpose="sign-in")
    return sign_in.verify(
        caller,
        ceremony_id=options.ceremony_id,
        credential=key.assertion(options.public_key, deployment.origin, **assertion),
        role_arn=deployment.role_arn,
        duration_seconds=None,
    )


def test_registration_stores_the_key_with_its_success_record():
    deployment, key = MemoryDeployment(), ForgedKey()
    registered(deployment, key)
    (stored,) = deployment.credentials.list_for_user("alice")
    assert (stored.credential_id, stored.nickname) == (key.credential_id, "laptop")
    assert events(deployment.audit) == [("register", "success", "alice")]
    assert deployment.audit.records[0].credential_id == websafe_encode(key.credential_id)


def test_a_sign_in_moves_the_counter_writes_one_success_and_issues_once():
    deployment, key = MemoryDeployment(), ForgedKey()
    registered(deployment, key)
    result = sign_in(deployment, ALICE, key)
    assert result.user_name == "alice"
    assert result.credentials.source_identity == "alice"
    (stored,) = deployment.credentials.list_for_user("alice")
    assert stored.sign_count == key.counter
    assert events(deployment.audit)[1:] == [("authenticate", "success", "alice")]
    assert deployment.issuer.calls == 1


def test_a_counter_that_does_not_advance_is_refused_audited_and_issues_nothing():
    deployment, key = MemoryDeployment(), ForgedKey()
    registered(deployment, key)
    sign_in(deployment, ALICE, key)
    with pytest.raises(CeremonyFailedError):
        sign_in(deployment, ALICE, key, counter=key.counter)  # a clone replays the counter
    assert events(deployment.audit)[-1] == ("authenticate", "failure", "alice")
    assert "counter" in deployment.audit.records[-1].reason
    assert deployment.issuer.calls == 1


def test_a_passkey_sign_in_files_its_records_under_the_keys_owner():
    deployment, key = MemoryDeployment(), ForgedKey()
    registered(deployment, key)
    result = sign_in(deployment, ANONYMOUS, key, user_verified=True)
    assert result.user_name == "alice"
    assert events(deployment.audit)[-1] == ("authenticate", "success", "alice")


def test_removing_a_key_the_user_does_not_own_is_not_found_and_audited():
    deployment, key = MemoryDeployment(), ForgedKey()
    registered(deployment, key)
    options = deployment.broker.sign_in.options(ALICE, role_arn=None, purpose="manage")
    with pytest.raises(NotFoundError):
        deployment.broker.keys.delete(
            ALICE,
            credential_id=websafe_encode(b"\x01" * 32),
            ceremony_id=options.ceremony_id,
            credential=key.assertion(options.public_key, deployment.origin),
        )
    assert events(deployment.audit)[-1] == ("revoke", "failure", "alice")
    assert len(deployment.credentials.list_for_user("alice")) == 1


def test_a_keyless_user_gets_a_self_enrollment_link_a_user_with_a_key_does_not():
    deployment = MemoryDeployment()
    issued = deployment.broker.enrollment.create(ALICE, user_name=None)
    assert deployment.broker.enrollment.url(issued).endswith(f"#token={issued.token}")
    registered(deployment, ForgedKey())
    with pytest.raises(ForbiddenError):
        deployment.broker.enrollment.create(ALICE, user_name=None)


class FailingLog:
    """An audit log whose writes fail as an unavailable table would."""

    def __init__(self, fail_outcome: str) -> None:
        self.fail_outcome = fail_outcome
        self.records: list[tuple[str, str]] = []

    def record(self, record: AuditRecord) -> None:
        if record.outcome == self.fail_outcome:
            raise DependencyError("audit table unavailable")
        self.records.append((record.event, record.outcome))

    def committed(self, record: AuditRecord) -> None:
        """A store's transaction wrote it: nothing to write here."""


def test_an_attempt_whose_success_record_fails_leaves_a_failure_record():
    log = FailingLog("success")
    auditor = Auditor(log, clock=lambda: 1_800_000_000.0)
    attempt = auditor.attempt("authenticate", user="alice", caller=ALICE)
    with pytest.raises(DependencyError), attempt:
        pass
    assert log.records == [("authenticate", "failure")]


def test_a_success_record_handed_to_a_store_is_not_written_again():
    log = FailingLog("none")
    auditor = Auditor(log, clock=lambda: 1_800_000_000.0)
    with auditor.attempt("revoke", user="alice", caller=ALICE) as attempt:
        record = auditor.success_record(attempt)
    assert (record.event, record.outcome) == ("revoke", "success")
    assert log.records == []
