"""Talk to the person at the keyboard without touching stdout.

`tapgate credentials` runs under the AWS CLI as a ``credential_process``: its
stdout must carry only the JSON document and the AWS CLI hides stderr when the
command succeeds. Prompts therefore go to the controlling terminal
(``/dev/tty``). Without one (CI, a detached session) they fall back to stderr,
and a PIN is read from stdin when stdin is not a terminal.
"""

from __future__ import annotations

import io
import os
import sys
from typing import IO


class NoTerminalError(Exception):
    """A secret is needed but there is neither a terminal nor piped input to read it from."""


def _open_terminal() -> IO[str] | None:
    """The controlling terminal for reading and writing, or None without one.

    Not ``open("/dev/tty", "r+")``: that stacks a BufferedRandom on the terminal, which is
    not seekable, so it always fails. Like getpass: a raw FileIO with text on top.
    """
    if os.name == "nt":
        return None
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        return io.TextIOWrapper(io.FileIO(fd, "r+"), encoding="utf-8", line_buffering=True)
    except (OSError, ValueError):
        os.close(fd)
        return None


def say(message: str) -> None:
    """One line for the user: the terminal if there is one, else stderr. Never stdout."""
    terminal = _open_terminal()
    if terminal is None:
        print(message, file=sys.stderr, flush=True)
        return
    with terminal:
        terminal.write(message + "\n")
        terminal.flush()


def announce(message: str) -> None:
    """Something the user must see even under the AWS CLI (a sign-in address): on stderr,
    as documented, and on the terminal too when stderr is not it (the AWS CLI shows a
    credential_process's stderr only when the command fails)."""
    print(message, file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        return
    terminal = _open_terminal()
    if terminal is not None:
        with terminal:
            terminal.write(message + "\n")
            terminal.flush()


def ask_secret(prompt: str) -> str:
    """Read a secret (a PIN) without echo from the terminal; piped stdin as the fallback."""
    terminal = _open_terminal()
    if terminal is not None or (os.name == "nt" and sys.stdin is not None and sys.stdin.isatty()):
        if terminal is not None:
            terminal.close()
        import getpass  # noqa: PLC0415

        # getpass opens /dev/tty (the console on Windows) itself, with echo off.
        return getpass.getpass(prompt)
    stdin = sys.stdin
    if stdin is None or stdin.closed or stdin.isatty():
        raise NoTerminalError("no terminal to ask for the PIN on")
    print(prompt, end="", file=sys.stderr, flush=True)
    line = stdin.readline()
    print(file=sys.stderr, flush=True)
    if not line:
        raise NoTerminalError("no PIN given on stdin")
    return line.rstrip("\r\n")


def ask(prompt: str) -> str | None:
    """A line typed on the terminal after ``prompt``; None when there is no terminal."""
    terminal = _open_terminal()
    if terminal is None:
        return None
    with terminal:
        terminal.write(prompt)
        terminal.flush()
        return terminal.readline().rstrip("\r\n")


def confirm(prompt: str) -> None:
    """Wait for Enter on the terminal (e.g. after swapping keys); no-op without a terminal."""
    terminal = _open_terminal()
    if terminal is None:
        return
    with terminal:
        terminal.write(prompt)
        terminal.flush()
        terminal.readline()
