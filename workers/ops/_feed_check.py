"""Completing and checking feed rows: the exact bytes to publish, or the problems.

Each row read by :mod:`workers.ops._feed_read` gets what a feed may leave out
(:class:`EventCompleter`) and is checked with :func:`schemas.events.parse_event`, the
check the ingest bridge makes. Problems are worded for the file they came from: those of
a CSV row name the column and a fix made in a spreadsheet.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.errors import EventError, FieldError
from schemas.events import ProductEvent, parse_event
from workers.ops._feed_read import ATTRIBUTE_PREFIX, FeedItem

__all__ = ["EventCompleter", "PreparedEvent", "prepare"]

# Which CSV column an event field's error belongs to.
_FIELD_COLUMNS = {
    "price": "price",
    "price.amount": "price",
    "price.currency": "currency",
    "stock": "stock",
    "stock.available": "stock",
    "stock.unit": "unit",
}


class EventCompleter:
    """Fills in what a feed may leave out: ``event_id`` (a new UUID), ``version`` (now in
    ms, strictly increasing across calls) and ``occurred_at`` (now, UTC).

    ``clock_ms`` and ``new_id`` replace the time and the id source in tests.
    """

    def __init__(
        self,
        *,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._clock_ms = clock_ms
        self._new_id = new_id
        self._last_version = -1

    def version(self) -> int:
        self._last_version = max(self._clock_ms(), self._last_version + 1)
        return self._last_version

    def complete(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with the missing fields filled in."""
        done = dict(data)
        if "event_id" not in done:
            done["event_id"] = self._new_id()
        if "version" not in done:
            done["version"] = self.version()
        if "occurred_at" not in done:
            now = datetime.fromtimestamp(self._clock_ms() / 1000, UTC)
            done["occurred_at"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return done


@dataclass(frozen=True)
class PreparedEvent:
    """A feed row after checking: the exact bytes to publish and the parsed event, or the
    problems (each ``<where>: <field or column>: <what>; <fix>``)."""

    where: str
    body: bytes | None = None
    event: ProductEvent | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.event is not None and not self.problems


# Fixes worded for a spreadsheet, where the contract's own speak of JSON.
_CSV_FIXES = {
    "price.amount": "write the price with a dot and at most 2 decimals, e.g. 129.99",
    "ean": "keep every digit and leading zero: format the ean column as text, not a number",
}


def _column_of(field_path: str) -> str:
    if field_path in _FIELD_COLUMNS:
        return _FIELD_COLUMNS[field_path]
    if field_path.startswith("images"):
        return "images"
    if field_path.startswith("attributes."):
        return ATTRIBUTE_PREFIX + field_path[len("attributes.") :]
    return field_path


def _describe(error: FieldError, *, in_csv: bool) -> str:
    if not error.field:
        text = error.message
    elif in_csv:
        text = f"column {_column_of(error.field)}: {error.message}"
        if error.field.startswith("images["):
            text = f"column images ({error.field}): {error.message}"
    else:
        text = f"{error.field}: {error.message}"
    fix = _CSV_FIXES.get(error.field, error.fix) if in_csv else error.fix
    return f"{text}; {fix}" if fix else text


def prepare(items: Iterable[FeedItem], completer: EventCompleter) -> list[PreparedEvent]:
    """Complete and check every item with :func:`parse_event`; an ``event_id`` repeated in
    the file is a problem of the later rows."""
    prepared: list[PreparedEvent] = []
    first_seen: dict[str, str] = {}
    for item in items:
        if item.data is None:
            prepared.append(PreparedEvent(item.where, problems=item.problems))
            continue
        data = completer.complete(item.data)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        problems = list(item.problems)
        event: ProductEvent | None = None
        try:
            event = parse_event(body, routing_key=str(data.get("type")))
        except EventError as exc:
            reported = {p.split(":", 1)[0] for p in problems}
            for error in exc.field_errors:
                text = _describe(error, in_csv=item.csv)
                if text.split(":", 1)[0] not in reported:
                    problems.append(text)
        if event is not None:
            if event.event_id in first_seen:
                problems.append(
                    f"event_id {event.event_id!r} repeats {first_seen[event.event_id]}; "
                    "give every event its own id (or leave it out to have one generated)"
                )
            else:
                first_seen[event.event_id] = item.where
        prepared.append(PreparedEvent(item.where, body, event, tuple(problems)))
    return prepared
