"""DynamoDB adapters, one module a table: credentials (``credentials``), ceremonies and
enrollment tokens (``ceremonies``), audit records (``audit``).

Each takes an injected low-level boto3 DynamoDB client. Access patterns are
single-item reads and writes and queries by key; nothing scans.

A credential id is unique across users: next to each key's item
``(userName, credentialId)`` the credentials table holds a guard item
``(GUARD_USER, credentialId)`` written and removed in the same transaction.
``GUARD_USER`` starts with ``#``, which no IAM user or session name can
contain, so it never collides with a user's partition; the guard also appears
in the ``byCredentialId`` index, where ``find_by_id`` skips it.

Each user's partition also holds one key-set item ``(userName, KEY_SET_ID)`` with a
``version`` and a ``keyCount``: every transaction that adds or removes a key checks that the
version is the one its ceremony was begun against and moves it on, so a decision made when
the ceremony began (step-up or not, the key cap) holds when the key is stored. ``#`` is
outside the base64url alphabet, so ``KEY_SET_ID`` is never a credential id; the item lands
in the ``byCredentialId`` index under that one key, which no lookup asks for.

Enrollment tokens live in the ceremonies table under ``enrollment#<sha256>``
(``#`` is outside the ceremony-id alphabet, so no client-supplied ceremony id
can address one), with kind ``enrollment`` so no ceremony consume can match. Browser
sign-in codes live there too, under ``code#<sha256>`` with kind ``code`` (``codes``).
"""

from tapgate_broker.adapters.dynamodb.audit import DynamoAuditLog
from tapgate_broker.adapters.dynamodb.ceremonies import DynamoCeremonyStore, DynamoEnrollmentStore
from tapgate_broker.adapters.dynamodb.codes import DynamoCodeStore
from tapgate_broker.adapters.dynamodb.credentials import DynamoCredentialStore

__all__ = [
    "DynamoAuditLog",
    "DynamoCeremonyStore",
    "DynamoCodeStore",
    "DynamoCredentialStore",
    "DynamoEnrollmentStore",
]
