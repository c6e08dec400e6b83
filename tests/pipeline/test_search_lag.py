"""No duplicate offer when Allegro's ``GET /sale/offers?external.id=`` lags behind a POST.

The sandbox hides offers created less than ``search_lag_s`` (sandbox clock) ago from the
search. A POST whose answer is lost then looks exactly like one that created nothing: the
publish step's creation intent makes it wait for the search instead of POSTing again, and
only an intent older than the grace (``ALLEGRO_FEED_CREATE_GRACE_S``) is POSTed again. Time
moves with the sandbox clock (``advance_clock``) and a patched grace, never with sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.conftest import Pipeline, upserted
from workers import publish

OFFERS = r"^/sale/product-offers$"


@pytest.fixture(autouse=True)
def _quick_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A deferred publish looks at the search again after 50 ms instead of 5 s.
    monkeypatch.setattr(publish, "CREATE_RECHECK_MS", 50)


def _posts(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [
        r
        for r in pipeline.sandbox.requests()
        if r["method"] == "POST" and r["path"] == "/sale/product-offers"
    ]


def _searches_after_post(pipeline: Pipeline, sku: str) -> list[dict[str, Any]]:
    """``GET /sale/offers`` for ``sku`` made after the first POST, with what they found."""
    entries = pipeline.sandbox.requests()
    first_post = next((r["seq"] for r in entries if r["method"] == "POST"), None)
    if first_post is None:
        return []
    return [
        r
        for r in entries
        if r["seq"] > first_post and r["path"] == "/sale/offers" and sku in str(r["query"])
    ]


def test_a_lost_post_answer_behind_a_lagging_search_makes_one_offer(pipeline: Pipeline) -> None:
    pipeline.sandbox.configure(search_lag_s=60)
    # Allegro creates the offer and the answer never arrives.
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="lost_response", count=1)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    # The client's look-up right after the lost answer, then at least one deferred run:
    # the search does not list the offer yet, and nothing is POSTed again.
    pipeline.wait_until(
        lambda: len(_searches_after_post(pipeline, sku)) >= 3, "searches that find nothing"
    )
    searches = _searches_after_post(pipeline, sku)
    assert [r["response_body"]["totalCount"] for r in searches] == [0] * len(searches)
    assert len(_posts(pipeline)) == 1
    assert pipeline.statuses.of(event["event_id"]) == []
    intent = pipeline.store.create_intent("default", sku)
    assert intent is not None and intent.attempts == 1

    pipeline.sandbox.advance_clock(60)  # the search catches up
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    assert len(_posts(pipeline)) == 1
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.offer_id == offer["id"]
    assert pipeline.store.create_intent("default", sku) is None
    assert len(pipeline.statuses.of(event["event_id"])) == 1


def test_a_post_that_created_nothing_is_sent_again_after_the_grace(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.sandbox.configure(search_lag_s=60)
    # A 503 that Allegro never applied: from the outside, as uncertain as a lost answer.
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="status", status=503, count=1)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    pipeline.wait_until(
        lambda: len(_searches_after_post(pipeline, sku)) >= 3, "searches that find nothing"
    )
    assert len(_posts(pipeline)) == 1  # within the grace: waiting, not POSTing

    pipeline.change_settings(monkeypatch, create_grace_s=0.0)  # the grace is over
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    assert [r["status"] for r in _posts(pipeline)] == [503, 201]
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    assert pipeline.store.create_intent("default", sku) is None
