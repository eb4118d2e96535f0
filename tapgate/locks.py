"""One process at a time: an advisory lock on a file, for the touch prompt.

When several AWS tools start at once on a cold cache, each runs `tapgate credentials`.
The first takes this lock and asks for the touch; the others wait for it and then
find the fresh credentials in the cache (aws-vault serialises its prompts the same way).

The lock is the kernel's ``flock``: it belongs to the open file and goes away with its
holder's last descriptor, so a holder that crashes or is killed never leaves a lock
behind. That is the stale-lock detection: a lock file without a live holder is just a
file. The file holds the holder's process id, for the waiters' message only. Where
``flock`` does not exist (Windows) the lock does nothing: each process asks for its own
touch, as if there were no lock. A lock file that cannot be opened (a read-only cache
folder) does the same: the lock must never make a command fail.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows)
    fcntl = None  # type: ignore[assignment]

DEFAULT_TIMEOUT_SECONDS = 300.0  # longer than any touch and PIN entry takes
POLL_SECONDS = 0.05


class LockTimeoutError(Exception):
    """Waited ``timeout`` seconds and the holder still has the lock."""

    def __init__(self, path: str, holder: int | None, waited: float) -> None:
        who = f"another tapgate (pid {holder})" if holder else "another tapgate"
        super().__init__(
            f"{who} has held {path} for over {waited:.0f} s (waiting for a touch?); "
            "finish or stop it, then try again"
        )
        self.holder = holder


class ProcessLock:
    """``with ProcessLock(path): ...`` runs the block in one process at a time.

    ``on_wait(pid)`` is called once when the lock is taken by someone else (``pid`` is
    the holder's, if it wrote it). ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        on_wait: Callable[[int | None], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self.on_wait = on_wait
        self.clock = clock
        self.sleep = sleep
        self._fd: int | None = None

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None:
            return
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError:
            return  # no lock rather than no credentials
        started = self.clock()
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                holder = _holder(fd)
                if not told and self.on_wait is not None:
                    self.on_wait(holder)
                told = True
                waited = self.clock() - started
                if waited >= self.timeout:
                    raise LockTimeoutError(self.path, holder, waited)
                self.sleep(POLL_SECONDS)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # no pid left behind for a later waiter to report
        os.close(fd)  # closing the last descriptor releases the flock


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
