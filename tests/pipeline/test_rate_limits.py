"""Allegro's rate limits and server errors, met by the running pipeline: a 429 (with and
without ``Retry-After``) is retried and the offer created once; a Client-ID block
re-schedules the messages instead of holding worker threads, and they publish once the
block is over (the sandbox clock is moved past it); a 5xx answer to a PATCH is retried."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.conftest import Pipeline, stock_changed, upserted
from workers import middleware

OFFERS = r"^/sale/product-offers$"
ONE_OFFER = r"^/sale/product-offers/[^/]+$"


def _calls(pipeline: Pipeline, method: str, path: str) -> list[tuple[str, int]]:
    return [
        (str(r["method"]), int(r["status"]))
        for r in pipeline.sandbox.requests()
        if r["method"] == method and r["path"] == path
    ]


def _count_429(pipeline: Pipeline) -> int:
    return sum(1 for r in pipeline.sandbox.requests() if r["status"] == 429)


@pytest.mark.parametrize("retry_after_s", [1, None], ids=["with-retry-after", "without"])
def test_a_429_on_create_is_retried_and_the_offer_created_once(
    pipeline: Pipeline, retry_after_s: int | None
) -> None:
    pipeline.sandbox.inject_fault(
        method="POST", path=OFFERS, kind="status", status=429, count=1, retry_after_s=retry_after_s
    )
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    assert status["attempts"] == 1  # retried inside the call, not by the actor
    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    posts = _calls(pipeline, "POST", "/sale/product-offers")
    assert [code for _m, code in posts][:1] == [429]
    assert len(posts) == 2 and posts[1][1] in (201, 202), posts


def test_429s_beyond_the_calls_own_retries_defer_the_message(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without Retry-After the worker assumes a Client-ID block (a minute); here a fraction
    # of a second, so that the deferred run comes at once.
    monkeypatch.setattr(middleware, "INLINE_RATE_LIMIT_S", 0.1)
    monkeypatch.setattr(middleware, "RATE_LIMIT_BLOCK_S", 0.3)
    attempts = pipeline.settings.retry_max_attempts
    retries = pipeline.settings.actor_max_retries
    # More 429s than the call's attempts times the actor's runs: a retry per 429 run would
    # end FAILED, a deferral uses none.
    count = attempts * (retries + 2)
    pipeline.sandbox.inject_fault(
        method="POST", path=OFFERS, kind="status", status=429, count=count
    )
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    assert status["attempts"] == 1
    posts = _calls(pipeline, "POST", "/sale/product-offers")
    assert [code for _m, code in posts] == [429] * count + [posts[-1][1]]
    assert len(pipeline.offers_of(sku)) == 1


def test_a_client_id_block_reschedules_messages_without_holding_threads(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 429 without Retry-After is taken for a Client-ID block; the worker would look again
    # after a minute. Here after 0.3 s, and the block lasts until the clock is moved.
    monkeypatch.setattr(middleware, "INLINE_RATE_LIMIT_S", 0.1)
    monkeypatch.setattr(middleware, "RATE_LIMIT_BLOCK_S", 0.3)
    threads = len(pipeline.worker.workers)
    pipeline.sandbox.configure(client_limit_per_min=3, client_block_s=60)
    skus = [pipeline.new_sku() for _ in range(threads + 1)]  # more blocked SKUs than threads
    events = [pipeline.publish(upserted(sku, 1)) for sku in skus]

    # Pigeonhole: once this many 429s were answered (at most retry_max_attempts per run),
    # some message ran more often than its retries allow: only a deferral survives that.
    runs_allowed = pipeline.settings.actor_max_retries + 1
    enough = len(skus) * pipeline.settings.retry_max_attempts * runs_allowed + 1
    pipeline.wait_until(lambda: _count_429(pipeline) >= enough, f"{enough} answers 429")

    # Every worker thread is free meanwhile: an event that needs no Allegro call is handled
    # while the blocked ones wait (it would wait behind them if they held the threads).
    marker = pipeline.publish(stock_changed(pipeline.new_sku(), 1, 3))
    assert pipeline.status_of(marker["event_id"])["status"] == "UNCHANGED"
    assert all(pipeline.statuses.of(e["event_id"]) == [] for e in events)
    assert pipeline.sandbox.offers() == []

    pipeline.sandbox.configure(client_limit_per_min=9000)
    pipeline.sandbox.advance_clock(61)  # the block is over

    statuses: list[dict[str, Any]] = [pipeline.status_of(e["event_id"]) for e in events]
    assert [s["status"] for s in statuses] == ["PUBLISHED"] * len(events), statuses
    for sku in skus:
        assert len(pipeline.offers_of(sku)) == 1


@pytest.mark.parametrize(
    ("kind", "status", "count"),
    [("status", 503, 3), ("lost_response", 502, 2)],
    ids=["503-beyond-the-calls-retries", "applied-but-answer-lost"],
)
def test_a_server_error_on_patch_is_retried(
    pipeline: Pipeline, kind: str, status: int, count: int
) -> None:
    sku = pipeline.new_sku()
    created = pipeline.publish(upserted(sku, 1))
    first = pipeline.status_of(created["event_id"])
    assert first["status"] == "PUBLISHED"
    pipeline.sandbox.inject_fault(
        method="PATCH", path=ONE_OFFER, kind=kind, status=status, count=count
    )

    event = pipeline.publish(stock_changed(sku, 2, 7))
    result = pipeline.status_of(event["event_id"])

    assert result["status"] == "UPDATED", result
    assert result["offer_id"] == first["offer_id"]
    [offer] = pipeline.offers_of(sku)
    assert offer["stock"]["available"] == 7
    patches = _calls(pipeline, "PATCH", f"/sale/product-offers/{first['offer_id']}")
    assert [code for _m, code in patches] == [status] * count + [200], patches
    assert len(pipeline.statuses.of(event["event_id"])) == 1
