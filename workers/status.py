"""Status reporting: the one terminal status of every event, recorded and published.

:meth:`StatusReporter.report` first appends the status to the store's history
(``Store.add_status``), which refuses a second terminal status for the same event; only a
status the store took is published, to the exchange ``allegro.status`` with routing key
``offer.<status>``, persistent, ``content_type=application/json`` and
``message_id=<event_id>:<status>`` (consumers may deduplicate on it), with publisher
confirms. A redelivered or retried message therefore never publishes a second status, and
two workers racing on the same event publish one.

Publishing needs a pika channel in confirm mode, owned by the calling thread:

- :class:`BrokerChannelPublisher` for actor threads: the Dramatiq broker's thread-local,
  confirmed channel (``broker.channel``), reopened after a connection loss;
- :class:`ChannelPublisher` for the ingest bridge: a channel of its own connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pika
import pika.exceptions
import structlog

from schemas.status import Status, StatusError, StatusMessage
from workers.allegro.errors import ErrorItem

__all__ = [
    "PUBLISH_ATTEMPTS",
    "BrokerChannelPublisher",
    "ChannelPublisher",
    "Publisher",
    "StatusRecorder",
    "StatusReporter",
    "allegro_errors",
    "status_for",
    "status_properties",
]

log = structlog.get_logger(__name__)

#: Attempts of one publish when the connection breaks (each on a fresh channel).
PUBLISH_ATTEMPTS = 3


class Publisher(Protocol):
    """Publishes one message and returns once RabbitMQ confirmed it (raises otherwise)."""

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None: ...


class StatusRecorder(Protocol):
    """The part of :class:`workers.store.base.Store` the reporter uses."""

    def add_status(self, message: StatusMessage) -> bool: ...


def status_properties(message: StatusMessage) -> pika.BasicProperties:
    """AMQP properties of a status message (persistent JSON, id ``<event_id>:<status>``)."""
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=f"{message.event_id}:{message.status}" if message.event_id else None,
        timestamp=int(message.at.timestamp()),
        type=message.routing_key,
    )


def status_for(
    identity: Mapping[str, Any],
    status: Status,
    *,
    errors: Iterable[StatusError] = (),
    **fields: Any,
) -> StatusMessage:
    """A status naming the event in ``identity`` (``event_id``, ``sku``, ``account``,
    ``version``); ``fields`` are the others (``offer_id``, ``attempts``, ...)."""
    return StatusMessage.model_validate(
        {
            "event_id": identity.get("event_id"),
            "sku": identity.get("sku"),
            "account": identity.get("account"),
            "version": identity.get("version"),
            "status": status,
            "errors": list(errors),
            **fields,
        }
    )


def allegro_errors(items: Iterable[ErrorItem], *, fallback: str) -> list[StatusError]:
    """Allegro's error items as status items (codes and texts pass through unchanged);
    one item with ``fallback`` as its message when Allegro sent none."""
    errors = [
        StatusError(
            code=item.code or "ALLEGRO_ERROR",
            message=item.message or item.user_message or item.code or fallback,
            path=item.path,
            user_message=item.user_message or item.message or fallback,
        )
        for item in items
    ]
    return errors or [StatusError(code="ALLEGRO_ERROR", message=fallback, user_message=fallback)]


class StatusReporter:
    """Records a status in the store and publishes it, once per event (see module doc)."""

    def __init__(self, store: StatusRecorder, publisher: Publisher, exchange: str) -> None:
        self._store = store
        self._publisher = publisher
        self.exchange = exchange

    def report(self, message: StatusMessage) -> bool:
        """Record and publish ``message``; False (nothing published) when the event already
        has its terminal status. Raises when the store or RabbitMQ fails."""
        if not self._store.add_status(message):
            log.info(
                "status.already_reported",
                event_id=message.event_id,
                sku=message.sku,
                status=str(message.status),
            )
            return False
        self._publisher.publish(
            self.exchange, message.routing_key, message.to_json(), status_properties(message)
        )
        log.info(
            "status.reported",
            event_id=message.event_id,
            sku=message.sku,
            account=message.account,
            version=message.version,
            status=str(message.status),
            offer_id=message.offer_id,
            publication_status=message.publication_status,
            trace_id=message.trace_id,
            attempts=message.attempts,
            errors=[f"{e.code}: {e.message}" for e in message.errors][:5] or None,
        )
        return True


class ChannelPublisher:
    """Publishes on one pika channel, put into confirm mode here (single thread only)."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        channel.confirm_delivery()

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None:
        # In confirm mode basic_publish waits for the broker's ack; a nack raises NackError
        # and, with mandatory, an unroutable message raises UnroutableError.
        self._channel.basic_publish(
            exchange=exchange,
            routing_key=routing_key,
            body=body,
            properties=properties,
            mandatory=mandatory,
        )


class BrokerChannelPublisher:
    """Publishes on the Dramatiq broker's confirmed channel of the calling thread.

    After a connection or channel error the thread's connection is dropped (the broker
    opens a new one on next use) and the publish is tried again, at most
    :data:`PUBLISH_ATTEMPTS` times; a message RabbitMQ refused (nack, unroutable) is not
    re-sent.
    """

    def __init__(self, broker: Any, *, pause_s: float = 0.2) -> None:
        self._broker = broker
        self._pause_s = pause_s

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None:
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                self._broker.channel.basic_publish(
                    exchange=exchange,
                    routing_key=routing_key,
                    body=body,
                    properties=properties,
                    mandatory=mandatory,
                )
                return
            except (pika.exceptions.NackError, pika.exceptions.UnroutableError):
                raise
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError):
                del self._broker.connection
                if attempt == PUBLISH_ATTEMPTS:
                    raise
                log.warning("status.publish_retry", exchange=exchange, attempt=attempt)
                time.sleep(self._pause_s * attempt)
