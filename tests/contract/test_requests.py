"""Request bodies against Allegro's spec, strictly: the tutorials' examples and broken bodies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from .openapi import Spec

pytestmark = pytest.mark.contract

COMMAND_ID = "0b4f6f7c-3a4b-4f5e-9c2d-5e8f1a2b3c4d"

# examples/docs/*request*.json -> the operation each one is sent to.
REQUEST_EXAMPLES = {
    "POST_sale-product-offers.request.existing-product-by-gtin.json": (
        "POST",
        "/sale/product-offers",
    ),
    "POST_sale-product-offers.request.new-product.json": ("POST", "/sale/product-offers"),
    "POST_sale-product-offers.request.draft-with-description-and-external-id.json": (
        "POST",
        "/sale/product-offers",
    ),
    "PUT_sale-offer-quantity-change-commands.request.json": (
        "PUT",
        f"/sale/offer-quantity-change-commands/{COMMAND_ID}",
    ),
    "PUT_sale-offer-price-change-commands.request.fixed-price.json": (
        "PUT",
        f"/sale/offer-price-change-commands/{COMMAND_ID}",
    ),
    "PUT_sale-offer-price-change-commands.request.increase-percentage.json": (
        "PUT",
        f"/sale/offer-price-change-commands/{COMMAND_ID}",
    ),
    "PUT_sale-offer-publication-commands.request.activate.json": (
        "PUT",
        f"/sale/offer-publication-commands/{COMMAND_ID}",
    ),
    "PUT_sale-offer-modification-commands.request.shipping-rates.json": (
        "PUT",
        f"/sale/offer-modification-commands/{COMMAND_ID}",
    ),
}

# Where the tutorials themselves break the spec (both are noted in examples/README.md and
# FACTS.md): a numeric parameter value, and `percentage` sent as a number.
KNOWN_VIOLATIONS = {
    "POST_sale-product-offers.request.new-product.json": [
        "request body productSet[0].product.parameters[9].values[0]: 100 is not of type string"
    ],
    "PUT_sale-offer-price-change-commands.request.increase-percentage.json": [
        "request body modification.percentage: 10 is not of type string"
    ],
}

OFFERS = "/sale/product-offers"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def draft(allegro_examples: Path) -> dict[str, Any]:
    name = "POST_sale-product-offers.request.draft-with-description-and-external-id.json"
    offer: dict[str, Any] = load(allegro_examples / "docs" / name)
    return offer


def test_every_request_example_is_covered(allegro_examples: Path) -> None:
    found = {path.name for path in (allegro_examples / "docs").glob("*request*.json")}
    assert found == set(REQUEST_EXAMPLES)


@pytest.mark.parametrize("name", sorted(REQUEST_EXAMPLES))
def test_request_examples_follow_the_spec(
    allegro_spec: Spec, allegro_examples: Path, name: str
) -> None:
    method, path = REQUEST_EXAMPLES[name]
    body = load(allegro_examples / "docs" / name)
    problems = allegro_spec.validate_request(method, path, body)
    assert problems == KNOWN_VIOLATIONS.get(name, [])


def test_fixing_the_known_violations_makes_them_valid(
    allegro_spec: Spec, allegro_examples: Path
) -> None:
    offer = load(allegro_examples / "docs" / "POST_sale-product-offers.request.new-product.json")
    offer["productSet"][0]["product"]["parameters"][9]["values"] = ["100"]
    assert allegro_spec.validate_request("POST", OFFERS, offer) == []
    name = "PUT_sale-offer-price-change-commands.request.increase-percentage.json"
    command = load(allegro_examples / "docs" / name)
    command["modification"]["percentage"] = "10"
    assert allegro_spec.validate_request(*REQUEST_EXAMPLES[name], command) == []


def broken(draft: dict[str, Any], change: str) -> dict[str, Any]:
    offer = copy.deepcopy(draft)
    if change == "unknown property":
        offer["productSet"][0]["product"]["colour"] = "red"
    elif change == "numeric parameter value":
        offer["parameters"][0]["values"] = [100]
    elif change == "bad enum":
        offer["publication"]["status"] = "PUBLISHED"
    elif change == "missing required":
        del offer["stock"]
    elif change == "wrong type":
        offer["stock"]["available"] = "1"
    elif change == "bad description item":
        offer["description"]["sections"][0]["items"].append({"type": "VIDEO", "url": "x"})
    elif change == "bad date-time":
        offer["publication"]["startingAt"] = "2026-09-01 10:00"
    return offer


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "unknown property",
            "request body productSet[0].product.colour: unknown property: the spec does not "
            "declare it (Allegro: 422 UnknownJSONProperty)",
        ),
        (
            "numeric parameter value",
            "request body parameters[0].values[0]: 100 is not of type string",
        ),
        (
            "bad enum",
            "request body publication.status: 'PUBLISHED' is not one of "
            "['INACTIVE', 'ACTIVATING', 'ACTIVE', 'ENDED']",
        ),
        ("missing required", "request body: 'stock' is a required property"),
        ("wrong type", "request body stock.available: '1' is not of type integer"),
        (
            "bad description item",
            "request body description.sections[0].items[1].type: 'VIDEO' is not one of "
            "['TEXT', 'IMAGE']",
        ),
        (
            "bad date-time",
            "request body publication.startingAt: '2026-09-01 10:00' is not a 'date-time'",
        ),
    ],
)
def test_broken_bodies_fail_naming_the_path(
    allegro_spec: Spec, draft: dict[str, Any], change: str, expected: str
) -> None:
    assert allegro_spec.validate_request("POST", OFFERS, draft) == []
    assert allegro_spec.validate_request("POST", OFFERS, broken(draft, change)) == [expected]


def test_a_get_response_sent_back_is_caught(allegro_spec: Spec, allegro_examples: Path) -> None:
    # Issues #10181 / #10293: read-only fields of a GET, posted back, give 422
    # UnknownJSONProperty (`publication.marketplaces.base`, `endedBy`, …).
    offer = load(allegro_examples / "docs" / "POST_sale-product-offers.response-201.json")["body"]
    unknown = allegro_spec.unknown_properties("POST", OFFERS, offer)
    for path in (
        "id",
        "createdAt",
        "validation",
        "publication.marketplaces",
        "publication.endedBy",
        "additionalMarketplaces.allegro-cz.publication",
        "productSet[0].product.publication",
    ):
        assert path in unknown


def test_unknown_properties_follow_discriminators(
    allegro_spec: Spec, draft: dict[str, Any]
) -> None:
    offer = copy.deepcopy(draft)
    offer["productSet"][0]["safetyInformation"] = {
        "type": "ATTACHMENTS",
        "attachments": [{"id": "a1"}],
        "description": "only TEXT safety information has a description",
    }
    offer["description"]["sections"][0]["items"].append({"type": "IMAGE", "url": "https://x"})
    assert allegro_spec.unknown_properties("POST", OFFERS, offer) == [
        "productSet[0].safetyInformation.description"
    ]


def test_patch_accepts_merge_patch_nulls(allegro_spec: Spec) -> None:
    path = f"{OFFERS}/7770274320"
    assert (
        allegro_spec.validate_request("PATCH", path, {"external": None, "stock": {"available": 0}})
        == []
    )
    assert allegro_spec.validate_request("PATCH", path, {"publication": {"status": "ENDED"}}) == []
    assert allegro_spec.validate_request(
        "PATCH", path, {"sellingMode": {"price": {"amount": "9"}}}
    ) == ["request body sellingMode.price: 'currency' is a required property"]


def test_oauth_is_outside_the_spec(allegro_spec: Spec) -> None:
    form = "grant_type=client_credentials"
    assert allegro_spec.validate_request("POST", "/auth/oauth/token", form) == []
    assert allegro_spec.validate_request("POST", "/auth/oauth/device", form) == []
    with pytest.raises(KeyError, match="no path template"):
        allegro_spec.validate_request("POST", "/sale/offer-things", {})
