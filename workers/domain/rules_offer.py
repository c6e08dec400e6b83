"""Offer-level rules (FACTS.md §6): known properties, price, stock, publication, external id,
images, delivery.

Each function takes the whole body (plain JSON data, possibly malformed) and returns every
problem it finds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from schemas.status import StatusError
from workers.domain.rules_common import Code, as_dict, error, join, products, unreadable
from workers.domain.rules_text import is_http_url

__all__ = [
    "EXTERNAL_ID_MAX_LENGTH",
    "IMAGES_MAX",
    "PRICE_MAX",
    "PRICE_MIN",
    "check_delivery",
    "check_external",
    "check_images",
    "check_price",
    "check_publication",
    "check_stock",
    "check_unknown_properties",
]

PRICE_MIN: Final = Decimal(1)
PRICE_MAX: Final = Decimal(1_000_000_000)
EXTERNAL_ID_MAX_LENGTH: Final = 100
IMAGES_MAX: Final = 16
STOCK_MAX: Final = 2**31 - 1
_STOCK_UNITS: Final = ("UNIT", "PAIR", "SET")
_SELLING_FORMATS: Final = ("BUY_NOW", "AUCTION", "ADVERTISEMENT")
_AMOUNT: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?")
#: Spec Delivery.handlingTime: "must be set to one of" these; FACTS.md §6 adds that their
#: hour forms (PT48H for P2D) are accepted too. P6D or PT5H is refused for every offer.
_HANDLING_DAYS: Final = (0, 1, 2, 3, 4, 5, 7, 10, 14, 21, 30, 60)
HANDLING_TIMES: Final = frozenset(
    {"PT0S", "PT24H", *(f"P{d}D" for d in _HANDLING_DAYS if d > 1)}
    | {f"PT{24 * d}H" for d in _HANDLING_DAYS if d > 0}
)
_HANDLING_LISTED: Final = "PT0S, PT24H, P2D, P3D, P4D, P5D, P7D, P10D, P14D, P21D, P30D, P60D"

# --- known properties -----------------------------------------------------------------------
# The request fields of SaleProductOfferRequestV1 (allegro/openapi.yaml). A node maps each
# known key to the node of its value (applied to each element of an array) or to None when
# the value's inside is not checked here. Read-only fields of a GET (publication.endedBy,
# publication.marketplaces, ...) are not in it: Allegro answers UnknownJSONProperty to them.
_Node = dict[str, Any]

_PARAMETER: Final[_Node] = {
    "id": None,
    "name": None,
    "values": None,
    "valuesIds": None,
    "rangeValue": {"from": None, "to": None},
}
_PRODUCT: Final[_Node] = {
    "id": None,
    "idType": None,
    "name": None,
    "category": None,
    "parameters": _PARAMETER,
    "images": None,
}
_PRICE: Final[_Node] = {"amount": None, "currency": None}
_TOP: Final[_Node] = {
    "productSet": {
        "product": _PRODUCT,
        "quantity": {"value": None},
        "responsiblePerson": None,
        "responsibleProducer": None,
        "safetyInformation": None,
        "marketedBeforeGPSRObligation": None,
        "deposits": None,
    },
    "name": None,
    "category": None,
    "parameters": _PARAMETER,
    "description": {"sections": {"items": {"type": None, "content": None, "url": None}}},
    "external": {"id": None},
    "stock": {"available": None, "unit": None},
    "sellingMode": {
        "format": None,
        "price": _PRICE,
        "minimalPrice": _PRICE,
        "startingPrice": _PRICE,
    },
    "images": None,
    "publication": {"status": None, "duration": None, "startingAt": None, "republish": None},
    "delivery": {
        "handlingTime": None,
        "shippingRates": {"id": None, "name": None},
        "additionalInfo": None,
        "shipmentDate": None,
    },
    "afterSalesServices": {"impliedWarranty": None, "returnPolicy": None, "warranty": None},
    "payments": {"invoice": None},
    "location": {"countryCode": None, "province": None, "city": None, "postCode": None},
    "language": None,
    "b2b": None,
    "attachments": None,
    "fundraisingCampaign": None,
    "additionalServices": None,
    "additionalMarketplaces": None,
    "compatibilityList": None,
    "aiCoCreatedContent": None,
    "sizeTable": None,
    "contact": None,
    "discounts": None,
    "taxSettings": None,
    "messageToSellerSettings": None,
}


def check_unknown_properties(body: Mapping[str, Any]) -> list[StatusError]:
    """One ``UnknownJSONProperty`` per property Allegro does not take, with its path."""
    unknown: list[str] = []
    _walk(body, _TOP, "", unknown)
    return [
        error(
            Code.UNKNOWN_PROPERTY,
            f"Unknown property {path} in the request",
            path,
            f"The offer has a property Allegro does not know ({path}): this is a bug in the "
            "offer builder, not in the store data; report it to the integration team.",
        )
        for path in unknown
    ]


def _walk(value: Any, node: _Node, path: str, unknown: list[str]) -> None:
    if isinstance(value, list):
        for index, element in enumerate(value):
            _walk(element, node, join(path, index), unknown)
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        where = join(path, str(key))
        if key not in node:
            unknown.append(where)
        elif node[key] is not None:
            _walk(child, node[key], where, unknown)


# --- price ----------------------------------------------------------------------------------


def check_price(body: Mapping[str, Any], *, currency: str) -> list[StatusError]:
    """``sellingMode``: a known format, and a price that is a decimal string with at most 2
    decimals, within 1-1,000,000,000, in the account marketplace's ``currency``."""
    errors: list[StatusError] = []
    selling = body.get("sellingMode")
    if selling is not None and not isinstance(selling, dict):
        return [unreadable("sellingMode", selling, "an object")]
    selling_mode = as_dict(selling)
    fmt = selling_mode.get("format")
    if fmt is not None and fmt not in _SELLING_FORMATS:
        errors.append(
            error(
                Code.SELLING_FORMAT,
                f"sellingMode.format must be one of {', '.join(_SELLING_FORMATS)}, got "
                f"{json.dumps(fmt)[:40]}",
                "sellingMode.format",
                "The offer's selling format is not one Allegro knows; report it to the "
                "integration team.",
            )
        )
    price = selling_mode.get("price")
    if price is None:
        errors.append(
            error(
                Code.PRICE,
                "sellingMode.price is missing",
                "sellingMode.price",
                "Give the product a price in the store.",
            )
        )
        return errors
    if not isinstance(price, dict):
        return [*errors, unreadable("sellingMode.price", price, "an object {amount, currency}")]
    amount = price.get("amount")
    if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
        errors.append(
            error(
                Code.PRICE,
                f"sellingMode.price.amount must be a decimal string with at most 2 decimal "
                f"places, got {json.dumps(amount)[:40]}",
                "sellingMode.price.amount",
                "Send the price from the store as a decimal with at most 2 decimal places, "
                'e.g. "129.99".',
            )
        )
    elif not PRICE_MIN <= Decimal(amount) <= PRICE_MAX:
        errors.append(
            error(
                Code.PRICE,
                f"sellingMode.price.amount {amount} is outside {PRICE_MIN}-{PRICE_MAX:,}",
                "sellingMode.price.amount",
                f"Allegro takes prices from {PRICE_MIN} to {PRICE_MAX:,}; the store's price "
                f"is {amount}: correct it in the store.",
            )
        )
    given = price.get("currency")
    if given != currency:
        errors.append(
            error(
                Code.CURRENCY,
                f"sellingMode.price.currency is {json.dumps(given)[:20]}; this account's "
                f"marketplace sells in {currency}",
                "sellingMode.price.currency",
                f"This Allegro account sells in {currency}, but the store sent the price in "
                f"{given}: send the price in {currency} for this account.",
            )
        )
    return errors


