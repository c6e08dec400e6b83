"""The data of the stock/price fast path: staged events, pending changes, planned commands,
journal entries and hand-overs. Plain frozen dataclasses; JSON in and out for the tables.

Values of a change, by kind:

- ``stock``: ``{"available": int, "unit": "UNIT" | "PAIR" | "SET"}``;
- ``price``: ``{"amount": "12.50", "currency": "PLN"}`` (the event's decimal string).

Times are Unix epoch seconds (floats) of the batcher's clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ChangeKind",
    "CommandType",
    "EventRef",
    "Handover",
    "Item",
    "JournalEntry",
    "JournalState",
    "NewCommand",
    "PendingRow",
    "SettleOutcome",
    "StageOutcome",
    "StagedEvent",
]


class ChangeKind(StrEnum):
    """Which part of a SKU a change sets."""

    STOCK = "stock"
    PRICE = "price"


class CommandType(StrEnum):
    """A journal entry's kind: one of Allegro's batch commands, or ``settle`` (no call:
    the items are decided already, e.g. nothing to change or handed to the PATCH path)."""

    QUANTITY = "quantity"
    PRICE = "price"
    PUBLICATION = "publication"
    SETTLE = "settle"


class JournalState(StrEnum):
    """NEW: written, not yet accepted by Allegro (PUT it, always with the same id);
    SENT: accepted (201, or 409 for an id used before), being polled; DONE: every item has
    its outcome (statuses reported, registry updated, hand-overs made)."""

    NEW = "NEW"
    SENT = "SENT"
    DONE = "DONE"


class StageOutcome(StrEnum):
    """What staging one event did."""

    STAGED = "staged"  # merged into the SKU's pending change
    DUPLICATE = "duplicate"  # this event_id was staged before: nothing to do
    SUPERSEDED = "superseded"  # a newer version of the part was sent already


class SettleOutcome(StrEnum):
    """The outcome of an item that needs no batch command."""

    UNCHANGED = "UNCHANGED"  # Allegro already has the value
    REJECTED = "REJECTED"  # the value cannot be sent (e.g. another currency)
    HANDOVER = "HANDOVER"  # the PATCH path (the publish actor) must do it
    SUPERSEDED = "SUPERSEDED"  # the store's desired state moved on (a newer event of
    # another type, e.g. a product.upserted or a delete, set this part): not sent


@dataclass(frozen=True)
class EventRef:
    """One event folded into a change: its id and version."""

    event_id: str
    version: int

    def to_json(self) -> list[Any]:
        return [self.event_id, self.version]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> EventRef:
        return cls(str(data[0]), int(data[1]))


def events_to_json(events: Iterable[EventRef]) -> list[list[Any]]:
    return [event.to_json() for event in events]


def events_from_json(data: Iterable[Sequence[Any]] | None) -> tuple[EventRef, ...]:
    return tuple(EventRef.from_json(entry) for entry in data or ())


def newest_event(events: Sequence[EventRef]) -> EventRef | None:
    """The event of the highest version (the later one of equal versions), or None."""
    best = None
    for event in events:
        if best is None or event.version >= best.version:
            best = event
    return best


@dataclass(frozen=True)
class StagedEvent:
    """A stock or price event, as the batcher takes it in."""

    account: str
    sku: str
    kind: ChangeKind
    value: dict[str, Any]
    version: int
    event_id: str
    offer_id: str | None = None


@dataclass(frozen=True)
class PendingRow:
    """One row of ``batch_pending``: the SKU's part ``kind`` waiting to be sent.

    ``events`` are the events not yet claimed into a command (empty: nothing pending);
    ``value``/``version`` the newest of them (or, when nothing is pending, of the last
    change claimed). ``first_at``: when the first of ``events`` was staged (the coalescing
    window opens then). ``sent_version``: the newest version claimed into a command (an
    event at or below it is superseded). ``inflight``: the journal entry that carries the
    last claimed change until it is done (a newer change waits for it).
    """

    account: str
    sku: str
    kind: ChangeKind
    value: dict[str, Any]
    version: int
    events: tuple[EventRef, ...] = ()
    first_at: float | None = None
    last_at: float | None = None
    sent_version: int = 0
    inflight: str | None = None
    offer_id: str | None = None

    @property
    def pending(self) -> bool:
        return bool(self.events)

    @property
    def newest_event(self) -> EventRef:
        """The event whose value the change carries (see :func:`newest_event`)."""
        newest = newest_event(self.events)
        if newest is None:
            raise IndexError("a change without events has no newest event")
        return newest


@dataclass(frozen=True)
class Item:
    """One SKU's change inside a command (or a settle entry).

    ``then``: ``ACTIVATE`` when the offer is to be re-activated after this quantity command
    succeeded (a restock of an ENDED offer). ``outcome``/``errors``: a settle item's
    decision (errors in Allegro's shape, ``code``/``message``/``path``/``userMessage``).
    ``ready_at``: when the change's coalescing window closed (a command is due once what
    is left of the batch window has passed since the earliest of its items' ``ready_at``).
    """

    sku: str
    offer_id: str | None
    kind: ChangeKind
    value: dict[str, Any]
    version: int
    events: tuple[EventRef, ...] = ()
    publication_status: str | None = None
    then: str | None = None
    outcome: SettleOutcome | None = None
    errors: tuple[dict[str, Any], ...] = ()
    ready_at: float = 0.0

    @property
    def newest_event(self) -> EventRef | None:
        return newest_event(self.events)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sku": self.sku,
            "offer_id": self.offer_id,
            "kind": self.kind.value,
            "value": self.value,
            "version": self.version,
            "events": events_to_json(self.events),
            "publication_status": self.publication_status,
            "ready_at": self.ready_at,
        }
        if self.then is not None:
            data["then"] = self.then
        if self.outcome is not None:
            data["outcome"] = self.outcome.value
        if self.errors:
            data["errors"] = [dict(error) for error in self.errors]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        outcome = data.get("outcome")
        return cls(
            sku=str(data["sku"]),
            offer_id=data.get("offer_id"),
            kind=ChangeKind(data["kind"]),
            value=dict(data.get("value") or {}),
            version=int(data["version"]),
            events=events_from_json(data.get("events")),
            publication_status=data.get("publication_status"),
            then=data.get("then"),
            outcome=SettleOutcome(outcome) if outcome else None,
            errors=tuple(dict(error) for error in data.get("errors") or ()),
            ready_at=float(data.get("ready_at") or 0.0),
        )

    def with_events(self, events: Sequence[EventRef]) -> Item:
        return replace(self, events=tuple(events))


@dataclass(frozen=True)
class NewCommand:
    """A command (or settle entry) about to be written to the journal.

    ``value``: the quantity (int), the price (``{"amount", "currency"}``), the publication
    action (``"END"``/``"ACTIVATE"``) or None (settle). ``opened_at``: the earliest
    ``ready_at`` of its items (its batch window opened then).
    """

    type: CommandType
    value: Any
    items: tuple[Item, ...]
    opened_at: float = 0.0
    command_id: str = ""
    parent: str | None = None

    @property
    def offer_ids(self) -> list[str]:
        return [item.offer_id for item in self.items if item.offer_id]


@dataclass(frozen=True)
class JournalEntry:
    """A row of ``batch_commands`` (see :class:`JournalState`)."""

    command_id: str
    account: str
    type: CommandType
    value: Any
    items: tuple[Item, ...]
    state: JournalState
    created_at: float
    next_at: float
    parent: str | None = None
    attempts: int = 0
    polls: int = 0
    owner: str | None = None
    lease_until: float | None = None
    trace_id: str | None = None
    error: str | None = None
    sent_at: float | None = None
    done_at: float | None = None

    @property
    def offer_ids(self) -> list[str]:
        return [item.offer_id for item in self.items if item.offer_id]

    @property
    def event_ids(self) -> list[str]:
        return [event.event_id for item in self.items for event in item.events]


@dataclass(frozen=True)
class Handover:
    """A change the batch commands could not make, handed to the PATCH path (the publish
    actor) to be retried alone: the SKU and the newest event, whose status that path
    reports (the older ones of the change are reported SUPERSEDED by the batcher).

    ``reason`` says why, ``errors`` carry Allegro's items of a failed task (if any).
    """

    account: str
    sku: str
    kind: ChangeKind
    offer_id: str | None
    event_id: str
    version: int
    reason: str
    errors: tuple[dict[str, Any], ...] = field(default_factory=tuple)
