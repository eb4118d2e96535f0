"""The software authenticator's errors: one root, a subclass per failure area."""

from __future__ import annotations


class SoftKeyError(Exception):
    """Root of the software authenticator's errors."""


class SoftKeyFileError(SoftKeyError):
    """The key file is missing, already exists, or is not a tapgate soft key file."""


class SoftKeyPermissionError(SoftKeyFileError):
    """The key file may be read or written by someone other than its owner."""


class SoftKeyNotAllowedError(SoftKeyError):
    """A software key was asked for outside local mode without the explicit opt-in."""
