"""Run a command with a pseudo-terminal as its controlling terminal, and type into it."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import time
from collections.abc import Mapping
from pathlib import Path


def on_a_terminal(
    command: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    answer: str,
    when: str,
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``command`` with a pseudo-terminal as its controlling terminal (stdin, stdout and
    stderr are not the terminal); type ``answer`` once ``when`` appears on it. Returns the
    process and everything written to the terminal."""
    master, slave = os.openpty()

    def take_terminal() -> None:  # in the child: a new session whose terminal is the pty
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(slave,),
        preexec_fn=take_terminal,  # noqa: PLW1509  (the way to give a child a terminal)
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its last handle on the terminal
                chunk = b""
            if not chunk and process.poll() is not None:
                break
            seen += chunk
            if not answered and when.encode() in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif process.poll() is not None:
            break
    out, err = process.communicate(timeout=60)
    os.close(master)
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done, seen.decode(errors="replace")
