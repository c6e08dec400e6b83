"""``allegro-feed``: the one command-line interface.

Exit codes (also in ``allegro-feed --help``):
  0  success
  1  the command ran and failed (e.g. the device flow was denied or expired)
  2  wrong usage or configuration (a missing or invalid setting is named with its fix)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from workers import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EPILOG = """\
examples:
  allegro-feed sandbox --port 8765                 serve the local Allegro simulator
  allegro-feed connect --account default           link a seller account (device flow)
  ALLEGRO_FEED_ENVIRONMENT=sandbox allegro-feed connect   use Allegro's own sandbox

settings come from ALLEGRO_FEED_* environment variables (see README.md).
exit codes: 0 ok, 1 failed, 2 usage or configuration error, 130 interrupted.
"""


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import run_from_args

    run_from_args(args)
    return EXIT_OK


def _cmd_connect(args: argparse.Namespace) -> int:
    from workers.allegro.device import connect_account
    from workers.allegro.errors import AllegroError
    from workers.logging import configure_logging
    from workers.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    try:
        settings.require_credentials()
    except ValueError as exc:
        print(f"allegro-feed connect: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from workers.store import open_store

    # The tokens go to the store, where every worker process on every host finds them.
    store = open_store(settings.database_url)
    try:
        connect_account(settings, store, args.account)
    except AllegroError as exc:
        print(f"allegro-feed connect: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``allegro-feed`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="allegro-feed",
        description="Real-time Allegro marketplace publishing for online stores.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"allegro-feed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_sandbox = sub.add_parser(
        "sandbox",
        help="serve the local Allegro API simulator (API and OAuth on one port)",
        description="Serve the local Allegro simulator. Knobs may also be set with "
        "ALLEGRO_SANDBOX_<KNOB> variables and changed at run time under /__sandbox/config.",
        epilog="example: allegro-feed sandbox --port 8765 --latency-ms 150 --async-ratio 0.5",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    from sandbox.server import add_arguments

    add_arguments(p_sandbox)
    p_sandbox.set_defaults(handler=_cmd_sandbox)

    p_connect = sub.add_parser(
        "connect",
        help="link an Allegro seller account with the device flow; tokens go to the store",
        description="Start Allegro's device flow: open the printed address, confirm the code, "
        "and the account's tokens are stored for every worker to use.",
        epilog="example: allegro-feed connect --account shop-pl",
    )
    p_connect.add_argument(
        "--account", default="default", help="name of the seller account (default: default)"
    )
    p_connect.set_defaults(handler=_cmd_connect)

    from workers.worker import register as register_worker

    register_worker(sub)

    from workers.ops import register as register_ops

    register_ops(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``allegro-feed`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except ValidationError as exc:
        # Settings errors: name each variable and what it must be.
        print("allegro-feed: invalid configuration:", file=sys.stderr)
        for err in exc.errors():
            name = "ALLEGRO_FEED_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"  {name}: {err['msg']}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
