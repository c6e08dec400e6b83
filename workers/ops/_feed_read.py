"""Reading a feed file into event objects: JSON (an array or JSON lines) or CSV.

The formats are described in :mod:`workers.ops.feed`. Reading only turns rows into event
dicts and notes what cannot be read (a cell that is not a number, a row with too many
cells); :mod:`workers.ops._feed_check` completes and checks them against the contract.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.events import EventType
from workers.ops import EXIT_USAGE, OpsError

__all__ = [
    "ATTRIBUTE_PREFIX",
    "CSV_COLUMNS",
    "CSV_EVENT_COLUMNS",
    "IMAGE_SEPARATOR",
    "MAX_FEED_BYTES",
    "FeedItem",
    "csv_row_to_event",
    "read_csv",
    "read_feed",
    "read_json",
]

#: Product columns of a CSV feed, in the order a template would list them.
CSV_COLUMNS = (
    "sku",
    "name",
    "description",
    "category",
    "ean",
    "mpn",
    "brand",
    "price",
    "currency",
    "stock",
    "unit",
    "images",
)
#: Columns a CSV feed may add to fill the event's own fields.
CSV_EVENT_COLUMNS = (
    "type",
    "event_id",
    "version",
    "occurred_at",
    "account",
    "allegro.category_id",
    "allegro.product_id",
)
ATTRIBUTE_PREFIX = "attr:"
IMAGE_SEPARATOR = "|"
#: Largest feed file read, in bytes (512 MiB): the file is read whole before publishing.
MAX_FEED_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class FeedItem:
    """One row of a feed: where it is (``row 7``, ``line 3``, ``item 2``), the event as
    read (``None`` when nothing could be read) and the problems found while reading."""

    where: str
    data: dict[str, Any] | None
    problems: tuple[str, ...] = ()
    csv: bool = False


def _csv_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _check_header(header: Sequence[str]) -> None:
    known = set(CSV_COLUMNS) | set(CSV_EVENT_COLUMNS)
    problems: list[str] = []
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(f"column {column!r} appears twice: keep one")
        seen.add(column)
        if column.startswith(ATTRIBUTE_PREFIX):
            if not column[len(ATTRIBUTE_PREFIX) :].strip():
                problems.append(f"column {column!r} names no attribute: write attr:<name>")
        elif column not in known:
            problems.append(
                f"column {column!r} is not a feed column: rename it to "
                f"{ATTRIBUTE_PREFIX}{column} to send it as a store attribute, or remove it"
            )
    if "sku" not in seen:
        problems.append("the header has no sku column: every event needs the product's sku")
    if problems:
        columns = ", ".join((*CSV_COLUMNS, *CSV_EVENT_COLUMNS))
        raise OpsError(
            "the CSV header is not usable:\n  "
            + "\n  ".join(problems)
            + f"\n  (columns: {columns}, and {ATTRIBUTE_PREFIX}<name> for attributes)",
            exit_code=EXIT_USAGE,
        )


def _whole_number(text: str, column: str, problems: list[str], example: str) -> int | None:
    cleaned = text.strip()
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    problems.append(
        f"column {column}: {text!r} is not a whole number; write digits only, {example}"
    )
    return None


def csv_row_to_event(
    row: dict[str, str], event_type: EventType, *, default_currency: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """One CSV row (column -> cell) as an event object of ``event_type`` (or the row's
    ``type``), with the problems found in its cells. Empty cells are left out; only the
    columns the event type carries are used."""
    cells = {k: v.strip() for k, v in row.items() if k is not None and v and v.strip()}
    problems: list[str] = []
    kind = cells.get("type", event_type)
    data: dict[str, Any] = {"type": kind}
    for column in ("event_id", "occurred_at", "account", "sku"):
        if column in cells:
            data[column] = cells[column]
    if "version" in cells:
        version = _whole_number(cells["version"], "version", problems, "e.g. 1721300000000")
        if version is not None:
            data["version"] = version
    if kind in (EventType.UPSERTED, EventType.PRICE):
        price: dict[str, Any] = {}
        if "price" in cells:
            price["amount"] = cells["price"]
        currency = cells.get("currency") or (default_currency if "price" in cells else None)
        if currency:
            price["currency"] = currency
        if price:
            data["price"] = price
    if kind in (EventType.UPSERTED, EventType.STOCK) and ("stock" in cells or "unit" in cells):
        stock: dict[str, Any] = {}
        if "stock" in cells:
            available = _whole_number(cells["stock"], "stock", problems, "e.g. 12")
            if available is not None:
                stock["available"] = available
        if "unit" in cells:
            stock["unit"] = cells["unit"].upper()
        data["stock"] = stock
    if kind == EventType.UPSERTED:
        for column in ("name", "description", "category", "ean", "mpn", "brand"):
            if column in cells:
                data[column] = cells[column]
        if "images" in cells:
            data["images"] = [
                url.strip() for url in cells["images"].split(IMAGE_SEPARATOR) if url.strip()
            ]
        attributes = {
            column[len(ATTRIBUTE_PREFIX) :].strip(): value
            for column, value in cells.items()
            if column.startswith(ATTRIBUTE_PREFIX)
        }
        if attributes:
            data["attributes"] = attributes
        allegro = {
            key: cells[f"allegro.{key}"]
            for key in ("category_id", "product_id")
            if f"allegro.{key}" in cells
        }
        if allegro:
            data["allegro"] = allegro
    return data, problems


def read_csv(
    text: str, event_type: EventType, *, default_currency: str | None = None
) -> Iterator[FeedItem]:
    """The rows of a CSV feed, numbered as a spreadsheet shows them (the header is row 1).
    Raises :class:`OpsError` (usage) for a header that cannot be used."""
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=_csv_dialect(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise OpsError(
            "the CSV file is empty: the first row must name the columns", exit_code=EXIT_USAGE
        )
    _check_header(header)
    reader.fieldnames = header
    for row in reader:
        # The line the row ends on: the spreadsheet's row number (blank lines count, as
        # there), unless a quoted cell spans several lines.
        number = reader.line_num
        extra = row.pop(None, None)
        if extra is not None:  # more cells than columns
            cells = len(header) + len(extra)
            yield FeedItem(
                f"row {number}",
                None,
                (
                    f"has {cells} cells for {len(header)} columns; quote cells that contain "
                    "the separator",
                ),
                csv=True,
            )
            continue
        if not any((value or "").strip() for value in row.values()):
            continue  # blank line
        data, problems = csv_row_to_event(row, event_type, default_currency=default_currency)
        yield FeedItem(f"row {number}", data, tuple(problems), csv=True)


def read_json(text: str, event_type: EventType) -> Iterator[FeedItem]:
    """The events of a JSON feed: an array of objects (``item N``, from 1) or JSON lines
    (``line N``). Objects without ``type`` get ``event_type``."""
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OpsError(
                f"the file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                " (an array of event objects, or one object per line)",
                exit_code=EXIT_USAGE,
            ) from None
        for number, item in enumerate(items, start=1):
            yield _json_item(f"item {number}", item, event_type)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield FeedItem(
                f"line {number}",
                None,
                (f"is not valid JSON: {exc.msg} at column {exc.colno}; one object per line",),
            )
            continue
        yield _json_item(f"line {number}", item, event_type)


def _json_item(where: str, item: Any, event_type: EventType) -> FeedItem:
    if not isinstance(item, dict):
        return FeedItem(where, None, ("must be a JSON object (one event)",))
    item.setdefault("type", str(event_type))
    return FeedItem(where, item)


def read_feed(
    path: Path, event_type: EventType, *, default_currency: str | None = None
) -> list[FeedItem]:
    """Read a feed file: CSV by the ``.csv`` / ``.tsv`` extension, JSON otherwise (an
    array or JSON lines); a file without a known extension is JSON when it starts with
    ``[`` or ``{``. Raises :class:`OpsError` (usage) when it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FEED_BYTES:
            raise OpsError(
                f"{path} is {size} bytes, more than {MAX_FEED_BYTES}: split it",
                exit_code=EXIT_USAGE,
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OpsError(
            f"{path} is not UTF-8 (byte {exc.start}): save it as UTF-8", exit_code=EXIT_USAGE
        ) from None
    except OSError as exc:
        raise OpsError(f"cannot read {path}: {exc.strerror or exc}", exit_code=EXIT_USAGE) from None
    suffix = path.suffix.lower()
    is_csv = suffix in (".csv", ".tsv") or (
        suffix not in (".json", ".jsonl", ".ndjson") and text.lstrip()[:1] not in ("[", "{")
    )
    if is_csv:
        return list(read_csv(text, event_type, default_currency=default_currency))
    return list(read_json(text, event_type))
