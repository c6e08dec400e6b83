"""Status publishers: publishing status messages with confirms (RabbitMQ answered them).

- :class:`ChannelPublisher`: on a pika channel of the caller's own connection;
- :class:`BrokerChannelPublisher`: on the Dramatiq broker's channel of the calling thread.

Both implement :class:`workers.status.Publisher`; :mod:`workers.status` re-exports them.
"""

from __future__ import annotations

import time
from typing import Any

import pika
import pika.exceptions
import structlog

__all__ = [
    "PUBLISH_ATTEMPTS",
    "BrokerChannelPublisher",
    "ChannelPublisher",
    "Outgoing",
]

# Named, not __name__: the publishers log as part of workers.status (which re-exports
# them), so their lines keep that logger name.
log = structlog.get_logger("workers.status")

#: Attempts of one publish when the connection breaks (each on a fresh channel).
PUBLISH_ATTEMPTS = 3


#: One message of a batch: exchange, routing key, body, properties.
Outgoing = tuple[str, str, bytes, pika.BasicProperties]


class ChannelPublisher:
    """Publishes on one pika channel, put into confirm mode here (single thread only).

    :meth:`publish_batch` publishes many messages on a second channel of the same
    connection in AMQP transaction mode: one ``tx.commit`` for all of them. RabbitMQ makes
    a transaction's messages routed and durable when it answers the commit, as a confirm
    does for one message, at the cost of one round trip instead of one per message."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self._tx_channel: Any = None
        channel.confirm_delivery()

    def publish_batch(self, messages: list[Outgoing]) -> None:
        """Publish ``messages`` (not mandatory) and return once RabbitMQ committed them all;
        raises otherwise (then none, some or all of them may have been routed)."""
        if len(messages) == 1:
            self.publish(*messages[0])
            return
        if self._tx_channel is None or not self._tx_channel.is_open:
            channel = self._channel.connection.channel()
            channel.tx_select()
            self._tx_channel = channel
        for exchange, routing_key, body, properties in messages:
            self._tx_channel.basic_publish(
                exchange=exchange, routing_key=routing_key, body=body, properties=properties
            )
        self._tx_channel.tx_commit()

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
