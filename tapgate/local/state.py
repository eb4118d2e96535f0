"""Local mode's state file: what `tapgate local` writes and every `tapgate` command reads.

The file says where the running local mode is (``apiUrl``, ``awsEndpointUrl``,
``region``, ``rpId``, ``origin``, ``demoUser``, ``gatedRoles``; docs/design.md). A
missing file means local mode is not running there; a file that is there but is not a
state file (empty, truncated, someone else's JSON, a field missing) is an error that
names the file, never something to ignore or guess around. Stdlib only.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_STATE_FILE = os.path.join(".tapgate", "local.json")
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
        with open(name, "rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = exc.strerror or exc
        raise LocalStateError(f"cannot read local mode's state file {name}: {reason}") from exc
    if not raw.strip():
        raise LocalStateError(f"local mode's state file {name} is empty; {fix}")
    if len(raw) > MAX_STATE_BYTES:
        raise LocalStateError(f"{name} is too large to be local mode's state file; {fix}")
    try:
        state = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LocalStateError(
            f"local mode's state file {name} is not valid JSON (cut short?); {fix}"
        ) from exc
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
