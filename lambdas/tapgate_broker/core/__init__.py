"""Domain core: WebAuthn ceremonies on python-fido2, policy fido2 leaves to us.

No boto3 here: storage and STS arrive through the ports in ``ports.py``.
"""
