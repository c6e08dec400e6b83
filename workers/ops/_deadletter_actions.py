"""What the ``deadletters`` commands do to the queues: find them, read their messages
without removing them, replay and purge.

How a replay moves a message without losing it, and what it changes in it, is told in
:mod:`workers.ops.deadletters`. :func:`plan_replay` is pure; :func:`peek`, :func:`replay`
and :func:`purge` work on a blocking connection
(:func:`workers.ops._amqp.blocking_connection`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pika.exceptions

from schemas.errors import EventError
from schemas.events import parse_event
from workers.ops import EXIT_USAGE, OpsError
from workers.ops._amqp import require_depth, take, walk
from workers.ops._deadletter_format import ROUTING_KEY_HEADERS, DeadLetter, describe
from workers.settings import Settings
from workers.topology import Names, dead_letter_queue

__all__ = [
    "RESET_OPTIONS",
    "XQ_SUFFIX",
    "NotReplayable",
    "PurgeReport",
    "ReplayReport",
    "ReplayTarget",
    "dead_letter_queues",
    "find",
    "peek",
    "plan_replay",
    "purge",
    "replay",
    "resolve_queue",
]

#: Options of a Dramatiq message that belong to its failed run and are reset on replay.
RESET_OPTIONS = ("retries", "deferrals", "traceback", "eta", "requeue_timestamp")
#: What Dramatiq appends to a step queue's name for its dead-letter queue.
XQ_SUFFIX = ".XQ"


# --- names -----------------------------------------------------------------------------------


def dead_letter_queues(settings: Settings) -> list[str]:
    """Every dead-letter queue: the step queues' ``.XQ`` and the parked-event queue."""
    names = Names.of(settings)
    return [dead_letter_queue(q) for q in names.steps.values()] + [names.rejected_queue]


def resolve_queue(settings: Settings, name: str) -> str:
    """The dead-letter queue meant by ``name``: a full name (``enrich.XQ``), a name without
    the prefix, a step (``enrich``), or ``rejected`` for the parked events. Anything that
    is not a dead-letter queue is refused (exit 2), so no live queue is emptied by a typo."""
    known = dead_letter_queues(settings)
    names = Names.of(settings)
    candidates = [name, settings.name(name), dead_letter_queue(settings.name(name))]
    if name in ("rejected", "ingest", "ingest.rejected"):
        candidates.append(names.rejected_queue)
    for candidate in candidates:
        if candidate in known:
            return candidate
    if name.endswith(XQ_SUFFIX) and len(name) > len(XQ_SUFFIX):
        return name  # an XQ of a queue the topology does not name (an extra actor)
    raise OpsError(
        f"{name!r} is not a dead-letter queue; use one of {', '.join(known)}",
        exit_code=EXIT_USAGE,
    )


# --- planning a replay (pure) ---------------------------------------------------------------


class NotReplayable(Exception):
    """This message cannot be replayed as it is; the message says why and what to do."""


@dataclass(frozen=True)
class ReplayTarget:
    """Where and how a dead letter is published again."""

    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties


def plan_replay(letter: DeadLetter, names: Names, *, force: bool = False) -> ReplayTarget:
    """The message to publish for ``letter`` (see :mod:`workers.ops.deadletters`). Raises
    :class:`NotReplayable` for a parked event that still fails the contract check (unless
    ``force``) or whose routing key cannot be told."""
    if letter.kind == "dramatiq":
        assert letter.payload is not None
        step_queue = letter.queue.removesuffix(XQ_SUFFIX)
        message = dict(letter.payload)
        options = {
            k: v for k, v in dict(message.get("options") or {}).items() if k not in RESET_OPTIONS
        }
        options["replays"] = int(options.get("replays") or 0) + 1
        # A fresh timestamp, so that an actor's max_age (AgeLimit) counts from the replay.
        options.setdefault("first_timestamp", message.get("message_timestamp"))
        message.update(
            queue_name=step_queue,
            options=options,
            message_timestamp=int(datetime.now(UTC).timestamp() * 1000),
        )
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        priority = letter.properties.get("priority")
        return ReplayTarget(
            "",
            step_queue,
            body,
            pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent, priority=priority),
        )
    if letter.routing_key is None:
        raise NotReplayable(
            "its original routing key is unknown (no x-original-routing-key header, no "
            "x-death, no valid type in the body); the upstream must re-publish it"
        )
    if not force:
        try:
            parse_event(letter.body, routing_key=letter.routing_key)
        except EventError as exc:
            first = exc.field_errors[0] if exc.field_errors else exc
            raise NotReplayable(
                f"still invalid ({first}); the upstream must fix and re-publish it "
                "(--force replays it anyway)"
            ) from None
    kept = {
        k: v
        for k, v in letter.headers.items()
        if k != "x-death"
        and not k.startswith("x-rejected")
        and k not in ROUTING_KEY_HEADERS
        and not k.startswith("x-first-death")
        and not k.startswith("x-last-death")
    }
    kept["x-replayed-from"] = letter.queue
    props = letter.properties
    return ReplayTarget(
        names.products_exchange,
        letter.routing_key,
        letter.body,
        pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type=props.get("content_type") or "application/json",
            message_id=props.get("message_id"),
            correlation_id=props.get("correlation_id"),
            app_id=props.get("app_id"),
            timestamp=props.get("timestamp"),
            headers=kept,
        ),
    )


