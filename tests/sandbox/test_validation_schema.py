"""The mapper stage: unknown properties and JSON types."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.validation import check_types, check_unknown_properties
from tests.sandbox.test_validation import offer_for_new_product, offer_for_product


def _unknown(body: Any, **kwargs: Any) -> list[str]:
    errors = check_unknown_properties(body, **kwargs)
    if not errors:
        return []
    (item,) = errors
    assert item["code"] == "UnknownJSONProperty"
    assert item["path"] is None
    assert item["message"] == "Unknown properties found in the request."
    return item["metadata"]["unknownProperties"].split(", ")


def test_valid_bodies_have_no_unknown_properties() -> None:
    assert _unknown(offer_for_product()) == []
    assert _unknown(offer_for_new_product()) == []


def test_unknown_properties_are_listed_by_dotted_path() -> None:
    body = offer_for_product(colour="red")
    body["stock"]["reserved"] = 1
    body["productSet"][0]["product"]["ean"] = "5901234123457"
    body["parameters"][0]["unit"] = "kg"
    assert _unknown(body) == [
        "productSet[0].product.ean",
        "parameters[0].unit",
        "stock.reserved",
        "colour",
    ]


def test_read_only_fields_copied_from_a_get_are_unknown() -> None:
    body = offer_for_product(
        id="7770274320",
        createdAt="2026-07-21T11:08:23.000Z",
        updatedAt="2026-07-21T20:36:25.694Z",
        validation={"errors": [], "warnings": [], "validatedAt": None},
        warnings=[],
        publication={
            "status": "ACTIVE",
            "endedBy": None,
            "endingAt": None,
            "marketplaces": {"base": {"id": "allegro-pl"}, "additional": []},
        },
        additionalMarketplaces={
            "allegro-cz": {"sellingMode": None, "publication": {"state": "NOT_REQUESTED"}}
        },
    )
    body["productSet"][0]["product"]["publication"] = {"status": "LISTED"}
    found = _unknown(body)
    assert set(found) == {
        "id",
        "createdAt",
        "updatedAt",
        "validation",
        "warnings",
        "publication.endedBy",
        "publication.endingAt",
        "publication.marketplaces.base",
        "publication.marketplaces.additional",
        "additionalMarketplaces.allegro-cz.publication",
        "productSet[0].product.publication",
    }


def test_patch_bodies_share_the_post_properties() -> None:
    assert _unknown({"stock": {"available": 3}}, for_patch=True) == []
    assert _unknown({"publication": {"endedBy": "USER"}}, for_patch=True) == ["publication.endedBy"]


# -- types --------------------------------------------------------------------------


def _type_path(body: Any) -> str | None:
    errors = check_types(body)
    if not errors:
        return "OK"
    (item,) = errors
    assert item["code"] == "JsonMappingException"
    assert item["message"] == "Message is not readable."
    assert item["userMessage"] == "Request contains invalid data. Contact the application author."
    return item["path"]


def test_valid_bodies_pass_the_mapper() -> None:
    assert _type_path(offer_for_product()) == "OK"
    assert _type_path(offer_for_new_product()) == "OK"


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_body_must_be_an_object(body: Any) -> None:
    assert _type_path(body) is None


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"images": [{"url": "https://img.example.com/1.jpg"}]}, "images[0]"),
        ({"stock": {"available": "ten"}}, "stock.available"),
        ({"stock": {"available": 2.5}}, "stock.available"),
        ({"stock": {"available": True}}, "stock.available"),
        ({"stock": {"available": 2**31}}, "stock.available"),
        ({"stock": {"available": 1, "unit": "PIECE"}}, "stock.unit"),
        ({"stock": []}, "stock"),
        ({"name": ["a", "b"]}, "name"),
        ({"parameters": {"id": "11323"}}, "parameters"),
        ({"parameters": [{"id": "11323", "values": "Nowy"}]}, "parameters[0].values"),
        ({"publication": {"status": "DRAFT"}}, "publication.status"),
        ({"sellingMode": {"format": "BUY_IT_NOW"}}, "sellingMode.format"),
        ({"payments": {"invoice": "YES"}}, "payments.invoice"),
        (
            {"description": {"sections": [{"items": [{"type": "VIDEO"}]}]}},
            "description.sections[0].items[0].type",
        ),
        (
            {"productSet": [{"product": {"id": "x", "idType": "EAN"}}]},
            "productSet[0].product.idType",
        ),
        ({"productSet": [{"quantity": {"value": "one"}}]}, "productSet[0].quantity.value"),
        ({"b2b": {"buyableOnlyByBusiness": "maybe"}}, "b2b.buyableOnlyByBusiness"),
    ],
)
def test_values_the_mapper_cannot_bind(change: dict[str, Any], path: str) -> None:
    assert _type_path(offer_for_product(**change)) == path


@pytest.mark.parametrize(
    "change",
    [
        {"stock": {"available": "7"}},  # digits coerce to an integer
        {"stock": {"available": 7.0}},
        {"parameters": [{"id": 11323, "values": [100]}]},  # numbers coerce to strings
        {"sellingMode": {"price": {"amount": 19.99, "currency": "PLN"}}},
        {"b2b": {"buyableOnlyByBusiness": "true"}},
        {"delivery": None, "external": None},  # null: absent, or cleared by a merge patch
    ],
)
def test_values_the_mapper_coerces(change: dict[str, Any]) -> None:
    assert _type_path(offer_for_product(**change)) == "OK"


def test_only_the_first_type_error_is_reported() -> None:
    body = offer_for_product(images=[{}], stock={"available": "x"})
    assert len(check_types(body)) == 1
