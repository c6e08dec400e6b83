"""The offer body builder and the stock/price overlay (FACTS.md §6)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.mapping import MappingDefaults
from schemas.offer import OfferRequest
from workers.domain.model import Enriched, ProductState
from workers.domain.offer import OfferBuildError, build_offer, stock_price_overlay
from workers.domain.validate import validate_offer

IMAGES = ["https://shop.example/img/x200-1.jpg", "https://shop.example/img/x200-2.jpg"]
CATALOGUE_ID = "53cc0bd3-9fc0-4b31-98f3-87ebb39a4178"
SHIPPING_ID = "862347c4-b2b0-42d4-b84a-1db01509a69d"
PARAMETERS: list[dict[str, Any]] = [
    {
        "id": "11323",
        "name": "Stan",
        "type": "dictionary",
        "required": True,
        "options": {"describesProduct": False},
        "dictionary": [{"id": "11323_1", "value": "Nowy"}, {"id": "11323_2", "value": "Używany"}],
        "restrictions": {"multipleChoices": False},
    },
    {
        "id": "224017",
        "name": "Kod producenta",
        "type": "string",
        "requiredForProduct": True,
        "options": {"describesProduct": True},
        "restrictions": {"minLength": 2, "maxLength": 35, "allowedNumberOfValues": 1},
    },
]


def state(*, available: int = 12, **product: Any) -> ProductState:
    data: dict[str, Any] = {
        "name": "Wireless headphones X200, black",
        "description": "<p>Over-ear.</p>",
        "category": "Electronics > Audio > Headphones",
        "ean": "5902719471797",
        "mpn": "X200-BLK",
        "brand": "Acme",
        "price": {"amount": "129.99", "currency": "PLN"},
        "stock": {"available": available, "unit": "UNIT"},
        "images": IMAGES,
        "attributes": {"color": "black"},
    }
    data.update(product)
    return ProductState(
        account="default",
        sku="AH-129834",
        version=1,
        event_id="e-1",
        product=data,
        complete=True,
    )


def enriched(**changes: Any) -> Enriched:
    fields: dict[str, Any] = {
        "category_id": "165",
        "name": "Słuchawki bezprzewodowe Acme X200 czarne",
        "product_id": None,
        "product_parameters": [{"id": "224017", "values": ["X200-BLK"]}],
        "offer_parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "description": {"sections": [{"items": [{"type": "TEXT", "content": "<p>Over-ear.</p>"}]}]},
        "images": list(IMAGES),
        "ean": "5902719471797",
    }
    fields.update(changes)
    return Enriched(**fields)


def test_new_product_body() -> None:
    body = build_offer(state(), enriched(), currency="PLN", defaults=None)
    assert body == {
        "productSet": [
            {
                "product": {
                    "name": "Słuchawki bezprzewodowe Acme X200 czarne",
                    "category": {"id": "165"},
                    "parameters": [{"id": "224017", "values": ["X200-BLK"]}],
                    "images": IMAGES,
                }
            }
        ],
        "name": "Słuchawki bezprzewodowe Acme X200 czarne",
        "category": {"id": "165"},
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "description": {"sections": [{"items": [{"type": "TEXT", "content": "<p>Over-ear.</p>"}]}]},
        "external": {"id": "AH-129834"},
        "stock": {"available": 12, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "129.99", "currency": "PLN"}},
        "images": IMAGES,
    }
    assert OfferRequest.model_validate(body).body() == body
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False) == []


def test_catalogue_product_is_referenced_by_id() -> None:
    body = build_offer(
        state(), enriched(product_id=CATALOGUE_ID, product_parameters=[]), currency="PLN"
    )
    # The store's images are the gallery: `images: []` keeps the catalogue's out of it.
    assert body["productSet"] == [{"product": {"id": CATALOGUE_ID, "images": []}}]
    assert body["images"] == IMAGES
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=True) == []


def test_catalogue_product_with_parameters_it_lacks() -> None:
    body = build_offer(state(), enriched(product_id=CATALOGUE_ID), currency="PLN")
    assert body["productSet"] == [
        {
            "product": {
                "id": CATALOGUE_ID,
                "parameters": [{"id": "224017", "values": ["X200-BLK"]}],
                "images": [],
            }
        }
    ]


def test_catalogue_product_without_own_images_or_description() -> None:
    body = build_offer(
        state(),
        enriched(product_id=CATALOGUE_ID, product_parameters=[], images=[], description=None),
        currency="PLN",
    )
    assert "images" not in body and "description" not in body
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=True) == []


def test_stock_zero_creates_a_draft() -> None:
    body = build_offer(state(available=0), enriched(), currency="PLN")
    assert body["publication"] == {"status": "INACTIVE"}
    assert body["stock"] == {"available": 0, "unit": "UNIT"}
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False) == []
    assert "publication" not in build_offer(state(available=1), enriched(), currency="PLN")


def test_stock_unit_defaults_to_unit() -> None:
    body = build_offer(state(stock={"available": 3}), enriched(), currency="PLN")
    assert body["stock"] == {"available": 3, "unit": "UNIT"}
    body = build_offer(state(stock={"available": 3, "unit": "PAIR"}), enriched(), currency="PLN")
    assert body["stock"]["unit"] == "PAIR"


def test_price_keeps_the_stores_currency() -> None:
    body = build_offer(
        state(price={"amount": "29.99", "currency": "EUR"}), enriched(), currency="PLN"
    )
    assert body["sellingMode"]["price"] == {"amount": "29.99", "currency": "EUR"}
    found = validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False)
    assert [e.code for e in found] == ["ConstraintViolationException.Currency"]


def test_price_without_currency_takes_the_accounts() -> None:
    body = build_offer(state(price={"amount": "29.99"}), enriched(), currency="CZK")
    assert body["sellingMode"]["price"] == {"amount": "29.99", "currency": "CZK"}


@pytest.mark.parametrize(
    "defaults",
    [
        MappingDefaults(
            condition="11323_2",
            handling_time="P2D",
            shipping_rates="default",
            return_policy="30 dni",
            implied_warranty=SHIPPING_ID,
        ),
        {
            "condition": "11323_2",
            "handling_time": "P2D",
            "shipping_rates": "default",
            "return_policy": "30 dni",
            "implied_warranty": SHIPPING_ID,
        },
    ],
)
def test_mapping_defaults(defaults: Any) -> None:
    body = build_offer(state(), enriched(offer_parameters=[]), currency="PLN", defaults=defaults)
    assert body["delivery"] == {"handlingTime": "P2D", "shippingRates": {"name": "default"}}
    assert body["afterSalesServices"] == {
        "impliedWarranty": {"id": SHIPPING_ID},
        "returnPolicy": {"name": "30 dni"},
    }
    # defaults.condition is the enrichment's, against the category's own parameter.
    assert "parameters" not in body


def test_shipping_rates_by_id() -> None:
    body = build_offer(
        state(), enriched(), currency="PLN", defaults={"shipping_rates": SHIPPING_ID}
    )
    assert body["delivery"] == {"shippingRates": {"id": SHIPPING_ID}}


@pytest.mark.parametrize(
    "given",
    [
        [{"id": "11323", "valuesIds": ["11323_1"]}],
        [{"name": "Stan", "values": ["Nowy"]}],
    ],
)
def test_condition_of_the_product_wins(given: list[dict[str, Any]]) -> None:
    body = build_offer(
        state(), enriched(offer_parameters=given), currency="PLN", defaults={"condition": "11323_2"}
    )
    assert body["parameters"] == given


def test_no_defaults_no_delivery() -> None:
    body = build_offer(state(), enriched(), currency="PLN", defaults=MappingDefaults())
    assert "delivery" not in body and "afterSalesServices" not in body


def test_body_shares_nothing_with_its_inputs() -> None:
    source = enriched()
    body = build_offer(state(), source, currency="PLN")
    body["parameters"][0]["valuesIds"].append("x")
    body["productSet"][0]["product"]["parameters"][0]["values"].append("y")
    body["description"]["sections"].clear()
    assert source == enriched()


def test_data_problems_are_left_to_validation() -> None:
    long_name = "Bardzo długa nazwa produktu " * 3  # 84 characters: OfferRequest refuses it
    body = build_offer(state(), enriched(name=long_name), currency="PLN")
    assert body["name"] == long_name
    found = validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False)
    assert {e.code for e in found} == {"ConstraintViolationException.StringLength"}


def test_price_out_of_range_is_left_to_validation() -> None:
    body = build_offer(
        state(price={"amount": "0.50", "currency": "PLN"}), enriched(), currency="PLN"
    )
    found = validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False)
    assert [e.code for e in found] == ["ConstraintViolationException.Price"]


@pytest.mark.parametrize(
    "changes",
    [
        {"offer_parameters": [{"id": "11323", "values": []}]},
        {"description": {"sections": [], "layout": "wide"}},
        {"product_parameters": [{"values": ["no id"]}]},
    ],
)
def test_a_builder_bug_raises(changes: dict[str, Any]) -> None:
    with pytest.raises(OfferBuildError, match="invalid body"):
        build_offer(state(), enriched(**changes), currency="PLN")


# --- stock and price overlay ------------------------------------------------------------------


def published() -> dict[str, Any]:
    return build_offer(state(), enriched(), currency="PLN")


def test_overlay_replaces_stock_and_price_only() -> None:
    old = published()
    new_state = state(available=3, price={"amount": "119.00", "currency": "PLN"})
    body = stock_price_overlay(old, new_state)
    expected = copy.deepcopy(old)
    expected["stock"] = {"available": 3, "unit": "UNIT"}
    expected["sellingMode"]["price"] = {"amount": "119.00", "currency": "PLN"}
    assert body == expected
    assert old == published()  # not mutated


def test_overlay_keeps_what_the_state_lacks() -> None:
    old = published()
    old["stock"]["unit"] = "PAIR"
    body = stock_price_overlay(old, state(stock={"available": 7}))
    assert body["stock"] == {"available": 7, "unit": "PAIR"}
    bare = state()
    bare.product.pop("price")
    assert stock_price_overlay(old, bare)["sellingMode"] == old["sellingMode"]


def test_overlay_adds_a_missing_selling_mode() -> None:
    old = published()
    del old["sellingMode"]
    body = stock_price_overlay(old, state())
    assert body["sellingMode"] == {"price": {"amount": "129.99", "currency": "PLN"}}
