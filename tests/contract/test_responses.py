"""Response bodies against Allegro's spec: real production data, tutorials, spec examples.

Real production responses break the spec (FACTS.md §14): they pass in lenient mode, and
strict mode names the violations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .openapi import Spec

pytestmark = pytest.mark.contract

Exchange = tuple[str, str, int, Any]  # method, concrete path, status, body


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def real_production(examples: Path) -> dict[str, list[Exchange]]:
    """examples/real-production/*.json as exchanges, by file (see examples/README.md)."""
    folder = examples / "real-production"
    files: dict[str, list[Exchange]] = {}
    name = "GET_sale-categories.json"
    files[name] = [("GET", "/sale/categories", 200, body) for body in load(folder / name)]
    name = "GET_sale-categories-id.json"
    files[name] = [("GET", "/sale/categories/85166", 200, load(folder / name))]
    name = "GET_sale-categories-id-parameters.json"
    files[name] = [  # the capture added `categoryId` beside the response body
        (
            "GET",
            f"/sale/categories/{e['categoryId']}/parameters",
            200,
            {"parameters": e["parameters"]},
        )
        for e in load(folder / name)
    ]
    name = "GET_sale-offers.json"
    files[name] = [("GET", "/sale/offers?limit=100&offset=0", 200, load(folder / name))]
    name = "GET_sale-product-offers.json"
    files[name] = [("GET", f"/sale/product-offers/{o['id']}", 200, o) for o in load(folder / name)]
    name = "GET_sale-product-offers-parts.json"
    files[name] = [
        ("GET", f"/sale/product-offers/{o['id']}/parts?include=stock&include=price", 200, o)
        for o in load(folder / name)
    ]
    return files


# At least one strict-mode violation per file, as FACTS.md §14 lists them. Files not listed
# here follow the spec even strictly.
STRICT_VIOLATIONS = {
    "GET_sale-categories.json": [
        "response 200 body categories[0].parent: None is not of type object",  # CategoryDto.parent
    ],
    "GET_sale-categories-id-parameters.json": [
        "response 200 body parameters[0].requiredIf: None is not of type object",
        "response 200 body parameters[0].displayedIf: None is not of type object",
    ],
    "GET_sale-offers.json": [
        "response 200 body offers[0].external: None is not of type object",
        "response 200 body offers[4].sellingMode: None is not of type object",
        "response 200 body offers[3].sellingMode.price: None is not of type object",
        "response 200 body offers[0].saleInfo.currentPrice: None is not of type object",
        "response 200 body offers[0].publication.startingAt: None is not of type string",
        "response 200 body offers[4].delivery.shippingRates: None is not of type object",
        "response 200 body offers[4].afterSalesServices.impliedWarranty: "
        "None is not of type object",
        "response 200 body offers[0].additionalServices: None is not of type object",
        "response 200 body offers[0].fundraisingCampaign: None is not of type object",
        # FACTS §14 calls this field unknown; the spec declares it, but not as nullable.
        "response 200 body offers[0].additionalMarketplaces.allegro-business-pl.sellingMode"
        ".priceAutomation: None is not of type object",
    ],
    "GET_sale-product-offers.json": [
        "response 200 body external: None is not of type object",
        "response 200 body b2b: None is not of type object",
        "response 200 body publication.startingAt: None is not of type string",
        "response 200 body sellingMode.price: None is not of type object",
        "response 200 body afterSalesServices.impliedWarranty: None is not of type object",
        "response 200 body taxSettings.subject: None is not of type string",
        "response 200 body taxSettings.exemption: None is not of type string",
        "response 200 body validation.errors[0].metadata: [] is not of type object",
        "response 200 body additionalMarketplaces.allegro-business-pl.publication"
        ".refusalReasons[0].parameters: [] is not of type object",
    ],
    "GET_sale-product-offers-parts.json": [
        "response 200 body sellingMode.price: None is not of type object",
        "response 200 body additionalMarketplaces.allegro-cz.sellingMode: "
        "None is not of type object",
    ],
}


@pytest.fixture(scope="module")
def production(allegro_examples: Path) -> dict[str, list[Exchange]]:
    return real_production(allegro_examples)


def test_every_real_production_file_is_covered(
    allegro_examples: Path, production: dict[str, list[Exchange]]
) -> None:
    found = {path.name for path in (allegro_examples / "real-production").glob("*.json")}
    assert found == set(production)
    assert set(STRICT_VIOLATIONS) <= found


@pytest.mark.parametrize(
    "name",
    [
        "GET_sale-categories.json",
        "GET_sale-categories-id.json",
        "GET_sale-categories-id-parameters.json",
        "GET_sale-offers.json",
        "GET_sale-product-offers.json",
        "GET_sale-product-offers-parts.json",
    ],
)
def test_real_production_passes_leniently_and_breaks_the_spec_strictly(
    allegro_spec: Spec, production: dict[str, list[Exchange]], name: str
) -> None:
    strict: list[str] = []
    for method, path, status, body in production[name]:
        assert allegro_spec.validate_response(method, path, status, body) == []
        strict += allegro_spec.validate_response(method, path, status, body, lenient=False)
    expected = STRICT_VIOLATIONS.get(name, [])
    assert [problem for problem in expected if problem not in strict] == []
    assert bool(strict) == bool(expected)


def test_real_production_has_no_field_the_spec_does_not_declare(
    allegro_spec: Spec, production: dict[str, list[Exchange]]
) -> None:
    # Against this spec (2026-07-18), every field of the 2026 captures is declared: the
    # "unknown extra field" of FACTS §14 (`…sellingMode.priceAutomation`) is declared too.
    for exchanges in production.values():
        for method, path, status, body in exchanges:
            assert allegro_spec.unknown_response_properties(method, path, status, body) == []


def test_lenient_mode_still_catches_wrong_data(
    allegro_spec: Spec, production: dict[str, list[Exchange]]
) -> None:
    method, path, status, offer = production["GET_sale-product-offers.json"][0]
    offer = json.loads(json.dumps(offer))
    offer["sellingMode"]["price"]["amount"] = 179
    offer["publication"]["status"] = "PUBLISHED"
    offer["stock"]["available"] = "1"
    assert sorted(allegro_spec.validate_response(method, path, status, offer)) == [
        "response 200 body publication.status: 'PUBLISHED' is not one of "
        "['INACTIVE', 'ACTIVATING', 'ACTIVE', 'ENDED', None]",
        "response 200 body sellingMode.price.amount: 179 is not of type string or null",
        "response 200 body stock.available: '1' is not of type integer or null",
    ]


COMMAND = "/sale/offer-quantity-change-commands/e476171a-18b1-44e5-81d1-d142b86ff13d"
OPERATION = "/sale/product-offers/7770273738/operations/eadb2e97-9850-4c51-bd27-68888b6d7d5d"

# examples/docs/*response*.json -> (method, path, status when the file does not wrap it).
RESPONSE_EXAMPLES: dict[str, tuple[str, str, int | None]] = {
    "POST_sale-product-offers.response-201.json": ("POST", "/sale/product-offers", None),
    "POST_sale-product-offers.response-202.json": ("POST", "/sale/product-offers", None),
    "GET_sale-product-offers-operations.response-202.json": ("GET", OPERATION, None),
    "GET_sale-product-offers-operations.response-303.json": ("GET", OPERATION, None),
    "PUT_sale-offer-quantity-change-commands.response-201.json": ("PUT", COMMAND, 201),
    "GET_sale-offer-quantity-change-commands.response.json": ("GET", COMMAND, 200),
    "GET_sale-offer-quantity-change-commands-tasks.response.json": ("GET", f"{COMMAND}/tasks", 200),
    "PUT_sale-offer-price-change-commands.response-201.json": (
        "PUT",
        "/sale/offer-price-change-commands/aacfb40c-daca-4252-91ef-244d68d28123",
        201,
    ),
    "GET_sale-offer-price-change-commands-tasks.response.json": (
        "GET",
        "/sale/offer-price-change-commands/aacfb40c-daca-4252-91ef-244d68d28123/tasks",
        200,
    ),
    "PUT_sale-offer-publication-commands.response-201.json": (
        "PUT",
        "/sale/offer-publication-commands/3417d97f-0d32-4747-8a17-1de38f8899de",
        201,
    ),
}


def test_every_response_example_is_covered(allegro_examples: Path) -> None:
    found = {path.name for path in (allegro_examples / "docs").glob("*response*.json")}
    assert found == set(RESPONSE_EXAMPLES)


@pytest.mark.parametrize("name", sorted(RESPONSE_EXAMPLES))
def test_tutorial_responses_pass_leniently(
    allegro_spec: Spec, allegro_examples: Path, name: str
) -> None:
    method, path, status = RESPONSE_EXAMPLES[name]
    data = load(allegro_examples / "docs" / name)
    if status is None:  # wrapped as {status, headers, body}
        status, data = data["status"], data["body"]
    assert allegro_spec.validate_response(method, path, status, data) == []


def test_tutorial_offer_breaks_the_spec_strictly(
    allegro_spec: Spec, allegro_examples: Path
) -> None:
    wrapped = load(allegro_examples / "docs" / "POST_sale-product-offers.response-201.json")
    strict = allegro_spec.validate_response(
        "POST", "/sale/product-offers", wrapped["status"], wrapped["body"], lenient=False
    )
    assert strict == [
        "response 201 body publication.startingAt: None is not of type string",
        "response 201 body compatibilityList: None is not of type object",
        "response 201 body afterSalesServices.warranty: None is not of type object",
        "response 201 body external: None is not of type object",
    ]


ERROR_BODIES = [
    "docs/error-422.missing-required-parameters.json",
    "docs/error-422.parameter-mismatch.json",
    "docs/error.max-active-offers.json",
    "issues/error-422.missing-required-parameters.issue-8216.json",
    "issues/error-422.unknown-json-property.issue-10293.json",
    "issues/error-422.json-mapping.issue-12696.json",
    "issues/error.product-proposals-limit.issue-11793.json",
    "issues/operation-errors.stock-below-one.issue-11011.json",
    "issues/task-errors.invalid-offer-quantity.issue-12233.json",
    "issues/error.incorrect-quantity-value.issue-3910.json",
]


@pytest.mark.parametrize("name", ERROR_BODIES)
def test_error_bodies_follow_the_spec_strictly(
    allegro_spec: Spec, allegro_examples: Path, name: str
) -> None:
    body = load(allegro_examples / name)
    assert (
        allegro_spec.validate_response("POST", "/sale/product-offers", 422, body, lenient=False)
        == []
    )


def test_spec_examples(allegro_spec: Spec, allegro_examples: Path) -> None:
    folder = allegro_examples / "spec"
    parameters = load(folder / "GET_sale-categories-id-parameters.examples.json")
    for body in parameters.values():
        path = "/sale/categories/257931/parameters"
        assert allegro_spec.validate_response("GET", path, 200, body, lenient=False) == []

    # The spec's own example breaks its schema as production does: a root's parent is null.
    matching = load(folder / "GET_sale-matching-categories.example.json")
    path = "/sale/matching-categories?name=x"
    assert allegro_spec.validate_response("GET", path, 200, matching) == []
    assert allegro_spec.validate_response("GET", path, 200, matching, lenient=False) == [
        "response 200 body matchingCategories[0].parent.parent: None is not of type object"
    ]

    # A bug in the spec: the `visibilityChanged` example holds a schema where a value belongs.
    events = load(folder / "GET_sale-offer-events.examples.json")
    for name, body in events.items():
        problems = allegro_spec.validate_response("GET", "/sale/offer-events", 200, body)
        if name == "visibilityChanged":
            assert problems[0].startswith(
                "response 200 body offerEvents[0].offer.publication.marketplaces.additional[0]"
                ".status: {'type': 'string', "
            )
        else:
            assert problems == []
