"""Local mode's world, kept across restarts beside its state file.

`tapgate local` forgets nothing a newcomer relies on when it stops: the keys registered
in its tables, the demo user's access keys, the role sessions it issued (the cached
`credential_process` answers still name them) and its two ports, so the printed
profile and exports work again after a restart. The data file is named after the state
file (``local.json`` -> ``local.data.json``), so another ``--state-file`` is another,
separate world; ``tapgate local --reset`` removes it and starts over.

The file is JSON, 0600, replaced atomically (tapgate.files) after every request that may
change something and on stop, so a crash loses at most the request in flight and a
reader never sees half a file. A file that is not one of ours stops the start with one
line naming it.

How moto gets the data back:

- table items: put again through the DynamoDB API (binary attributes base64 in the
  file); expired ones (the tables' TTL attribute in the past) are dropped, as DynamoDB's
  TTL would have done;
- the demo user's access key: moto draws key material from its documented, seedable
  random generator (``/moto-api/seed``), so creating the key right after seeding with
  the world's seed gives the same key every time (tapgate.local.bootstrap's
  ``before_demo_key`` hook; the server seeds it afresh right after);
- role sessions (``tapgate.local.moto_sessions``): moto has no call that takes given key
  material, so a session is assumed again through moto's STS backend and given its saved
  key, secret, token and expiry (moto is pinned; tests/e2e/test_local_restart.py fails if
  that stops working).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tapgate.files import private_directory, read_json, write_atomically
from tapgate.local.moto_sessions import live_sessions, restore_sessions
from tapgate.local.state import DEFAULT_HOST
from tapgate.locks import LockTimeoutError, ProcessLock

if TYPE_CHECKING:
    from tapgate.local.bootstrap import LocalResources
    from tapgate.local.gateway import Handler

FORMAT = "tapgate-local-data"
VERSION = 1
DATA_SUFFIX = ".data.json"
MAX_DATA_BYTES = 64 * 1024 * 1024


class LocalDataError(Exception):
    """The data file is there but is not usable; the message names it."""


@dataclass(frozen=True)
class World:
    """Everything a restart must bring back. Ports of 0 mean "not chosen yet"."""

    host: str
    api_port: int
    aws_port: int
    demo_key_seed: int = field(default_factory=lambda: secrets.randbits(63), repr=False)
    demo_access_key_id: str | None = None
    tables: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    sessions: list[dict[str, str]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "host": self.host,
            "apiPort": self.api_port,
            "awsPort": self.aws_port,
            "demoKeySeed": self.demo_key_seed,
            "demoAccessKeyId": self.demo_access_key_id,
            "tables": {
                name: [_encode(item) for item in items] for name, items in self.tables.items()
            },
            "sessions": self.sessions,
        }


def open_world(
    state_file: Path | None, *, host: str | None, reset: bool, stops: list[Callable[[], None]]
) -> tuple[World | None, Path | None]:
    """The world kept beside ``state_file`` (a new one when there is none, or after
    ``reset``), locked for this process until ``stops`` run; (None, None) without a
    state file. LocalDataError when it is not usable or ``host`` would change its RP ID."""
    if state_file is None:
        return None, None
    private_directory(state_file.parent)
    data_file = data_file_for(state_file)
    lock = ProcessLock(state_file.with_name(state_file.stem + ".lock"), timeout=0)
    try:
        lock.acquire()
    except LockTimeoutError as exc:
        pid = f" (pid {exc.holder})" if exc.holder else ""
        raise LocalDataError(
            f"tapgate local is already running for {state_file}{pid}; stop it first, "
            "or pass another --state-file for a separate world"
        ) from exc
    stops.append(lock.release)
    if reset:
        remove(data_file)
    world = load(data_file)
    if world is None:
        return World(host=host or DEFAULT_HOST, api_port=0, aws_port=0), data_file
    if host and host != world.host:
        raise LocalDataError(
            f"the keys registered in {data_file} are bound to RP ID {world.host!r}: "
            f"start with --host {world.host}, or start over with `tapgate local --reset` "
            "(or another --state-file)"
        )
    return world, data_file


def keep_world(
    world: World,
    data_file: Path,
    *,
    dynamodb: Any,
    resources: LocalResources,
    ports: tuple[int, int],
    host: str,
    notices: list[str],
) -> Keeper:
    """Bring the saved world back into a freshly bootstrapped moto, then save it with this
    run's host, ports and demo key; the Keeper saves it again after each change."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        restore(world, dynamodb=dynamodb, account_id=resources.account_id, region=resources.region)
    except (BotoCoreError, ClientError) as exc:
        raise LocalDataError(
            f"cannot bring back what {data_file} keeps ({exc}); move it away, or start over "
            "with `tapgate local --reset`"
        ) from exc
    key_id = resources.demo_user.access_key_id
    if world.demo_access_key_id not in (None, key_id):
        notices.append(
            "The demo user's access keys changed (after an upgrade of tapgate or moto): "
            "use the exports below again."
        )
    keeper = Keeper(
        data_file,
        replace(world, host=host, api_port=ports[0], aws_port=ports[1], demo_access_key_id=key_id),
        dynamodb=dynamodb,
        tables=[resources.credentials_table, resources.ceremonies_table, resources.audit_table],
        account_id=resources.account_id,
    )
    keeper.save()
    return keeper


