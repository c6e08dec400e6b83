"""Dramatiq middleware of allegro-feed: log context, FAILED on retries exhausted, metrics,
the status outbox sweep at worker start, and waits that are no failures (:class:`Deferred`,
:func:`deferring`).

Order matters. Dramatiq runs ``before_*`` hooks in list order and ``after_*`` hooks in
reverse order, so :func:`workers.broker.create_broker` lists them as::

    ..., CurrentMessage, LogContext, StatusOnFailure, Retries, [Prometheus]

``Retries`` decides first (retry with backoff, or ``message.fail()``), then
:class:`StatusOnFailure` sees the decision and reports ``FAILED`` before the worker nacks the
message into its ``.XQ``, and :class:`LogContext` unbinds the log context last, so every log
line of the message, the failure included, carries its ``event_id``, ``sku``, ``account``
and ``actor``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import dramatiq
import structlog
from dramatiq.middleware import Middleware, Retries

from schemas.status import Status, StatusError, StatusMessage
from workers.allegro.errors import EditInProgress, OperationPending, RateLimited
from workers.domain.model import Rejected
from workers.logging import redact_text
from workers.settings import Settings
from workers.status import status_for

__all__ = [
    "MAX_DEFERRALS",
    "DeclareTopology",
    "Deferred",
    "LogContext",
    "PipelineRetries",
    "StatusOnFailure",
    "SweepStatusOutbox",
    "attempts_of",
    "deferring",
    "metrics_middleware",
    "serve_metrics",
]

log = structlog.get_logger(__name__)


def _payload(message: Any) -> dict[str, Any]:
    args = getattr(message, "args", ())
    first = args[0] if args else None
    return first if isinstance(first, dict) else {}


def _options(message: Any) -> dict[str, Any]:
    options: dict[str, Any] = getattr(message, "options", {}) or {}
    return options


def attempts_of(message: Any) -> int:
    """Runs of ``message`` so far, this one included (Dramatiq counts retries in options).

    Valid inside the actor and in ``after_process_message`` hooks that run before
    ``Retries`` increments the counter; :class:`StatusOnFailure` corrects for it.
    """
    return int(_options(message).get("retries", 0)) + 1


#: A message deferred this often is counted as failing from then on (a safety net: a lease
#: expires after ``sku_lease_s``, a rate-limit block after a minute).
MAX_DEFERRALS = 1000


class Deferred(dramatiq.Retry):
    """Run the message again after ``delay_ms`` without using up one of its retries.

    For waits that are not failures of the message: the SKU's lease is held by another
    worker, Allegro blocks the client for a while (429), an offer operation still runs.
    Raising it frees the worker thread at once instead of sleeping in it.
    """

    def __init__(self, reason: str, *, delay_ms: int) -> None:
        super().__init__(reason, delay=max(0, int(delay_ms)))


class PipelineRetries(Retries):
    """Dramatiq's ``Retries`` (retry with exponential backoff, then fail into the ``.XQ``)
    that re-enqueues a :class:`Deferred` message after its delay without counting a retry
    (up to :data:`MAX_DEFERRALS` times; the count is kept in the message's options)."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if isinstance(exception, Deferred):
            deferrals = int(message.options.get("deferrals", 0))
            if deferrals < MAX_DEFERRALS:
                message.options["deferrals"] = deferrals + 1
                log.info("message.deferred", reason=str(exception), delay_ms=exception.delay)
                broker.enqueue(message, delay=exception.delay)
                return
        super().after_process_message(  # type: ignore[no-untyped-call]
            broker, message, result=result, exception=exception
        )


#: A rate-limit wait up to this long is left to the client's and Dramatiq's own backoff;
#: a longer one (a Client-ID block lasts a minute) defers the message instead, s.
INLINE_RATE_LIMIT_S = 5.0
#: How long to assume a 429 without Retry-After blocks us (FACTS.md §3: a minute), s.
RATE_LIMIT_BLOCK_S = 60.0
#: Wait before looking again at an offer whose operation is still running, ms.
OPERATION_WAIT_MS = 5_000


def deferring(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """``fn`` with Allegro's waits turned into :class:`Deferred` (no retry used up, no
    thread blocked): a rate-limit block longer than :data:`INLINE_RATE_LIMIT_S` (shorter
    ones are retried with backoff), an offer operation still running (its offer is in the
    registry with the operation, which the next run polls), an offer busy with its
    previous change (409)."""

    @functools.wraps(fn)
    def run(data: dict[str, Any]) -> None:
        try:
            fn(data)
        except RateLimited as exc:
            wait_s = exc.retry_after_s if exc.retry_after_s is not None else RATE_LIMIT_BLOCK_S
            if wait_s <= INLINE_RATE_LIMIT_S:
                raise
            raise Deferred(f"Allegro rate limit: {exc}", delay_ms=int(wait_s * 1000)) from exc
        except OperationPending as exc:
            raise Deferred(
                f"offer {exc.offer_id} still processing", delay_ms=OPERATION_WAIT_MS
            ) from exc
        except EditInProgress as exc:
            raise Deferred(f"offer busy: {exc}", delay_ms=OPERATION_WAIT_MS) from exc

    return run


class LogContext(Middleware):
    """Binds ``event_id``, ``sku``, ``account`` and ``actor`` into structlog's context
    variables for the duration of each message (worker threads each have their own)."""

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        payload = _payload(message)
        structlog.contextvars.bind_contextvars(
            event_id=payload.get("event_id"),
            sku=payload.get("sku"),
            account=payload.get("account"),
            actor=getattr(message, "actor_name", None),
            message_id=getattr(message, "message_id", None),
        )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        structlog.contextvars.clear_contextvars()


class _Reporter(Protocol):
    def report(self, message: StatusMessage) -> bool: ...


def failure_errors(exception: BaseException) -> list[StatusError]:
    """The error items of a failure: Allegro's own items when it sent some, plus one item
    naming the exception (class and text) so the status says what went wrong last.

    Allegro's items were scrubbed of secrets when parsed, and the status reporter scrubs
    every text of a status (:func:`workers.status.scrubbed`). The exception's own text is
    scrubbed here (:func:`workers.logging.redact_text`) because it is also quoted inside a
    sentence: scrubbed before that, the sentence around it stays intact (an exception from
    outside ``workers.allegro`` may end with a token or a connection string)."""
    items: list[StatusError] = []
    carried = getattr(exception, "errors", None)
    # Only a list of items is Allegro's: a pydantic ValidationError's ``errors`` is a method,
    # and failing here would leave the event without its terminal status.
    for item in carried if isinstance(carried, list | tuple) else ():
        code = getattr(item, "code", None)
        text = str(getattr(item, "message", None) or getattr(item, "user_message", None) or "")
        if isinstance(code, str) or text:
            user_message = getattr(item, "user_message", None)
            items.append(
                StatusError(
                    code=code or "ALLEGRO_ERROR",
                    message=text,
                    path=getattr(item, "path", None),
                    user_message=str(user_message) if user_message else text,
                )
            )
    trace_id = getattr(exception, "trace_id", None)
    text = redact_text(str(exception) or type(exception).__name__)
    items.append(
        StatusError(
            code=type(exception).__name__,
            message=text,
            user_message=(
                f"{text}. The event was dead-lettered and can be replayed after the cause is "
                "fixed" + (f" (Allegro Trace-Id {trace_id})" if trace_id else "")
            ),
        )
    )
    return items


def _thrown(broker: dramatiq.Broker, message: Any, exception: BaseException) -> bool:
    """Whether ``exception`` is one the actor declares permanent (``throws``)."""
    throws = _options(message).get("throws")
    if not throws:
        try:
            throws = broker.get_actor(message.actor_name).options.get("throws")
        except Exception:
            throws = None
    return isinstance(throws, type | tuple) and isinstance(exception, throws)


class StatusOnFailure(Middleware):
    """Reports ``FAILED`` (or ``REJECTED`` for a :class:`Rejected` that escaped an actor)
    when a message has failed for good: retries exhausted, or an exception the actor
    ``throws`` (permanent). The worker then nacks the message and RabbitMQ dead-letters it
    into the queue's ``.XQ``, from where it can be replayed.

    ``reporter`` is called lazily (the status reporter of the process, created on first use)
    so that building the broker opens no connection. A failure to report is logged and the
    message still goes to the ``.XQ``: a FAILED status the store took is published by the
    next outbox sweep (:mod:`workers.status`); one the store could not take is missing from
    the event's history until the event is replayed.
    """

    def __init__(self, reporter: Callable[[], _Reporter]) -> None:
        self._reporter = reporter

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not getattr(message, "failed", False):
            return
        # Retries has already counted this run when it exhausted the retries; an exception
        # the actor throws is failed before it is counted.
        attempts = max(1, int(_options(message).get("retries", 0)))
        if _thrown(broker, message, exception):
            attempts = attempts_of(message)
        status = Status.REJECTED if isinstance(exception, Rejected) else Status.FAILED
        try:
            if isinstance(exception, Rejected):
                errors = list(exception.errors)
            else:
                errors = failure_errors(exception)
            status_message = status_for(
                _payload(message),
                status,
                errors=errors,
                attempts=attempts,
                trace_id=getattr(exception, "trace_id", None),
            )
            self._reporter().report(status_message)
        except Exception:
            log.exception("status.failed_not_reported", status=str(status))
            return
        log.error(
            "message.failed",
            status=str(status),
            error=type(exception).__name__,
            attempts=attempts,
            dead_letter_queue=f"{getattr(message, 'queue_name', '?')}.XQ",
        )


class DeclareTopology(Middleware):
    """Declares the whole topology (``workers.topology.declare``) when a worker boots, so
    that a worker started with the plain ``dramatiq`` CLI finds ``allegro.status`` and the
    other exchanges and queues in place. Idempotent."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        from workers.topology import declare_on_own_connection

        # A connection of its own, closed at once (the broker's thread-local one of this
        # thread would idle for the process's lifetime).
        declare_on_own_connection(getattr(broker, "parameters"), self._settings)  # noqa: B009
        log.info("topology.declared", prefix=self._settings.name_prefix)


class SweepStatusOutbox(Middleware):
    """When a worker boots, publishes the statuses that a process which died recorded but
    never published (the outbox of :mod:`workers.status`), before taking messages.

    ``sweep`` does it and returns how many it published (``Services.sweep_statuses``). A
    failure is logged and the worker boots anyway: the statuses stay in the outbox for the
    ingest bridge's next sweep.
    """

    def __init__(self, sweep: Callable[[], int]) -> None:
        self._sweep = sweep

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        try:
            published = self._sweep()
        except Exception:
            log.warning("status.sweep_failed", exc_info=True)
            return
        log.info("status.swept", published=published)


def metrics_middleware(settings: Settings) -> list[Middleware]:
    """Dramatiq's Prometheus middleware when ``metrics_port`` > 0, else nothing.

    Dramatiq serves the metrics from a forked process started by its CLI; the fork runs
    :func:`serve_metrics`, which reads the port from the settings (Dramatiq's own module
    would read ``dramatiq_prom_port`` from the environment instead). Workers run
    in-process (tests) start no exposition server.
    """
    if settings.metrics_port <= 0:
        return []
    from dramatiq.middleware import prometheus

    class _Prometheus(prometheus.Prometheus):
        @property
        def forks(self) -> list[Callable[[], int]]:
            return [serve_metrics]

    return [_Prometheus()]


def serve_metrics() -> int:
    """The metrics exposition server (a Dramatiq fork process): settings are read here,
    at the start of that process."""
    from dramatiq.middleware import prometheus

    settings = Settings()
    prometheus.HTTP_PORT = settings.metrics_port
    result: int = prometheus._run_exposition_server()  # type: ignore[no-untyped-call]
    return result
