"""The per-seller read budgets against the sandbox over HTTP: a 429 on one seller's GET of
an offer stops that seller's offer reads (and holds the client id for a short probe only),
not every request of the client id for a minute; report reads cost the command's offers.

The budget is a SQLite file whose clock moves with the sandbox's (``Clocks``)."""

from __future__ import annotations

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks, MakeBudgeted, statuses_of
from tests.integration.test_budget_sandbox import BODY
from workers.budget import BudgetExhausted

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]


def test_a_429_on_an_offer_read_stops_that_sellers_offer_reads_only(
    make_budgeted: MakeBudgeted, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    client, budget = make_budgeted()
    offer_id = client.create_offer(BODY).offer_id
    assert offer_id
    path = f"/sale/product-offers/{offer_id}"
    sandbox.inject_fault(method="GET", path=f"^{path}$", kind="status", status=429)
    with pytest.raises(BudgetExhausted) as caught:
        client.get_offer(offer_id)
    assert caught.value.kind == "offer_reads"
    assert statuses_of(sandbox, "GET", path) == [429]  # not retried into the limit
    assert budget.status("offer_reads", account="default").penalties == 1
    assert budget.status("client", account="default").penalties == 0
    # The client id is held for the probe only; then every other request goes on.
    clocks.sleep(budget.config.client_probe_s)
    assert client.find_offers_by_external_id(["SKU-R"]) == []
    client.update_offer(offer_id, {"stock": {"available": 9}})
    with pytest.raises(BudgetExhausted):
        client.get_offer(offer_id)
    assert statuses_of(sandbox, "GET", path) == [429]
    clocks.sleep(60)
    assert client.get_offer(offer_id).id == offer_id


def test_report_reads_count_the_commands_offers(
    make_budgeted: MakeBudgeted, sandbox: SandboxHandle
) -> None:
    client, budget = make_budgeted(batch_reads_per_min=2000)
    ids = [client.create_offer(BODY).offer_id for _ in range(3)]
    result = client.change_quantity([i for i in ids if i], 4)
    client.get_command_report("offer-quantity-change-commands", result.command_id)
    client.get_command_tasks("offer-quantity-change-commands", result.command_id, limit=1000)
    # The report: the command's 3 offers (this process sent the PUT); /tasks: its limit.
    assert budget.status("batch_reads", account="default").used == {60.0: 1003}