def data_file_for(state_file: Path) -> Path:
    """``.tapgate/local.json`` keeps its world in ``.tapgate/local.data.json``."""
    return state_file.with_name(state_file.stem + DATA_SUFFIX)


def load(path: Path) -> World | None:
    """The world saved at ``path``; None when there is none yet."""
    fix = "move it away, or start over with `tapgate local --reset`"
    try:
        document = read_json(path, limit=MAX_DATA_BYTES)
    except ValueError as exc:
        raise LocalDataError(f"local mode's data file {path} {exc}; {fix}") from exc
    if document is None:
        return None
    try:
        world = _decode_world(document)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LocalDataError(f"{path} is not local mode's data file ({exc}); {fix}") from exc
    return world


def save(path: Path, world: World) -> None:
    write_atomically(path, (json.dumps(world.to_json(), indent=1) + "\n").encode("utf-8"))


def snapshot(world: World, *, dynamodb: Any, tables: list[str], account_id: str) -> World:
    """``world`` with the tables' items (but those TTL would have deleted) and moto's live
    role sessions, as they are now."""
    now = time.time()
    contents = {}
    for table in tables:
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += [item for item in page["Items"] if not _expired(item, now)]
        contents[table] = items
    return replace(world, tables=contents, sessions=live_sessions(account_id))


def restore(world: World, *, dynamodb: Any, account_id: str, region: str) -> None:
    """Put the saved items and sessions back into a freshly bootstrapped moto."""
    now = time.time()
    for table, items in world.tables.items():
        for item in items:
            if not _expired(item, now):
                dynamodb.put_item(TableName=table, Item=item)
    restore_sessions(world.sessions, account_id=account_id, region=region)


# -- the file's shape ------------------------------------------------------------------------


