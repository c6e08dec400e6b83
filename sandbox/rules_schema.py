"""The shape of ``SaleProductOfferRequestV1`` / ``SaleProductOfferPatchRequestV1`` as the
sandbox's "JSON mapper" sees it: which properties exist and which JSON types they take.

Allegro deserialises request bodies with a Java JSON mapper before any business rule runs.
Two kinds of refusal come from that step and are modelled here:

* unknown properties (including read-only fields copied from a GET) ->
  ``UnknownJSONProperty`` with the dotted paths in ``metadata.unknownProperties``;
* values of the wrong JSON type or outside an enum -> ``JsonMappingException`` with the
  ``path`` of the first offending value (Allegro reports the first one only).

Like a Java mapper, scalars are coerced where that is harmless: a number is accepted where a
string is expected (``"values": [100]``), and a string of digits where an integer is expected.
``null`` is accepted everywhere (an absent field on POST, a deletion in a merge PATCH).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sandbox.rules_common import error, join_path

__all__ = ["OFFER_SCHEMA", "check_types", "check_unknown_properties"]

# Schema nodes: "string" | "integer" | "boolean" | ("enum", values) | ("array", item) |
# ("object", {name: node}) | ("map", value node).
Node = Any
STR, INT, BOOL = "string", "integer", "boolean"


def _obj(**fields: Node) -> Node:
    return ("object", fields)


def _arr(item: Node) -> Node:
    return ("array", item)


def _enum(*values: str) -> Node:
    return ("enum", values)


_ID_NAME = _obj(id=STR, name=STR)
_PRICE = _obj(amount=STR, currency=STR)
_PARAMETER = _obj(
    id=STR,
    name=STR,
    values=_arr(STR),
    valuesIds=_arr(STR),
    rangeValue=_obj(**{"from": STR, "to": STR}),
)

OFFER_SCHEMA: Node = _obj(
    productSet=_arr(
        _obj(
            product=_obj(
                id=STR,
                idType=_enum("GTIN", "MPN"),
                name=STR,
                category=_obj(id=STR),
                parameters=_arr(_PARAMETER),
                images=_arr(STR),
            ),
            quantity=_obj(value=INT),
            responsiblePerson=_ID_NAME,
            responsibleProducer=_obj(type=_enum("ID", "NAME"), id=STR, name=STR),
            safetyInformation=_obj(
                type=_enum("TEXT", "ATTACHMENTS", "NO_SAFETY_INFORMATION"),
                description=STR,
                attachments=_arr(_obj(id=STR)),
            ),
            marketedBeforeGPSRObligation=BOOL,
            deposits=_arr(_obj(id=STR, quantity=INT)),
        )
    ),
    b2b=_obj(buyableOnlyByBusiness=BOOL),
    attachments=_arr(_obj(id=STR)),
    fundraisingCampaign=_ID_NAME,
    additionalServices=_ID_NAME,
    stock=_obj(available=INT, unit=_enum("UNIT", "PAIR", "SET")),
    delivery=_obj(handlingTime=STR, shippingRates=_ID_NAME, additionalInfo=STR, shipmentDate=STR),
    publication=_obj(
        duration=STR,
        startingAt=STR,
        status=_enum("INACTIVE", "ACTIVATING", "ACTIVE", "ENDED"),
        republish=BOOL,
        # Present in GET responses only. Known as an object, but none of its members may be
        # sent, so a copied GET body is reported as `publication.marketplaces.base`, the way
        # Allegro reports it (issue #10293).
        marketplaces=_obj(),
    ),
    additionalMarketplaces=("map", _obj(sellingMode=_obj(price=_PRICE))),
    compatibilityList=_obj(
        items=_arr(_obj(type=STR, text=STR, id=STR, additionalInfo=_arr(_obj(value=STR))))
    ),
    language=STR,
    aiCoCreatedContent=_obj(images=_arr(_obj(url=STR))),
    category=_obj(id=STR),
    name=STR,
    parameters=_arr(_PARAMETER),
    afterSalesServices=_obj(impliedWarranty=_ID_NAME, returnPolicy=_ID_NAME, warranty=_ID_NAME),
    sizeTable=_ID_NAME,
    contact=_ID_NAME,
    discounts=_obj(wholesalePriceList=_ID_NAME),
    payments=_obj(invoice=_enum("VAT", "VAT_MARGIN", "WITHOUT_VAT", "NO_INVOICE")),
    sellingMode=_obj(
        format=_enum("BUY_NOW", "AUCTION", "ADVERTISEMENT"),
        price=_PRICE,
        minimalPrice=_PRICE,
        startingPrice=_PRICE,
    ),
    location=_obj(city=STR, countryCode=STR, postCode=STR, province=STR),
    images=_arr(STR),
    description=_obj(
        sections=_arr(_obj(items=_arr(_obj(type=_enum("TEXT", "IMAGE"), content=STR, url=STR))))
    ),
    external=_obj(id=STR),
    taxSettings=_obj(rates=_arr(_obj(rate=STR, countryCode=STR)), subject=STR, exemption=STR),
    messageToSellerSettings=_obj(mode=_enum("OPTIONAL", "HIDDEN", "REQUIRED"), hint=STR),
)


# ---------------------------------------------------------------------------
# walking a body along the schema
# ---------------------------------------------------------------------------


def _children(value: Any, node: Node, path: str) -> Iterator[tuple[Any, Node | None, str]]:
    """(child value, its schema node, its path) for each member of an object, map or array
    ``value`` that has the shape ``node`` asks for; the node is None for a property the
    object's schema does not declare. Nothing for a scalar or a mismatched value."""
    if not isinstance(node, tuple) or value is None:
        return
    kind = node[0]
    if kind == "object" and isinstance(value, dict):
        for key, child in value.items():
            yield child, node[1].get(key), join_path(path, key)
    elif kind == "map" and isinstance(value, dict):
        for key, child in value.items():
            yield child, node[1], join_path(path, key)
    elif kind == "array" and isinstance(value, list):
        for index, child in enumerate(value):
            yield child, node[1], join_path(path, index)


