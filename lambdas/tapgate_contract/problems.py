"""RFC 9457 problem documents: every error HTTP API v1 answers, from the broker or from the
gateway in front of it (local mode's), is one of these."""

from __future__ import annotations

PROBLEM_CONTENT_TYPE = "application/problem+json"
# ``type`` is this base and a slug (``bad-request``, ``ceremony-failed``, ...); API Gateway's
# own refusals in the stack say ``about:blank``.
PROBLEM_TYPE_BASE = "https://tapgate.dev/problems/"
