#!/usr/bin/env python3
"""CDK entry point (`npx cdk synth` / `cdk deploy`). Makes no AWS calls."""

from __future__ import annotations

import sys

from stacks.application import build_app
from stacks.config import ConfigError


def main() -> int:
    try:
        app, _stack = build_app()
    except ConfigError as exc:
        print(f"tapgate: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