# ---------------------------------------------------------------------------
# unknown properties
# ---------------------------------------------------------------------------


def _unknown(value: Any, node: Node, path: str, found: list[str]) -> None:
    for child, child_node, child_path in _children(value, node, path):
        if child_node is None:
            found.append(child_path)
        else:
            _unknown(child, child_node, child_path, found)


def check_unknown_properties(body: Any, *, for_patch: bool = False) -> list[dict[str, Any]]:
    """``[]`` or one ``UnknownJSONProperty`` error listing every unknown property path.

    Read-only response fields (``id``, ``createdAt``, ``updatedAt``, ``validation``,
    ``warnings``, ``publication.endedBy``, ``publication.endingAt``,
    ``publication.marketplaces.*``, ``additionalMarketplaces.*.publication``,
    ``productSet[].product.publication`` ...) are unknown to the request schema and so are
    reported too. POST and PATCH bodies share one set of properties (``for_patch`` is
    accepted for symmetry with the server's call sites; it changes nothing)."""
    del for_patch
    found: list[str] = []
    _unknown(body, OFFER_SCHEMA, "", found)
    if not found:
        return []
    return [
        error(
            "UnknownJSONProperty",
            "Unknown properties found in the request.",
            user_message=(
                "The uploaded data includes unsupported properties. Contact your software vendor."
            ),
            metadata={"unknownProperties": ", ".join(found)},
        )
    ]


# ---------------------------------------------------------------------------
# JSON types
# ---------------------------------------------------------------------------

_INT_TEXT = re.compile(r"^[+-]?\d+$")
_INT32 = (-(2**31), 2**31 - 1)


def _type_problem(value: Any, node: Node) -> bool:
    """True when the mapper could not bind ``value`` to ``node`` (children not inspected)."""
    if value is None:
        return False
    if node == STR:
        return isinstance(value, (dict, list))
    if node == INT:
        if isinstance(value, bool):
            return True
        if isinstance(value, int):
            return not _INT32[0] <= value <= _INT32[1]
        if isinstance(value, float):
            return not value.is_integer()
        if isinstance(value, str):
            return not (_INT_TEXT.match(value.strip()) and _INT32[0] <= int(value) <= _INT32[1])
        return True
    if node == BOOL:
        return not (isinstance(value, bool) or value in ("true", "false"))
    kind = node[0]
    if kind == "enum":
        return not isinstance(value, str) or value not in node[1]
    if kind in ("object", "map"):
        return not isinstance(value, dict)
    if kind == "array":
        return not isinstance(value, list)
    return False


def _first_type_error(value: Any, node: Node, path: str) -> str | None:
    if _type_problem(value, node):
        return path
    for child, child_node, child_path in _children(value, node, path):
        if child_node is not None:
            bad = _first_type_error(child, child_node, child_path)
            if bad is not None:
                return bad
    return None


def check_types(body: object) -> list[dict[str, Any]]:
    """``[]`` or one ``JsonMappingException`` error whose ``path`` is the first value the
    mapper cannot bind: the body is not an object, an object or array where a scalar is
    expected (``images[0]`` given as ``{"url": ...}``), a non-integer where an integer is
    expected (``stock.available: "ten"``), a value outside an enum (``stock.unit``,
    ``publication.status``, ``description...items[].type`` ...).

    The server sends these with status 422, as Allegro does (issue #12696)."""
    if not isinstance(body, dict):
        bad: str | None = ""
    else:
        bad = _first_type_error(body, OFFER_SCHEMA, "")
    if bad is None:
        return []
    return [
        error(
            "JsonMappingException",
            "Message is not readable.",
            path=bad or None,
            user_message="Request contains invalid data. Contact the application author.",
        )
    ]
