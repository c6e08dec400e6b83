"""The per-part version merge of product events into a SKU's desired state (pure).

A SKU's state is four parts, each with the version of the event that last set it:

- ``content``: every field of ``product.upserted`` but price and stock;
- ``stock`` and ``price``: set by ``product.upserted`` and by their own events;
- ``deleted``: a flag set by ``product.deleted`` and cleared by ``product.upserted``.

A part is taken from an event only when the event's version is higher than the part's. The
``deleted`` part's version is therefore the newest of every upsert and delete seen, and the
SKU is deleted when that newest one was a delete: a stock or price event never brings a
deleted product back (it may come from a system that does not know of the deletion), an
upsert newer than the delete does. Because every part keeps its own maximum, the result
does not depend on the order the events arrive in.

Both backends run :func:`merge` inside their transaction and store :class:`Parts` as columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from schemas.events import (
    ProductDeleted,
    ProductEvent,
    ProductPriceChanged,
    ProductStockChanged,
    ProductUpserted,
)
from workers.domain.model import ProductState

__all__ = ["PRODUCT_FIELDS", "Merged", "Parts", "content_of", "merge", "to_state"]

# Fields every event carries: they identify the event, they are not product data.
_IDENTITY = frozenset({"type", "event_id", "occurred_at", "account", "sku", "version"})
_SEPARATE = frozenset({"price", "stock"})

#: The product fields in the order of ``product.upserted`` (the order of ProductState.product).
PRODUCT_FIELDS: tuple[str, ...] = tuple(
    name for name in ProductUpserted.model_fields if name not in _IDENTITY
)


@dataclass(frozen=True)
class Parts:
    """The stored parts of one SKU. ``event_id`` names the event that last changed one."""

    event_id: str
    content: dict[str, Any] | None = None
    content_version: int | None = None
    stock: dict[str, Any] | None = None
    stock_version: int | None = None
    price: dict[str, Any] | None = None
    price_version: int | None = None
    deleted: bool = False
    deleted_version: int | None = None

    @property
    def version(self) -> int:
        """The highest version of any part (a stored SKU has at least one)."""
        versions = [
            v
            for v in (
                self.content_version,
                self.stock_version,
                self.price_version,
                self.deleted_version,
            )
            if v is not None
        ]
        if not versions:
            raise ValueError("a SKU state without any part has no version")
        return max(versions)


@dataclass(frozen=True)
class Merged:
    """The parts after an event, and which parts it changed (empty: superseded)."""

    parts: Parts
    changed: frozenset[str]


def _newer(version: int, than: int | None) -> bool:
    return than is None or version > than


def content_of(event: ProductUpserted) -> dict[str, Any]:
    """The event's product fields but price and stock, JSON-ready.

    Every field is present (an absent optional one as None). The ``allegro.parameters``
    items keep Allegro's request shape: aliases (``valuesIds``, ``rangeValue``) and only
    the members that were given, so they can be sent as they are.
    """
    content = event.model_dump(mode="json", by_alias=True, exclude=set(_IDENTITY | _SEPARATE))
    if event.allegro is not None:
        content["allegro"]["parameters"] = [
            parameter.model_dump(mode="json", by_alias=True, exclude_none=True)
            for parameter in event.allegro.parameters
        ]
    return content


def merge(current: Parts | None, event: ProductEvent) -> Merged:
    """Merge ``event`` into ``current`` (None: the SKU is new). Pure; see the module doc."""
    parts = current if current is not None else Parts(event_id=event.event_id)
    version = event.version
    changed: set[str] = set()
    if isinstance(event, ProductUpserted):
        if _newer(version, parts.content_version):
            parts = replace(parts, content=content_of(event), content_version=version)
            changed.add("content")
        parts = _take(parts, changed, "stock", event.stock.model_dump(mode="json"), version)
        parts = _take(parts, changed, "price", event.price.model_dump(mode="json"), version)
        if _newer(version, parts.deleted_version):
            if parts.deleted:
                changed.add("deleted")
            parts = replace(parts, deleted=False, deleted_version=version)
    elif isinstance(event, ProductStockChanged):
        parts = _take(parts, changed, "stock", event.stock.model_dump(mode="json"), version)
    elif isinstance(event, ProductPriceChanged):
        parts = _take(parts, changed, "price", event.price.model_dump(mode="json"), version)
    elif isinstance(event, ProductDeleted):
        if _newer(version, parts.deleted_version):
            parts = replace(parts, deleted=True, deleted_version=version)
            changed.add("deleted")
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a product event: {type(event).__name__}")
    if not changed:
        # Nothing taken: keep the stored parts exactly (the deleted part's version too).
        return Merged(current if current is not None else parts, frozenset())
    return Merged(replace(parts, event_id=event.event_id), frozenset(changed))


def _take(parts: Parts, changed: set[str], part: str, value: dict[str, Any], version: int) -> Parts:
    """``parts`` with ``part`` (``stock`` or ``price``) set to ``value`` when ``version`` is
    newer than the part's (then ``part`` is added to ``changed``)."""
    if not _newer(version, getattr(parts, f"{part}_version")):
        return parts
    changed.add(part)
    values: dict[str, Any] = {part: value, f"{part}_version": version}
    return replace(parts, **values)


def to_state(account: str, sku: str, parts: Parts) -> ProductState:
    """The :class:`ProductState` of stored parts.

    ``product`` holds the fields of ``product.upserted`` in its order; before the first
    upsert (``complete`` false) only the ``price`` and ``stock`` that are known.
    """
    product: dict[str, Any] = {}
    for name in PRODUCT_FIELDS:
        if name == "price":
            if parts.price is not None:
                product[name] = parts.price
        elif name == "stock":
            if parts.stock is not None:
                product[name] = parts.stock
        elif parts.content is not None and name in parts.content:
            product[name] = parts.content[name]
    return ProductState(
        account=account,
        sku=sku,
        version=parts.version,
        event_id=parts.event_id,
        product=product,
        deleted=parts.deleted,
        complete=parts.content is not None,
    )
