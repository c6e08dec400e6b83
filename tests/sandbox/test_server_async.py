"""Asynchronous offer processing: 202 with Location and Retry-After, polling the operation
(202 while running, 303 when done, errors when it failed), 409 for edits meanwhile. Time
moves only through the sandbox clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxHandle, offer_body

DELAY_S = 10


@pytest.fixture(scope="module")
def sandbox_knobs() -> dict[str, Any]:
    return {"async_ratio": 1.0, "async_delay_s": DELAY_S, "retry_after_s": 3}


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with sandbox.client(follow_redirects=False) as client:
        yield client


def operation_path(response: httpx.Response, sandbox: SandboxHandle) -> str:
    location = response.headers["location"]
    assert location.startswith(sandbox.url)
    return location[len(sandbox.url) :]


def offer_of(api: httpx.Client, offer_id: str) -> dict[str, Any]:
    response = api.get(f"/sale/product-offers/{offer_id}")
    assert response.status_code == 200
    offer: dict[str, Any] = response.json()
    return offer


def test_create_answers_202_then_the_operation_completes(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    accepted = api.post("/sale/product-offers", json=offer_body())
    assert accepted.status_code == 202
    assert accepted.headers["retry-after"] == "3"
    offer = accepted.json()
    operation = operation_path(accepted, sandbox)
    assert operation.startswith(f"/sale/product-offers/{offer['id']}/operations/")
    assert offer["publication"]["status"] == "INACTIVE"  # while the operation runs

    running = api.get(operation)
    assert running.status_code == 202
    assert running.headers["retry-after"] == "3"
    body = running.json()
    assert body["offer"] == {"id": offer["id"]}
    assert body["operation"]["status"] in ("PENDING", "IN_PROGRESS")
    assert body["operation"]["id"] == operation.rsplit("/", 1)[1]

    sandbox.advance_clock(DELAY_S)
    done = api.get(operation)
    assert done.status_code == 303
    assert done.headers["location"] == f"{sandbox.url}/sale/product-offers/{offer['id']}"
    assert done.content == b""
    assert offer_of(api, offer["id"])["publication"]["status"] == "ACTIVE"


def test_operation_shows_why_activation_failed(api: httpx.Client, sandbox: SandboxHandle) -> None:
    accepted = api.post("/sale/product-offers", json=offer_body(stock=0))
    assert accepted.status_code == 202  # the stock problem surfaces on the operation
    sandbox.advance_clock(DELAY_S)
    failed = api.get(operation_path(accepted, sandbox))
    assert failed.status_code == 422
    (error,) = failed.json()["errors"]
    assert error["code"] == "AvailableStockMustEqualToOneOrBeGreaterThanOne"
    assert error["path"] == "stock.available"
    offer = offer_of(api, accepted.json()["id"])
    assert offer["publication"]["status"] == "INACTIVE"
    assert offer["validation"]["errors"][0]["code"] == error["code"]


def test_edits_wait_for_the_running_operation(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer_id = api.post("/sale/product-offers", json=offer_body()).json()["id"]
    busy = api.patch(f"/sale/product-offers/{offer_id}", json={"stock": {"available": 3}})
    assert busy.status_code == 409
    sandbox.advance_clock(DELAY_S)
    edited = api.patch(f"/sale/product-offers/{offer_id}", json={"stock": {"available": 3}})
    assert edited.status_code == 202
    assert offer_of(api, offer_id)["stock"]["available"] == 5  # not applied yet
    sandbox.advance_clock(DELAY_S)
    assert api.get(operation_path(edited, sandbox)).status_code == 303
    assert offer_of(api, offer_id)["stock"]["available"] == 3


def test_async_ratio_is_deterministic_for_a_seed(sandbox: SandboxHandle) -> None:
    def statuses() -> list[int]:
        sandbox.reset()
        sandbox.configure(async_ratio=0.5, seed=42)
        with sandbox.client() as client:
            return [
                client.post("/sale/product-offers", json=offer_body(f"S-{n}")).status_code
                for n in range(8)
            ]

    first = statuses()
    assert set(first) == {201, 202}
    assert statuses() == first


def test_unknown_operation(api: httpx.Client, sandbox: SandboxHandle) -> None:
    accepted = api.post("/sale/product-offers", json=offer_body())
    other = api.post("/sale/product-offers", json=offer_body())
    wrong = operation_path(accepted, sandbox).replace(accepted.json()["id"], other.json()["id"])
    assert api.get(wrong).status_code == 404
