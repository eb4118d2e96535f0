"""What the test suites share: forged keys, in-memory fakes, the moto deployment harness.

Suites import from here, never from each other.
"""
