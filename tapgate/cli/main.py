"""The `tapgate` command: argument parsing and error reporting; the work is in the modules.

Every failure is one line on stderr and a non-zero exit, never a traceback
(set TAPGATE_DEBUG=1 to see one for an unexpected error). Imports stay lazy:
`tapgate credentials` answered from the cache goes through tapgate.cli.fast
and loads neither argparse nor json, let alone boto3, botocore or fido2.
"""

from __future__ import annotations

import os
import sys

from tapgate.cli.errors import EXIT_ERROR, CliError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not the user's doing


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["credentials"]:
            from tapgate.cli import fast  # noqa: PLC0415

            if fast.serve(arguments[1:]):
                return 0
        from tapgate.cli.parser import build_parser  # noqa: PLC0415

        args = build_parser(arguments).parse_args(arguments)
        return int(args.func(args))
    except CliError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001  (last line of defence: one line, no traceback)
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    from tapgate.client.errors import ApiError  # noqa: PLC0415  (stdlib-only module)

    if isinstance(exc, ApiError):
        return _fail(str(exc), EXIT_ERROR)
    if os.environ.get("TAPGATE_DEBUG"):
        import traceback  # noqa: PLC0415

        traceback.print_exception(exc)
    return _fail(
        f"internal error ({type(exc).__name__}: {exc}); "
        "run with TAPGATE_DEBUG=1 for details and report it",
        EXIT_INTERNAL,
    )


def _fail(message: str, code: int) -> int:
    flat = " ".join(message.split()) or "failed"
    print(f"tapgate: {flat}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
