"""The follow-up events of waves 2 and 3 (price, stock, re-sent upserts, deletes, an old
version arriving late, a duplicate delivery), each with the ``_expect`` it must get.
"""

from __future__ import annotations

import copy
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workers.sample.envelope import ENVELOPE_KEYS, envelope
from workers.sample.values import IMAGE_HOST

__all__ = ["WAVE_OFFSET_MS", "followups"]

#: Follow-up waves happen this much later than the upsert of the same SKU.
WAVE_OFFSET_MS = {2: 3_600_000, 3: 7_200_000}


def _changed_amount(rng: random.Random, amount: str) -> str:
    old = Decimal(amount)
    while True:
        factor = Decimal(str(rng.choice((0.85, 0.9, 0.93, 0.95, 1.05, 1.08, 1.1))))
        new = (old * factor).quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal("0.01")
        if new >= 1 and new != old:
            return str(new)


def followups(rng: random.Random, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Waves 2 and 3: price and stock changes, an upsert re-sent, stock 0 and restock,
    deletes, an old version arriving late, and one event delivered twice."""
    eligible = [
        e for e in events if e["_expect"] == {"status": "PUBLISHED"} and not e.get("_shared_ean")
    ]
    picks = rng.sample(eligible, 25 + 20 + 4 + 2 + 2 + 1 + 6)
    prices, stocks, zeros = picks[:25], picks[25:45], picks[45:49]
    same_price, resent, identical = picks[49:51], picks[51:53], picks[53]
    deletes = picks[54:60]
    changes: list[dict[str, Any]] = []

    def add(
        wave: int,
        base: dict[str, Any],
        event_type: str,
        expect: dict[str, Any],
        offset_ms: int = 0,
        **fields: Any,
    ) -> dict[str, Any]:
        version = int(base["version"]) + WAVE_OFFSET_MS[wave] + offset_ms
        event = {**envelope(event_type, str(base["sku"]), version), **fields}
        event["_wave"] = wave
        event["_expect"] = expect
        changes.append(event)
        return event

    updated = {"status": "UPDATED"}
    for base in prices:
        amount = _changed_amount(rng, base["price"]["amount"])
        add(2, base, "product.price", updated, price={"amount": amount, "currency": "PLN"})
    for base in stocks:
        old = int(base["stock"]["available"])
        new = old + rng.choice((-1, 1)) * rng.randint(1, max(1, old - 1)) if old > 1 else old + 5
        add(
            2,
            base,
            "product.stock",
            updated,
            stock={"available": new, "unit": base["stock"]["unit"]},
        )
    for base in zeros:
        add(
            2,
            base,
            "product.stock",
            {"status": "ENDED", "reason": "stock 0 ends the offer"},
            stock={"available": 0, "unit": base["stock"]["unit"]},
        )
    for base in same_price:
        add(
            2,
            base,
            "product.price",
            {"status": "UNCHANGED", "reason": "the price equals the one already on Allegro"},
            price=dict(base["price"]),
        )
    for base in resent:
        body = {k: copy.deepcopy(v) for k, v in base.items() if not k.startswith("_")}
        body["description"] = (
            "<h2>Nowa odsłona opisu</h2><p>Zaktualizowaliśmy opis i zdjęcia produktu "
            f"{body['name']}.</p>"
        )
        body["images"] = [*body["images"], f"{IMAGE_HOST}/produkty/{base['sku'].lower()}/nowe.jpg"]
        fields = {k: v for k, v in body.items() if k not in ENVELOPE_KEYS}
        add(
            2,
            base,
            "product.upserted",
            {"status": "UPDATED", "reason": "new description"},
            **fields,
        )
    body = {k: copy.deepcopy(v) for k, v in identical.items() if not k.startswith("_")}
    fields = {k: v for k, v in body.items() if k not in ENVELOPE_KEYS}
    add(
        2,
        identical,
        "product.upserted",
        {"status": "UNCHANGED", "reason": "the same product re-sent with a newer version"},
        **fields,
    )
    fixed = next(e for e in events if e["_expect"].get("defect") == "price_too_low")
    add(
        2,
        fixed,
        "product.price",
        {
            "status": "PUBLISHED",
            "reason": "the corrected price makes the rejected product valid: first offer",
        },
        price={"amount": "49.99", "currency": "PLN"},
    )

    for base in zeros:
        add(
            3,
            base,
            "product.stock",
            {"status": "UPDATED", "or": ["PUBLISHED"], "reason": "restock reactivates the offer"},
            stock={"available": rng.randint(5, 20), "unit": base["stock"]["unit"]},
        )
    for base in deletes:
        add(3, base, "product.deleted", {"status": "ENDED", "reason": "deleted in the store"})
    late = prices[0]
    add(
        3,
        late,
        "product.price",
        {
            "status": "SUPERSEDED",
            "reason": "an older price (version between the upsert and the wave-2 price) "
            "arriving after the newer one",
        },
        offset_ms=-WAVE_OFFSET_MS[3] + WAVE_OFFSET_MS[2] // 2,
        price={"amount": _changed_amount(rng, late["price"]["amount"]), "currency": "PLN"},
    )
    original = next(c for c in changes if c["sku"] == prices[1]["sku"])
    duplicate = {k: copy.deepcopy(v) for k, v in original.items() if not k.startswith("_")}
    duplicate["_wave"] = 3
    duplicate["_expect"] = {
        **original["_expect"],
        "duplicate_of": original["event_id"],
        "reason": "the same event delivered again (same event_id): no second outcome",
    }
    changes.append(duplicate)
    return changes
