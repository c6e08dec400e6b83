"""Status reporting: recorded first, published once, with the contract's AMQP properties."""

from __future__ import annotations

import json
from typing import Any

import pika.exceptions
import pytest

from schemas.status import Status
from workers.allegro import ErrorItem
from workers.status import (
    PUBLISH_ATTEMPTS,
    BrokerChannelPublisher,
    StatusReporter,
    allegro_errors,
    status_for,
)

from .conftest import FakePublisher, FakeStore

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