# --- stock and publication ------------------------------------------------------------------


def check_stock(body: Mapping[str, Any]) -> list[StatusError]:
    """``stock``: present, ``available`` a whole number >= 0, ``unit`` UNIT/PAIR/SET."""
    stock = body.get("stock")
    if stock is None:
        return [
            error(
                Code.STOCK,
                "stock is missing",
                "stock",
                "Give the product a stock quantity in the store.",
            )
        ]
    if not isinstance(stock, dict):
        return [unreadable("stock", stock, "an object {available, unit}")]
    errors: list[StatusError] = []
    available = stock.get("available")
    if isinstance(available, bool) or not isinstance(available, int):
        errors.append(unreadable("stock.available", available, "a whole number"))
    elif available < 0:
        errors.append(
            error(
                Code.STOCK_NEGATIVE,
                f"stock.available is {available}; it must be 0 or more",
                "stock.available",
                "The stock quantity in the store is negative: set it to 0 or more.",
            )
        )
    elif available > STOCK_MAX:
        errors.append(
            error(
                Code.STOCK,
                f"stock.available {available} is more than {STOCK_MAX}",
                "stock.available",
                f"Allegro takes at most {STOCK_MAX:,} items of stock: correct it in the store.",
            )
        )
    unit = stock.get("unit")
    if unit is not None and unit not in _STOCK_UNITS:
        errors.append(
            error(
                Code.STOCK_UNIT,
                f"stock.unit must be UNIT, PAIR or SET, got {json.dumps(unit)[:20]}",
                "stock.unit",
                "Use UNIT, PAIR or SET as the stock unit in the store.",
            )
        )
    return errors


