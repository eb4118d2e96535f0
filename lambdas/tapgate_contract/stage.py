"""HTTP API v1's stage: the first path segment of every API URL (``/v1/...``).

Apart from the route table so that the CLI's cache-hit path can read it without importing
``dataclasses``.
"""

from __future__ import annotations

STAGE = "v1"
STAGE_PREFIX = f"/{STAGE}"
