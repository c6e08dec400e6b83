"""The middleware on Dramatiq's StubBroker with a real Worker: FAILED once retries run out
(or at once for a permanent error), deferrals that use up no retry, the log context."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
import structlog
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from schemas.status import Status, StatusMessage
from workers.allegro import EditInProgress, Forbidden, RateLimited
from workers.domain.model import Rejected, problem
from workers.middleware import (
    Deferred,
    LogContext,
    PipelineRetries,
    StatusOnFailure,
    SweepStatusOutbox,
    deferring,
)

PAYLOAD = {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 4}
PERMANENT = (Forbidden, Rejected)


class Reporter:
    def __init__(self) -> None:
        self.reported: list[StatusMessage] = []

    def report(self, message: StatusMessage) -> bool:
        self.reported.append(message)
        return True


@pytest.fixture
def reporter() -> Reporter:
    return Reporter()


@pytest.fixture
def broker(reporter: Reporter) -> Iterator[StubBroker]:
    stub = StubBroker(
        middleware=[
            CurrentMessage(),
            LogContext(),
            StatusOnFailure(lambda: reporter),
            PipelineRetries(max_retries=2, min_backoff=1, max_backoff=2),
        ]
    )
    stub.emit_after("process_boot")
    yield stub
    stub.close()


def run(broker: StubBroker, fn: Callable[[dict[str, Any]], None]) -> None:
    """Declare ``fn`` as an actor, send it the payload and process until idle."""
    actor = dramatiq.Actor(
        fn,
        broker=broker,
        actor_name="step",
        queue_name="q",
        priority=0,
        options={"throws": PERMANENT},
    )
    worker = dramatiq.Worker(broker, worker_timeout=10)
    worker.start()
    try:
        actor.send(dict(PAYLOAD))
        broker.join("q", fail_fast=False)
        worker.join()
    finally:
        worker.stop()


def test_retries_exhausted_report_failed_once_and_dead_letter(
    broker: StubBroker, reporter: Reporter
) -> None:
    runs: list[int] = []

    def failing(_payload: dict[str, Any]) -> None:
        runs.append(1)
        raise RuntimeError("Allegro said no")

    run(broker, failing)

    assert len(runs) == 3  # first run + max_retries
    [status] = reporter.reported
    assert (status.status, status.event_id, status.sku, status.version) == (
        Status.FAILED,
        "ev-1",
        "SKU-1",
        4,
    )
    assert status.attempts == 3
    assert status.errors[-1].code == "RuntimeError"
    assert "Allegro said no" in status.errors[-1].message
    assert len(broker.dead_letters) == 1


def test_a_permanent_error_fails_at_once(broker: StubBroker, reporter: Reporter) -> None:
    runs: list[int] = []

    def forbidden(_payload: dict[str, Any]) -> None:
        runs.append(1)
        raise Forbidden("not your offer", status=403, trace_id="t-1")

    run(broker, forbidden)

    assert len(runs) == 1
    [status] = reporter.reported
    assert (status.status, status.attempts, status.trace_id) == (Status.FAILED, 1, "t-1")
    assert len(broker.dead_letters) == 1


def test_a_rejected_that_escaped_an_actor_is_reported_rejected(
    broker: StubBroker, reporter: Reporter
) -> None:
    def rejecting(_payload: dict[str, Any]) -> None:
        raise Rejected([problem("UNMAPPED_CATEGORY", "no category")])

    run(broker, rejecting)

    [status] = reporter.reported
    assert status.status is Status.REJECTED
    assert status.errors[0].code == "UNMAPPED_CATEGORY"


def test_an_exception_whose_errors_is_no_list_still_ends_failed(
    broker: StubBroker, reporter: Reporter
) -> None:
    # A pydantic ValidationError has an ``errors`` method, not Allegro's list of items.
    def invalid(_payload: dict[str, Any]) -> None:
        StatusMessage.model_validate({"event_id": 1})

    run(broker, invalid)

    [status] = reporter.reported
    assert status.status is Status.FAILED
    assert [e.code for e in status.errors] == ["ValidationError"]
    assert "validation error" in status.errors[0].message
    assert len(broker.dead_letters) == 1


def test_success_reports_nothing(broker: StubBroker, reporter: Reporter) -> None:
    run(broker, lambda _payload: None)

    assert reporter.reported == [] and broker.dead_letters == []


def test_deferrals_use_up_no_retry(broker: StubBroker, reporter: Reporter) -> None:
    runs: list[int] = []

    def waiting(_payload: dict[str, Any]) -> None:
        runs.append(1)
        if len(runs) <= 5:  # more deferrals than max_retries
            raise Deferred("lease busy", delay_ms=1)

    run(broker, waiting)

    assert len(runs) == 6
    assert reporter.reported == [] and broker.dead_letters == []


def test_the_log_context_names_the_event_and_is_cleared(broker: StubBroker) -> None:
    seen: list[dict[str, Any]] = []

    def look(_payload: dict[str, Any]) -> None:
        seen.append(structlog.contextvars.get_contextvars())

    run(broker, look)

    [context] = seen
    assert {k: context[k] for k in ("event_id", "sku", "account", "actor")} == {
        "event_id": "ev-1",
        "sku": "SKU-1",
        "account": "default",
        "actor": "step",
    }


@pytest.mark.parametrize(
    ("error", "delay_ms"),
    [
        (RateLimited("blocked", status=429), 60_000),
        (RateLimited("blocked", status=429, retry_after_s=30), 30_000),
        (EditInProgress("busy", status=409), 5_000),
    ],
)
def test_allegros_waits_become_deferrals(error: Exception, delay_ms: int) -> None:
    def call(_payload: dict[str, Any]) -> None:
        raise error

    with pytest.raises(Deferred) as caught:
        deferring(call)({})
    assert caught.value.delay == delay_ms


def test_a_short_rate_limit_is_retried_as_usual() -> None:
    def call(_payload: dict[str, Any]) -> None:
        raise RateLimited("slow down", status=429, retry_after_s=2)

    with pytest.raises(RateLimited):
        deferring(call)({})


def test_a_booting_worker_sweeps_the_status_outbox_before_taking_messages() -> None:
    swept: list[str] = []
    stub = StubBroker(middleware=[SweepStatusOutbox(lambda: swept.append("swept") or 3)])
    stub.emit_after("process_boot")
    worker = dramatiq.Worker(stub, worker_timeout=10)
    try:
        worker.start()
        assert swept == ["swept"]
    finally:
        worker.stop()
        stub.close()


def test_a_failed_sweep_does_not_stop_the_worker_from_booting() -> None:
    def broken() -> int:
        raise ConnectionError("RabbitMQ away")

    stub = StubBroker(middleware=[SweepStatusOutbox(broken)])
    stub.emit_after("process_boot")
    worker = dramatiq.Worker(stub, worker_timeout=10)
    try:
        worker.start()  # logged, not raised
    finally:
        worker.stop()
        stub.close()