def check_publication(body: Mapping[str, Any]) -> list[StatusError]:
    """``publication.status`` is left out (activate) or INACTIVE (draft) in a new offer, and
    an offer can only be activated with stock above 0."""
    publication = body.get("publication")
    if publication is not None and not isinstance(publication, dict):
        return [unreadable("publication", publication, "an object")]
    status = as_dict(publication).get("status")
    errors: list[StatusError] = []
    if status is not None and status not in ("ACTIVE", "INACTIVE"):
        errors.append(
            error(
                Code.PUBLICATION_STATUS,
                f"publication.status of a new offer must be left out or INACTIVE, got "
                f"{json.dumps(status)[:20]}",
                "publication.status",
                "The offer's publication status is wrong; report it to the integration team.",
            )
        )
    available = as_dict(body.get("stock")).get("available")
    if status != "INACTIVE" and isinstance(available, int) and available == 0:
        errors.append(
            error(
                Code.STOCK_BELOW_ONE,
                "an offer is activated with stock.available 0; Allegro activates only with "
                "stock 1 or more (create it as an INACTIVE draft)",
                "stock.available",
                "The product has no stock in the store: Allegro lists it once stock is 1 or more.",
            )
        )
    return errors


# --- external id, images, delivery -----------------------------------------------------------


def check_external(body: Mapping[str, Any]) -> list[StatusError]:
    """``external.id`` (the SKU): 1-100 characters."""
    external = body.get("external")
    if external is None:
        return []
    ident = as_dict(external).get("id")
    if not isinstance(ident, str):
        return [unreadable("external.id", ident, "a string")]
    if not 1 <= len(ident) <= EXTERNAL_ID_MAX_LENGTH:
        return [
            error(
                Code.STRING_LENGTH,
                f"external.id has {len(ident)} characters; Allegro takes 1-"
                f"{EXTERNAL_ID_MAX_LENGTH}",
                "external.id",
                f"Allegro keeps the SKU as the offer's signature, at most "
                f"{EXTERNAL_ID_MAX_LENGTH} characters: shorten the SKU in the store.",
            )
        ]
    return []


