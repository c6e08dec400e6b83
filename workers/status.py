"""Status reporting: the one terminal status of every event, recorded, then published.

The store's status history is an outbox. :meth:`StatusReporter.report` first appends the
status (``Store.add_status``), unpublished; then publishes it to the exchange
``allegro.status`` with routing key ``offer.<status>``, persistent,
``content_type=application/json`` and ``message_id=<event_id>:<status>``, with publisher
confirms; then marks it published (``Store.mark_statuses_published``). A status is never lost
when a process dies between recording and publishing it:

- the store refuses a second terminal status for an event (a ``FAILED`` one excepted, see
  *Replays*), so a redelivered or retried message cannot report a new one; instead every
  step first asks :meth:`settled`, which publishes the event's stored status when it is
  still unpublished, and then lets the message be acked (a refused :meth:`report` does the
  same);
- a *sweep* (:meth:`StatusReporter.sweep`) publishes every status left unpublished for
  longer than :data:`SWEEP_MIN_AGE_S`, also those whose message was acked already: each
  worker process runs it at start, the ingest bridge at start and every
  :data:`SWEEP_INTERVAL_S`.

**Duplicates.** A status message may therefore reach ``allegro.status`` twice, but only in
that crash window: when a process died (or lost its store) after RabbitMQ confirmed the
message and before the store marked it, when a publication hung longer than the sweep's
minimum age, or when a redelivery of the event's message ran while the first run was
between recording and marking. Both copies carry the same ``message_id``: consumers that
must see each status once deduplicate on it.

**Replays.** An event reported ``FAILED`` is dead-lettered and may be replayed; the
replay's outcome is reported too (``Store.add_status`` takes exactly one more terminal
status after a ``FAILED`` one), so a consumer sees ``FAILED`` and then the final status.
A replay that fails again is ``FAILED`` with the same ``message_id`` as the first failure.

Publishing needs a pika channel in confirm mode, owned by the calling thread (the
publishers live in :mod:`workers.status_publishers` and are re-exported here):

- :class:`BrokerChannelPublisher` for actor threads: the Dramatiq broker's thread-local,
  confirmed channel (``broker.channel``), reopened after a connection loss;
- :class:`ChannelPublisher` for the ingest bridge and the sweep at worker start: a channel
  of its own connection.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pika
import structlog

from schemas.status import Status, StatusError, StatusMessage
from workers.allegro.errors import ErrorItem
from workers.logging import redact_text
from workers.metrics import count_status
from workers.status_publishers import (
    PUBLISH_ATTEMPTS,
    BrokerChannelPublisher,
    ChannelPublisher,
    Outgoing,
)
from workers.store.base import StoredStatus

__all__ = [
    "PUBLISH_ATTEMPTS",
    "SWEEP_INTERVAL_S",
    "SWEEP_LEASE",
    "SWEEP_MIN_AGE_S",
    "BrokerChannelPublisher",
    "ChannelPublisher",
    "Outgoing",
    "Publisher",
    "StatusRecorder",
    "StatusReporter",
    "allegro_errors",
    "scrubbed",
    "status_for",
    "status_properties",
]

log = structlog.get_logger(__name__)

#: The sweep leaves statuses younger than this alone: their reporter is most likely between
#: recording and publishing them, and publishing them too would only make duplicates, s.
SWEEP_MIN_AGE_S = 10.0
#: How often the ingest bridge sweeps the outbox, s.
SWEEP_INTERVAL_S = 30.0
#: Statuses read per page of one sweep, and pages at most (a bigger backlog is left to the
#: next sweep, so one sweep never holds its caller long).
SWEEP_BATCH = 500
SWEEP_MAX_PAGES = 10
#: The store lease that lets one sweep run at a time, as (account, sku) of the lease table:
#: "#" is no letter of an account name, so no SKU's lease can be this one.
SWEEP_LEASE = ("#allegro-feed", "status-outbox-sweep")
#: How long one sweep may hold :data:`SWEEP_LEASE`, s.
SWEEP_LEASE_S = 120.0


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

    def add_statuses(self, messages: Sequence[StatusMessage]) -> list[bool]: ...

    def terminal_entry(self, event_id: str) -> StoredStatus | None: ...

    def mark_statuses_published(self, published: Sequence[tuple[str, Status]]) -> None: ...

    def unpublished_statuses(
        self, limit: int = 100, *, min_age_s: float = 0.0
    ) -> list[StatusMessage]: ...

    def acquire_lease(self, account: str, sku: str, owner: str, ttl_s: float) -> bool: ...

    def release_lease(self, account: str, sku: str, owner: str) -> None: ...


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


def scrubbed(message: StatusMessage) -> StatusMessage:
    """``message`` with every secret removed from its error texts
    (:func:`workers.logging.redact_text`); the same object when there was none. The one
    place that scrubs a status's texts: :meth:`StatusReporter.report` and
    :meth:`~StatusReporter.report_many` apply it before a status is stored and published,
    whatever path made it (Allegro's own texts are scrubbed when parsed, earlier)."""
    if not message.errors:
        return message
    errors: list[StatusError] = []
    changed = False
    for error in message.errors:
        text = redact_text(error.message)
        user = redact_text(error.user_message) if error.user_message else error.user_message
        if text != error.message or user != error.user_message:
            changed = True
            error = error.model_copy(update={"message": text, "user_message": user})
        errors.append(error)
    return message.model_copy(update={"errors": errors}) if changed else message


def allegro_errors(items: Iterable[ErrorItem], *, fallback: str) -> list[StatusError]:
    """Allegro's error items as status items; one item with ``fallback`` as its message
    when Allegro sent none. Not scrubbed here: the items were scrubbed of secrets when
    parsed, and :meth:`StatusReporter.report` scrubs every text (:func:`scrubbed`)."""
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
    """Records a status in the store, publishes it and marks it published: once per event
    and delivery attempt chain (see the module doc)."""

    def __init__(
        self,
        store: StatusRecorder,
        publisher: Publisher,
        exchange: str,
        *,
        runner: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        """``runner``: runs each publication job (publish, then mark published); default:
        here and now, its failure raised to the caller. A process that publishes from a
        thread of its own (the batcher) passes that thread's queue: the caller goes on at
        once, and a job that fails leaves its statuses to the outbox sweep."""
        self._store = store
        self._publisher = publisher
        self.exchange = exchange
        self._run = runner or _run_now
        self._local = threading.local()  # .pending: the deferred block's statuses

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A block in which :meth:`report` (and :meth:`settled`) record statuses but
        publish none: they are published when the block ends without an error, in order,
        then marked published in one store transaction. Open it *around* the
        caller's unit of work, so that nothing is published before its record committed.
        A block that raises publishes nothing: what it recorded and committed anyway is
        left to the outbox sweep. Nested blocks join the outermost (per thread); one that
        raises drops its own statuses (as its nested unit of work drops their records)."""
        outer: list[StatusMessage] | None = getattr(self._local, "pending", None)
        if outer is not None:
            logged: list[StatusMessage] = self._local.logged
            marks = len(outer), len(logged)
            try:
                yield
            except BaseException:
                del outer[marks[0] :]  # a nested block that failed publishes nothing
                del logged[marks[1] :]
                raise
            return
        self._local.pending, self._local.logged = [], []
        try:
            yield
            pending: list[StatusMessage] = self._local.pending
            logged = self._local.logged
        finally:
            self._local.pending = self._local.logged = None
        self._publish_all(pending)
        # Logged here, not where recorded: that is inside the caller's unit of work, and a
        # rendered line costs tens of microseconds of the store's writer lock.
        for message in logged:
            _log_reported(message)

    def _publish_all(self, messages: list[StatusMessage]) -> None:
        if messages:
            self._run(functools.partial(self._publish_and_mark, messages))

    def _publish_and_mark(self, messages: list[StatusMessage]) -> None:
        outgoing = [
            (self.exchange, m.routing_key, m.to_json(), status_properties(m)) for m in messages
        ]
        publish_batch = getattr(self._publisher, "publish_batch", None)
        if callable(publish_batch):
            publish_batch(outgoing)  # one commit for all of them
        else:
            for exchange, routing_key, body, properties in outgoing:
                self._publisher.publish(exchange, routing_key, body, properties)
        published = [(m.event_id, m.status) for m in messages if m.event_id is not None]
        if published:
            # A crash right here publishes the statuses once more later, same message_id.
            self._store.mark_statuses_published(published)

    def report(self, message: StatusMessage) -> bool:
        """Record and publish ``message``; False when the event already has its terminal
        status (then that one is published if it is still unpublished). Raises when the
        store or RabbitMQ fails: the status stays in the outbox."""
        message = scrubbed(message)
        return self._reported(message, self._store.add_status(message))

    def report_many(self, messages: Sequence[StatusMessage]) -> list[bool]:
        """:meth:`report` for each message, recorded in one store transaction (then
        published in order: at the end of the deferred block, if one is open)."""
        messages = [scrubbed(m) for m in messages]
        taken = self._store.add_statuses(messages)
        return [self._reported(m, t) for m, t in zip(messages, taken, strict=True)]

    def _reported(self, message: StatusMessage, taken: bool) -> bool:
        """Publish ``message`` that the store took (``taken``); otherwise make sure the
        status the event already has is published."""
        if not taken:
            log.info(
                "status.already_reported",
                event_id=message.event_id,
                sku=message.sku,
                status=str(message.status),
            )
            if message.event_id is not None:
                self.settled(message.event_id)
            return False
        count_status(message.status.value)
        self._publish(message)
        logged: list[StatusMessage] | None = getattr(self._local, "logged", None)
        if logged is None:
            _log_reported(message)
        else:
            logged.append(message)  # when the deferred block ends
        return True

    def settled(
        self,
        event_id: str,
        *,
        grace_s: float = 0.0,
        known: Mapping[str, StoredStatus] | None = None,
    ) -> StatusMessage | None:
        """The event's latest terminal status, or None when it has none yet. One that the
        store holds unpublished (its reporter died before RabbitMQ confirmed it, or before
        the store marked it) is published now, with its own ``message_id``, and marked;
        unless it was decided less than ``grace_s`` ago: its reporter is then most likely
        publishing it this moment (the sweep publishes it if not).

        ``known``: the terminal statuses of a set of events read beforehand with
        :meth:`~workers.store.base.Store.terminal_entries` (an event missing from it had
        none then); the store is not asked again."""
        entry = self._store.terminal_entry(event_id) if known is None else known.get(event_id)
        if entry is None:
            return None
        young = grace_s > 0 and datetime.now(UTC) - entry.message.at < timedelta(seconds=grace_s)
        if not entry.published and not young:
            self._publish(entry.message)
            log.warning(
                "status.published_late",
                event_id=event_id,
                sku=entry.message.sku,
                status=str(entry.message.status),
                recorded_for=entry.message.at.isoformat(),
            )
        return entry.message

    def sweep(self, owner: str, *, min_age_s: float | None = None) -> int:
        """Publish and mark the statuses left unpublished for ``min_age_s`` (default
        :data:`SWEEP_MIN_AGE_S`) or longer; returns how many. One sweep at a time across
        processes and hosts (the store lease :data:`SWEEP_LEASE`, held by ``owner``):
        another one running makes this one do nothing. Raises when the store or RabbitMQ
        fails."""
        if min_age_s is None:
            min_age_s = SWEEP_MIN_AGE_S
        account, key = SWEEP_LEASE
        if not self._store.acquire_lease(account, key, owner, SWEEP_LEASE_S):
            log.debug("status.sweep_busy")
            return 0
        published = 0
        try:
            for _page in range(SWEEP_MAX_PAGES):
                pending = self._store.unpublished_statuses(SWEEP_BATCH, min_age_s=min_age_s)
                for message in pending:
                    self._publish(message)
                    published += 1
                if len(pending) < SWEEP_BATCH:
                    break
        finally:
            self._store.release_lease(account, key, owner)
        if published:
            log.warning("status.sweep_published", count=published)
        return published

    def _publish(self, message: StatusMessage) -> None:
        pending: list[StatusMessage] | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.append(message)  # published when the deferred block ends
            return
        self._publish_all([message])


def _log_reported(message: StatusMessage) -> None:
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


def _run_now(job: Callable[[], None]) -> None:
    job()
