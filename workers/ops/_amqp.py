"""RabbitMQ for the operations commands: connecting, reading a queue without removing its
messages, and publishing batches with publisher confirms.

Shared by ``deadletters`` and ``publish``. Connecting and the confirmed publisher raise
:class:`~workers.ops.OpsError` for what the operator can act on (a URL pika cannot use, a
broker that is down, a missing exchange); other failures of a blocking connection stay
:class:`pika.exceptions.AMQPError`, for the command to report.

Reading without losing (:func:`walk` and :func:`take`): each message is taken with
``basic.get`` and not acknowledged; when the block ends, all of them are given back at once
(``basic.nack`` with ``requeue``), and RabbitMQ puts them back at their original places. A
crash gives them back the same way: an unacknowledged message returns when its channel
closes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
import pika.spec

from workers.ops import EXIT_USAGE, OpsError

__all__ = [
    "BatchPublisher",
    "PublishFailure",
    "blocking_connection",
    "queue_depth",
    "require_depth",
    "take",
    "walk",
]


def _unusable_url(exc: Exception) -> OpsError:
    return OpsError(f"ALLEGRO_FEED_AMQP_URL is not usable: {exc}", exit_code=EXIT_USAGE)


# --- a blocking connection, and reading without removing --------------------------------------


@contextlib.contextmanager
def blocking_connection(amqp_url: str) -> Iterator[Any]:
    """A blocking connection to ``amqp_url``, closed when the block ends. Raises
    :class:`OpsError`: usage (2) for a URL pika cannot use, failed (1) when the broker
    cannot be reached."""
    try:
        parameters = pika.URLParameters(amqp_url)
        connection = pika.BlockingConnection(parameters)
    except pika.exceptions.AMQPError as exc:
        raise OpsError(
            f"cannot connect to RabbitMQ ({exc!r}); check ALLEGRO_FEED_AMQP_URL"
        ) from None
    except ValueError as exc:
        raise _unusable_url(exc) from None
    try:
        yield connection
    finally:
        if connection.is_open:
            connection.close()


def queue_depth(connection: Any, queue: str) -> int | None:
    """Messages ready in ``queue``, or None when it does not exist."""
    channel = connection.channel()
    try:
        frame = channel.queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    channel.close()
    return int(frame.method.message_count)


def require_depth(connection: Any, queue: str) -> int:
    """Messages ready in ``queue``; raises :class:`OpsError` when it does not exist."""
    depth = queue_depth(connection, queue)
    if depth is None:
        raise OpsError(f"queue {queue!r} does not exist (nothing was ever dead-lettered there?)")
    return depth


@contextlib.contextmanager
def walk(connection: Any, queue: str, *, confirm: bool = False) -> Iterator[tuple[Any, int]]:
    """A channel to take messages from ``queue`` with, and the queue's depth. Every
    message taken and not acknowledged is given back, in place, when the block ends.
    ``confirm`` puts the channel in publisher-confirm mode (to publish from it too)."""
    depth = require_depth(connection, queue)
    channel = connection.channel()
    if confirm:
        channel.confirm_delivery()
    try:
        yield channel, depth
    finally:
        if channel.is_open:
            channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
            channel.close()


def take(channel: Any, queue: str, depth: int) -> Iterator[tuple[int, Any, bytes]]:
    """``(delivery tag, properties, body)`` of up to ``depth`` messages of ``queue``, oldest
    first, taken without acknowledging them (see :func:`walk`)."""
    # At most `depth` gets: messages taken stay unacknowledged and are not seen twice, and
    # messages added meanwhile wait for the next run.
    for _ in range(depth):
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            return
        yield method.delivery_tag, properties, body


# --- publishing with confirms ------------------------------------------------------------------


@dataclass(frozen=True)
class PublishFailure:
    """An event the broker did not take: ``reason`` is ``unroutable`` (no queue is bound
    for its routing key), ``nacked`` (the broker refused it) or ``unconfirmed``."""

    message_id: str
    routing_key: str
    reason: str


@dataclass
class _Pending:
    message_id: str
    routing_key: str


@dataclass
class _State:
    channel: Any = None
    ready: bool = False
    error: str | None = None
    next_tag: int = 1
    pending: dict[int, _Pending] = field(default_factory=dict)
    returned: set[str] = field(default_factory=set)
    failures: list[PublishFailure] = field(default_factory=list)
    closed: bool = False


class BatchPublisher:
    """Publishes batches of messages to one exchange and waits for every confirm.

    pika's blocking channel waits for each confirm in turn (about a thousand persistent
    messages a second); a batch here is published at once and its confirms awaited
    together, which is what ``--batch`` sizes. Every message is ``mandatory``: one that no
    queue takes comes back and is reported as ``unroutable`` rather than lost.

    Raises :class:`OpsError` when the broker cannot be reached, the exchange does not
    exist, or confirms do not arrive within ``timeout_s`` seconds.
    """

    def __init__(self, amqp_url: str, exchange: str, *, timeout_s: float = 60.0) -> None:
        self.exchange = exchange
        self._timeout_s = timeout_s
        self._state = _State()
        self._closing = False
        self._ioloop_closed = False
        try:
            parameters = pika.URLParameters(amqp_url)
        except Exception as exc:  # pika raises plain ValueError/AttributeError here
            raise _unusable_url(exc) from None
        self._connection = pika.SelectConnection(
            parameters,
            on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_error,
            on_close_callback=self._on_connection_closed,
        )
        try:
            self._run_until(lambda: self._state.ready, "connecting to RabbitMQ")
        except BaseException:
            self.close()
            raise

    # callbacks run inside the I/O loop; each stops it so that _run_until looks again
    def _on_connection_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_error(self, _connection: Any, error: BaseException) -> None:
        self._state.closed = True
        self._fail(f"cannot connect to RabbitMQ ({error}); check ALLEGRO_FEED_AMQP_URL")

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        self._state.closed = True
        if not self._state.error and self._state.pending:
            self._fail(f"the connection to RabbitMQ closed: {reason}")
        self._stop()

    def _on_channel_open(self, channel: Any) -> None:
        self._state.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirming)

    def _on_confirming(self, _frame: Any) -> None:
        # The exchange must exist: publishing to a missing one would close the channel.
        self._state.channel.exchange_declare(
            self.exchange, passive=True, callback=self._on_exchange_found
        )

    def _on_exchange_found(self, _frame: Any) -> None:
        self._state.ready = True
        self._stop()

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        if self._closing:
            self._stop()
            return
        code = getattr(reason, "reply_code", None)
        if code == 404 and not self._state.ready:
            self._fail(
                f"exchange {self.exchange!r} does not exist: start the workers once "
                "(allegro-feed worker) or load deploy/'s RabbitMQ definitions"
            )
        else:
            self._fail(f"RabbitMQ closed the channel: {reason}")

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        self._state.returned.add(str(properties.message_id))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        nacked = isinstance(method, pika.spec.Basic.Nack)
        tags = (
            [t for t in self._state.pending if t <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        for tag in tags:
            entry = self._state.pending.pop(tag, None)
            if entry is None:
                continue
            if nacked:
                reason = "nacked"
            elif entry.message_id in self._state.returned:
                reason = "unroutable"
            else:
                continue
            self._state.failures.append(PublishFailure(entry.message_id, entry.routing_key, reason))
        self._stop()

    def _give_up_closing(self) -> None:
        self._state.closed = True  # the socket is dropped with the I/O loop below
        self._stop()

    def _fail(self, message: str) -> None:
        if self._state.error is None:
            self._state.error = message
        self._stop()

    def _stop(self) -> None:
        self._connection.ioloop.stop()

    def _run_until(self, done: Callable[[], bool], doing: str) -> None:
        timer = self._connection.ioloop.call_later(
            self._timeout_s, lambda: self._fail(f"timed out after {self._timeout_s:g} s {doing}")
        )
        try:
            while not done() and self._state.error is None and not self._state.closed:
                self._connection.ioloop.start()
        finally:
            self._connection.ioloop.remove_timeout(timer)
        if self._state.error is not None:
            raise OpsError(self._state.error)
        if not done():
            raise OpsError(f"the connection to RabbitMQ closed while {doing}")

    def publish(
        self, messages: Sequence[tuple[str, bytes, str]], *, content_type: str = "application/json"
    ) -> list[PublishFailure]:
        """Publish ``(routing key, body, message id)`` items, persistent, and wait for all
        their confirms. Returns the ones the broker did not take."""
        state = self._state
        state.failures = []
        state.returned = set()
        for routing_key, body, message_id in messages:
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type=content_type,
                message_id=message_id,
                timestamp=int(time.time()),
            )
            state.channel.basic_publish(
                self.exchange, routing_key, body, properties=properties, mandatory=True
            )
            state.pending[state.next_tag] = _Pending(message_id, routing_key)
            state.next_tag += 1
        self._run_until(lambda: not state.pending, "waiting for publisher confirms")
        return list(state.failures)

    def close(self) -> None:
        """Close the connection (waits for it to close, at most ``timeout_s``) and the I/O
        loop's own sockets. Safe to call twice."""
        ioloop = self._connection.ioloop
        if not self._state.closed and not self._closing:
            self._closing = True
            with contextlib.suppress(pika.exceptions.ConnectionWrongStateError):
                self._connection.close()  # raises when it is closing already
            timer = ioloop.call_later(self._timeout_s, self._give_up_closing)
            while not self._state.closed:
                ioloop.start()
            ioloop.remove_timeout(timer)
        if not self._ioloop_closed:
            self._ioloop_closed = True
            # pika closes the socket in a callback scheduled after "closed" was reported:
            # one more turn of the loop runs it.
            ioloop.call_later(0, ioloop.stop)
            ioloop.start()
            ioloop.close()

    def __enter__(self) -> BatchPublisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