# --- reading, replaying and purging (RabbitMQ) -------------------------------------------


def _taken(channel: Any, queue: str, depth: int) -> Iterator[tuple[int, DeadLetter]]:
    for tag, properties, body in take(channel, queue, depth):
        yield tag, describe(queue, body, properties)


def peek(connection: Any, queue: str, limit: int) -> tuple[int, list[DeadLetter]]:
    """The queue's depth and up to ``limit`` of its messages, oldest first; nothing is
    removed (see :func:`workers.ops._amqp.walk`)."""
    with walk(connection, queue) as (channel, depth):
        return depth, [letter for _, letter in _taken(channel, queue, min(depth, limit))]


def find(connection: Any, queue: str, message_id: str) -> DeadLetter | None:
    """The message of ``queue`` with ``message_id``, or None; nothing is removed."""
    with walk(connection, queue) as (channel, depth):
        for _, letter in _taken(channel, queue, depth):
            if letter.message_id == message_id:
                return letter
    return None


@dataclass
class ReplayReport:
    """What :func:`replay` did: ``skipped`` with the reason, ``missing`` the ids asked for
    that the queue does not hold, ``total`` the messages the queue held."""

    replayed: list[DeadLetter]
    skipped: list[tuple[DeadLetter, str]]
    missing: list[str]
    total: int


def replay(
    connection: Any,
    settings: Settings,
    queue: str,
    message_ids: Sequence[str] | None,
    *,
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int = 100,
) -> ReplayReport:
    """Replay the messages of ``queue`` named by ``message_ids`` (all when None).

    Each is published (confirmed, mandatory) before it is acknowledged; see
    :mod:`workers.ops.deadletters`. ``progress(done, seen)`` is called every
    ``progress_every`` replayed messages.
    """
    names = Names.of(settings)
    wanted = set(message_ids) if message_ids is not None else None
    report = ReplayReport([], [], [], 0)
    with walk(connection, queue, confirm=not dry_run) as (channel, depth):
        report.total = depth
        for seen, (tag, letter) in enumerate(_taken(channel, queue, depth), start=1):
            if wanted is not None and letter.message_id not in wanted:
                continue
            if wanted is not None:
                wanted.discard(letter.message_id)
            try:
                target = plan_replay(letter, names, force=force)
            except NotReplayable as exc:
                report.skipped.append((letter, str(exc)))
                continue
            if not dry_run:
                try:
                    channel.basic_publish(
                        target.exchange,
                        target.routing_key,
                        target.body,
                        properties=target.properties,
                        mandatory=True,
                    )
                except pika.exceptions.UnroutableError:
                    where = target.exchange or "the default exchange"
                    report.skipped.append(
                        (letter, f"no queue takes routing key {target.routing_key!r} on {where}")
                    )
                    continue
                except pika.exceptions.NackError:
                    report.skipped.append((letter, "RabbitMQ refused the new message (nack)"))
                    continue
                channel.basic_ack(tag)
            report.replayed.append(letter)
            if progress is not None and len(report.replayed) % progress_every == 0:
                progress(len(report.replayed), seen)
            if wanted is not None and not wanted:
                break
    report.missing = sorted(wanted or ())
    return report


@dataclass
class PurgeReport:
    """What :func:`purge` did: ``kept`` younger messages, ``undated`` of unknown age."""

    deleted: int
    kept: int
    undated: int


def purge(
    connection: Any, queue: str, older_than: timedelta | None, *, now: datetime | None = None
) -> PurgeReport:
    """Delete every message of ``queue``, or only those dead-lettered longer ago than
    ``older_than`` (messages of unknown age are kept)."""
    if older_than is None:
        require_depth(connection, queue)
        channel = connection.channel()
        frame = channel.queue_purge(queue)
        channel.close()
        return PurgeReport(int(frame.method.message_count), 0, 0)
    cutoff = (now or datetime.now(UTC)) - older_than
    report = PurgeReport(0, 0, 0)
    with walk(connection, queue) as (channel, depth):
        for tag, letter in _taken(channel, queue, depth):
            if letter.dead_since is None:
                report.undated += 1
            elif letter.dead_since <= cutoff:
                channel.basic_ack(tag)
                report.deleted += 1
            else:
                report.kept += 1
    return report
