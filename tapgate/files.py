"""Files that hold secrets: written atomically, readable only by their owner.

The credentials cache, local mode's state and data files and the soft key file
all hold secrets, and each is read by a later process that must never see half
of one. So every write goes to a temporary file in the same folder (mode 0600
from the start, whatever the umask), is fsynced, renamed over the target and
the folder fsynced: a reader sees the old file or the new one, never a torn one.

Stdlib only and cheap to import: `tapgate credentials` on a cache hit imports it.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

TEMP_PREFIX = ".tmp-"  # a leftover temporary file (a crash mid-write) starts with this
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


def write_atomically(
    path: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE_FILE_MODE
) -> None:
    """Replace ``path`` with ``data`` in one step; the file gets exactly ``mode``.

    On any failure the old file is untouched and no temporary file is left.
    """
    import contextlib  # noqa: PLC0415  (not needed on a cache hit)
    import tempfile  # noqa: PLC0415

    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode != PRIVATE_FILE_MODE:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(directory)


def read_json(path: str | os.PathLike[str], *, limit: int) -> Any:
    """The JSON in a file of at most ``limit`` bytes; None when there is no such file.

    A file that is there but unusable raises ValueError saying how, in words that follow
    the file's name ("is empty", "is not valid JSON (cut short?)", ...).
    """
    import json  # noqa: PLC0415  (not needed on a cache hit)

    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise ValueError("is empty")
    if len(raw) > limit:
        raise ValueError(f"is larger than {limit} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("is not valid JSON (cut short?)") from exc


def private_directory(path: str | os.PathLike[str], *, own: bool = False) -> None:
    """Create ``path`` (and its parents) with mode 0700 when it is missing.

    ``own``: the folder is tapgate's alone (the cache), so an existing one must also be
    a real directory of this user, and is tightened to 0700. Otherwise an existing
    folder (a project folder named by ``--state-file``) is left as it is.
    """
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=PRIVATE_DIRECTORY_MODE, exist_ok=True)
        os.chmod(folder, PRIVATE_DIRECTORY_MODE)  # makedirs' mode is filtered by the umask
    if not own:
        return
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(folder)
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user")
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIRECTORY_MODE:
        os.chmod(folder, PRIVATE_DIRECTORY_MODE)


def is_private(info: os.stat_result) -> bool:
    """This user's, and neither group nor others may read or write it."""
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return stat.S_IMODE(info.st_mode) & 0o077 == 0


def fsync_directory(directory: str | os.PathLike[str] | Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
