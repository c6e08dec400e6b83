"""Buyers in the sandbox (``POST /__sandbox/offers/{id}/purchase``): stock falls, the last
unit sold ends the offer (``endedBy`` EMPTY_STOCK); a quantity command on that offer keeps
it ENDED until it is activated (FACTS §11); ``GET /sale/offers`` finds it by ``offer.id``
(repeated) and ``publication.status``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxError, SandboxHandle, offer_body

DELAY_S = 1
QUANTITY = "/sale/offer-quantity-change-commands"
PUBLICATION = "/sale/offer-publication-commands"


@pytest.fixture(scope="module")
def sandbox_knobs() -> dict[str, Any]:
    return {"command_delay_s": DELAY_S}


def active_offer(api: httpx.Client, stock: int, sku: str) -> str:
    body = offer_body(sku, stock=stock, publication={"status": "ACTIVE"})
    response = api.post("/sale/product-offers", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["publication"]["status"] == "ACTIVE"
    offer_id: str = response.json()["id"]
    return offer_id


def command(api: httpx.Client, path: str, body: dict[str, Any], offer_id: str) -> str:
    command_id = str(uuid.uuid4())
    criteria = [{"type": "CONTAINS_OFFERS", "offers": [{"id": offer_id}]}]
    response = api.put(f"{path}/{command_id}", json={**body, "offerCriteria": criteria})
    assert response.status_code == 201, response.text
    return command_id


def test_buying_units_lowers_stock_and_the_last_one_ends_the_offer(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    offer_id = active_offer(api, 3, "SKU-P1")
    bought = sandbox.purchase(offer_id, 2)
    assert bought["stock"] == {"available": 1, "sold": 2}
    assert bought["publication"]["status"] == "ACTIVE"
    last = sandbox.purchase(offer_id)
    assert last["publication"] == {"status": "ENDED", "endedBy": "EMPTY_STOCK"}
    offer = api.get(f"/sale/product-offers/{offer_id}").json()
    assert offer["stock"]["available"] == 0
    assert offer["publication"]["status"] == "ENDED"
    assert offer["publication"]["endedBy"] == "EMPTY_STOCK"
    with pytest.raises(SandboxError, match="only an ACTIVE offer"):
        sandbox.purchase(offer_id)


def test_a_purchase_beyond_the_stock_or_of_an_unknown_offer_is_refused(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    offer_id = active_offer(api, 2, "SKU-P2")
    with pytest.raises(SandboxError, match="2 units available"):
        sandbox.purchase(offer_id, 3)
    with pytest.raises(SandboxError, match="positive integer"):
        sandbox.purchase(offer_id, 0)
    with pytest.raises(SandboxError, match="unknown offer"):
        sandbox.purchase("99999999999")
    assert api.get(f"/sale/product-offers/{offer_id}").json()["stock"]["available"] == 2


def test_a_quantity_command_keeps_a_sold_out_offer_ended_until_activated(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sold_out, other = active_offer(api, 1, "SKU-P3"), active_offer(api, 4, "SKU-P4")
    sandbox.purchase(sold_out)
    command(api, QUANTITY, {"modification": {"changeType": "FIXED", "value": 10}}, sold_out)
    sandbox.advance_clock(DELAY_S)
    offer = api.get(f"/sale/product-offers/{sold_out}").json()
    assert (offer["stock"]["available"], offer["publication"]["status"]) == (10, "ENDED")

    # Found by offer.id (repeated) and publication.status, as a batcher checks it.
    params = [("offer.id", sold_out), ("offer.id", other), ("publication.status", "ENDED")]
    found = api.get("/sale/offers", params=params).json()
    assert [o["id"] for o in found["offers"]] == [sold_out]
    both = api.get("/sale/offers", params=params[:2]).json()
    assert {o["id"] for o in both["offers"]} == {sold_out, other}

    command(api, PUBLICATION, {"publication": {"action": "ACTIVATE"}}, sold_out)
    sandbox.advance_clock(DELAY_S)
    offer = api.get(f"/sale/product-offers/{sold_out}").json()
    assert (offer["stock"]["available"], offer["publication"]["status"]) == (10, "ACTIVE")
