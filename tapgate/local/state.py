"""Local mode's state file: what `tapgate local` writes and every `tapgate` command reads.

The file says where the running local mode is (``apiUrl``, ``awsEndpointUrl``,
``region``, ``rpId``, ``origin``, ``demoUser``, ``gatedRoles``; docs/design.md). A
missing file means local mode is not running there; a file that is there but is not a
state file (empty, truncated, someone else's JSON, a field missing) is an error that
names the file, never something to ignore or guess around. Stdlib only.
"""

from __future__ import annotations

import os

from tapgate.files import read_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_STATE_FILE = os.path.join(".tapgate", "local.json")
DEFAULT_HOST = "localhost"  # `tapgate local`'s defaults when no earlier run says otherwise
DEFAULT_PORT = 8080
MAX_STATE_BYTES = 64 * 1024
FIELDS: dict[str, type] = {
    "apiUrl": str,
    "awsEndpointUrl": str,
    "region": str,
    "rpId": str,
    "origin": str,
    "demoUser": dict,
    "gatedRoles": list,
}


class LocalStateError(Exception):
    """The state file exists but cannot be used; the message names it and says why."""


def read_state(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The state at ``path``; None when there is no such file (local mode not started)."""
    name = os.fspath(path)
    fix = "restart `tapgate local` to write it again, or remove it"
    try:
        state = read_json(name, limit=MAX_STATE_BYTES)
    except ValueError as exc:
        raise LocalStateError(f"local mode's state file {name} {exc}; {fix}") from exc
    if state is None:
        return None
    if not isinstance(state, dict):
        raise LocalStateError(f"{name} is not local mode's state file (no JSON object); {fix}")
    wrong = [field for field, kind in FIELDS.items() if not _filled(state.get(field), kind)]
    if wrong:
        raise LocalStateError(
            f"local mode's state file {name} lacks {', '.join(wrong)} "
            f"(another program's file, or an older tapgate's?); {fix}"
        )
    return state


def _filled(value: object, kind: type) -> bool:
    return isinstance(value, kind) and bool(value)
