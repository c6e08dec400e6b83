"""Allegro failing: retried 5xx, retries exhausted (FAILED, dead-lettered), a lost POST
answer and an offer created before a crash: never a second offer, always one status.

A 5xx answer to a POST may have been applied, so the publish step does not POST again until
its creation intent is older than the grace (``ALLEGRO_FEED_CREATE_GRACE_S``, see
``test_search_lag.py``); the retry tests here set the grace to 0 to see the retries alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.testing import offer_body
from tests.pipeline.conftest import Pipeline, upserted
from workers import publish_create
from workers.topology import dead_letter_queue

OFFERS = r"^/sale/product-offers$"


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    # Give up polling an offer operation after half a second (OperationPending).
    return {"operation_poll_max_s": 0.5}


@pytest.fixture
def no_create_grace(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST again as soon as the search does not find the offer (the sandbox's 503s are
    never applied, and its search does not lag here)."""
    pipeline.change_settings(monkeypatch, create_grace_s=0.0)


@pytest.mark.usefixtures("no_create_grace")
def test_server_errors_are_retried_until_the_offer_is_created(pipeline: Pipeline) -> None:
    # A 503 may have been applied: each run POSTs once, looks the offer up, and leaves the
    # next POST to a retry of the actor.
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="status", status=503, count=2)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    assert status["attempts"] == 3
    assert len(pipeline.offers_of(sku)) == 1
    assert pipeline.store.create_intent("default", sku) is None  # cleared with the offer


@pytest.mark.usefixtures("no_create_grace")
def test_retries_exhausted_report_failed_and_dead_letter_the_message(pipeline: Pipeline) -> None:
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="status", status=503, count=50)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "FAILED"
    assert status["attempts"] == pipeline.settings.actor_max_retries + 1
    assert status["errors"][-1]["code"] == "ServerError"
    publish_xq = dead_letter_queue(pipeline.settings.name("publish"))
    pipeline.wait_until(lambda: pipeline.queue_count(publish_xq) == 1, "the dead letter")
    dead = pipeline.get_one(publish_xq)
    assert dead is not None
    message = json.loads(dead[2])
    assert message["actor_name"] == "publish"
    assert message["args"][0]["event_id"] == event["event_id"]
    assert pipeline.offers_of(sku) == []
    assert len(pipeline.statuses.of(event["event_id"])) == 1


def test_a_lost_post_answer_does_not_make_a_second_offer(pipeline: Pipeline) -> None:
    # Allegro creates the offer, the answer never arrives.
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="lost_response", count=1)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.offer_id == offer["id"]


def test_an_offer_left_by_a_crash_is_adopted_not_created_again(pipeline: Pipeline) -> None:
    # A previous run created the offer and died before recording it.
    sku = pipeline.new_sku()
    with pipeline.sandbox.client() as api:
        created = api.post("/sale/product-offers", json=offer_body(sku, stock=5)).json()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    assert status["offer_id"] == created["id"]
    assert len(pipeline.offers_of(sku)) == 1
    posts = [
        r
        for r in pipeline.sandbox.requests()
        if r["method"] == "POST" and r["path"] == "/sale/product-offers"
    ]
    assert len(posts) == 1  # the one made by the "previous run"


def test_an_operation_still_running_is_resumed_later(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish_create, "OPERATION_WAIT_MS", 100)
    # Every POST answers 202 and its operation takes 60 s of sandbox time: the client
    # gives up polling, the message is deferred, and the next runs poll the operation of
    # the offer the registry got from the 202 (never a PATCH that would meet a busy offer).
    pipeline.sandbox.configure(async_ratio=1.0, async_delay_s=60, retry_after_s=0)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    def polled_again() -> bool:
        polls = [r for r in pipeline.sandbox.requests() if "/operations/" in str(r["path"])]
        return len(polls) >= 3

    pipeline.wait_until(polled_again, "the operation polled by later runs")
    assert not any(r["status"] == 409 for r in pipeline.sandbox.requests())
    pipeline.sandbox.configure(async_ratio=0.0)  # later changes are applied at once
    pipeline.sandbox.advance_clock(120)
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    posts = [r for r in pipeline.sandbox.requests() if r["path"] == "/sale/product-offers"]
    assert [r["method"] for r in posts] == ["POST"]
