"""Status reporting: recorded first, published once, with the contract's AMQP properties;
the outbox: marked once confirmed, pending ones published by the next run and the sweep."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pika.exceptions
import pytest
from structlog.testing import capture_logs

from schemas.status import Status
from workers.allegro import ErrorItem
from workers.status import (
    PUBLISH_ATTEMPTS,
    SWEEP_LEASE,
    SWEEP_MIN_AGE_S,
    BrokerChannelPublisher,
    StatusReporter,
    allegro_errors,
    status_for,
)

from .conftest import FakePublisher, FakeStore, Harness

IDENTITY = {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 3}


def test_a_status_is_recorded_and_published_once() -> None:
    store, publisher = FakeStore(), FakePublisher()
    reporter = StatusReporter(store, publisher, "x.allegro.status")  # type: ignore[arg-type]
    message = status_for(IDENTITY, Status.PUBLISHED, offer_id="77", attempts=2)

    assert reporter.report(message) is True
    assert reporter.report(message) is False  # a redelivery
    assert reporter.report(status_for(IDENTITY, Status.UNCHANGED)) is False  # a second outcome

    [sent] = publisher.published
    assert (sent.exchange, sent.routing_key) == ("x.allegro.status", "offer.published")
    assert sent.properties.delivery_mode == 2
    assert sent.properties.content_type == "application/json"
    assert sent.properties.message_id == "ev-1:PUBLISHED"
    body = json.loads(sent.body)
    assert (body["status"], body["offer_id"], body["attempts"]) == ("PUBLISHED", "77", 2)
    assert [s.status for s in store.statuses] == [Status.PUBLISHED]


def test_nothing_is_published_when_the_store_fails() -> None:
    class BrokenStore(FakeStore):
        def add_status(self, message: Any) -> bool:
            raise OSError("disk full")

        def add_statuses(self, messages: Any) -> list[bool]:
            raise OSError("disk full")

    publisher = FakePublisher()
    reporter = StatusReporter(BrokenStore(), publisher, "s")  # type: ignore[arg-type]

    with pytest.raises(OSError):
        reporter.report(status_for(IDENTITY, Status.ENDED))
    assert publisher.published == []


def test_allegros_error_items_pass_through() -> None:
    items = [
        ErrorItem(code="ProductNotFoundException", message="gone", path="productSet[0]"),
        ErrorItem(userMessage="only a user text"),
    ]

    errors = allegro_errors(items, fallback="422")

    assert [(e.code, e.message, e.path) for e in errors] == [
        ("ProductNotFoundException", "gone", "productSet[0]"),
        ("ALLEGRO_ERROR", "only a user text", None),
    ]
    assert allegro_errors([], fallback="refused")[0].message == "refused"


class FlakyChannel:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.published = 0

    def basic_publish(self, **_kwargs: Any) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.published += 1


class FakeBroker:
    def __init__(self, channel: FlakyChannel) -> None:
        self._channel = channel
        self.reconnects = 0

    @property
    def channel(self) -> FlakyChannel:
        return self._channel

    @property
    def connection(self) -> None:
        return None

    @connection.deleter
    def connection(self) -> None:
        self.reconnects += 1


def test_the_broker_publisher_reconnects_after_a_lost_connection() -> None:
    channel = FlakyChannel([pika.exceptions.StreamLostError("gone")])
    broker = FakeBroker(channel)

    BrokerChannelPublisher(broker, pause_s=0).publish("x", "k", b"{}", pika.BasicProperties())

    assert (channel.published, broker.reconnects) == (1, 1)


def test_the_broker_publisher_gives_up_and_never_resends_a_refused_message() -> None:
    lost = [pika.exceptions.StreamLostError("gone") for _ in range(PUBLISH_ATTEMPTS)]
    with pytest.raises(pika.exceptions.StreamLostError):
        BrokerChannelPublisher(FakeBroker(FlakyChannel(lost)), pause_s=0).publish(
            "x", "k", b"{}", pika.BasicProperties()
        )
    refused = FlakyChannel([pika.exceptions.NackError([])])
    with pytest.raises(pika.exceptions.NackError):
        BrokerChannelPublisher(FakeBroker(refused), pause_s=0).publish(
            "x", "k", b"{}", pika.BasicProperties()
        )
    assert refused.published == 0


# --- the outbox ---------------------------------------------------------------------------


def _reporter(store: FakeStore, publisher: FakePublisher) -> StatusReporter:
    return StatusReporter(store, publisher, "x.allegro.status")  # type: ignore[arg-type]


def test_a_status_is_marked_published_only_after_the_broker_confirmed_it() -> None:
    log: list[str] = []
    store, publisher = FakeStore(calls=log), FakePublisher(log)
    message = status_for(IDENTITY, Status.ENDED)

    _reporter(store, publisher).report(message)

    assert log == ["status:ENDED", "publish:offer.ended", "marked:ENDED"]
    entry = store.terminal_entry("ev-1")
    assert entry is not None and entry.published


def test_a_failed_publish_leaves_the_status_in_the_outbox() -> None:
    store, publisher = FakeStore(), FakePublisher()
    publisher.fail = ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        _reporter(store, publisher).report(status_for(IDENTITY, Status.ENDED))

    assert [m.status for m in store.unpublished_statuses()] == [Status.ENDED]


def test_a_refused_second_report_publishes_the_stored_status_when_it_is_pending() -> None:
    # The first run recorded PUBLISHED and died before publishing; the retry decides again.
    store, publisher = FakeStore(), FakePublisher()
    stored = status_for(IDENTITY, Status.PUBLISHED, offer_id="77")
    store.add_status(stored)
    reporter = _reporter(store, publisher)

    assert reporter.report(status_for(IDENTITY, Status.UNCHANGED)) is False
    assert reporter.report(status_for(IDENTITY, Status.UNCHANGED)) is False

    [sent] = publisher.published  # the stored message, once, with its own id
    assert sent.body == stored.to_json()
    assert sent.properties.message_id == "ev-1:PUBLISHED"
    assert store.unpublished_statuses() == []


def test_settled_returns_the_latest_status_and_publishes_it_when_pending() -> None:
    store, publisher = FakeStore(), FakePublisher()
    reporter = _reporter(store, publisher)
    assert reporter.settled("ev-1") is None

    reporter.report(status_for(IDENTITY, Status.PUBLISHED, offer_id="77"))
    assert reporter.settled("ev-1") is not None
    assert len(publisher.published) == 1  # published already: not again

    store.add_status(status_for({**IDENTITY, "event_id": "ev-2"}, Status.ENDED))
    settled = reporter.settled("ev-2")
    assert settled is not None and settled.status is Status.ENDED
    assert [p.properties.message_id for p in publisher.published][-1] == "ev-2:ENDED"


def test_the_sweep_publishes_the_old_enough_unpublished_statuses() -> None:
    store, publisher = FakeStore(), FakePublisher()
    for number in (1, 2):
        store.add_status(status_for({**IDENTITY, "event_id": f"old-{number}"}, Status.ENDED))
    store.now += timedelta(seconds=SWEEP_MIN_AGE_S)
    store.add_status(status_for({**IDENTITY, "event_id": "young"}, Status.ENDED))
    reporter = _reporter(store, publisher)

    assert reporter.sweep("me") == 2
    assert [p.properties.message_id for p in publisher.published] == [
        "old-1:ENDED",
        "old-2:ENDED",
    ]
    assert [m.event_id for m in store.unpublished_statuses()] == ["young"]
    assert reporter.sweep("me", min_age_s=0) == 1
    assert reporter.sweep("me") == 0
    assert store.leases == {}  # released


def test_only_one_sweep_runs_at_a_time() -> None:
    store, publisher = FakeStore(), FakePublisher()
    store.add_status(status_for(IDENTITY, Status.ENDED))
    store.leases[SWEEP_LEASE] = "another-sweeper"

    assert _reporter(store, publisher).sweep("me", min_age_s=0) == 0
    assert publisher.published == []


def test_the_services_sweep_publishes_with_the_process_publisher(harness: Harness) -> None:
    harness.store.add_status(status_for(IDENTITY, Status.ENDED))
    harness.store.now += timedelta(seconds=SWEEP_MIN_AGE_S)

    assert harness.services.sweep_statuses() == 1

    [sent] = harness.publisher.published
    assert (sent.exchange, sent.properties.message_id) == ("u.allegro.status", "ev-1:ENDED")


def _other(event_id: str) -> Any:
    return status_for({**IDENTITY, "event_id": event_id}, Status.UPDATED, offer_id="77")


def test_a_deferred_block_records_at_once_and_publishes_when_it_ends() -> None:
    store, publisher = FakeStore(), FakePublisher()
    reporter = StatusReporter(store, publisher, "s")  # type: ignore[arg-type]

    with reporter.deferred():
        assert reporter.report(_other("ev-1")) is True
        assert reporter.report(_other("ev-2")) is True
        assert [s.event_id for s in store.statuses] == ["ev-1", "ev-2"]  # recorded
        assert publisher.published == []  # the caller's transaction has not committed yet
        assert store.published_at == {}

    assert [json.loads(p.body)["event_id"] for p in publisher.published] == ["ev-1", "ev-2"]
    assert set(store.published_at) == {0, 1}  # marked once RabbitMQ confirmed them


def test_a_deferred_block_logs_its_statuses_when_it_ends_not_inside_it() -> None:
    # The block is around a unit of work that holds the store's writer lock: the log
    # lines (tens of microseconds each, rendered) come once it is over. A block that
    # raises logs none: nothing was reported.
    store, publisher = FakeStore(), FakePublisher()
    reporter = StatusReporter(store, publisher, "s")  # type: ignore[arg-type]

    with capture_logs() as logs:
        with reporter.deferred():
            reporter.report(_other("ev-1"))
            with pytest.raises(RuntimeError), reporter.deferred():
                reporter.report(_other("ev-2"))
                raise RuntimeError("the nested unit rolled back")
            inside = [line["event_id"] for line in logs if line["event"] == "status.reported"]
        after = [line["event_id"] for line in logs if line["event"] == "status.reported"]
        reporter.report(_other("ev-3"))  # outside any block: logged at once
        alone = [line["event_id"] for line in logs if line["event"] == "status.reported"]

    assert inside == []
    assert after == ["ev-1"]
    assert alone == ["ev-1", "ev-3"]
    reported = next(line for line in logs if line["event"] == "status.reported")
    assert (reported["sku"], reported["status"], reported["offer_id"]) == (
        IDENTITY["sku"],
        "UPDATED",
        "77",
    )


def test_a_deferred_block_that_raises_publishes_nothing() -> None:
    store, publisher = FakeStore(), FakePublisher()
    reporter = StatusReporter(store, publisher, "s")  # type: ignore[arg-type]

    with pytest.raises(RuntimeError), reporter.deferred():
        reporter.report(_other("ev-1"))
        raise RuntimeError("the unit of work rolled back")

    assert publisher.published == []
    reporter.report(_other("ev-2"))  # after the block: published at once again
    assert [json.loads(p.body)["event_id"] for p in publisher.published] == ["ev-2"]


def test_a_nested_block_that_raises_drops_only_its_own_statuses() -> None:
    store, publisher = FakeStore(), FakePublisher()
    reporter = StatusReporter(store, publisher, "s")  # type: ignore[arg-type]

    with reporter.deferred():
        reporter.report(_other("ev-1"))
        with pytest.raises(KeyError), reporter.deferred():
            reporter.report(_other("ev-2"))
            raise KeyError("this delivery failed")
        reporter.report(_other("ev-3"))
        assert publisher.published == []

    assert [json.loads(p.body)["event_id"] for p in publisher.published] == ["ev-1", "ev-3"]
