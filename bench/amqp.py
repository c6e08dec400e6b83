"""RabbitMQ edges of the benchmark: publishing upstream events, collecting statuses.

- :class:`EventPublisher` publishes events per the upstream contract (DESIGN.md: persistent
  JSON to ``allegro.products``, ``message_id`` = ``event_id``, the type as routing key,
  ``mandatory``) with publisher confirms kept *in flight* (pika's blocking channel waits for
  each confirm in turn, about a thousand messages a second, which would make the
  publisher the bottleneck of a burst). It records when each event left this process.
- :class:`StatusCollector` consumes the prefixed ``allegro.status`` queue in a thread and
  records, per ``event_id``, the first status and when it arrived.

Both clocks are ``time.perf_counter()`` of this process, so ``arrived - sent`` is a latency.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
import pika.spec

__all__ = ["AmqpError", "EventPublisher", "Received", "StatusCollector"]

#: How often the publisher lets pika's I/O loop run while publishing a burst, messages.
_PUMP_EVERY = 200


class AmqpError(RuntimeError):
    """Publishing failed: the broker refused, returned or did not confirm messages."""


class EventPublisher:
    """Publishes events to one exchange with confirms in flight (see the module docstring).

    Drive it from one thread; ``publish`` returns once every message is confirmed.
    """

    def __init__(self, amqp_url: str, exchange: str, *, timeout_s: float = 60.0) -> None:
        self.exchange = exchange
        self._timeout_s = timeout_s
        self._channel: Any = None
        self._error: str | None = None
        self._closed = False
        self._sent = 0
        self._unconfirmed: set[int] = set()
        self._low_tag = 0  # every delivery tag up to this one is confirmed
        self._connection = pika.SelectConnection(
            pika.URLParameters(amqp_url),
            on_open_callback=lambda conn: conn.channel(on_open_callback=self._on_channel),
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )
        self._run_until(lambda: self._channel is not None, "connecting")

    # -- pika callbacks (inside the I/O loop) -------------------------------------------------

    def _on_channel(self, channel: Any) -> None:
        channel.add_on_return_callback(self._on_return)
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _f: None)
        self._channel = channel

    def _on_open_error(self, _connection: Any, error: BaseException) -> None:
        self._error = f"cannot connect to RabbitMQ: {error}"
        self._closed = True

    def _on_closed(self, _connection: Any, reason: BaseException) -> None:
        self._closed = True
        if self._unconfirmed and self._error is None:
            self._error = f"the connection closed: {reason}"

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        if self._error is None and not self._closed:
            self._error = f"RabbitMQ closed the channel: {reason}"

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        self._error = f"unroutable event {properties.message_id} (is the topology declared?)"

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            self._error = "RabbitMQ nacked an event"
        if method.multiple:
            for tag in range(self._low_tag + 1, method.delivery_tag + 1):
                self._unconfirmed.discard(tag)
            self._low_tag = max(self._low_tag, method.delivery_tag)
        else:
            self._unconfirmed.discard(method.delivery_tag)

    # -- driving the I/O loop from the calling thread -----------------------------------------

    def _run_for(self, seconds: float) -> None:
        ioloop = self._connection.ioloop
        ioloop.call_later(max(seconds, 0.0), ioloop.stop)
        ioloop.start()

    def _run_until(self, done: Callable[[], bool], doing: str) -> None:
        deadline = time.monotonic() + self._timeout_s
        while not done():
            if self._error is not None:
                raise AmqpError(f"{self._error} (while {doing})")
            if self._closed:
                raise AmqpError(f"the connection to RabbitMQ closed while {doing}")
            if time.monotonic() > deadline:
                raise AmqpError(f"timed out after {self._timeout_s:g} s {doing}")
            self._run_for(0.005)
        if self._error is not None:
            raise AmqpError(f"{self._error} (while {doing})")

    # -- public -------------------------------------------------------------------------------

    def publish(
        self, events: Sequence[dict[str, Any]], *, rate_per_s: float | None = None
    ) -> dict[str, float]:
        """Publish ``events`` (as fast as possible, or paced at ``rate_per_s``) and wait for
        every confirm. Returns ``event_id`` -> ``perf_counter()`` when it was sent."""
        sent_at: dict[str, float] = {}
        start = time.perf_counter()
        for index, event in enumerate(events):
            if rate_per_s:
                due = start + index / rate_per_s
                wait_s = due - time.perf_counter()
                if wait_s > 0:
                    self._run_for(wait_s)
            elif index % _PUMP_EVERY == 0:
                self._run_for(0)
            if self._error is not None:
                raise AmqpError(self._error)
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type="application/json",
                message_id=str(event["event_id"]),
            )
            sent_at[str(event["event_id"])] = time.perf_counter()
            self._channel.basic_publish(
                self.exchange,
                str(event["type"]),
                json.dumps(event).encode(),
                properties=properties,
                mandatory=True,
            )
            self._sent += 1
            self._unconfirmed.add(self._sent)  # delivery tags count 1, 2, ... per channel
        self._run_until(lambda: not self._unconfirmed, "waiting for confirms")
        return sent_at

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._closed:
            return
        with contextlib.suppress(pika.exceptions.AMQPError):
            self._connection.close()
        deadline = time.monotonic() + 10
        while not self._closed and time.monotonic() < deadline:
            self._run_for(0.01)


@dataclass(frozen=True)
class Received:
    """The first status message of one event and when it arrived (``perf_counter()``)."""

    status: str
    at: float
    body: dict[str, Any]


class StatusCollector:
    """Consumes one status queue in a thread (see the module docstring)."""

    def __init__(self, amqp_url: str, queue: str) -> None:
        self._parameters = pika.URLParameters(amqp_url)
        self._queue = queue
        self._cond = threading.Condition()
        self._first: dict[str, Received] = {}
        self._arrived: list[str] = []  # event ids in the order their first status came
        self.duplicates = 0
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="status-collector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            connection = pika.BlockingConnection(self._parameters)
            try:
                channel = connection.channel()
                channel.basic_qos(prefetch_count=1000)
                for method, _props, body in channel.consume(
                    self._queue, inactivity_timeout=0.05, auto_ack=True
                ):
                    if self._stop.is_set():
                        break
                    if method is None:
                        continue
                    self._add(body, time.perf_counter())
            finally:
                with contextlib.suppress(pika.exceptions.AMQPError):
                    connection.close()
        except BaseException as exc:  # surfaced by wait()
            self._error = exc
            with self._cond:
                self._cond.notify_all()

    def _add(self, body: bytes, at: float) -> None:
        message = json.loads(body)
        event_id = str(message.get("event_id"))
        with self._cond:
            if event_id in self._first:
                self.duplicates += 1
            else:
                self._first[event_id] = Received(str(message.get("status")), at, message)
                self._arrived.append(event_id)
            self._cond.notify_all()

    def wait(self, event_ids: Sequence[str], timeout_s: float) -> list[str]:
        """Wait until every id has a status or ``timeout_s`` passes; the ids still missing."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._error is not None:
                    raise AmqpError(f"the status collector failed: {self._error!r}")
                missing = [e for e in event_ids if e not in self._first]
                left = deadline - time.monotonic()
                if not missing or left <= 0:
                    return missing
                self._cond.wait(timeout=min(left, 0.5))

    def since(self, cursor: int, wait_s: float = 0.0) -> tuple[list[tuple[str, Received]], int]:
        """The first statuses that arrived after the first ``cursor`` ones, in arrival
        order, and the cursor to pass next time; waits up to ``wait_s`` for one."""
        with self._cond:
            if self._error is not None:
                raise AmqpError(f"the status collector failed: {self._error!r}")
            if len(self._arrived) <= cursor and wait_s > 0:
                self._cond.wait(timeout=wait_s)
            ids = self._arrived[cursor:]
            return [(e, self._first[e]) for e in ids], cursor + len(ids)

    def got(self, event_ids: Sequence[str]) -> dict[str, Received]:
        """The statuses received so far of ``event_ids``."""
        with self._cond:
            return {e: self._first[e] for e in event_ids if e in self._first}

    def counts(self, event_ids: Sequence[str]) -> Counter[str]:
        """How many of ``event_ids`` got each status so far."""
        return Counter(r.status for r in self.got(event_ids).values())
