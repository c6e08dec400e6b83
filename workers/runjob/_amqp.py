"""The AMQP side of ``make run`` (:mod:`workers.runjob`): waiting for the workers' topology,
deleting it afterwards, publishing the sample's events and collecting their statuses."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from workers.sample import SampleEvent
from workers.sample.report import StatusBoard
from workers.topology import INGEST_BINDING_KEYS, Names

from ._errors import RunError
from ._procs import STARTUP_TIMEOUT_S, tail


def wait_for_topology(
    params: pika.URLParameters,
    names: Names,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> None:
    """Wait until the workers have declared the exchange events go to, the ingest queue
    and the status queue (passive declarations), then bind the ingest queue as the workers
    do; RunError when the workers exit or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(
                f"the workers exited at start (code {proc.returncode}):\n{tail(log_path)}"
            )
        try:
            connection = pika.BlockingConnection(params)
        except pika.exceptions.AMQPError:
            time.sleep(0.3)
            continue
        try:
            channel = connection.channel()
            channel.exchange_declare(names.products_exchange, passive=True)
            channel.queue_declare(names.status_queue, passive=True)
            channel.queue_declare(names.ingest_queue, passive=True)
            # The workers declare the queues before they bind them: bound here as well
            # (the same bindings, idempotent), the first event published is routed even
            # when it comes between the two.
            for key in INGEST_BINDING_KEYS:
                channel.queue_bind(
                    queue=names.ingest_queue, exchange=names.products_exchange, routing_key=key
                )
            return
        except pika.exceptions.ChannelClosedByBroker:
            time.sleep(0.3)
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()
    raise RunError(
        f"the workers did not declare {names.products_exchange} and {names.status_queue} "
        f"within {timeout_s:.0f} s:\n{tail(log_path)}"
    )


def delete_topology(params: pika.URLParameters, names: Names) -> None:
    """Delete every queue and exchange of the run's prefix (missing ones are fine)."""
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        for queue in names.all_queues():
            try:
                channel.queue_delete(queue)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
        for exchange in (names.products_exchange, names.status_exchange):
            try:
                channel.exchange_delete(exchange)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()


# --- publishing and collecting --------------------------------------------------------------


def publish_events(
    channel: BlockingChannel,
    exchange: str,
    events: Sequence[SampleEvent],
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Publish ``events`` as upstream does: persistent JSON, ``message_id`` = ``event_id``,
    the type as routing key, ``mandatory`` and confirmed one by one (``channel`` must be in
    confirm mode). Returns how many were published.

    Raises pika's ``UnroutableError`` when no queue is bound for a routing key, and
    ``NackError`` when RabbitMQ refuses a message.
    """
    for count, event in enumerate(events, start=1):
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            message_id=event.event_id,
        )
        channel.basic_publish(
            exchange=exchange,
            routing_key=event.routing_key,
            body=event.payload(),
            properties=properties,
            mandatory=True,
        )
        if on_progress is not None:
            on_progress(count, len(events))
    return len(events)


def collect_statuses(
    channel: BlockingChannel,
    queue: str,
    board: StatusBoard,
    wanted: Sequence[str],
    deadline: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Consume ``queue`` into ``board`` until every id of ``wanted`` has a status or the
    monotonic ``deadline`` passes; returns the ids still without one."""
    missing = [e for e in wanted if not board.has(e)]
    if not missing:
        return []
    for method, _properties, body in channel.consume(queue, inactivity_timeout=0.2):
        if method is not None:
            board.add(body)
            channel.basic_ack(method.delivery_tag)
        done = sum(1 for e in wanted if board.has(e))
        if on_progress is not None:
            on_progress(done, len(wanted))
        if done == len(wanted) or time.monotonic() > deadline:
            break
    channel.cancel()
    return [e for e in wanted if not board.has(e)]
