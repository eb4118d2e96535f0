"""The on-disk cache of issued role credentials, for `tapgate credentials`.

One file per (API URL, role, base identity), named by a hash of the three, in
``$XDG_CACHE_HOME/tapgate`` (``~/.cache/tapgate``): directory 0700, files 0600,
written atomically (temp file, fsync, rename). A file that is unreadable,
malformed, not ours or too loosely permitted is treated as absent and replaced
on the next write; the cache never makes a command fail.

A file is one header line ``tapgate-cache 1 <expires epoch> <sha256 of body>``
and the body: the exact ``credential_process`` JSON. A cache hit checks the
header and digest and prints the body as it is, so the hit needs neither json
nor datetime (each start of `tapgate credentials` counts: it runs before every
AWS CLI call). Stdlib only, and never boto3, botocore or fido2.
"""

from __future__ import annotations

import os
import stat

from tapgate.files import TEMP_PREFIX, is_private, private_directory, write_atomically

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every start ~4 ms at run time
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import Any

DEFAULT_MIN_REMAINING_SECONDS = 900  # botocore refreshes credential_process output below 15 min
REQUIRED_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
MAGIC = "tapgate-cache"
FORMAT_VERSION = "1"
SUFFIX = ".cache"
LOCK_NAME = "touch.lock"
MAX_FILE_BYTES = 64 * 1024


def default_directory(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or ""
    # XDG: a relative path in XDG_CACHE_HOME is invalid and must be ignored.
    root = base if os.path.isabs(base) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "tapgate")


def cache_key(*, api_url: str, role_arn: str, identity: str) -> str:
    """A file-name-safe key. NUL cannot occur in a URL, an ARN or an identity label."""
    material = "\0".join((api_url.rstrip("/"), role_arn, identity))
    return _sha256_hex(material.encode("utf-8"))


def _sha256_hex(data: bytes) -> str:
    # hashlib loads OpenSSL (~4 ms); CPython's built-in SHA-256 gives the same digest.
    try:
        from _sha2 import sha256  # noqa: PLC0415  (3.12+)
    except ImportError:
        try:
            from _sha256 import sha256  # noqa: PLC0415
        except ImportError:
            from hashlib import sha256  # noqa: PLC0415
    digest: str = sha256(data).hexdigest()
    return digest


def parse_expiration(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``...Z`` or with an offset) as an aware datetime, else None."""
    from datetime import datetime  # noqa: PLC0415

    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class CredentialCache:
    """Role credentials on disk, keyed by :func:`cache_key`. ``clock`` returns epoch seconds.

    (A plain class, not a dataclass: importing dataclasses costs every start ~5 ms.)
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        clock: Callable[[], float],
        min_remaining_seconds: int = DEFAULT_MIN_REMAINING_SECONDS,
    ) -> None:
        self.directory = os.fspath(directory)
        self.clock = clock
        self.min_remaining_seconds = min_remaining_seconds

    def path_for(self, key: str) -> str:
        return os.path.join(self.directory, key + SUFFIX)

    def get_text(self, key: str) -> str | None:
        """The cached credential_process JSON, verbatim, while more than
        ``min_remaining_seconds`` are left; else None."""
        raw = self._read(self.path_for(key))
        if raw is None:
            return None
        header, newline, body = raw.partition(b"\n")
        fields = header.split(b" ")
        if not newline or len(fields) != 4:
            return None
        magic, version, expires, digest = fields
        if magic != MAGIC.encode() or version != FORMAT_VERSION.encode():
            return None
        try:
            expires_at = int(expires)
            text = body.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        if _sha256_hex(body).encode() != digest:
            return None  # torn or tampered: a miss, and the next write replaces it
        if expires_at - self.clock() <= self.min_remaining_seconds:
            return None
        return text

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached credentials as a dict (see :meth:`get_text`)."""
        import json  # noqa: PLC0415

        text = self.get_text(key)
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document if _valid(document) else None

    def put(self, key: str, credentials: Mapping[str, Any]) -> bool:
        """Write atomically; a cache that cannot be written is skipped, never fatal."""
        import json  # noqa: PLC0415

        document = dict(credentials)
        expiration = parse_expiration(document.get("Expiration"))
        if not _valid(document) or expiration is None:
            return False
        body = json.dumps(document).encode("utf-8")
        header = f"{MAGIC} {FORMAT_VERSION} {int(expiration.timestamp())} {_sha256_hex(body)}\n"
        if not self.ensure_directory():
            return False
        try:
            write_atomically(self.path_for(key), header.encode("ascii") + body)
        except OSError:
            return False
        return True

    def ensure_directory(self) -> bool:
        """Create the cache folder (0700, this user's); False when that is not possible."""
        try:
            private_directory(self.directory, own=True)
        except OSError:
            return False
        return True

    def clear(self) -> int:
        """Delete every cache file (and leftover temp files); returns how many were removed."""
        removed = 0
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return 0
        for entry in entries:
            if entry.name.endswith(SUFFIX) or entry.name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed += 1
        return removed

    # -- internals -------------------------------------------------------------

    def _read(self, path: str) -> bytes | None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or not is_private(info):
                return None
            return os.read(fd, MAX_FILE_BYTES)
        except OSError:
            return None
        finally:
            os.close(fd)


class CacheEntry:
    """One entry of a cache: what `tapgate credentials` reads and, after a touch, writes."""

    def __init__(self, store: CredentialCache, key: str) -> None:
        self.store = store
        self.key = key

    def read(self) -> str | None:
        """The cached credential_process JSON while fresh enough, else None."""
        return self.store.get_text(self.key)

    def write(self, document: Mapping[str, Any]) -> bool:
        return self.store.put(self.key, document)

    def lock_path(self) -> str:
        """The one lock file of the cache folder, which serialises touches (tapgate.locks)."""
        return os.path.join(self.store.directory, LOCK_NAME)


def _valid(document: object) -> bool:
    if not isinstance(document, dict) or document.get("Version") != 1:
        return False
    return all(isinstance(document.get(name), str) for name in REQUIRED_FIELDS)