def check_images(
    body: Mapping[str, Any], *, catalogue_linked: bool, catalogue_images: int | None = None
) -> list[StatusError]:
    """Images are http(s) URLs, 1-16 per offer counting the product's images (each distinct
    URL once, FACTS.md §6). A linked catalogue product brings its ``catalogue_images``
    images unless ``productSet[0].product.images`` replaces them (``[]``: only the offer's
    own); when that number is not known, an offer without images of its own is left to
    Allegro."""
    errors: list[StatusError] = []
    urls: dict[str, None] = {}
    sources: list[tuple[str, Any]] = [("images", body.get("images"))]
    for index, product in enumerate(products(body)):
        sources.append((f"productSet[{index}].product.images", product.get("images")))
    for path, images in sources:
        if images is None:
            continue
        if not isinstance(images, list):
            errors.append(unreadable(path, images, "an array of URLs"))
            continue
        for index, url in enumerate(images):
            where = join(path, index)
            if is_http_url(url):
                urls.setdefault(url, None)
                continue
            errors.append(
                error(
                    Code.IMAGE_URL,
                    f"{where} must be an http(s) URL, got {json.dumps(url)[:80]}",
                    where,
                    "Product images must be absolute http:// or https:// URLs: fix the "
                    "image links in the store.",
                )
            )
    own = len(urls)
    replaced = "images" in next(iter(products(body)), {})
    theirs = catalogue_images if catalogue_linked and not replaced else 0
    if theirs is None:  # linked, its images unknown: an empty gallery is Allegro's to judge
        if own > IMAGES_MAX:
            errors.append(_gallery(own, None))
    elif not 1 <= own + theirs <= IMAGES_MAX:
        errors.append(_gallery(own, theirs if catalogue_linked and not replaced else None))
    return errors


def _gallery(own: int, theirs: int | None) -> StatusError:
    """``GallerySizeException`` for ``own`` images plus ``theirs`` from the linked catalogue
    product (None: no catalogue images count)."""
    count = own + (theirs or 0)
    fix = "add an image in the store" if count == 0 else "remove some images in the store"
    if theirs is None:
        counted, has = "", f"the product has {count}"
    else:
        counted = f" ({theirs} of them the catalogue product's)"
        has = f"the product has {own} and its catalogue product {theirs}"
    return error(
        Code.GALLERY_SIZE,
        f"the offer has {count} images{counted}; Allegro takes 1-{IMAGES_MAX}",
        "images",
        f"Allegro shows 1 to {IMAGES_MAX} images per offer; {has}: {fix}.",
    )


def check_delivery(body: Mapping[str, Any]) -> list[StatusError]:
    """``delivery.handlingTime`` is one Allegro takes: :data:`HANDLING_TIMES`."""
    delivery = body.get("delivery")
    if delivery is None:
        return []
    if not isinstance(delivery, dict):
        return [unreadable("delivery", delivery, "an object")]
    handling = delivery.get("handlingTime")
    if handling is None or (isinstance(handling, str) and handling in HANDLING_TIMES):
        return []
    return [
        error(
            Code.HANDLING_TIME,
            f"delivery.handlingTime must be one of {_HANDLING_LISTED} (or the same in "
            f"hours, e.g. PT48H), got {json.dumps(handling)[:20]}",
            "delivery.handlingTime",
            f"Set defaults.handling_time in the mapping file to one of {_HANDLING_LISTED}.",
        )
    ]


def check_presence(body: Mapping[str, Any], *, catalogue_linked: bool) -> list[StatusError]:
    """A new product (not from the catalogue) needs a category; every offer needs a name,
    its own or the product's."""
    errors: list[StatusError] = []
    product_list = products(body)
    if not catalogue_linked:
        has_category = as_dict(body.get("category")).get("id") or any(
            as_dict(p.get("category")).get("id") for p in product_list
        )
        if not has_category:
            errors.append(
                error(
                    Code.MISSING_CATEGORY,
                    "a new product needs category.id",
                    "category",
                    "Map the store category to an Allegro category in the mapping file, "
                    "or send allegro.category_id.",
                )
            )
    if "name" not in body and not catalogue_linked and not any(p.get("name") for p in product_list):
        errors.append(
            error(
                Code.MISSING_NAME,
                "the offer has no name (neither name nor productSet[].product.name)",
                "name",
                "Give the product a name in the store.",
            )
        )
    return errors
