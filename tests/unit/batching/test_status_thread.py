"""The batcher's status thread: jobs run in order on one thread, a failed job leaves its
statuses to the outbox, closing runs what was queued; with a reporter, nothing is
published before its deferred block ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from schemas.status import Status
from tests.unit.runtime.conftest import FakeStore
from workers.batching.status_thread import StatusThread
from workers.status import StatusReporter, status_for


class Channel:
    """Publishes into a list (one thread only, as pika's); fails for one routing key."""

    def __init__(self) -> None:
        self.threads: set[str] = set()
        self.published: list[str] = []
        self.idle_calls = 0
        self.fail: str | None = None  # the routing key whose publication fails

    def idle(self, seconds: float, stop: threading.Event) -> None:
        self.idle_calls += 1
        stop.wait(0.001)

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: Any) -> None:
        self.threads.add(threading.current_thread().name)
        if routing_key == self.fail:
            raise OSError("connection lost")
        self.published.append(routing_key)


def _identity(event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "sku": "A", "account": "default", "version": 1}


def test_jobs_run_in_order_on_the_one_thread_and_a_failure_does_not_stop_it() -> None:
    channel = Channel()
    runner = StatusThread(channel, max_queued=2)
    runner.start()
    done: list[int] = []

    def job(index: int) -> Callable[[], None]:
        return lambda: done.append(index)

    def failing() -> None:
        raise ZeroDivisionError

    for index in range(10):
        runner.submit(job(index))
    runner.submit(failing)
    runner.submit(job(10))
    runner.close()
    assert done == list(range(11))
    assert runner.failed == 1


def test_reported_statuses_go_out_on_the_thread_after_the_block_and_failures_stay_unmarked() -> (
    None
):
    store = FakeStore()
    channel = Channel()
    runner = StatusThread(channel)
    runner.start()
    reporter = StatusReporter(store, channel, "status", runner=runner.submit)  # type: ignore[arg-type]

    with reporter.deferred():
        reporter.report(status_for(_identity("ev-1"), Status.UPDATED, offer_id="77"))
        reporter.report(status_for(_identity("ev-2"), Status.SUPERSEDED))
        assert channel.published == []  # nothing before the block ends
    channel.fail = "offer.ended"
    # This one's job fails.
    reporter.report(status_for(_identity("ev-3"), Status.ENDED, offer_id="77"))
    reporter.report(status_for(_identity("ev-4"), Status.UPDATED, offer_id="77"))
    runner.close()

    assert channel.threads == {"status-publisher"}
    assert channel.published == ["offer.updated", "offer.superseded", "offer.updated"]
    left = [(m.event_id, m.status) for m in store.unpublished_statuses()]
    assert left == [("ev-3", Status.ENDED)]  # recorded, not marked: the sweep sends it
    assert runner.failed == 1


def test_a_closed_thread_refuses_jobs() -> None:
    runner = StatusThread(Channel())
    runner.start()
    runner.close()
    try:
        runner.submit(lambda: None)
    except RuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed status thread took a job")
