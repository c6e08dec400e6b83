"""The sample catalogue as the sequence of upstream events ``make run`` publishes.

``catalogue.json`` holds the events of three waves: every product's ``product.upserted``
(wave 1), then price and stock changes, a re-sent upsert, a price that fixes a rejected
product (wave 2), then restocks, deletes, an old version arriving late and a duplicated
delivery (wave 3). A wave is published only once every event of the previous one has its
terminal status, so that each follow-up meets the offer its wave-1 event created.

Each event is labelled in the file with ``_expect`` (which status the pipeline must give,
and why for the deliberately bad ones) and, for the follow-ups, ``_wave``. Those keys are
not part of the event: :attr:`SampleEvent.body` is the event without them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOGUE_FILE",
    "Expectation",
    "SampleEvent",
    "expected_counts",
    "load_catalogue",
    "sample_events",
    "waves",
]

CATALOGUE_FILE = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True)
class Expectation:
    """What the pipeline must make of one sample event.

    ``status``: the terminal status; ``alternatives``: other statuses that are also right
    (where the contract leaves the choice to the pipeline, e.g. a GTIN that names two
    catalogue products). ``stage`` is ``ingest`` for events the schema refuses, ``pipeline``
    for products that fail later; ``defect`` names what is wrong (``price_too_low``...);
    ``reason`` says it in words. ``duplicate_of`` is set on a second delivery of an event
    (same ``event_id``): it gets no outcome of its own.
    """

    status: str
    alternatives: tuple[str, ...] = ()
    stage: str | None = None
    defect: str | None = None
    field: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None

    @property
    def statuses(self) -> frozenset[str]:
        """Every status that counts as right."""
        return frozenset((self.status, *self.alternatives))

    @classmethod
    def from_label(cls, label: Mapping[str, Any]) -> Expectation:
        """The ``_expect`` object of the catalogue as an :class:`Expectation`."""
        return cls(
            status=str(label["status"]),
            alternatives=tuple(str(s) for s in label.get("or", ())),
            stage=label.get("stage"),
            defect=label.get("defect"),
            field=label.get("field"),
            reason=label.get("reason"),
            duplicate_of=label.get("duplicate_of"),
        )


@dataclass(frozen=True)
class SampleEvent:
    """One event to publish: its ``body`` (the JSON object, labels stripped), its wave and
    what must come of it."""

    body: dict[str, Any] = field(hash=False, compare=False)
    wave: int
    expect: Expectation

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])

    @property
    def sku(self) -> str:
        return str(self.body["sku"])

    @property
    def routing_key(self) -> str:
        """The routing key on ``allegro.products``: the event's type."""
        return str(self.body["type"])

    def payload(self) -> bytes:
        """The message body: UTF-8 JSON."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


def _strip(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if not k.startswith("_")}


@cache
def load_catalogue(path: Path = CATALOGUE_FILE) -> dict[str, Any]:
    """The catalogue file as JSON (read once per path). Do not change what it returns."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def sample_events(path: Path = CATALOGUE_FILE) -> list[SampleEvent]:
    """Every event of the sample, in publishing order (wave by wave, file order within)."""
    data = load_catalogue(path)
    events = [
        SampleEvent(body=_strip(raw), wave=1, expect=Expectation.from_label(raw["_expect"]))
        for raw in data["products"]
    ]
    events += [
        SampleEvent(
            body=_strip(raw), wave=int(raw["_wave"]), expect=Expectation.from_label(raw["_expect"])
        )
        for raw in data["changes"]
    ]
    return sorted(events, key=lambda e: e.wave)  # stable: file order within a wave


def waves(events: Iterable[SampleEvent] | None = None) -> list[list[SampleEvent]]:
    """The events grouped by wave, in wave order."""
    grouped: dict[int, list[SampleEvent]] = {}
    for event in sample_events() if events is None else events:
        grouped.setdefault(event.wave, []).append(event)
    return [grouped[w] for w in sorted(grouped)]


def expected_counts(events: Iterable[SampleEvent] | None = None) -> dict[str, int]:
    """Terminal statuses a run must end with, per status (the intended one of each event;
    second deliveries of an event are not counted)."""
    counts: dict[str, int] = {}
    for event in sample_events() if events is None else events:
        if event.expect.duplicate_of is None:
            counts[event.expect.status] = counts.get(event.expect.status, 0) + 1
    return dict(sorted(counts.items()))
