"""Categories, parameters, category suggestions, catalogue products and marketplaces.

The category resources accept an application token (client credentials) as well as a user
token; suggestions, products and marketplaces need a user token, as on Allegro.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import READ, Call, endpoint
from sandbox.catalog import ROOT_CATEGORY_ID
from sandbox.marketplaces import marketplaces_document
from sandbox.responses import (
    AllegroJSON,
    ApiError,
    bad_request,
    invalid_parameter,
    not_found,
)

__all__ = ["routes"]

_PRODUCTS_PAGE = 30  # Allegro pages GET /sale/products by 30 [tutorial L]

_T = TypeVar("_T")


def _without_null_parent(node: dict[str, Any]) -> dict[str, Any]:
    """Drop ``parent: null`` (main categories): the schemas do not allow null there."""
    if node.get("parent") is None:
        node.pop("parent", None)
    elif isinstance(node["parent"], dict) and "name" in node["parent"]:
        _without_null_parent(node["parent"])
    return node


def _without_nulls(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Drop ``key: null`` members whose schema is not nullable (Allegro's live responses
    carry such nulls, FACTS §14; the sandbox keeps to the published schemas)."""
    for key in keys:
        if key in item and item[key] is None:
            del item[key]
    return item


def _parameters(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"parameters": [_without_nulls(p, "requiredIf", "displayedIf") for p in parameters]}


def _product(product: dict[str, Any]) -> dict[str, Any]:
    """A catalogue product as served: a new dict (the catalogue's own, shared, is left
    alone) with its parameters' non-nullable ``null`` members dropped."""
    if "parameters" not in product:
        return product
    return {
        **product,
        "parameters": [
            _without_nulls(dict(parameter), "rangeValue", "valuesIds", "unit")
            for parameter in product["parameters"]
        ],
    }


def _category_missing(category_id: str) -> ApiError:
    return not_found(
        f"Category {category_id} not found",
        code="CategoryNotFoundException",
        metadata={"categoryId": category_id},
    )


@endpoint(user=False)
async def list_categories(call: Call) -> Response:
    parent_id = call.request.query_params.get("parent.id", ROOT_CATEGORY_ID)
    children = call.state.catalog.children(parent_id)
    if children is None:
        raise _category_missing(parent_id)
    return AllegroJSON({"categories": [_without_null_parent(c) for c in children]})


def _of_path_category(call: Call, lookup: Callable[[str], _T | None]) -> _T:
    """``lookup`` of the path's ``{category_id}``; 404 when the category is unknown."""
    category_id = call.request.path_params["category_id"]
    found = lookup(category_id)
    if found is None:
        raise _category_missing(category_id)
    return found


@endpoint(user=False)
async def get_category(call: Call) -> Response:
    category = _of_path_category(call, call.state.catalog.category)
    return AllegroJSON(_without_null_parent(category))


@endpoint(user=False)
async def get_parameters(call: Call) -> Response:
    return AllegroJSON(_parameters(_of_path_category(call, call.state.catalog.parameters)))


@endpoint(user=False)
async def get_product_parameters(call: Call) -> Response:
    parameters = _of_path_category(call, call.state.catalog.product_parameters)
    return AllegroJSON(_parameters(parameters))


@endpoint()
async def matching_categories(call: Call) -> Response:
    name = call.request.query_params.get("name", "").strip()
    if not name:
        raise invalid_parameter("name", "The name parameter is required")
    matches = call.state.catalog.matching_categories(name)
    return AllegroJSON({"matchingCategories": [_without_null_parent(m) for m in matches]})


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        label, _, number = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().partition(":")
        if label == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise invalid_parameter("page.id", "Invalid page.id")


@endpoint(scope=READ)
async def search_products(call: Call) -> Response:
    query = call.request.query_params
    phrase = query.get("phrase", "").strip()
    mode = query.get("mode") or None
    category_id = query.get("category.id") or None
    if not phrase:
        raise bad_request(
            400,
            "MissingServletRequestParameterException",
            "Phrase or ean parameter is required",
            path="phrase",
        )
    if mode not in (None, "GTIN", "MPN"):
        raise invalid_parameter("mode", "mode must be GTIN or MPN")
    catalog = call.state.catalog
    if category_id is not None and catalog.category(category_id, shared=True) is None:
        raise _category_missing(category_id)
    found = catalog.search_products(phrase, mode, category_id, shared=True)
    offset = _offset(query.get("page.id"))
    page = found[offset : offset + _PRODUCTS_PAGE]
    counts = Counter(str(p["category"]["id"]) for p in found)
    subcategories = []
    for cid, count in counts.items():
        node = catalog.category(cid, shared=True)
        if node is not None:
            subcategories.append({"id": cid, "name": node["name"], "count": count})
    body: dict[str, Any] = {
        "products": [_product(p) for p in page],
        "categories": {
            "subcategories": subcategories,
            "path": (catalog.category_path(category_id) or []) if category_id else [],
        },
        "filters": [],
    }
    if offset + _PRODUCTS_PAGE < len(found):
        body["nextPage"] = {"id": _cursor(offset + _PRODUCTS_PAGE)}
    return AllegroJSON(body)


@endpoint(scope=READ)
async def get_product(call: Call) -> Response:
    product_id = call.request.path_params["product_id"]
    product = call.state.catalog.product(product_id, shared=True)
    if product is None:
        raise not_found(f"Product {product_id} not found", code="ProductNotFoundException")
    return AllegroJSON(_product(product))


@endpoint()
async def marketplaces(call: Call) -> Response:
    return AllegroJSON(marketplaces_document())


routes = [
    Route("/sale/categories", list_categories, methods=["GET"]),
    Route("/sale/categories/{category_id}", get_category, methods=["GET"]),
    Route("/sale/categories/{category_id}/parameters", get_parameters, methods=["GET"]),
    Route(
        "/sale/categories/{category_id}/product-parameters", get_product_parameters, methods=["GET"]
    ),
    Route("/sale/matching-categories", matching_categories, methods=["GET"]),
    Route("/sale/products", search_products, methods=["GET"]),
    Route("/sale/products/{product_id}", get_product, methods=["GET"]),
    Route("/marketplaces", marketplaces, methods=["GET"]),
]
