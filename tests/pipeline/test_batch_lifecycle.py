"""The fast path against the sandbox over HTTP where Allegro's behaviour goes beyond the
plain command: a report that answers 404 for a while after its PUT, an offer Allegro ended
itself (a buyer took the last unit) and then restocked, stock 0 for an offer already
ended, and the status after an ACTIVATE. Same world as :mod:`tests.pipeline.test_batching`
(the batcher driven directly, a fake batcher clock, the sandbox clock advanced)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import SandboxHandle
from tests.pipeline.conftest import stock_changed
from tests.pipeline.test_batching import World, _world

pytestmark = pytest.mark.integration

QUANTITY_REPORT = r"^/sale/offer-quantity-change-commands/[^/]+$"


@pytest.fixture(autouse=True)
def _fresh(sandbox: SandboxHandle) -> None:
    sandbox.reset()


@pytest.fixture(autouse=True)
def _calls_follow_allegros_spec(sandbox: SandboxHandle, allegro_spec: Any) -> Iterator[None]:
    yield
    if allegro_spec is None:
        return
    problems = [p for entry in sandbox.requests() for p in allegro_spec.check_exchange(entry)]
    assert not problems, "calls that break Allegro's spec:\n  " + "\n  ".join(problems[:20])


@pytest.fixture
def world(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    yield from _world(sandbox, f"sqlite:///{tmp_path / 'store.db'}")


def test_a_report_404_after_the_put_is_polled_again_not_handed_over(world: World) -> None:
    skus = world.create_offers(2, stock=5)
    # The command's report is not visible for its first three reads.
    world.sandbox.inject_fault(
        method="GET", path=QUANTITY_REPORT, kind="status", status=404, count=3
    )
    batcher = world.batcher()
    events = [world.stage(batcher, stock_changed(sku, 2, 8)) for sku in skus]
    world.drive(batcher, sandbox_step_s=0.5)
    assert world.handovers == []
    statuses = world.statuses()
    assert [statuses[event][0]["status"] for event in events] == ["UPDATED"] * 2
    calls = world.command_calls()
    assert [c["status"] for c in calls if c["method"] == "PUT"] == [201]  # sent once
    assert sum(1 for c in calls if c["method"] == "GET" and c["status"] == 404) == 3
    assert {world.offers()[sku]["stock"]["available"] for sku in skus} == {8}


def _offer_id(world: World, sku: str) -> str:
    record = world.store.get_offer("default", sku)
    assert record is not None and record.offer_id is not None
    return record.offer_id


def test_an_offer_sold_out_at_allegro_comes_back_when_restocked(world: World) -> None:
    sold_out, other = world.create_offers(2, stock=2)
    ended = world.sandbox.purchase(_offer_id(world, sold_out), 2)  # buyers take every unit
    assert ended["publication"] == {"status": "ENDED", "endedBy": "EMPTY_STOCK"}
    batcher = world.batcher()
    events = {sku: world.stage(batcher, stock_changed(sku, 2, 10)) for sku in (sold_out, other)}
    world.drive(batcher, sandbox_step_s=0.5)

    offers = world.offers()
    assert offers[sold_out]["publication"]["status"] == "ACTIVE"
    assert offers[sold_out]["stock"]["available"] == 10
    statuses = world.statuses()
    (status,) = statuses[events[sold_out]]
    assert (status["status"], status["publication_status"]) == ("UPDATED", "ACTIVE")
    assert [s["status"] for s in statuses[events[other]]] == ["UPDATED"]
    record = world.store.get_offer("default", sold_out)
    assert record is not None and record.publication_status == "ACTIVE"
    assert world.handovers == []
    # The extra reads: one status read after the quantity command, one after the ACTIVATE.
    searches = [
        r for r in world.sandbox.requests() if (r["method"], r["path"]) == ("GET", "/sale/offers")
    ]
    assert len(searches) == 2


def test_stock_0_of_an_offer_sold_out_at_allegro_ends_ended(world: World) -> None:
    (sku,) = world.create_offers(1, stock=1)
    world.sandbox.purchase(_offer_id(world, sku))
    batcher = world.batcher()
    event = world.stage(batcher, stock_changed(sku, 2, 0))
    world.drive(batcher, sandbox_step_s=0.5)
    (status,) = world.statuses()[event]
    assert (status["status"], status["publication_status"]) == ("ENDED", "ENDED")
    assert world.offers()[sku]["publication"]["status"] == "ENDED"
    assert world.handovers == []
