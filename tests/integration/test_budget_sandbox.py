"""The Allegro client with a shared rate budget, against the sandbox over HTTP: requests
over the budget are never sent (the sandbox never answers 429), and after a 429 the
budget keeps every request away until the block is over, instead of retrying into it.

The budget is a SQLite file whose clock moves with the sandbox's (``Clocks``)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks, MakeBudgeted, statuses_of
from workers.budget import BudgetExhausted

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

BODY: dict[str, Any] = {
    "productSet": [{"product": {"id": "4242002375502", "idType": "GTIN"}}],
    "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
    "sellingMode": {"price": {"amount": "199.99", "currency": "PLN"}},
    "stock": {"available": 5},
}


def test_requests_over_the_client_budget_are_not_sent(
    make_budgeted: MakeBudgeted, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    sandbox.configure(client_limit_per_min=3, client_block_s=60)
    client, _ = make_budgeted(client_per_min=3)
    for _ in range(3):
        assert client.find_offers_by_external_id(["SKU-B"]) == []
    with pytest.raises(BudgetExhausted) as caught:
        client.find_offers_by_external_id(["SKU-B"])
    assert caught.value.kind == "client" and caught.value.retry_after_s is not None
    assert statuses_of(sandbox, "GET", "/sale/offers") == [200, 200, 200]  # never a 429
    clocks.sleep(caught.value.retry_after_s)
    assert client.find_offers_by_external_id(["SKU-B"]) == []


def test_a_client_id_block_is_not_retried_into(
    make_budgeted: MakeBudgeted, sandbox: SandboxHandle
) -> None:
    # Another application with the same client id used up the limit: Allegro answers 429
    # without Retry-After. Without the budget the client would retry 3 more times.
    sandbox.configure(client_limit_per_min=1, client_block_s=60)
    client, budget = make_budgeted(client_per_min=100)
    client.find_offers_by_external_id(["SKU-B"])
    with pytest.raises(BudgetExhausted) as caught:
        client.find_offers_by_external_id(["SKU-B"])
    assert statuses_of(sandbox, "GET", "/sale/offers") == [200, 429]
    assert 59 < (caught.value.retry_after_s or 0) <= 60
    assert budget.status("client", account="default").penalties == 1


def test_offer_writes_over_the_seller_budget_are_not_sent(
    make_budgeted: MakeBudgeted, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    sandbox.configure(seller_offer_writes_per_min=2)
    client, budget = make_budgeted(offer_writes_per_min=2)
    offer_id = client.create_offer(BODY).offer_id
    assert offer_id
    client.update_offer(offer_id, {"stock": {"available": 7}})
    with pytest.raises(BudgetExhausted) as caught:
        client.update_offer(offer_id, {"stock": {"available": 8}})
    assert caught.value.kind == "offer_writes"
    assert statuses_of(sandbox, "PATCH", f"/sale/product-offers/{offer_id}") == [200]
    assert client.get_offer(offer_id).id == offer_id  # reads are not seller writes
    assert budget.status("offer_writes", account="default").used == {60.0: 2, 3600.0: 2}
    clocks.sleep(caught.value.retry_after_s or 0)
    client.update_offer(offer_id, {"stock": {"available": 8}})
    assert statuses_of(sandbox, "PATCH", f"/sale/product-offers/{offer_id}") == [200, 200]
