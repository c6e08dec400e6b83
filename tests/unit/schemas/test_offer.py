"""The Allegro offer body: Allegro's names on the wire, unknown fields refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.errors import field_errors_from_validation
from schemas.offer import (
    AfterSalesServices,
    CategoryRef,
    Delivery,
    Description,
    DescriptionImageItem,
    DescriptionSection,
    DescriptionTextItem,
    ExternalId,
    IdOrName,
    InvoiceType,
    Location,
    OfferPatch,
    OfferRequest,
    OfferStatus,
    ParameterRequest,
    Payments,
    Price,
    ProductIdType,
    ProductRequest,
    ProductSetItem,
    Publication,
    Quantity,
    RangeValue,
    ResponsibleProducer,
    SafetyInformationText,
    SellingMode,
    SellingModeFormat,
    Stock,
    StockUnit,
)

# The reference folder sits beside the repository (DESIGN.md); read it, never copy it.
EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "allegro" / "examples" / "docs"
needs_examples = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared/allegro/examples is not beside the repository"
)


def full_offer() -> OfferRequest:
    return OfferRequest(
        product_set=[
            ProductSetItem(
                product=ProductRequest(id="5902719471797", id_type=ProductIdType.GTIN),
                quantity=Quantity(value=1),
                responsible_producer=ResponsibleProducer(type="NAME", name="Acme"),
                responsible_person=IdOrName(name="EU rep"),
                safety_information=SafetyInformationText(description="Contains small parts."),
                marketed_before_gpsr_obligation=False,
            )
        ],
        name="Wireless headphones X200 black",
        category=CategoryRef(id="165"),
        parameters=[
            ParameterRequest(id="11323", values_ids=["11323_1"]),
            ParameterRequest(id="17448", range_value=RangeValue(from_="0.1", to="0.3")),
        ],
        description=Description(
            sections=[
                DescriptionSection(
                    items=[
                        DescriptionTextItem(content="<p>Over-ear headphones.</p>"),
                        DescriptionImageItem(url="https://shop.example/1.jpg"),
                    ]
                )
            ]
        ),
        external=ExternalId(id="AH-129834"),
        stock=Stock(available=12, unit=StockUnit.UNIT),
        selling_mode=SellingMode(
            format=SellingModeFormat.BUY_NOW, price=Price(amount="129.99", currency="PLN")
        ),
        images=["https://shop.example/1.jpg"],
        publication=Publication(status=OfferStatus.INACTIVE, republish=False),
        delivery=Delivery(shipping_rates=IdOrName(name="default"), handling_time="PT24H"),
        after_sales_services=AfterSalesServices(
            implied_warranty=IdOrName(id="09f0b4cc-7880-11e9-8f9e-2a86e4085a59"),
            return_policy=IdOrName(name="30 dni"),
            warranty=IdOrName(name="2 lata"),
        ),
        location=Location(
            country_code="PL", province="LUBUSKIE", city="Gorzów", post_code="66-400"
        ),
        payments=Payments(invoice=InvoiceType.VAT),
        language="pl-PL",
    )


def keys(node: Any) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys(v)}
    return set()


def test_body_uses_allegro_names() -> None:
    body = full_offer().body()
    assert {
        "productSet",
        "idType",
        "responsibleProducer",
        "responsiblePerson",
        "safetyInformation",
        "marketedBeforeGPSRObligation",
        "valuesIds",
        "rangeValue",
        "from",
        "sellingMode",
        "afterSalesServices",
        "impliedWarranty",
        "returnPolicy",
        "shippingRates",
        "handlingTime",
        "countryCode",
        "postCode",
    } <= keys(body)
    assert not {k for k in keys(body) if "_" in k}
    assert body["parameters"][1] == {"id": "17448", "rangeValue": {"from": "0.1", "to": "0.3"}}
    assert body["sellingMode"] == {
        "format": "BUY_NOW",
        "price": {"amount": "129.99", "currency": "PLN"},
    }
    assert body["description"]["sections"][0]["items"][1] == {
        "type": "IMAGE",
        "url": "https://shop.example/1.jpg",
    }
    assert body["external"] == {"id": "AH-129834"}


def test_body_leaves_out_unset_fields() -> None:
    body = OfferRequest(stock=Stock(available=3)).body()
    assert body == {"stock": {"available": 3}}


def test_body_round_trips() -> None:
    body = full_offer().body()
    assert OfferRequest.model_validate(body).body() == body
    assert OfferRequest.model_validate_json(json.dumps(body)) == full_offer()


@needs_examples
@pytest.mark.parametrize(
    "name",
    [
        "draft-with-description-and-external-id",
        "existing-product-by-gtin",
    ],
)
def test_allegro_tutorial_bodies_validate_unchanged(name: str) -> None:
    path = EXAMPLES / f"POST_sale-product-offers.request.{name}.json"
    body = json.loads(path.read_text(encoding="utf-8"))
    assert OfferRequest.model_validate(body).body() == body


@needs_examples
def test_tutorial_number_value_is_refused() -> None:
    # Allegro's own tutorial sends "values": [100]; the spec says strings (FACTS.md §14).
    path = EXAMPLES / "POST_sale-product-offers.request.new-product.json"
    body = json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError) as caught:
        OfferRequest.model_validate(body)
    (error,) = field_errors_from_validation(caught.value, model=OfferRequest)
    assert error.field == "productSet[0].product.parameters[9].values[0]"
    assert error.message == "must be a string, got 100"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stock": {"available": 1}, "publication": {"endedBy": "USER"}}, "publication.endedBy"),
        ({"stock": {"available": 1, "sold": 0}}, "stock.sold"),
        ({"stock": {"available": 1}, "id": "123"}, "id"),
        (
            {"stock": {"available": 1}, "sellingMode": {"price": {"amount": "1", "cur": "PLN"}}},
            "sellingMode.price.cur",
        ),
    ],
)
def test_unknown_fields_are_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OfferRequest.model_validate(body)
    errors = field_errors_from_validation(caught.value, model=OfferRequest)
    assert field in [e.field for e in errors if e.code == "UNKNOWN_FIELD"]


def test_python_names_build_models_and_allegro_names_go_out() -> None:
    # Python callers build models by field name (accepted beside Allegro's names); the body
    # carries only Allegro's names.
    offer = OfferRequest(stock=Stock(available=1), selling_mode=SellingMode(format="BUY_NOW"))
    assert "sellingMode" in offer.body()


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(ValidationError):
        Stock(available=1, unti="UNIT")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"stock": {"available": -1}}, "greater than or equal"),
        ({"stock": {}}, "required"),
        ({}, "required"),
        ({"stock": {"available": 1}, "name": "too short"}, "at least 12"),
        ({"stock": {"available": 1}, "external": {"id": "x" * 101}}, "at most 100"),
        ({"stock": {"available": 1}, "parameters": [{"values": ["a"]}]}, "id or name"),
        ({"stock": {"available": 1}, "parameters": [{"id": "1"}]}, "needs values"),
        (
            {"stock": {"available": 1}, "sellingMode": {"price": {"amount": 1, "currency": "PLN"}}},
            "valid string",
        ),
        ({"stock": {"available": 1}, "delivery": {"shippingRates": {}}}, "id or the name"),
        ({"stock": {"available": 1}, "delivery": {"handlingTime": "2 days"}}, "pattern"),
        ({"stock": {"available": 1}, "description": {"sections": [{"items": []}]}}, "at least 1"),
        (
            {
                "stock": {"available": 1},
                "description": {"sections": [{"items": [{"type": "VIDEO", "url": "x"}]}]},
            },
            "tag",
        ),
        ({"stock": {"available": 1}, "productSet": [{"product": {"idType": "GTIN"}}]}, "idType"),
        (
            {"stock": {"available": 1}, "productSet": [{"product": {}, "quantity": {"value": 0}}]},
            "greater than or equal to 1",
        ),
        (
            {
                "stock": {"available": 1},
                "productSet": [{"product": {}, "responsibleProducer": {"type": "ID"}}],
            },
            "type ID needs an id",
        ),
        ({"stock": {"available": 1}, "payments": {"invoice": "RECEIPT"}}, "VAT"),
    ],
)
def test_spec_constraints(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OfferRequest.model_validate(body)


def test_patch_sends_only_what_was_set_and_null_clears() -> None:
    patch = OfferPatch(
        stock=Stock(available=5),
        publication=Publication(duration=None),
        images=["https://shop.example/1.jpg", "https://shop.example/2.jpg"],
    )
    assert patch.body() == {
        "stock": {"available": 5},
        "publication": {"duration": None},
        "images": ["https://shop.example/1.jpg", "https://shop.example/2.jpg"],
    }
    assert OfferPatch().body() == {}
    assert OfferPatch(publication=Publication(status=OfferStatus.ENDED)).body() == {
        "publication": {"status": "ENDED"}
    }


def test_patch_forbids_unknown_fields_too() -> None:
    with pytest.raises(ValidationError):
        OfferPatch.model_validate({"publication": {"endingAt": "2031-01-04T11:01:59Z"}})
