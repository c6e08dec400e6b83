"""Upstream events of the benchmark, shaped per the contract (DESIGN.md, schemas/ v1).

Every product is the sandbox's sample catalogue product (listed by its GTIN, condition
"new") in its category, so that each SKU becomes an offer without a mapping file.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sandbox.testing import SAMPLE_GTIN

__all__ = [
    "CATEGORY_ID",
    "QUANTITY_MAX",
    "SEEDED_QUANTITY",
    "StockChanges",
    "new_skus",
    "quantity",
    "stock_changed",
    "upserted",
]

#: The sample catalogue product's category in the sandbox's default data.
CATEGORY_ID = "85166"
#: "Condition: new", the one parameter the sample product needs.
CONDITION_NEW = {"id": "11323", "valuesIds": ["11323_1"]}


#: Stock levels of the benchmark's events are drawn uniformly from 1..QUANTITY_MAX: small
#: levels that repeat across offers, as most shops' do. This matters: Allegro's quantity
#: command sets *one* value for all its offers, so changes to distinct values need distinct
#: commands (with levels spread over 1..500 a burst of 10,000 changes over 1,000 offers
#: has some 430 distinct final values: no batching could stay under 0.02 calls per event).
#: Zero is never drawn: it ends the offer.
QUANTITY_MAX = 20
#: The stock level of a seeded (upserted) product.
SEEDED_QUANTITY = 5


def quantity(rng: random.Random, previous: int | None = SEEDED_QUANTITY) -> int:
    """A stock level for a ``product.stock`` event (see :data:`QUANTITY_MAX`) other than
    ``previous``, the SKU's level before: every event is a real change."""
    while True:
        level = rng.randint(1, QUANTITY_MAX)
        if level != previous:
            return level


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_skus(count: int, tag: str) -> list[str]:
    """``count`` SKUs no earlier run used."""
    run = uuid.uuid4().hex[:6]
    return [f"BENCH-{tag}-{run}-{i:05d}" for i in range(count)]


def upserted(sku: str, version: int, *, available: int = SEEDED_QUANTITY) -> dict[str, Any]:
    """A full ``product.upserted`` of ``sku``."""
    return {
        "type": "product.upserted",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "account": "default",
        "sku": sku,
        "version": version,
        "name": f"Sony WH-1000XM5 wireless headphones black {sku[-5:]}",
        "description": "<p>Over-ear wireless headphones with noise cancelling.</p>",
        "category": "Electronics > Audio > Headphones",
        "ean": SAMPLE_GTIN,
        "brand": "Sony",
        "price": {"amount": "999.00", "currency": "PLN"},
        "stock": {"available": available, "unit": "UNIT"},
        "images": ["https://shop.example/img/wh1000xm5.jpg"],
        "attributes": {},
        "allegro": {"category_id": CATEGORY_ID, "parameters": [dict(CONDITION_NEW)]},
    }


def stock_changed(sku: str, version: int, available: int) -> dict[str, Any]:
    """A ``product.stock`` of ``sku`` (``available`` > 0: zero ends the offer)."""
    return {
        "type": "product.stock",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "account": "default",
        "sku": sku,
        "version": version,
        "stock": {"available": available},
    }


class StockChanges:
    """Successive ``product.stock`` events of seeded SKUs (version 1 at
    :data:`SEEDED_QUANTITY`): each event of a SKU has the next version and a new level
    (:func:`quantity`, drawn from ``rng``); :attr:`levels` holds each SKU's latest."""

    def __init__(self, skus: Iterable[str], rng: random.Random) -> None:
        self._rng = rng
        self._versions = dict.fromkeys(skus, 1)
        self.levels = dict.fromkeys(self._versions, SEEDED_QUANTITY)

    def change(self, sku: str) -> dict[str, Any]:
        """The next stock event of ``sku``."""
        self._versions[sku] += 1
        self.levels[sku] = quantity(self._rng, self.levels[sku])
        return stock_changed(sku, self._versions[sku], self.levels[sku])
