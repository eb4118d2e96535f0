"""Authenticators the CLI can drive through python-fido2.

`tapgate.authenticators.soft` is a software CTAP2 key kept in a file, for tests and demos
only. It is not imported here so that `import tapgate.authenticators` stays free of fido2
and cryptography.
"""
