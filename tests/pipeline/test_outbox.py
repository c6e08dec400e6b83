"""No status is lost: the store's status history is an outbox.

A status recorded but never published (the process died between the two) is published by
the next run of the event's message, or, when no such run comes, by the ingest bridge's
periodic sweep and the sweep of a worker that boots; always with its own ``message_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dramatiq
import pika
import pytest

from schemas.status import Status
from tests.pipeline.conftest import Pipeline, upserted
from workers import status as status_module
from workers.services import setup
from workers.status import Publisher, status_for


class DiesBeforePublishing:
    """The status publisher of a process that dies once, for ``event_id``, after the store
    recorded the status and before RabbitMQ got it; then publishes as ``inner`` does."""

    def __init__(self, inner: Publisher, event_id: str) -> None:
        self.inner = inner
        self.event_id = event_id
        self.died = False

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None:
        if not self.died and str(properties.message_id).startswith(self.event_id):
            self.died = True
            raise ConnectionError("the process died between recording and publishing")
        self.inner.publish(exchange, routing_key, body, properties, mandatory=mandatory)


@pytest.fixture
def sweep_at_any_age(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Sweeps take statuses of any age (the default leaves those younger than 10 s)."""
    monkeypatch.setattr(status_module, "SWEEP_MIN_AGE_S", 0.0)
    yield


def _forgotten_status(pipeline: Pipeline, sku: str) -> Any:
    """A status in the store that was never published, of an event whose message is gone
    (acked): as left by a process that died right after recording it."""
    message = status_for(
        {"event_id": f"ev-forgotten-{sku}", "sku": sku, "account": "default", "version": 1},
        Status.UNCHANGED,
    )
    assert pipeline.store.add_status(message)
    return message


def test_a_status_recorded_but_not_published_is_published_by_the_next_run(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1)
    reporter = pipeline.runtime.services.reporter
    # The reporter's publisher is private; replacing it is the least intrusive way to make
    # the publish step die at exactly that point.
    dying = DiesBeforePublishing(reporter._publisher, event["event_id"])
    monkeypatch.setattr(reporter, "_publisher", dying)

    pipeline.publish(event)
    status = pipeline.status_of(event["event_id"])
    marker = pipeline.publish(upserted(pipeline.new_sku(), 1))
    pipeline.status_of(marker["event_id"])

    assert dying.died
    assert status["status"] == "PUBLISHED"
    [(_body, properties, _key)] = pipeline.statuses.with_properties(event["event_id"])
    assert properties.message_id == f"{event['event_id']}:PUBLISHED"
    assert status["attempts"] == 1  # the message as recorded by the run that died
    pipeline.wait_until(
        lambda: pipeline.store.unpublished_statuses() == [], "the status marked published"
    )
    # The retry published the stored status and did nothing else.
    [offer] = pipeline.offers_of(sku)
    writes = [
        w
        for w in pipeline.writes_of()
        if sku in json.dumps(w.get("body")) or str(w["path"]).endswith(offer["id"])
    ]
    assert [w["method"] for w in writes] == ["POST"]


@pytest.mark.usefixtures("sweep_at_any_age")
def test_the_bridge_sweep_publishes_a_status_nobody_will_ask_for(pipeline: Pipeline) -> None:
    forgotten = _forgotten_status(pipeline, pipeline.new_sku())

    pipeline.bridge.sweep_soon()
    status = pipeline.status_of(str(forgotten.event_id))

    assert status == json.loads(forgotten.to_json())  # the stored message, as it was
    [(_body, properties, key)] = pipeline.statuses.with_properties(str(forgotten.event_id))
    assert (properties.message_id, key) == (f"{forgotten.event_id}:UNCHANGED", "offer.unchanged")
    pipeline.wait_until(
        lambda: pipeline.store.unpublished_statuses() == [], "the status marked published"
    )


@pytest.mark.usefixtures("sweep_at_any_age")
def test_a_booting_worker_sweeps_the_outbox(pipeline: Pipeline) -> None:
    forgotten = _forgotten_status(pipeline, pipeline.new_sku())
    # Another worker process of the same deployment starting (consuming nothing here).
    runtime = setup(pipeline.settings, store=pipeline.store, mapping=None)
    worker = dramatiq.Worker(runtime.broker, worker_threads=1, queues={"consumes-nothing"})
    try:
        worker.start()  # runs the worker boot hooks: topology, then the sweep
        status = pipeline.status_of(str(forgotten.event_id))
    finally:
        worker.stop(timeout=5_000)
        runtime.close()

    assert status["status"] == "UNCHANGED"
    assert len(pipeline.statuses.of(str(forgotten.event_id))) == 1
    entry = pipeline.store.terminal_entry(str(forgotten.event_id))
    assert entry is not None and entry.published
