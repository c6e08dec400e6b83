"""The publish step through the real pipeline and the sandbox: a slow creation is polled,
never POSTed twice; an offer Allegro leaves INACTIVE is REJECTED with its errors and kept;
an offer Allegro ended itself is activated on restock; an archived offer (404) is replaced
by a new one. Time moves with the sandbox clock, never with sleeps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.conftest import Pipeline, upserted
from workers import publish_create

OFFERS = "/sale/product-offers"


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    # The polling budget of one run is short: a creation outlives it and is deferred.
    return {"operation_poll_max_s": 0.5}


@pytest.fixture(autouse=True)
def _quick_deferrals(monkeypatch: pytest.MonkeyPatch) -> None:
    # A creation still running is looked at again after 50 ms instead of 5 s.
    monkeypatch.setattr(publish_create, "OPERATION_WAIT_MS", 50)


def _posts(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [r for r in pipeline.writes_of() if r["method"] == "POST"]


def _polls(pipeline: Pipeline, offer_id: str) -> list[dict[str, Any]]:
    prefix = f"{OFFERS}/{offer_id}/operations/"
    return [r for r in pipeline.sandbox.requests() if str(r["path"]).startswith(prefix)]


def test_a_creation_outliving_the_polling_budget_is_polled_later_never_posted_again(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Allegro's content check runs long, and its search does not list the new offer yet;
    # with no creation grace at all, a run that went by the search would POST again.
    pipeline.sandbox.configure(
        async_ratio=1.0, async_delay_s=600, retry_after_s=1, search_lag_s=3600
    )
    pipeline.change_settings(monkeypatch, create_grace_s=0.0)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    pipeline.wait_until(
        lambda: (pipeline.store.get_offer("default", sku) or None) is not None, "the 202's offer"
    )
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.operation_url is not None
    pipeline.wait_until(lambda: len(_polls(pipeline, record.offer_id)) >= 3, "deferred polls")
    assert len(_posts(pipeline)) == 1
    assert pipeline.statuses.of(event["event_id"]) == []

    pipeline.sandbox.advance_clock(600)  # the operation finishes
    status = pipeline.status_of(event["event_id"])
    assert status["status"] == "PUBLISHED", status
    assert status["offer_id"] == record.offer_id
    assert status["publication_status"] == "ACTIVE"
    assert [o["id"] for o in pipeline.offers_of(sku)] == [record.offer_id]
    assert len(_posts(pipeline)) == 1
    done = pipeline.store.get_offer("default", sku)
    assert done is not None and done.operation_url is None and done.published_body is not None


def test_an_offer_left_inactive_by_allegros_check_is_rejected_then_activated(
    pipeline: Pipeline,
) -> None:
    pipeline.sandbox.configure(activation_refusal_ratio=1.0)
    sku = pipeline.new_sku()
    first = pipeline.publish(upserted(sku, 1))
    status = pipeline.status_of(first["event_id"])
    assert status["status"] == "REJECTED", status
    assert status["publication_status"] == "INACTIVE"
    assert [e["code"] for e in status["errors"]] == ["OfferImagesNotAvailableException"]
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.offer_id == offer["id"]
    assert record.published_body is None  # not recorded as published

    pipeline.sandbox.configure(activation_refusal_ratio=0.0)
    second = pipeline.publish(upserted(sku, 2))
    again = pipeline.status_of(second["event_id"])
    assert again["status"] == "PUBLISHED", again
    assert (again["offer_id"], again["publication_status"]) == (offer["id"], "ACTIVE")
    assert len(pipeline.offers_of(sku)) == 1
    assert len(_posts(pipeline)) == 1


def test_a_restock_of_an_offer_allegro_ended_activates_it(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = pipeline.publish(upserted(sku, 1, stock={"available": 1, "unit": "UNIT"}))
    offer_id = pipeline.status_of(first["event_id"])["offer_id"]
    # The last unit is sold: Allegro ends the offer (EMPTY_STOCK); the registry still
    # says ACTIVE.
    with pipeline.sandbox.client() as seller:
        sold = seller.patch(f"{OFFERS}/{offer_id}", json={"stock": {"available": 0}})
        assert sold.status_code == 200, sold.text
    [offer] = pipeline.offers_of(sku)
    assert offer["publication"]["status"] == "ENDED"

    restock = pipeline.publish(upserted(sku, 2, stock={"available": 5, "unit": "UNIT"}))
    status = pipeline.status_of(restock["event_id"])
    assert status["status"] == "UPDATED", status
    assert (status["offer_id"], status["publication_status"]) == (offer_id, "ACTIVE")
    [offer] = pipeline.offers_of(sku)
    assert offer["publication"]["status"] == "ACTIVE"
    assert offer["stock"]["available"] == 5


def test_an_archived_offer_is_replaced_by_a_new_one(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = pipeline.publish(upserted(sku, 1))
    old_id = pipeline.status_of(first["event_id"])["offer_id"]
    out = pipeline.publish(upserted(sku, 2, stock={"available": 0, "unit": "UNIT"}))
    assert pipeline.status_of(out["event_id"])["status"] == "ENDED"

    pipeline.sandbox.advance_clock(61 * 24 * 3600)  # ended 61 days ago: archived
    back = pipeline.publish(upserted(sku, 3, stock={"available": 4, "unit": "UNIT"}))
    status = pipeline.status_of(back["event_id"])
    assert status["status"] == "PUBLISHED", status
    assert status["offer_id"] not in (None, old_id)
    assert status["publication_status"] == "ACTIVE"
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.offer_id == status["offer_id"]
    assert len(_posts(pipeline)) == 2
