"""The upstream product event, version 1: what shops, PIMs and ERPs publish to allegro-feed.

An event is one JSON object published to the exchange ``allegro.products`` with its ``type``
as routing key (see DESIGN.md, "The upstream contract"). Four types share the fields
``type``, ``event_id``, ``occurred_at``, ``account``, ``sku`` and ``version``:

- ``product.upserted`` carries the full product at the top level;
- ``product.stock`` carries ``stock``; ``product.price`` carries ``price``;
- ``product.deleted`` carries nothing more.

Choices of version 1, stated once here:

- **Unknown fields are rejected** (``extra="forbid"``). A misspelt field (``stok``) would
  otherwise be dropped in silence and the offer published without it. The price is that a
  producer may only send a new field once the consumers' schema knows it: new optional
  fields are added to the schema (and deployed) first, then producers use them.
- **Amounts are decimal strings** (``"129.99"``); a JSON number is rejected with a message
  that says so, because a float cannot be trusted to carry cents.
- **Integers are strict**: ``version``, ``stock.available`` given as a string, a fraction
  or a boolean are errors, never coerced.
- **The body's ``type`` is authoritative.** A routing key that disagrees does not reject
  the event; :func:`parse_event` records a note (:attr:`notes`) for the ingest bridge to
  log and report.

:func:`parse_event` is the one way raw bytes become an event; it raises :class:`EventError`
listing every problem with its field and fix.

The models live in :mod:`schemas._event_models`, :func:`parse_event` in
:mod:`schemas._event_parse` (which imports the models); this module is their public home.
"""

from __future__ import annotations

from schemas._event_models import (
    DEFAULT_MAX_EVENT_BYTES,
    EXAMPLE_EVENTS,
    PRODUCT_EVENT_ADAPTER,
    AllegroOverrides,
    AllegroParameter,
    EventPrice,
    EventStock,
    EventType,
    ProductDeleted,
    ProductEvent,
    ProductPriceChanged,
    ProductStockChanged,
    ProductUpserted,
    gtin_check_digit_ok,
)
from schemas._event_parse import EVENT_HINTS as EVENT_HINTS
from schemas._event_parse import parse_event

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "EXAMPLE_EVENTS",
    "PRODUCT_EVENT_ADAPTER",
    "AllegroOverrides",
    "AllegroParameter",
    "EventPrice",
    "EventStock",
    "EventType",
    "ProductDeleted",
    "ProductEvent",
    "ProductPriceChanged",
    "ProductStockChanged",
    "ProductUpserted",
    "gtin_check_digit_ok",
    "parse_event",
]
