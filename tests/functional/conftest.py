"""Fixtures for functional tests: moto in-process, tables, roles, and a Harness
(``tests.support``)."""

from __future__ import annotations

from tests.support import fixtures

# The shared moto deployment's fixtures, named here so pytest finds them.
aws = fixtures.aws
aws_session_factory = fixtures.aws_session_factory
clock = fixtures.clock
gated_role = fixtures.gated_role
harness = fixtures.harness
settings = fixtures.settings
uv_role = fixtures.uv_role
