"""The offer body: a product's desired state as Allegro's ``POST /sale/product-offers`` JSON.

:func:`build_offer` builds the whole body (FACTS.md §6); :func:`stock_price_overlay` is the
fast path's body: the last published one with only stock and price replaced.

Choices, stated once:

- **Catalogue product**: ``productSet: [{product: {id}}]``, with ``parameters`` only when
  the enrichment gave product parameters (it gives those the catalogue product lacks);
  the product's description comes from the catalogue unless ours is sent. Images: when
  the store gives some, they are the offer's ``images`` and ``product.images: []`` keeps
  the catalogue's out of the gallery (Allegro counts both in the 1-16, FACTS.md §6), so
  the offer shows the seller's images as the store has them; when it gives none, the
  catalogue product's are used.
  **New product**: ``{name, category: {id}, parameters, images}``; the same images are the
  offer's own (Allegro counts each URL once).
- **Publication**: ``status`` is left out, so Allegro activates the new offer, except when
  stock is 0: Allegro cannot activate an offer without stock, so it is created as an
  ``INACTIVE`` draft and activated once stock arrives (see :mod:`workers.domain.plan`).
- **Currency**: the price goes out in the currency the store gave it in (the account's
  ``currency`` when the store gave none). A price is never relabelled: 129.99 EUR is not
  129.99 PLN; validation rejects a currency the account does not sell in.
- **Mapping defaults** (``MappingFile.defaults``): ``handling_time`` and ``shipping_rates``
  become ``delivery``; ``return_policy``, ``implied_warranty`` and ``warranty`` become
  ``afterSalesServices``; a reference that looks like a UUID is sent as ``{id}``, anything
  else as ``{name}`` (Allegro's ids of these are UUIDs). ``condition`` is not applied
  here: the enrichment applies it against the category's own condition parameter, and
  only when the category has one (sending 11323 to a category without it is Allegro's
  ``ParameterIdNotFoundException``).
- **Checked**: the body is validated with :class:`schemas.offer.OfferRequest`. When it does
  not pass and the offer rules (:func:`~workers.domain.validate.validate_offer`) see no
  problem in the data either, the builder itself is wrong: :class:`OfferBuildError`. When
  they do see one (a name too long, a price out of range), the body is returned as built,
  for validation to reject with every reason and a fix for the seller.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from schemas.mapping import CONDITION_PARAMETER_ID  # re-exported
from schemas.offer import OfferRequest
from workers.domain.model import Enriched, ProductState
from workers.domain.rules_common import Code, as_dict
from workers.domain.validate import validate_offer

__all__ = ["CONDITION_PARAMETER_ID", "OfferBuildError", "build_offer", "stock_price_overlay"]

_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
#: Validation codes that point at the builder (or the enrichment), never at the store's data.
_BUILDER_CODES: Final = frozenset(
    {Code.PARAMETER_ID_NOT_FOUND, Code.NOT_READABLE, Code.UNKNOWN_PROPERTY}
)


class OfferBuildError(RuntimeError):
    """The builder produced a body Allegro's schema refuses from data that is fine: a bug
    in allegro-feed, not in the store's data. Not a :class:`~workers.domain.model.Rejected`:
    it is retried and dead-lettered, to be replayed once fixed."""


def build_offer(
    state: ProductState, enriched: Enriched, *, currency: str, defaults: Any | None = None
) -> dict[str, Any]:
    """The ``POST /sale/product-offers`` body of ``state`` as ``enriched`` (module docstring).

    ``currency`` is the account marketplace's base currency (used when the store's price
    has none); ``defaults`` the mapping file's ``defaults`` (an object or a mapping with
    ``condition``, ``handling_time``, ``shipping_rates``, ``return_policy``,
    ``implied_warranty``, ``warranty``), or None.

    Returns plain JSON data with Allegro's field names. Raises :class:`OfferBuildError` when
    the body fails :class:`~schemas.offer.OfferRequest` for no reason in the data.
    """
    product = state.product
    stock = as_dict(product.get("stock"))
    price = as_dict(product.get("price"))
    available = stock.get("available", 0)
    body: dict[str, Any] = {"productSet": [{"product": _product(enriched)}]}
    body["name"] = enriched.name
    body["category"] = {"id": enriched.category_id}
    parameters = copy.deepcopy(enriched.offer_parameters)
    if parameters:
        body["parameters"] = parameters
    if enriched.description is not None:
        body["description"] = copy.deepcopy(enriched.description)
    body["external"] = {"id": state.sku}
    body["stock"] = {"available": available, "unit": stock.get("unit") or "UNIT"}
    body["sellingMode"] = {
        "format": "BUY_NOW",
        "price": {"amount": price.get("amount"), "currency": price.get("currency") or currency},
    }
    if enriched.images:
        body["images"] = list(enriched.images)
    if available == 0:
        # Allegro activates only with stock > 0; a draft waits for stock (FACTS.md §11).
        body["publication"] = {"status": "INACTIVE"}
    delivery = _delivery(defaults)
    if delivery:
        body["delivery"] = delivery
    services = _after_sales(defaults)
    if services:
        body["afterSalesServices"] = services
    return _checked(body, currency=currency, catalogue_linked=enriched.product_id is not None)


def stock_price_overlay(
    published_body: Mapping[str, Any], state: ProductState, *, copy_body: bool = True
) -> dict[str, Any]:
    """``published_body`` (the last body sent) with ``stock`` and ``sellingMode.price`` taken
    from ``state``: the desired body of a stock or price change, without rebuilding the
    content. Parts the state does not have are left as published.

    ``copy_body=False`` skips the deep copy of ``published_body``: the result then shares
    its other parts with it (for a caller that owns ``published_body`` and changes
    neither; ``published_body`` itself is never changed)."""
    body = copy.deepcopy(dict(published_body)) if copy_body else dict(published_body)
    stock = as_dict(state.product.get("stock"))
    if "available" in stock:
        old_unit = as_dict(body.get("stock")).get("unit")
        body["stock"] = {"available": stock["available"], "unit": stock.get("unit") or old_unit}
        if body["stock"]["unit"] is None:
            del body["stock"]["unit"]
    price = as_dict(state.product.get("price"))
    if "amount" in price:
        selling = as_dict(body.get("sellingMode"))
        if not copy_body:
            selling = dict(selling)  # published_body's own sellingMode stays as it is
        selling["price"] = {"amount": price["amount"], "currency": price.get("currency")}
        body["sellingMode"] = selling
    return body


def _product(enriched: Enriched) -> dict[str, Any]:
    parameters = copy.deepcopy(enriched.product_parameters)
    if enriched.product_id is not None:
        linked: dict[str, Any] = {"id": enriched.product_id}
        if parameters:
            linked["parameters"] = parameters
        if enriched.images:
            linked["images"] = []  # the store's images only (module docstring)
        return linked
    product: dict[str, Any] = {"name": enriched.name, "category": {"id": enriched.category_id}}
    if parameters:
        product["parameters"] = parameters
    if enriched.images:
        product["images"] = list(enriched.images)
    return product


def _default(defaults: Any | None, key: str) -> str | None:
    if defaults is None:
        return None
    value = defaults.get(key) if isinstance(defaults, Mapping) else getattr(defaults, key, None)
    return value if isinstance(value, str) and value.strip() else None


def _reference(value: str) -> dict[str, str]:
    return {"id": value} if _UUID.fullmatch(value) else {"name": value}


def _delivery(defaults: Any | None) -> dict[str, Any]:
    delivery: dict[str, Any] = {}
    handling = _default(defaults, "handling_time")
    if handling:
        delivery["handlingTime"] = handling
    rates = _default(defaults, "shipping_rates")
    if rates:
        delivery["shippingRates"] = _reference(rates)
    return delivery


def _after_sales(defaults: Any | None) -> dict[str, Any]:
    names = {
        "impliedWarranty": "implied_warranty",
        "returnPolicy": "return_policy",
        "warranty": "warranty",
    }
    services: dict[str, Any] = {}
    for field_name, key in names.items():
        value = _default(defaults, key)
        if value:
            services[field_name] = _reference(value)
    return services


def _checked(body: dict[str, Any], *, currency: str, catalogue_linked: bool) -> dict[str, Any]:
    try:
        return OfferRequest.model_validate(body).body()
    except ValidationError as exc:
        # Problems of the seller's data explain the failure; a malformed structure or an
        # unknown property is ours. Category parameters are not known here, hence no ids.
        found = validate_offer(body, [], currency=currency, catalogue_linked=catalogue_linked)
        problems = [e for e in found if e.code not in _BUILDER_CODES]
        if problems:
            return body
        raise OfferBuildError(f"the offer builder produced an invalid body: {exc}") from exc
