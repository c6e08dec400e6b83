"""The sandbox's answers against Allegro's published schemas (``../shared/allegro/openapi.yaml``).

One walk through every resource the sandbox serves, then each logged exchange is checked
strictly: a declared status, a body valid against the declared schema (no ``null`` where the
schema has none, required fields present) and no property the schema does not declare.
Skips without the shared folder (fails in CI), like the rest of the contract suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.testing import SAMPLE_GTIN, SandboxHandle, offer_body, running_sandbox
from tests.contract.openapi import Spec, require_spec

pytestmark = pytest.mark.contract

DELAY_S = 5


@pytest.fixture(scope="module")
def spec() -> Spec:
    return require_spec()


@pytest.fixture(scope="module")
def exchanges() -> Iterator[list[dict[str, Any]]]:
    """The request log of one walk through the API."""
    with running_sandbox(async_delay_s=DELAY_S, command_delay_s=DELAY_S) as sandbox:
        _walk(sandbox)
        yield sandbox.requests()


def _walk(sandbox: SandboxHandle) -> None:
    with sandbox.client(follow_redirects=False) as api:
        api.get("/sale/categories")
        api.get("/sale/categories", params={"parent.id": "42540aec-367a-4e5e-b411-17c09b08e41f"})
        api.get("/sale/categories/85166")
        api.get("/sale/categories/85166/parameters")
        api.get("/sale/categories/165/parameters")
        api.get("/sale/categories/165/product-parameters")
        api.get("/sale/categories/no-such-category")
        api.get("/sale/matching-categories", params={"name": "Słuchawki bezprzewodowe Sony"})
        api.get("/sale/products", params={"phrase": SAMPLE_GTIN, "mode": "GTIN"})
        api.get("/sale/products", params={"phrase": "iphone", "category.id": "165"})
        found = api.get("/sale/products", params={"phrase": "sony"}).json()
        product_id = found["products"][0]["id"]
        api.get(f"/sale/products/{product_id}")
        api.get("/marketplaces")

        offer = api.post(
            "/sale/product-offers",
            json=offer_body(
                "C-1",
                description={"sections": [{"items": [{"type": "TEXT", "content": "<p>Opis</p>"}]}]},
                additionalMarketplaces={
                    "allegro-cz": {"sellingMode": {"price": {"amount": "999", "currency": "CZK"}}}
                },
            ),
        ).json()
        draft = api.post(
            "/sale/product-offers", json=offer_body("C-2", publication={"status": "INACTIVE"})
        ).json()
        api.post("/sale/product-offers", json=offer_body("C-3", stock=0))
        api.get(f"/sale/product-offers/{offer['id']}")
        api.get(
            f"/sale/product-offers/{offer['id']}/parts",
            params=[("include", "stock"), ("include", "price")],
        )
        api.get("/sale/product-offers/99999999999")
        api.patch(f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 0}})
        api.patch(f"/sale/product-offers/{draft['id']}", json={"publication": {"status": "ACTIVE"}})
        api.get("/sale/offers")
        api.get("/sale/offers", params={"external.id": "C-1", "publication.status": "ENDED"})

        sandbox.configure(async_ratio=1.0)
        accepted = api.post("/sale/product-offers", json=offer_body("C-4"))
        operation = accepted.headers["location"][len(sandbox.url) :]
        api.get(operation)
        failed = api.post("/sale/product-offers", json=offer_body("C-5", stock=0))
        sandbox.advance_clock(DELAY_S)
        api.get(operation)
        api.get(failed.headers["location"][len(sandbox.url) :])
        api.patch(f"/sale/product-offers/{accepted.json()['id']}", json={"name": "Sony ok tytuł"})
        api.patch(f"/sale/product-offers/{accepted.json()['id']}", json={"name": "Sony ok tytuł"})

        for kind, body in (
            (
                "offer-quantity-change-commands",
                {"modification": {"changeType": "FIXED", "value": 0}},
            ),
            (
                "offer-price-change-commands",
                {
                    "modification": {
                        "type": "FIXED_PRICE",
                        "price": {"amount": "10.00", "currency": "PLN"},
                    }
                },
            ),
            ("offer-publication-commands", {"publication": {"action": "END"}}),
        ):
            command_id = str(uuid.uuid4())
            body["offerCriteria"] = [
                {"type": "CONTAINS_OFFERS", "offers": [{"id": draft["id"]}, {"id": "12345678901"}]}
            ]
            api.put(f"/sale/{kind}/{command_id}", json=body)
            api.put(f"/sale/{kind}/{command_id}", json=body)
            api.get(f"/sale/{kind}/{command_id}")
            sandbox.advance_clock(DELAY_S)
            api.get(f"/sale/{kind}/{command_id}")
            api.get(f"/sale/{kind}/{command_id}/tasks")


def _documented_refusal(spec: Spec, entry: dict[str, Any]) -> bool:
    """An error status the spec declares with a body schema for this operation (where it
    declares none, the sandbox still answers in Allegro's errors shape, checked below)."""
    found = spec.operation(entry["method"], entry["path"]).response_for(entry["status"])
    return found is not None and bool(found[1].get("content"))


def test_the_walk_covers_successes_and_refusals(exchanges: list[dict[str, Any]]) -> None:
    statuses = {entry["status"] for entry in exchanges}
    assert {200, 201, 202, 303, 404, 409, 422} <= statuses


def test_responses_validate_strictly(spec: Spec, exchanges: list[dict[str, Any]]) -> None:
    problems = []
    for entry in exchanges:
        if entry["status"] >= 400 and not _documented_refusal(spec, entry):
            continue
        problems += spec.validate_response(
            entry["method"],
            entry["path"],
            entry["status"],
            entry["response_body"],
            lenient=False,
            content_type=entry["response_content_type"],
        )
    assert problems == []


def test_responses_invent_no_properties(spec: Spec, exchanges: list[dict[str, Any]]) -> None:
    invented = {
        f"{entry['method']} {entry['path']}: {path}"
        for entry in exchanges
        for path in spec.unknown_response_properties(
            entry["method"],
            entry["path"],
            entry["status"],
            entry["response_body"],
            entry["response_content_type"],
        )
    }
    assert invented == set()


def test_refusals_use_allegros_error_shape(exchanges: list[dict[str, Any]]) -> None:
    for entry in exchanges:
        if entry["status"] >= 400:
            for item in entry["response_body"]["errors"]:
                assert {"code", "message", "path", "userMessage"} <= set(item)


def test_requests_of_the_walk_are_valid(spec: Spec, exchanges: list[dict[str, Any]]) -> None:
    problems = [p for entry in exchanges for p in spec.check_exchange(entry)]
    assert problems == []
