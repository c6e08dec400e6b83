"""Batch commands: quantity, price and publication changes, their reports and task lists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxHandle, offer_body

DELAY_S = 2
QUANTITY = "/sale/offer-quantity-change-commands"
PRICE = "/sale/offer-price-change-commands"
PUBLICATION = "/sale/offer-publication-commands"


@pytest.fixture(scope="module")
def sandbox_knobs() -> dict[str, Any]:
    return {"command_delay_s": DELAY_S}


def new_offer(api: httpx.Client, **kwargs: Any) -> str:
    response = api.post("/sale/product-offers", json=offer_body(**kwargs))
    assert response.status_code == 201, response.text
    offer_id: str = response.json()["id"]
    return offer_id


def criteria(*offer_ids: str) -> list[dict[str, Any]]:
    return [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in offer_ids]}]


def put(
    api: httpx.Client, kind: str, body: dict[str, Any], command_id: str | None = None
) -> tuple[str, httpx.Response]:
    command_id = command_id or str(uuid.uuid4())
    return command_id, api.put(f"{kind}/{command_id}", json=body)


def tasks(api: httpx.Client, kind: str, command_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{kind}/{command_id}/tasks")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()["tasks"]
    return found


def stock_of(api: httpx.Client, offer_id: str) -> int:
    stock: int = api.get(f"/sale/product-offers/{offer_id}").json()["stock"]["available"]
    return stock


def test_quantity_command_lifecycle(api: httpx.Client, sandbox: SandboxHandle) -> None:
    first, second = new_offer(api), new_offer(api)
    command_id, response = put(
        api,
        QUANTITY,
        {"modification": {"changeType": "FIXED", "value": 30}, "offerCriteria": criteria(first)},
    )
    assert response.status_code == 201
    registered = response.json()
    assert registered["id"] == command_id
    assert registered["completedAt"] is None
    assert registered["taskCount"] == {"total": 0, "success": 0, "failed": 0}

    assert [t["status"] for t in tasks(api, QUANTITY, command_id)] == ["NEW"]
    assert stock_of(api, first) == 5
    sandbox.advance_clock(DELAY_S)
    report = api.get(f"{QUANTITY}/{command_id}").json()
    assert report["completedAt"] is not None
    assert report["taskCount"] == {"total": 1, "success": 1, "failed": 0}
    (task,) = tasks(api, QUANTITY, command_id)
    assert task == {
        "offer": {"id": first},
        "field": "quantity",
        "status": "SUCCESS",
        "message": "",
        "errors": [],
    }
    assert stock_of(api, first) == 30

    _, gain = put(
        api,
        QUANTITY,
        {
            "modification": {"changeType": "GAIN", "value": -2},
            "offerCriteria": criteria(first, second),
        },
    )
    assert gain.status_code == 201
    sandbox.advance_clock(DELAY_S)
    assert (stock_of(api, first), stock_of(api, second)) == (28, 3)


def test_fixed_quantity_zero_fails_its_task(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer_id = new_offer(api)
    command_id, response = put(
        api,
        QUANTITY,
        {"modification": {"changeType": "FIXED", "value": 0}, "offerCriteria": criteria(offer_id)},
    )
    assert response.status_code == 201
    sandbox.advance_clock(DELAY_S)
    (task,) = tasks(api, QUANTITY, command_id)
    assert task["status"] == "FAIL"
    assert [e["code"] for e in task["errors"]] == ["INVALID_OFFER_QUANTITY"]
    assert task["message"] == task["errors"][0]["message"]
    assert api.get(f"{QUANTITY}/{command_id}").json()["taskCount"]["failed"] == 1
    assert stock_of(api, offer_id) == 5


def test_command_ids_are_uuids_used_once(api: httpx.Client) -> None:
    offer_id = new_offer(api)
    body = {
        "modification": {"changeType": "FIXED", "value": 2},
        "offerCriteria": criteria(offer_id),
    }
    command_id, first = put(api, QUANTITY, body)
    _, again = put(api, QUANTITY, body, command_id)
    assert (first.status_code, again.status_code) == (201, 409)
    _, not_uuid = put(api, QUANTITY, body, "command-1")
    assert not_uuid.status_code == 400
    assert api.get(f"{QUANTITY}/{uuid.uuid4()}").status_code == 404


def test_at_most_1000_offers_per_criterion(api: httpx.Client) -> None:
    ids = [str(10_000_000_000 + n) for n in range(1001)]
    _, response = put(
        api,
        QUANTITY,
        {"modification": {"changeType": "FIXED", "value": 1}, "offerCriteria": criteria(*ids)},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"modification": {"changeType": "SET", "value": 1}},
        {"modification": {"changeType": "FIXED", "value": "1"}},
        {"modification": {"changeType": "FIXED", "value": 1}, "offerCriteria": []},
    ],
)
def test_malformed_quantity_commands(api: httpx.Client, body: dict[str, Any]) -> None:
    body.setdefault("offerCriteria", criteria("12345678901"))
    _, response = put(api, QUANTITY, body)
    assert response.status_code == 422


def test_offers_of_others_fail_their_task(api: httpx.Client, sandbox: SandboxHandle) -> None:
    mine = new_offer(api)
    with sandbox.client(sandbox.issue_user_token("seller-cz")["access_token"]) as czech:
        command_id, response = put(
            czech,
            QUANTITY,
            {
                "modification": {"changeType": "FIXED", "value": 9},
                "offerCriteria": criteria(mine, "12345678901"),
            },
        )
        assert response.status_code == 201
        sandbox.advance_clock(DELAY_S)
        assert {t["status"] for t in tasks(czech, QUANTITY, command_id)} == {"FAIL"}
    assert stock_of(api, mine) == 5
    assert api.get(f"{QUANTITY}/{command_id}").status_code == 404  # not this seller's


def test_price_command(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer_id = new_offer(api)
    command_id, response = put(
        api,
        PRICE,
        {
            "modification": {
                "type": "FIXED_PRICE",
                "price": {"amount": "10.50", "currency": "PLN"},
            },
            "offerCriteria": criteria(offer_id),
        },
    )
    assert response.status_code == 201
    sandbox.advance_clock(DELAY_S)
    assert tasks(api, PRICE, command_id)[0]["field"] == "price"
    offer = api.get(f"/sale/product-offers/{offer_id}").json()
    assert offer["sellingMode"]["price"] == {"amount": "10.50", "currency": "PLN"}

    put(
        api,
        PRICE,
        {
            "modification": {"type": "INCREASE_PERCENTAGE", "percentage": "10"},
            "offerCriteria": criteria(offer_id),
        },
    )
    sandbox.advance_clock(DELAY_S)
    offer = api.get(f"/sale/product-offers/{offer_id}").json()
    assert offer["sellingMode"]["price"]["amount"] == "11.55"


def test_price_in_another_currency_is_refused(api: httpx.Client) -> None:
    offer_id = new_offer(api)
    _, response = put(
        api,
        PRICE,
        {
            "modification": {"type": "FIXED_PRICE", "price": {"amount": "10", "currency": "EUR"}},
            "offerCriteria": criteria(offer_id),
        },
    )
    assert response.status_code == 422


def test_publication_command_ends_and_activates(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer_id = new_offer(api)
    put(api, PUBLICATION, {"publication": {"action": "END"}, "offerCriteria": criteria(offer_id)})
    sandbox.advance_clock(DELAY_S)
    offer = api.get(f"/sale/product-offers/{offer_id}").json()
    assert (offer["publication"]["status"], offer["publication"]["endedBy"]) == ("ENDED", "USER")

    put(
        api,
        PUBLICATION,
        {"publication": {"action": "ACTIVATE"}, "offerCriteria": criteria(offer_id)},
    )
    sandbox.advance_clock(DELAY_S)
    assert api.get(f"/sale/product-offers/{offer_id}").json()["publication"]["status"] == "ACTIVE"


def test_activation_without_stock_fails(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer_id = new_offer(api)
    api.patch(f"/sale/product-offers/{offer_id}", json={"stock": {"available": 0}})
    command_id, _ = put(
        api,
        PUBLICATION,
        {"publication": {"action": "ACTIVATE"}, "offerCriteria": criteria(offer_id)},
    )
    sandbox.advance_clock(DELAY_S)
    (task,) = tasks(api, PUBLICATION, command_id)
    assert task["status"] == "FAIL"
    assert task["errors"][0]["code"] == "AvailableStockMustEqualToOneOrBeGreaterThanOne"


def test_task_report_paging(api: httpx.Client, sandbox: SandboxHandle) -> None:
    ids = [new_offer(api, external_id=f"P-{n}") for n in range(3)]
    command_id, _ = put(
        api,
        QUANTITY,
        {"modification": {"changeType": "FIXED", "value": 4}, "offerCriteria": criteria(*ids)},
    )
    page = api.get(f"{QUANTITY}/{command_id}/tasks", params={"limit": 2, "offset": 1}).json()
    assert [t["offer"]["id"] for t in page["tasks"]] == ids[1:]
    assert api.get(f"{QUANTITY}/{command_id}/tasks", params={"limit": 0}).status_code == 422
