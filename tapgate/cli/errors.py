"""The CLI's error root: a message of one line for stderr and an exit code."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """Something the user can act on; printed as ``tapgate: <message>``, never a traceback."""

    def __init__(self, message: str, *, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(CliError):
    """Bad arguments (exit code 2, like argparse)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)
