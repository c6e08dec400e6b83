"""``Spec.check_exchange`` on sandbox request-log entries, against Allegro's spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .openapi import Spec

pytestmark = pytest.mark.contract

MEDIA = "application/vnd.allegro.public.v1+json"
OFFER_ID = "7770273738"
OPERATION = f"/sale/product-offers/{OFFER_ID}/operations/eadb2e97-9850-4c51-bd27-68888b6d7d5d"
COMMAND = "/sale/offer-quantity-change-commands/e476171a-18b1-44e5-81d1-d142b86ff13d"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def publish_flow(allegro_examples: Path) -> list[dict[str, Any]]:
    """A request log of one offer's life, as the sandbox would record it."""
    docs = allegro_examples / "docs"
    accepted = load(docs / "POST_sale-product-offers.response-202.json")
    running = load(docs / "GET_sale-product-offers-operations.response-202.json")
    offers = load(allegro_examples / "real-production" / "GET_sale-offers.json")
    return [
        {
            "method": "POST",
            "path": "/auth/oauth/token",
            "query": {},
            "content_type": "application/x-www-form-urlencoded",
            "body": "grant_type=client_credentials",
            "status": 200,
            "response_body": '{"access_token": "x", "expires_in": 43199}',
        },
        {
            "method": "GET",
            "path": "/sale/offers",
            "query": {"external.id": ["SKU-1"], "limit": "1"},
            "status": 200,
            "response_body": json.dumps(offers),
        },
        {
            "method": "POST",
            "path": "/sale/product-offers",
            "query": {},
            "content_type": MEDIA,
            "body": (
                docs / "POST_sale-product-offers.request.existing-product-by-gtin.json"
            ).read_text(encoding="utf-8"),
            "status": accepted["status"],
            "response_body": json.dumps(accepted["body"]),
        },
        {"method": "GET", "path": OPERATION, "status": 202, "response_body": running["body"]},
        {"method": "GET", "path": OPERATION, "status": 303, "response_body": ""},
        {
            "method": "PUT",
            "path": COMMAND,
            "content_type": MEDIA,
            "body": load(docs / "PUT_sale-offer-quantity-change-commands.request.json"),
            "status": 201,
            "response_body": load(
                docs / "PUT_sale-offer-quantity-change-commands.response-201.json"
            ),
        },
        {"method": "GET", "path": f"{COMMAND}/tasks?limit=100&offset=0", "status": 200},
        {"method": "GET", "path": "/__sandbox/requests", "status": 200, "response_body": "[]"},
    ]


def test_a_correct_flow_has_no_problems(
    allegro_spec: Spec, publish_flow: list[dict[str, Any]]
) -> None:
    assert [
        problem for entry in publish_flow for problem in allegro_spec.check_exchange(entry)
    ] == []


@pytest.mark.parametrize(
    ("index", "change", "expected"),
    [
        (
            2,
            {"body": json.dumps({"stock": {"available": 1}, "sku": "SKU-1"})},
            "POST /sale/product-offers: request body sku: unknown property: the spec does not "
            "declare it (Allegro: 422 UnknownJSONProperty)",
        ),
        (
            2,
            {"content_type": "application/json"},
            "POST /sale/product-offers: request content type 'application/json' is not declared "
            f"for POST /sale/product-offers (declared: {MEDIA})",
        ),
        (
            2,
            {"status": 200},
            "POST /sale/product-offers: response 200: not declared for POST /sale/product-offers "
            "(declared: 201, 202, 400, 401, 403, 422)",
        ),
        (
            2,
            {"body": None},
            "POST /sale/product-offers: request body: missing, but required",
        ),
        (
            1,
            {"query": "external.id=SKU-1&publication.status=LIVE"},
            "GET /sale/offers: query parameter publication.status[0]: 'LIVE' is not one of "
            "['INACTIVE', 'ACTIVE', 'ACTIVATING', 'ENDED']",
        ),
        (
            5,
            {"body": {"modification": {"changeType": "FIXED", "value": "5"}, "offerCriteria": []}},
            f"PUT {COMMAND}: request body modification.value: '5' is not of type integer",
        ),
        (
            3,
            {"response_body": {"offer": {"id": OFFER_ID}, "operation": {"status": "RUNNING"}}},
            f"GET {OPERATION}: response 202 body operation.status: 'RUNNING' is not one of "
            "['PENDING', 'IN_PROGRESS', 'COMPLETED', None]",
        ),
        (
            3,
            {"path": "/sale/offer-variants/abc", "response_body": None},
            "GET /sale/offer-variants/abc: no path template of the spec matches this path",
        ),
    ],
)
def test_problems_name_the_call_and_the_path(
    allegro_spec: Spec,
    publish_flow: list[dict[str, Any]],
    index: int,
    change: dict[str, Any],
    expected: str,
) -> None:
    entry = {**publish_flow[index], **change}
    assert allegro_spec.check_exchange(entry) == [expected]
