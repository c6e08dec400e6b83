"""The operations commands of ``allegro-feed``: what an operator runs by hand.

=====================  ========================================================
``deadletters``        list, show, replay and purge dead letters (``.XQ`` queues and the
                       parked raw events of ``allegro.ingest.rejected``)
``publish``            publish upstream events from a CSV or JSON feed file
``params``             "Get Allegro Attributes": a category's parameters as a mapping template
``suggest``            Allegro's category suggestions for a product name
``check-mapping``      check a mapping file (optionally against Allegro's categories)
``status``             a SKU's audit trail from the store
=====================  ========================================================

:func:`register` adds them to the ``allegro-feed`` parser. Every command returns one of the
exit codes of :mod:`workers.cli`: 0 ok, 1 the command ran and failed (something was not
done), 2 wrong usage or configuration.

Each command's module holds its parser and handler; the work behind them lives in private
modules: ``_amqp`` (RabbitMQ: connecting, reading a queue without removing its messages,
the confirmed batch publisher), ``_deadletter_format`` and ``_deadletter_actions`` (reading,
printing, replaying and purging dead letters), ``_feed_read`` and ``_feed_check`` (feed
files into checked events) and ``_template`` (the mapping template of ``params``).

Output meant for people goes to stdout; progress lines and errors go to stderr, so that
``allegro-feed deadletters list --json > dl.json`` stays clean.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from workers.settings import Settings

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "OpsError",
    "load_ops_settings",
    "register",
]

# The same values as workers.cli (not imported from there: the CLI imports this package).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Exit-code paragraph shared by every command's epilog.
EXIT_CODES_HELP = "exit codes: 0 ok, 1 failed (see the message), 2 usage or configuration error."


class OpsError(Exception):
    """A command cannot go on; ``exit_code`` says whether it was usage (2) or a failure (1).

    The message is shown to the operator as it is, so it names the problem and the fix.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_ops_settings() -> Settings:
    """Read the settings once and configure logging for a command-line run.

    pika, httpx, the Allegro client's call log and the store's are kept at WARNING (unless
    ``ALLEGRO_FEED_LOG_LEVEL=DEBUG``): their INFO lines would bury the command's output.
    """
    from workers.logging import configure_logging
    from workers.settings import load_settings

    settings = load_settings()
    quiet = ["httpx", "httpcore", "pika"]
    if settings.log_level.upper() != "DEBUG":
        quiet += ["workers.allegro", "workers.store"]
    configure_logging(settings, quiet_loggers=quiet)
    return settings


def report_error(command: str, exc: BaseException, stream: TextIO | None = None) -> None:
    """Print ``allegro-feed <command>: <message>`` to stderr (or ``stream``)."""
    print(f"allegro-feed {command}: {exc}", file=stream or sys.stderr)


def add_command(
    subparsers: Any, name: str, *, help: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """A subcommand parser whose help keeps the layout of ``epilog`` and of a multi-line
    ``description``; a one-line description is wrapped to the terminal's usual width."""
    if "\n" not in description.strip():
        description = textwrap.fill(description, width=88)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"{epilog.rstrip()}\n\n{EXIT_CODES_HELP}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def positive_int(text: str) -> int:
    """An argument type for counts and limits: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def register(subparsers: Any) -> None:
    """Add the operations commands to ``allegro-feed``'s subparsers.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned. Each command sets
    ``handler`` (``Namespace -> exit code``) as a parser default.
    """
    from workers.ops import audit, deadletters, feed, mapping_check, params

    deadletters.register(subparsers)
    feed.register(subparsers)
    params.register_params(subparsers)
    params.register_suggest(subparsers)
    mapping_check.register(subparsers)
    audit.register(subparsers)
