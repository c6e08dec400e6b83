"""How a stored offer looks from outside: ``SaleProductOfferResponseV1`` (product-offers),
``OfferListingDto`` (``GET /sale/offers``) and the partial view (``/parts``).

The stored offer keeps the request shape; rendering fills in what Allegro fills in: product
data resolved from the catalogue, parameters given by name or label turned into ids and
labels, after-sales services and shipping rates given by name (or left out) resolved to the
seller's ids, and the documented defaults (BUY_NOW, UNIT, VAT invoice, 24 h handling time,
the account's location, the marketplace's language).

Fields whose schema is not nullable are left out rather than sent as ``null``, so every
rendering validates against Allegro's published schemas.
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import Catalog, Seller
from sandbox.clock import iso_millis
from sandbox.marketplaces import MARKETPLACES, default_location
from sandbox.offer_fields import (
    catalog_parameters,
    listing_amount,
    normalize_parameters,
    price_of,
    resolve_reference,
    section,
)
from sandbox.state import Offer

__all__ = ["offer_category_id", "render_listing", "render_offer", "render_parts"]


# -- the offer ---------------------------------------------------------------------------------

_Pairs = list[tuple[dict[str, Any], dict[str, Any] | None]]


def _products(offer: Offer, catalog: Catalog) -> _Pairs:
    """(request element, catalogue product or None) per productSet element."""
    elements = offer.body.get("productSet")
    if not isinstance(elements, list):
        return []
    pairs = []
    for index, element in enumerate(elements):
        pid = offer.product_ids[index] if index < len(offer.product_ids) else None
        product = catalog.product(pid, shared=True) if pid else None
        pairs.append((element if isinstance(element, dict) else {}, product))
    return pairs


def offer_category_id(offer: Offer, catalog: Catalog) -> str | None:
    """The offer's category: its own, else its (first) product's."""
    return _category_id(offer, _products(offer, catalog))


def _category_id(offer: Offer, pairs: _Pairs) -> str | None:
    category = section(offer.body, "category")
    if category.get("id"):
        return str(category["id"])
    for element, product in pairs:
        if product is not None:
            return str(product["category"]["id"])
        requested = section(section(element, "product"), "category")
        if requested.get("id"):
            return str(requested["id"])
    return None


def _offer_name(offer: Offer, pairs: _Pairs) -> str | None:
    if offer.body.get("name"):
        return str(offer.body["name"])
    for element, product in pairs:
        if product is not None:
            return str(product["name"])
        if section(element, "product").get("name"):
            return str(element["product"]["name"])
    return None


def _images(offer: Offer, pairs: _Pairs) -> list[str]:
    images = offer.body.get("images")
    if isinstance(images, list):
        return [str(url) for url in images]
    for element, product in pairs:
        requested = section(element, "product").get("images")
        if isinstance(requested, list):
            return [str(url) for url in requested]
        if product is not None:
            return [image["url"] for image in product.get("images", [])]
    return []


def _product_set(offer: Offer, catalog: Catalog, pairs: _Pairs) -> list[dict[str, Any]]:
    result = []
    for index, (element, product) in enumerate(pairs):
        requested = section(element, "product")
        if product is not None:
            parameters = catalog_parameters(product)
            status = (product.get("publication") or {}).get("status", "LISTED")
        else:
            category_id = section(requested, "category").get("id")
            definitions = catalog.parameters(str(category_id), shared=True) if category_id else None
            parameters = normalize_parameters(requested.get("parameters"), definitions)
            status = "PROPOSED"
        quantity = section(element, "quantity").get("value", 1)
        rendered: dict[str, Any] = {
            "product": {
                "id": offer.product_ids[index] if index < len(offer.product_ids) else None,
                "publication": {"status": status},
                "parameters": parameters,
                "isAiCoCreated": False,
            },
            "quantity": {"value": quantity},
            "responsiblePerson": element.get("responsiblePerson"),
            "responsibleProducer": element.get("responsibleProducer"),
            "deposits": element.get("deposits") or [],
        }
        for key in ("safetyInformation", "marketedBeforeGPSRObligation"):
            if key in element:
                rendered[key] = element[key]
        result.append(rendered)
    return result


def _after_sales(offer: Offer, seller: Seller) -> dict[str, dict[str, str]]:
    services = section(offer.body, "afterSalesServices")
    return {
        key: ref
        for key, options in (
            ("impliedWarranty", seller.implied_warranties),
            ("returnPolicy", seller.return_policies),
            ("warranty", seller.warranties),
        )
        if (ref := resolve_reference(services.get(key), options)) is not None
    }


def _shipping_rates(offer: Offer, seller: Seller) -> dict[str, str] | None:
    return resolve_reference(
        section(offer.body, "delivery").get("shippingRates"), seller.shipping_rates
    )


def _publication(offer: Offer, seller: Seller, additional: list[dict[str, str]]) -> dict[str, Any]:
    requested = section(offer.body, "publication")
    publication: dict[str, Any] = {
        "status": offer.status,
        "duration": requested.get("duration"),
        "endedBy": offer.ended_by,
        "endingAt": None,
        "republish": bool(requested.get("republish", False)),
        "marketplaces": {"base": {"id": seller.marketplace}, "additional": additional},
    }
    if offer.status == "ACTIVATING" and requested.get("startingAt"):
        publication["startingAt"] = requested["startingAt"]
    return publication


def _additional_marketplaces(
    offer: Offer, seller: Seller
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    requested = section(offer.body, "additionalMarketplaces")
    rendered: dict[str, Any] = {}
    visible: list[dict[str, str]] = []
    for market in MARKETPLACES:
        if market == seller.marketplace:
            continue
        price = price_of(section(section(requested, market), "sellingMode").get("price"))
        if price is None:
            state = "NOT_REQUESTED"
        elif offer.status == "ACTIVE":
            state = "APPROVED"
            visible.append({"id": market})
        else:
            state = "PENDING"
        rendered[market] = {
            "sellingMode": {"price": price} if price else None,
            "publication": {"state": state, "refusalReasons": []},
        }
    return rendered, visible


def render_offer(offer: Offer, catalog: Catalog, seller: Seller) -> dict[str, Any]:
    """The offer as ``GET /sale/product-offers/{id}`` returns it."""
    body = offer.body
    pairs = _products(offer, catalog)
    category_id = _category_id(offer, pairs)
    selling = section(body, "sellingMode")
    stock = section(body, "stock")
    delivery = section(body, "delivery")
    market = MARKETPLACES.get(seller.marketplace, MARKETPLACES["allegro-pl"])
    additional, visible = _additional_marketplaces(offer, seller)
    selling_mode: dict[str, Any] = {
        "format": selling.get("format") or "BUY_NOW",
        "startingPrice": price_of(selling.get("startingPrice")),
        "minimalPrice": price_of(selling.get("minimalPrice")),
    }
    price = price_of(selling.get("price"))
    if price is not None:
        selling_mode["price"] = price
    rendered: dict[str, Any] = {
        "id": offer.id,
        "name": _offer_name(offer, pairs),
        "productSet": _product_set(offer, catalog, pairs),
        "parameters": normalize_parameters(
            body.get("parameters"),
            catalog.parameters(category_id, shared=True) if category_id else None,
        ),
        "images": _images(offer, pairs),
        "afterSalesServices": _after_sales(offer, seller),
        "payments": {"invoice": section(body, "payments").get("invoice") or "VAT"},
        "sellingMode": selling_mode,
        "stock": {"available": stock.get("available", 0), "unit": stock.get("unit") or "UNIT"},
        "location": body.get("location") or default_location(seller.marketplace),
        "delivery": {
            "shippingRates": _shipping_rates(offer, seller),
            "handlingTime": delivery.get("handlingTime") or "PT24H",
            "additionalInfo": delivery.get("additionalInfo"),
            "shipmentDate": delivery.get("shipmentDate"),
        },
        "category": {"id": category_id},
        "taxSettings": body.get("taxSettings"),
        "discounts": {"wholesalePriceList": section(body, "discounts").get("wholesalePriceList")},
        "contact": body.get("contact"),
        "fundraisingCampaign": body.get("fundraisingCampaign"),
        "messageToSellerSettings": body.get("messageToSellerSettings"),
        "attachments": body.get("attachments") or [],
        "b2b": body.get("b2b") or {"buyableOnlyByBusiness": False},
        "additionalServices": body.get("additionalServices"),
        "additionalMarketplaces": additional,
        "warnings": [],
        "language": body.get("language") or market.language,
        "publication": _publication(offer, seller, visible),
        "validation": {
            "errors": offer.validation_errors,
            "warnings": [],
            "validatedAt": iso_millis(offer.validated_at),
        },
        "createdAt": iso_millis(offer.created_at),
        "updatedAt": iso_millis(offer.updated_at),
    }
    if isinstance(body.get("description"), dict):
        rendered["description"] = body["description"]
    else:
        for _, product in pairs:
            if product is not None and isinstance(product.get("description"), dict):
                rendered["description"] = product["description"]
                break
    for key in ("external", "sizeTable", "compatibilityList"):
        if isinstance(body.get(key), dict):
            rendered[key] = body[key]
    return rendered


def render_listing(offer: Offer, catalog: Catalog, seller: Seller) -> dict[str, Any]:
    """The offer as an item of ``GET /sale/offers`` (``OfferListingDto``)."""
    pairs = _products(offer, catalog)
    selling = section(offer.body, "sellingMode")
    selling_mode = {"format": selling.get("format") or "BUY_NOW"}
    price = price_of(selling.get("price"), listing_amount)
    if price is not None:
        selling_mode["price"] = price
    additional, visible = _additional_marketplaces(offer, seller)
    publication: dict[str, Any] = {
        "status": offer.status,
        "marketplaces": {"base": {"id": seller.marketplace}, "additional": visible},
    }
    if offer.started_at is not None:
        publication["startedAt"] = iso_millis(offer.started_at)
    if offer.ended_at is not None:
        publication["endedAt"] = iso_millis(offer.ended_at)
    starting_at = section(offer.body, "publication").get("startingAt")
    if offer.status == "ACTIVATING" and starting_at:
        publication["startingAt"] = starting_at
    b2b = section(offer.body, "b2b")
    listing: dict[str, Any] = {
        "id": offer.id,
        "name": _offer_name(offer, pairs),
        "category": {"id": _category_id(offer, pairs)},
        "sellingMode": selling_mode,
        "saleInfo": {"biddersCount": 0},
        "stats": {"watchersCount": 0, "visitsCount": 0},
        "stock": {
            "available": section(offer.body, "stock").get("available", 0),
            "sold": offer.sold,
        },
        "publication": publication,
        "afterSalesServices": _after_sales(offer, seller),
        "delivery": {},
        "b2b": {"buyableOnlyByBusiness": bool(b2b.get("buyableOnlyByBusiness"))},
        "isFulfillment": False,
        "additionalMarketplaces": {
            market: {"publication": {"state": data["publication"]["state"]}}
            for market, data in additional.items()
        },
    }
    images = _images(offer, pairs)
    if images:
        listing["primaryImage"] = {"url": images[0]}
    shipping_rates = _shipping_rates(offer, seller)
    if shipping_rates is not None:
        listing["delivery"]["shippingRates"] = shipping_rates
    if isinstance(offer.body.get("external"), dict):
        listing["external"] = offer.body["external"]
    return listing


def render_parts(offer: Offer, seller: Seller, include: set[str]) -> dict[str, Any]:
    """``GET /sale/product-offers/{id}/parts`` (``SalePartialProductOfferResponse``)."""
    parts: dict[str, Any] = {"id": offer.id}
    if "stock" in include:
        parts["stock"] = {"available": section(offer.body, "stock").get("available", 0)}
    if "price" in include:
        price = price_of(section(offer.body, "sellingMode").get("price"))
        parts["sellingMode"] = {"price": price} if price else {}
        requested = section(offer.body, "additionalMarketplaces")
        parts["additionalMarketplaces"] = {
            market: {"sellingMode": {"price": extra}}
            for market in MARKETPLACES
            if market != seller.marketplace
            and (extra := price_of(section(section(requested, market), "sellingMode").get("price")))
            is not None
        }
    return parts
