"""One error root for the audit package."""


class AuditError(Exception):
    """Root of every error the audit package raises on purpose."""


class PolicyFormatError(AuditError):
    """A policy document that is not a valid IAM policy; the message says what was expected."""


class InputError(AuditError):
    """An input (file, directory, account) that cannot be read at all."""
