"""Builders of valid product events for the store tests (raw dicts and parsed events)."""

from __future__ import annotations

import uuid
from typing import Any

from schemas.events import PRODUCT_EVENT_ADAPTER, ProductEvent

OCCURRED_AT = "2026-07-18T12:00:00Z"


def _base(kind: str, sku: str, version: int, event_id: str | None, account: str) -> dict[str, Any]:
    return {
        "type": f"product.{kind}",
        "event_id": event_id or f"{kind}-{sku}-{version}-{uuid.uuid4().hex[:8]}",
        "occurred_at": OCCURRED_AT,
        "account": account,
        "sku": sku,
        "version": version,
    }


def raw_upserted(
    sku: str = "SKU-1",
    version: int = 1,
    *,
    event_id: str | None = None,
    account: str = "default",
    name: str | None = None,
    available: int = 5,
    amount: str = "10.00",
    **fields: Any,
) -> dict[str, Any]:
    return {
        **_base("upserted", sku, version, event_id, account),
        "name": name or f"Product {sku} v{version}",
        "category": "Electronics > Audio",
        "ean": "5902719471797",
        "price": {"amount": amount, "currency": "PLN"},
        "stock": {"available": available, "unit": "UNIT"},
        **fields,
    }


def raw_stock(
    sku: str = "SKU-1",
    version: int = 1,
    *,
    event_id: str | None = None,
    account: str = "default",
    available: int = 5,
) -> dict[str, Any]:
    return {
        **_base("stock", sku, version, event_id, account),
        "stock": {"available": available, "unit": "UNIT"},
    }


def raw_price(
    sku: str = "SKU-1",
    version: int = 1,
    *,
    event_id: str | None = None,
    account: str = "default",
    amount: str = "10.00",
) -> dict[str, Any]:
    return {
        **_base("price", sku, version, event_id, account),
        "price": {"amount": amount, "currency": "PLN"},
    }


def raw_deleted(
    sku: str = "SKU-1", version: int = 1, *, event_id: str | None = None, account: str = "default"
) -> dict[str, Any]:
    return _base("deleted", sku, version, event_id, account)


def parse(raw: dict[str, Any]) -> ProductEvent:
    return PRODUCT_EVENT_ADAPTER.validate_python(raw)


def upserted(sku: str = "SKU-1", version: int = 1, **options: Any) -> ProductEvent:
    return parse(raw_upserted(sku, version, **options))


def stock(sku: str = "SKU-1", version: int = 1, **options: Any) -> ProductEvent:
    return parse(raw_stock(sku, version, **options))


def price(sku: str = "SKU-1", version: int = 1, **options: Any) -> ProductEvent:
    return parse(raw_price(sku, version, **options))


def deleted(sku: str = "SKU-1", version: int = 1, **options: Any) -> ProductEvent:
    return parse(raw_deleted(sku, version, **options))


def mixed(sku: str, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` raw events of every type on ``sku``, versions 1..count, in a shuffled
    order fixed by ``seed``; each carries values that name its version."""
    import random

    rng = random.Random(seed)
    kinds = ["upserted", "stock", "price", "deleted"]
    events: list[dict[str, Any]] = []
    for version in range(1, count + 1):
        kind = kinds[0] if version == 1 else rng.choice(kinds)
        if kind == "upserted":
            events.append(raw_upserted(sku, version, available=version, amount=f"{version}.00"))
        elif kind == "stock":
            events.append(raw_stock(sku, version, available=version))
        elif kind == "price":
            events.append(raw_price(sku, version, amount=f"{version}.00"))
        else:
            events.append(raw_deleted(sku, version))
    rng.shuffle(events)
    return events
