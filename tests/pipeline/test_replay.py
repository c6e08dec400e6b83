"""A replayed FAILED event ends with a new status (on the PostgreSQL store).

Each event has exactly one terminal status per delivery attempt chain: the first run's
``FAILED``, and after the dead letter is replayed, the replay's own outcome.
"""

from __future__ import annotations

import pika
import pytest

from tests.pipeline.conftest import Pipeline, upserted
from workers.broker import connection_parameters
from workers.ops._deadletter_actions import replay
from workers.topology import dead_letter_queue

OFFERS = r"^/sale/product-offers$"


@pytest.fixture(scope="module")
def store_url(postgres_store_url: str) -> str:
    return postgres_store_url


def test_a_replayed_failed_event_is_reported_again(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every run POSTs once (grace 0: the sandbox's 503s are never applied) and gets a 503,
    # until the retries run out.
    pipeline.change_settings(monkeypatch, create_grace_s=0.0)
    runs = pipeline.settings.actor_max_retries + 1
    pipeline.sandbox.inject_fault(method="POST", path=OFFERS, kind="status", status=503, count=runs)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))
    assert pipeline.status_of(event["event_id"])["status"] == "FAILED"
    publish_xq = dead_letter_queue(pipeline.settings.name("publish"))
    pipeline.wait_until(lambda: pipeline.queue_count(publish_xq) == 1, "the dead letter")

    # The cause is gone (the faults are used up): an operator replays the dead letter.
    connection = pika.BlockingConnection(connection_parameters(pipeline.settings))
    try:
        report = replay(connection, pipeline.settings, publish_xq, None)
    finally:
        connection.close()
    assert len(report.replayed) == 1
    pipeline.statuses.wait(
        lambda: len(pipeline.statuses.of(event["event_id"])) == 2, "the replay's status"
    )

    failed, replayed = pipeline.statuses.with_properties(event["event_id"])
    assert (failed[0]["status"], replayed[0]["status"]) == ("FAILED", "PUBLISHED")
    assert replayed[1].message_id == f"{event['event_id']}:PUBLISHED"
    [offer] = pipeline.offers_of(sku)
    assert replayed[0]["offer_id"] == offer["id"]
    entry = pipeline.store.terminal_entry(event["event_id"])
    assert entry is not None and (entry.message.status, entry.chain) == ("PUBLISHED", 1)
    pipeline.wait_until(
        lambda: pipeline.store.unpublished_statuses() == [], "the statuses marked published"
    )
    history = pipeline.store.history("default", sku)
    assert [s.status for s in history] == ["PUBLISHED", "FAILED"]

    # The upstream event once more (a producer's retry): nothing more is reported.
    pipeline.publish(event)
    marker = pipeline.publish(upserted(pipeline.new_sku(), 1))
    pipeline.status_of(marker["event_id"])
    assert len(pipeline.statuses.of(event["event_id"])) == 2
