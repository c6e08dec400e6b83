"""``allegro-feed status SKU``: a SKU's audit trail, newest first, from the store.

Every event ends in one status message (DESIGN.md, "Message flow"); the store keeps them
per SKU. Each entry shows when, the status, the event's version and id, the offer id,
Allegro's Trace-Id (quote it to Allegro's support) and every error's code and userMessage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC
from typing import Any, TextIO

from schemas.status import StatusMessage
from workers.ops import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OpsError,
    add_command,
    load_ops_settings,
    positive_int,
    report_error,
)

__all__ = ["format_history", "history_json", "register"]


def _line(message: StatusMessage) -> str:
    when = message.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")
    when = when[:-4] + "Z"  # milliseconds are enough
    parts = [
        when,
        f"{message.status:<10}",
        f"v{message.version}" if message.version is not None else "v?",
        f"event {message.event_id or '?'}",
    ]
    if message.offer_id:
        parts.append(f"offer {message.offer_id}")
    if message.publication_status:
        parts.append(f"({message.publication_status})")
    if message.trace_id:
        parts.append(f"trace {message.trace_id}")
    if message.attempts > 1:
        parts.append(f"after {message.attempts} attempts")
    return "  ".join(parts)


def format_history(
    account: str, sku: str, messages: Sequence[StatusMessage], *, history_days: float = 0
) -> str:
    """The text ``status`` prints: a heading, then per status one line and its errors
    (``code: userMessage``, with the path when there is one). ``history_days``: how far
    back the store keeps statuses (0: all), said when there is none."""
    if not messages:
        text = f"no status recorded for SKU {sku!r} of account {account!r}"
        if history_days > 0:
            text += (
                f" in the last {history_days:g} days (older statuses are pruned: "
                "ALLEGRO_FEED_HISTORY_DAYS)"
            )
        return text
    lines = [f"SKU {sku} (account {account}): {len(messages)} status(es), newest first"]
    for message in messages:
        lines.append(_line(message))
        for error in message.errors:
            text = error.user_message or error.message
            where = f" [{error.path}]" if error.path else ""
            lines.append(f"    {error.code}{where}: {text}")
    return "\n".join(lines)


def history_json(messages: Sequence[StatusMessage]) -> list[dict[str, Any]]:
    """The status messages as their JSON objects (the schema of ``allegro.status``)."""
    return [message.model_dump(mode="json") for message in messages]


_EPILOG = """\
examples:
  allegro-feed status KETTLE-1
  allegro-feed status KETTLE-1 --account shop-pl --limit 5
  allegro-feed status KETTLE-1 --json | jq '.[0].errors'

exit code 1 when the store has no status for the SKU.
"""


def register(subparsers: Any) -> None:
    """Add ``status``."""
    parser = add_command(
        subparsers,
        "status",
        help="a SKU's audit trail: every outcome, newest first, with Allegro's errors",
        description="Show the status history of one SKU from the store, newest first: time, "
        "status, version, event id, offer id, Allegro's Trace-Id, and each error's code and "
        "userMessage.",
        epilog=_EPILOG,
    )
    parser.add_argument("sku", metavar="SKU", help="the store's product id")
    parser.add_argument("--account", default="default", help="seller account (default: default)")
    parser.add_argument(
        "--limit", type=positive_int, default=20, metavar="N", help="at most N (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="the status messages as JSON")
    parser.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The ``status`` command. Returns the exit code."""
    stream = out or sys.stdout
    settings = load_ops_settings()
    from workers.store import open_store, sqlite_path

    try:
        if settings.database_url.startswith("sqlite:///"):
            path = sqlite_path(settings.database_url)
            if not path.exists():
                report_error(
                    "status",
                    OpsError(
                        f"no store at {path}: nothing was recorded there yet "
                        "(check ALLEGRO_FEED_DATABASE_URL)"
                    ),
                )
                return EXIT_FAILED
        store = open_store(settings.database_url)
    except ValueError as exc:  # an unsupported URL
        report_error("status", OpsError(f"ALLEGRO_FEED_DATABASE_URL: {exc}"))
        return EXIT_USAGE
    except Exception as exc:  # the backends' own errors (unreachable, locked, ...)
        report_error("status", OpsError(f"cannot open the store: {exc}"))
        return EXIT_FAILED
    try:
        messages = store.history(args.account, args.sku, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps(history_json(messages), indent=2, ensure_ascii=False), file=stream)
    else:
        text = format_history(args.account, args.sku, messages, history_days=settings.history_days)
        print(text, file=stream)
    return EXIT_OK if messages else EXIT_FAILED