def _decode_world(document: object) -> World:
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ValueError(f"format is not {FORMAT} version {VERSION}")
    host, api_port, aws_port = document["host"], document["apiPort"], document["awsPort"]
    seed, key_id = document["demoKeySeed"], document.get("demoAccessKeyId")
    tables, sessions = document["tables"], document["sessions"]
    if not isinstance(host, str) or not host:
        raise ValueError("host is not a name")
    if not all(_is_port(port) for port in (api_port, aws_port)):
        raise ValueError("apiPort and awsPort must be port numbers")
    if (
        not isinstance(seed, int)
        or isinstance(seed, bool)
        or not (key_id is None or isinstance(key_id, str))
    ):
        raise ValueError("demoKeySeed or demoAccessKeyId has the wrong type")
    if not isinstance(tables, dict) or not all(
        isinstance(items, list) and all(isinstance(item, dict) for item in items)
        for items in tables.values()
    ):
        raise ValueError("tables must map table names to lists of items")
    session_fields = ("accessKeyId", "secretAccessKey", "sessionToken", "roleArn", "sessionName")
    if not isinstance(sessions, list) or not all(
        isinstance(s, dict)
        and all(isinstance(s.get(k), str) for k in (*session_fields, "expiration"))
        for s in sessions
    ):
        raise ValueError("sessions must be a list of saved role sessions")
    for saved in sessions:
        datetime.fromisoformat(saved["expiration"])
    return World(
        host=host,
        api_port=api_port,
        aws_port=aws_port,
        demo_key_seed=seed,
        demo_access_key_id=key_id,
        tables={name: [_decode(item) for item in items] for name, items in tables.items()},
        sessions=sessions,
    )


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535


def _expired(item: Mapping[str, Any], now: float) -> bool:
    from tapgate_contract.tables import TTL_ATTRIBUTE  # noqa: PLC0415  (the tables' TTL)

    ttl = item.get(TTL_ATTRIBUTE)
    if not isinstance(ttl, dict) or "N" not in ttl:
        return False
    try:
        return float(ttl["N"]) < now
    except ValueError:
        return False


def _encode(value: dict[str, Any]) -> dict[str, Any]:
    """An item (or attribute value) with its binary values as base64 text."""
    return {name: _encode_value(attribute) for name, attribute in value.items()}


def _encode_value(attribute: dict[str, Any]) -> dict[str, Any]:
    [(kind, content)] = attribute.items()
    if kind == "B":
        return {"B": base64.b64encode(content).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(part).decode("ascii") for part in content]}
    if kind == "M":
        return {"M": _encode(content)}
    if kind == "L":
        return {"L": [_encode_value(part) for part in content]}
    return {kind: content}


def _decode(value: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(attribute) for name, attribute in value.items()}


def _decode_value(attribute: object) -> dict[str, Any]:
    if not isinstance(attribute, dict) or len(attribute) != 1:
        raise ValueError("an item attribute is not a DynamoDB attribute value")
    [(kind, content)] = attribute.items()
    if kind == "B":
        return {"B": base64.b64decode(content, validate=True)}
    if kind == "BS":
        return {"BS": [base64.b64decode(part, validate=True) for part in content]}
    if kind == "M":
        return {"M": _decode(content)}
    if kind == "L":
        return {"L": [_decode_value(part) for part in content]}
    if kind not in ("S", "N", "SS", "NS", "BOOL", "NULL"):
        raise ValueError(f"unknown attribute type {kind!r}")
    return {kind: content}


def remove(path: Path) -> bool:
    """``--reset``: forget the world; True when there was one."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


class Keeper:
    """Saves the world to its data file: now, and after every request that may change it."""

    def __init__(
        self, path: Path, world: World, *, dynamodb: Any, tables: list[str], account_id: str
    ) -> None:
        self.path = path
        self.world = world
        self._dynamodb = dynamodb
        self._tables = tables
        self._account_id = account_id

    def save(self) -> None:
        """Snapshot and write; a failure is logged, never the request's failure."""
        import logging  # noqa: PLC0415

        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self.world = snapshot(
                self.world,
                dynamodb=self._dynamodb,
                tables=self._tables,
                account_id=self._account_id,
            )
            save(self.path, self.world)
        except (OSError, BotoCoreError, ClientError) as exc:  # a full disk fails no API call
            logging.getLogger(__name__).warning("could not save %s: %s", self.path, exc)

    def saving_after_changes(self, handler: Handler) -> Handler:
        """``handler``, then a save after each event that is not a read (GET, HEAD, OPTIONS).

        The gateway hands the handler one event at a time, so saves never overlap.
        """

        def handle(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
            try:
                return handler(event, context)
            finally:
                if event.get("httpMethod") not in ("GET", "HEAD", "OPTIONS"):
                    self.save()

        return handle
