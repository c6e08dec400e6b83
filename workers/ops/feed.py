"""``allegro-feed publish``: upstream events from a CSV or JSON feed file, as a shop would.

The file is read whole, every row is turned into an event and checked with
:func:`schemas.events.parse_event` (the check the ingest bridge makes), and only the rows
that pass are published, per the upstream contract: persistent, ``content_type:
application/json``, ``message_id`` = ``event_id``, routing key = the event's ``type``, to
the exchange ``allegro.products`` (with the configured name prefix), with publisher
confirms and ``mandatory`` set, so that an event no queue takes is reported instead of
dropped.

Feed formats:

- **JSON**: an array of event objects, or JSON lines (one object per line). Each object is
  an event of the contract; ``type`` (default ``--type``), ``event_id`` (a new UUID),
  ``version`` (now in milliseconds) and ``occurred_at`` (now) are filled in when absent.
- **CSV** (``,``, ``;`` or tab separated, UTF-8, first row the header): columns ``sku``,
  ``name``, ``description``, ``category``, ``ean``, ``mpn``, ``brand``, ``price``,
  ``currency``, ``stock``, ``unit``, ``images`` (URLs separated by ``|``) and attribute
  columns ``attr:<name>``; optional ``type``, ``event_id``, ``version``, ``occurred_at``,
  ``account``, ``allegro.category_id``, ``allegro.product_id``. Empty cells are left out.
  A price without a currency takes the marketplace's (``ALLEGRO_FEED_MARKETPLACE``).

Generated versions are milliseconds since the epoch and strictly increasing within one run,
so two rows of one SKU in one file keep their order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from schemas.events import EventType
from workers.ops import (
    EXIT_FAILED,
    EXIT_OK,
    OpsError,
    add_command,
    load_ops_settings,
    positive_int,
    report_error,
)
from workers.ops._amqp import BatchPublisher, PublishFailure
from workers.ops._feed_check import EventCompleter, PreparedEvent, prepare
from workers.ops._feed_read import ATTRIBUTE_PREFIX as ATTRIBUTE_PREFIX
from workers.ops._feed_read import CSV_COLUMNS, FeedItem, read_csv, read_feed, read_json
from workers.ops._feed_read import CSV_EVENT_COLUMNS as CSV_EVENT_COLUMNS
from workers.ops._feed_read import IMAGE_SEPARATOR as IMAGE_SEPARATOR
from workers.ops._feed_read import MAX_FEED_BYTES as MAX_FEED_BYTES
from workers.ops._feed_read import csv_row_to_event as csv_row_to_event
from workers.topology import PRODUCTS_EXCHANGE

__all__ = [
    "CSV_COLUMNS",
    "BatchPublisher",
    "EventCompleter",
    "FeedItem",
    "PreparedEvent",
    "PublishFailure",
    "prepare",
    "read_csv",
    "read_feed",
    "read_json",
    "register",
]

#: Bad rows printed one by one; past that only their count.
MAX_PROBLEMS_SHOWN = 50


_DESCRIPTION = """\
Publish upstream product events from a feed file, as a shop, PIM or ERP would: each row
becomes an event, is checked against the upstream contract, and only the rows that pass
are published (persistent, with publisher confirms) to the exchange allegro.products,
routing key = the event type. Bad rows are reported with their row number, field and fix.

JSON: an array of events or JSON lines. CSV: columns sku, name, description, category,
ean, mpn, brand, price, currency, stock, unit, images (URLs separated by |) and attr:<name>
for store attributes; optional type, event_id, version, occurred_at, account,
allegro.category_id, allegro.product_id. Missing event_id, version (now in ms) and
occurred_at are generated.
"""

_EPILOG = """\
examples:
  allegro-feed publish products.csv                          full products (product.upserted)
  allegro-feed publish stock.csv --type product.stock        only sku, stock[, unit] are used
  allegro-feed publish events.jsonl --batch 500
  allegro-feed publish products.csv --dry-run                check the rows, publish nothing

