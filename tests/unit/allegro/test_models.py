"""Lenient response models, checked against real production responses."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.allegro.conftest import EXAMPLES, FakeAllegro, reply
from workers.allegro import (
    AllegroClient,
    Category,
    CategoryParameter,
    MatchingCategory,
    OfferListing,
    OfferParts,
    ProductOffer,
)
from workers.allegro.models import GeneralReport, TaskReport

REAL = EXAMPLES / "real-production"
needs_examples = pytest.mark.skipif(
    not REAL.exists(), reason="../shared/allegro/examples/real-production is not present"
)


def _load(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


@needs_examples
def test_real_product_offers() -> None:
    offers = [ProductOffer.model_validate(o) for o in _load("GET_sale-product-offers.json")]
    assert len(offers) == 6
    assert {o.status for o in offers} == {"ACTIVE", "INACTIVE", "ENDED"}
    draft = next(o for o in offers if o.status == "INACTIVE")
    assert draft.price is None  # sellingMode.price is null on a draft
    assert draft.validation_errors and all(e.code for e in draft.validation_errors)
    assert all(e.metadata == {} for e in draft.validation_errors)  # [] in production
    active = next(o for o in offers if o.status == "ACTIVE")
    assert active.price is not None and isinstance(active.price.amount, Decimal)
    # fields not modelled are kept, not rejected
    assert "taxSettings" in (active.model_extra or {})
    markets = active.additional_marketplaces or {}
    assert "allegro-business-pl" in markets


@needs_examples
def test_real_offer_listing_and_parts_compare_prices_as_decimals() -> None:
    listing = [OfferListing.model_validate(o) for o in _load("GET_sale-offers.json")["offers"]]
    parts = {
        p["id"]: OfferParts.model_validate(p) for p in _load("GET_sale-product-offers-parts.json")
    }
    compared = 0
    for offer in listing:
        part = parts.get(offer.id or "")
        if part and offer.selling_mode and offer.selling_mode.price and part.selling_mode:
            assert part.selling_mode.price is not None
            # "179.0" (GET /sale/offers) equals "179.00" (GET /sale/product-offers/parts)
            assert offer.selling_mode.price.amount == part.selling_mode.price.amount
            compared += 1
    assert compared >= 1
    assert any(o.external is None for o in listing)


@needs_examples
def test_real_categories_and_parameters() -> None:
    roots, _children = _load("GET_sale-categories.json")
    categories = [Category.model_validate(c) for c in roots["categories"]]
    assert len(categories) == 13 and all(c.parent is None for c in categories)
    assert any("-" in (c.id or "") for c in categories)  # UUID ids stay strings
    leaf = Category.model_validate(_load("GET_sale-categories-id.json"))
    assert leaf.leaf is True and leaf.parent and leaf.parent.id == "66887"
    for entry in _load("GET_sale-categories-id-parameters.json"):
        for raw in entry["parameters"]:
            param = CategoryParameter.model_validate(raw)
            assert param.type in ("float", "integer") and param.restrictions is not None
            assert param.describes_product is bool(raw["options"]["describesProduct"])


@needs_examples
def test_spec_examples() -> None:
    spec = EXAMPLES / "spec"
    matching = json.loads((spec / "GET_sale-matching-categories.example.json").read_text())
    suggestion = MatchingCategory.model_validate(matching["matchingCategories"][0])
    assert [c.name for c in suggestion.path()] == ["Motoryzacja", "Samochody Osobowe"]
    params = json.loads((spec / "GET_sale-categories-id-parameters.examples.json").read_text())
    text = json.dumps(params)
    assert "dictionary" in text
    docs = EXAMPLES / "docs"
    report = GeneralReport.model_validate(
        json.loads((docs / "GET_sale-offer-quantity-change-commands.response.json").read_text())
    )
    assert report.completed and report.task_count and report.task_count.success == 2
    tasks = TaskReport.model_validate(
        json.loads(
            (docs / "GET_sale-offer-quantity-change-commands-tasks.response.json").read_text()
        )
    )
    assert tasks.tasks and tasks.tasks[0].offer_id == "7644576839"


def test_bad_fields_become_none_instead_of_failing() -> None:
    offer = ProductOffer.model_validate(
        {
            "id": 123,
            "sellingMode": "oops",
            "stock": {"available": "5", "unit": "UNIT"},
            "publication": {"status": "ACTIVE", "startingAt": None},
            "validation": {"errors": [{"code": "X", "metadata": []}]},
            "additionalMarketplaces": [],
            "newFieldFrom2030": {"a": 1},
        }
    )
    assert offer.id == "123"
    assert offer.selling_mode is None
    assert offer.stock and offer.stock.available == 5
    assert offer.additional_marketplaces == {}
    assert offer.validation_errors[0].metadata == {}
    assert offer.model_extra == {"newFieldFrom2030": {"a": 1}}


def test_catalogue_endpoints(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", "/sale/categories/165", reply(200, {"id": "165", "leaf": False}))
    fake.on(
        "GET",
        "/sale/categories/165/parameters",
        reply(
            200,
            {
                "parameters": [
                    {
                        "id": "11323",
                        "type": "dictionary",
                        "options": {"describesProduct": False},
                        "dictionary": [{"id": "11323_1", "value": "Nowy"}],
                    }
                ]
            },
        ),
    )
    fake.on("GET", "/sale/categories/165/product-parameters", reply(200, {"parameters": []}))
    fake.on("GET", "/sale/matching-categories", reply(200, {"matchingCategories": [{"id": "2"}]}))
    fake.on(
        "GET",
        "/sale/products",
        reply(
            200,
            {
                "products": [
                    {"id": "p1", "parameters": [{"id": "225693", "values": ["5901234123457"]}]}
                ],
                "nextPage": {"id": "c2"},
            },
        ),
    )
    fake.on("GET", "/sale/products/p1", reply(200, {"id": "p1", "name": "Kettle"}))
    assert client.get_category("165").leaf is False
    (condition,) = client.get_category_parameters("165")
    assert condition.dictionary and condition.dictionary[0].id == "11323_1"
    assert not condition.describes_product
    assert client.get_category_product_parameters("165") == []
    assert client.match_categories("czajnik")[0].id == "2"
    page = client.search_products("5901234123457", mode="gtin")
    assert page.next_page and page.next_page.id == "c2"
    assert page.products and page.products[0].gtins() == ["5901234123457"]
    assert client.get_product("p1", category_id="9").name == "Kettle"
    search = fake.calls("GET", "/sale/products")[0]
    assert dict(search.url.params) == {"phrase": "5901234123457", "mode": "GTIN"}
    assert fake.calls("GET", "/sale/products/p1")[0].url.params["category.id"] == "9"
    matching = fake.calls("GET", "/sale/matching-categories")[0]
    assert matching.headers["Authorization"] == "Bearer user-access-0"


def test_trace_id_is_kept_with_the_model_only() -> None:
    import copy
    import pickle

    from workers.allegro import ProductOffer
    from workers.allegro.models import parse_model

    body = {"id": "1", "stock": {"available": 2}}
    offer = parse_model(ProductOffer, body, "trace-1")
    assert offer.trace_id == "trace-1"
    assert offer.stock is not None and offer.stock.trace_id is None
    restored = pickle.loads(pickle.dumps(offer))  # noqa: S301 - our own bytes
    for same in (copy.copy(offer), copy.deepcopy(offer), restored):
        assert same.trace_id == "trace-1"
    assert offer.model_copy().trace_id == "trace-1"
    # Compared like any private attribute: a trace id of None equals none at all.
    assert offer != ProductOffer.model_validate(body)
    assert parse_model(ProductOffer, body) == ProductOffer.model_validate(body)
    assert offer.with_trace_id(None) == ProductOffer.model_validate(body)
    assert "trace" not in json.dumps(offer.model_dump(mode="json"))