CSV example (header and one row):
  sku,name,category,ean,brand,price,currency,stock,images,attr:kolor
  KETTLE-1,Czajnik 1.7 l,Dom > Kuchnia,5901234123457,Acme,129.99,PLN,12,https://shop.example/k1.jpg,czarny

exit code 1 when some rows were bad (the others were published) or publishing failed.
"""


def register(subparsers: Any) -> None:
    """Add ``publish``."""
    parser = add_command(
        subparsers,
        "publish",
        help="publish upstream events from a CSV or JSON feed file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the feed (.csv, .json, .jsonl)")
    parser.add_argument(
        "--type",
        default=EventType.UPSERTED.value,
        choices=[t.value for t in EventType],
        help="event type of rows that do not name one (default: product.upserted)",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=200,
        metavar="N",
        help="events published before waiting for their confirms; one progress line per "
        "batch (default: 200)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check every row and publish nothing"
    )
    parser.set_defaults(handler=run_publish)


def run_publish(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The ``publish`` command. Returns the exit code."""
    out = out or sys.stdout
    try:
        settings = load_ops_settings()
        return _publish(
            args, settings.amqp_url, settings.name(PRODUCTS_EXCHANGE), settings.currency, out
        )
    except OpsError as exc:
        report_error("publish", exc)
        return exc.exit_code


def _publish(
    args: argparse.Namespace, amqp_url: str, exchange: str, currency: str, out: TextIO
) -> int:
    items = read_feed(args.file, EventType(args.type), default_currency=currency)
    prepared = prepare(items, EventCompleter())
    good = [p for p in prepared if p.ok]
    bad = [p for p in prepared if not p.ok]
    for entry in bad[:MAX_PROBLEMS_SHOWN]:
        for problem in entry.problems:
            print(f"{args.file.name}: {entry.where}: {problem}", file=sys.stderr)
    if len(bad) > MAX_PROBLEMS_SHOWN:
        print(f"... and {len(bad) - MAX_PROBLEMS_SHOWN} more bad rows", file=sys.stderr)
    if not prepared:
        print(f"{args.file}: no events in the file", file=out)
        return EXIT_OK
    if args.dry_run:
        print(
            f"dry run: {len(good)} of {len(prepared)} events are valid, {len(bad)} bad; "
            "nothing published",
            file=out,
        )
        return EXIT_FAILED if bad else EXIT_OK
    published = 0
    counts: dict[str, int] = {}
    if good:
        with BatchPublisher(amqp_url, exchange) as publisher:
            for start in range(0, len(good), args.batch):
                batch = good[start : start + args.batch]
                messages = [_message(p) for p in batch]
                failures = publisher.publish(messages)
                if failures:
                    published += len(batch) - len(failures)
                    first = failures[0]
                    where = next(p.where for p in batch if _id(p) == first.message_id)
                    raise OpsError(
                        f"published {published} of {len(good)} events, then {len(failures)} "
                        f"of a batch were not taken, the first at {where}: {first.reason} "
                        f"(routing key {first.routing_key!r} on exchange {exchange!r}"
                        + (
                            ": no queue is bound for it; start the workers once"
                            if first.reason == "unroutable"
                            else ""
                        )
                        + "). Rows after it were not published."
                    )
                published += len(batch)
                for p in batch:
                    kind = str(p.event.type) if p.event else "?"
                    counts[kind] = counts.get(kind, 0) + 1
                print(f"published {published}/{len(good)}", file=sys.stderr)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(
        f"published {published} of {len(prepared)} events to exchange {exchange}"
        + (f" ({kinds})" if kinds else "")
        + (f"; {len(bad)} bad rows not published (listed above)" if bad else ""),
        file=out,
    )
    return EXIT_FAILED if bad else EXIT_OK


def _id(prepared: PreparedEvent) -> str:
    return prepared.event.event_id if prepared.event else ""


def _message(prepared: PreparedEvent) -> tuple[str, bytes, str]:
    assert prepared.event is not None and prepared.body is not None
    return str(prepared.event.type), prepared.body, prepared.event.event_id
