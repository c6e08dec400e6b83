"""SIGKILL in the middle of a batch: the real processes (``python -m workers.worker``, its
ingest bridge, batcher and ``dramatiq workers.entrypoint`` children; or the bridge's part
alone, ``workers.worker --no-actors``: the bridge and the batcher, as deployed) die without
any chance to clean up, with Allegro calls and async offer operations in flight, and are
started again. Nothing may be lost: every event
ends with one terminal status (never none, never two different ones; the one repeat
``workers/status.py`` allows is the identical message, same ``message_id``, sent again
after a kill between RabbitMQ's confirm and the store's mark), every SKU has exactly one
offer, and every offer holds the stock and price of the SKU's last event.

A killed worker leaves its SKU leases behind; the module shortens them (``sku_lease_s``)
so that the restarted worker takes them over within seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.pipeline.conftest import Pipeline, price_changed, stock_changed, upserted
from workers.topology import dead_letter_queue, delay_queue

ROOT = Path(__file__).resolve().parents[2]
#: Longest wait for the whole batch after the restart (bounded polling, not a timing
#: assertion: leases of the killed worker expire first).
BATCH_WAIT_S = 90.0
#: Statuses every event of these batches may end with (no FAILED, no REJECTED).
FINE = {"PUBLISHED", "UPDATED", "UNCHANGED", "SUPERSEDED", "ENDED"}


@pytest.fixture(scope="module")
def in_process() -> bool:
    return False  # the processes under test run the bridge and the actors


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    # Leases of a killed worker expire after 5 s instead of 30; a publish stays shorter
    # than its lease (operation polling + one call's retries < 5 s). A worker killed after
    # committing a creation intent and before its POST reached the sandbox leaves an intent
    # and no offer: the restarted worker POSTs again only after the grace (120 s by
    # default, longer than the batch's wait). The sandbox's search does not lag here, so
    # a short grace loses nothing.
    return {
        "sku_lease_s": 5.0,
        "operation_poll_max_s": 3.0,
        "retry_max_time_s": 1.5,
        "create_grace_s": 10.0,
    }


class Process:
    """A child process in a session (process group) of its own, logging to a file."""

    def __init__(self, pipeline: Pipeline, name: str, command: list[str], log_path: Path) -> None:
        self.name = name
        self._env = {**os.environ, **pipeline.environment(), "ALLEGRO_FEED_LOG_FORMAT": "json"}
        self._command = command
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self._command,
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group (the supervisor and every child) and reap it."""
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM the process (it stops its children gracefully); its exit code."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=60)

    def cleanup(self) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                lines.append(line)
        return lines

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def check_running(self) -> None:
        """Fail the test at once (with the log's end) when the process has exited."""
        if self.popen is not None and self.popen.poll() is not None:
            pytest.fail(
                f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}",
                pytrace=False,
            )


def wait_for(
    predicate: Callable[[], bool],
    what: str,
    running: list[Process],
    timeout_s: float = 30.0,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout_s`` or when one of ``running``
    exits meanwhile (bounded polling, no timing assertion). ``explain`` describes, on a
    timeout, what is still missing."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        for process in running:
            process.check_running()
        if time.monotonic() > deadline:
            # The processes' own words, for whoever reads a failure in CI.
            logs = "\n".join(f"--- {p.name} log, last lines:\n{p.tail()}" for p in running)
            try:
                missing = explain() if explain is not None else ""
            except Exception as exc:  # never hide the timeout behind a failing description
                missing = f"(describing what is missing failed: {exc!r})"
            pytest.fail(f"timed out waiting for {what}\n{missing}\n{logs}")
        time.sleep(0.02)


@pytest.fixture
def processes(pipeline: Pipeline, tmp_path: Path) -> Iterator[dict[str, Process]]:
    """The worker command, the actors alone and the bridge's part alone (the bridge and
    the batcher; started by the test); whatever is still running at the end is killed."""
    made = {
        "worker": Process(
            pipeline,
            "worker",
            [sys.executable, "-m", "workers.worker", "--processes", "1", "--threads", "8"],
            tmp_path / "worker.log",
        ),
        "actors": Process(
            pipeline,
            "actors",
            [
                sys.executable,
                "-m",
                "workers.worker",
                "--no-ingest",
                "--processes",
                "1",
                "--threads",
                "8",
            ],
            tmp_path / "actors.log",
        ),
        # Not `python -m workers.ingest` alone: stock and price changes of offers that
        # exist are staged for the batcher, which `worker --no-actors` starts beside the
        # bridge (without one, a follow-up that found its offer created waited forever).
        "bridge": Process(
            pipeline,
            "bridge",
            [sys.executable, "-m", "workers.worker", "--no-actors"],
            tmp_path / "bridge.log",
        ),
    }
    try:
        yield made
    finally:
        for process in made.values():
            process.cleanup()


# --- the batch --------------------------------------------------------------------------------


class Batch:
    """Upserts of ``size`` SKUs and stock/price follow-ups for some of them, with the stock
    and price each SKU must end with."""

    def __init__(self, pipeline: Pipeline, size: int) -> None:
        self.skus = [pipeline.new_sku() for _ in range(size)]
        self.events: list[dict[str, Any]] = []
        self.stock: dict[str, int] = {}
        self.price: dict[str, Decimal] = {}
        for sku in self.skus:
            self.events.append(upserted(sku, 1))
            self.stock[sku], self.price[sku] = 5, Decimal("999.00")

    def follow_ups(self) -> list[dict[str, Any]]:
        """Stock changes for the first third (the last five of them to 0: the offer ends),
        price changes for the second third."""
        third = len(self.skus) // 3
        events = []
        for index, sku in enumerate(self.skus[:third]):
            available = 0 if index >= third - 5 else index + 1
            events.append(stock_changed(sku, 2, available))
            self.stock[sku] = available
        for index, sku in enumerate(self.skus[third : 2 * third]):
            amount = f"{100 + index}.50"
            events.append(price_changed(sku, 3, amount))
            self.price[sku] = Decimal(amount)
        self.events.extend(events)
        return events

    def ids(self) -> list[str]:
        return [e["event_id"] for e in self.events]


def _with_status(pipeline: Pipeline, event_ids: list[str]) -> int:
    return sum(1 for event_id in event_ids if pipeline.statuses.of(event_id))


def _drain_statuses(pipeline: Pipeline) -> None:
    """Wait until the collector has every status published so far: a marker sent through
    the status queue after them comes out after them."""
    marker = f"marker-{uuid.uuid4()}"
    with pika.BlockingConnection(pika.URLParameters(pipeline.settings.amqp_url)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            "", pipeline.names.status_queue, json.dumps({"event_id": marker}).encode()
        )
    pipeline.statuses.wait(lambda: bool(pipeline.statuses.of(marker)), "the marker status")


def _all_done(pipeline: Pipeline, batch: Batch, running: list[Process]) -> None:
    ids = batch.ids()
    wait_for(
        lambda: _with_status(pipeline, ids) == len(ids),
        f"a status for every one of {len(ids)} events",
        running,
        timeout_s=BATCH_WAIT_S,
        explain=lambda: _still_missing(pipeline, batch),
    )


def _still_missing(pipeline: Pipeline, batch: Batch) -> str:
    """The events without a status (the first ten), what the store holds of each and the
    messages ready in the pipeline's queues: where a stuck event stopped."""
    lines = []
    missing = [e for e in batch.events if not pipeline.statuses.of(e["event_id"])]
    for event in missing[:10]:
        sku = event["sku"]
        entry = pipeline.store.terminal_entry(event["event_id"])
        offer = pipeline.store.get_offer("default", sku)
        lines.append(
            f"  {event['type']} {sku} v{event['version']} {event['event_id']}: "
            f"stored status {entry.message.status if entry else None} "
            f"(published_at {entry.published_at if entry else None}), "
            f"latest version {pipeline.store.latest_version('default', sku)}, "
            f"offer {offer.offer_id if offer else None} "
            f"(published v{offer.published_version if offer else None})"
        )
    # A connection of its own: the pipeline's may have missed its heartbeats meanwhile.
    with pika.BlockingConnection(pika.URLParameters(pipeline.settings.amqp_url)) as connection:
        channel = connection.channel()
        counts = {
            q: channel.queue_declare(q, passive=True).method.message_count
            for q in pipeline.names.all_queues()
        }
    ready = {q: n for q, n in counts.items() if n}
    return f"{len(missing)} events without a status:\n" + "\n".join(lines) + f"\nready: {ready}"


def _queues_empty(pipeline: Pipeline) -> None:
    """No step message is left behind (checked after the processes stopped gracefully,
    so that nothing is held unacked)."""
    for step in ("categorize", "enrich", "validate", "publish"):
        queue = pipeline.settings.name(step)
        for name in (queue, delay_queue(queue), dead_letter_queue(queue)):
            assert pipeline.queue_count(name) == 0, name
    assert pipeline.queue_count(pipeline.names.ingest_queue) == 0


def _check_nothing_lost(pipeline: Pipeline, batch: Batch) -> None:
    """One offer per SKU with the last event's stock and price; one status per event."""
    _drain_statuses(pipeline)
    offers: dict[str | None, list[dict[str, Any]]] = {}
    for offer in pipeline.sandbox.offers():
        offers.setdefault((offer.get("external") or {}).get("id"), []).append(offer)
    for sku in batch.skus:
        found = offers.get(sku, [])
        assert len(found) == 1, f"{sku} has {len(found)} offers"
        [offer] = found
        assert offer["stock"]["available"] == batch.stock[sku], (sku, offer["stock"])
        amount = Decimal(str(offer["sellingMode"]["price"]["amount"]))
        assert amount == batch.price[sku], (sku, offer["sellingMode"])
        expected = ("ENDED", "INACTIVE") if batch.stock[sku] == 0 else ("ACTIVE", "ACTIVATING")
        assert offer["publication"]["status"] in expected, (sku, offer["publication"])
    # Every event ended, with one status. workers/status.py allows one kind of repeat: a
    # process killed after RabbitMQ confirmed a status and before the store marked it
    # published sends the same message again (same body, same message_id) after the
    # restart. Two different statuses, or none, are never allowed.
    problems: dict[str, Any] = {}
    for event in batch.events:
        copies = pipeline.statuses.with_properties(event["event_id"])
        distinct = {
            (json.dumps(body, sort_keys=True), properties.message_id)
            for body, properties, _key in copies
        }
        statuses = [body["status"] for body, _p, _k in copies]
        if len(distinct) != 1 or statuses[0] not in FINE:
            problems[event["event_id"]] = statuses
    assert problems == {}, problems


def _publish(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    for event in events:
        pipeline.publish(event)


def _slow_sandbox(pipeline: Pipeline, *, async_ratio: float) -> None:
    # 50 ms per API call, and creations asynchronous in ``async_ratio`` of the cases (202 +
    # operation polled), so that a kill finds calls and operations in flight.
    pipeline.sandbox.configure(
        latency_ms=50, async_ratio=async_ratio, async_delay_s=0.3, retry_after_s=0
    )


# --- the tests --------------------------------------------------------------------------------


def test_a_worker_killed_mid_batch_and_restarted_loses_nothing(
    pipeline: Pipeline, processes: dict[str, Process]
) -> None:
    _slow_sandbox(pipeline, async_ratio=0.5)
    worker = processes["worker"]
    batch = Batch(pipeline, 60)
    worker.start()
    _publish(pipeline, batch.events)
    _publish(pipeline, batch.follow_ups())
    ids = batch.ids()

    wait_for(lambda: _with_status(pipeline, ids) >= 10, "the first 10 statuses", [worker])
    worker.kill()
    done_at_kill = _with_status(pipeline, ids)
    assert done_at_kill < len(ids), "the batch finished before the kill: nothing was tested"

    worker.start()
    _all_done(pipeline, batch, [worker])
    assert worker.stop() == 0, worker.tail()

    _queues_empty(pipeline)
    _check_nothing_lost(pipeline, batch)


def test_an_ingest_bridge_killed_mid_stream_and_restarted_loses_nothing(
    pipeline: Pipeline, processes: dict[str, Process]
) -> None:
    # The bridge makes no Allegro call: synchronous creations are enough here.
    _slow_sandbox(pipeline, async_ratio=0.0)
    actors, bridge = processes["actors"], processes["bridge"]
    batch = Batch(pipeline, 60)
    first_half = batch.events[:40]
    actors.start()
    bridge.start()
    _publish(pipeline, first_half)

    # Kill the bridge as soon as it has recorded the first event: it holds the rest of
    # the burst (prefetched, unacked) and is somewhere inside handling one.
    first = first_half[0]
    wait_for(
        lambda: pipeline.store.latest_version("default", first["sku"]) is not None,
        "the bridge to record the first event",
        [bridge, actors],
    )
    bridge.kill()
    wait_for(
        lambda: pipeline.queue_count(pipeline.names.ingest_queue) > 0,
        "the deliveries the bridge held to return to the queue",
        [actors],
    )
    # The stream goes on while the bridge is down.
    _publish(pipeline, batch.events[40:])
    _publish(pipeline, batch.follow_ups())

    bridge.start()
    _all_done(pipeline, batch, [bridge, actors])
    assert bridge.stop() == 0, bridge.tail()
    assert actors.stop() == 0, actors.tail()

    _queues_empty(pipeline)
    _check_nothing_lost(pipeline, batch)


def test_a_status_recorded_before_a_kill_is_published_after_the_restart(
    pipeline: Pipeline, processes: dict[str, Process]
) -> None:
    # The narrowest window of a kill, made wide: the worker has recorded the event's status
    # in the store (the outbox) and cannot publish it yet when it dies.
    worker = processes["worker"]
    worker.start()
    warm_up = pipeline.publish(upserted(pipeline.new_sku(), 1))
    assert pipeline.status_of(warm_up["event_id"])["status"] == "PUBLISHED"
    # Without the status exchange every publish of a status fails, which holds the worker
    # between recording a status and publishing it for as long as the test wants.
    with pika.BlockingConnection(pika.URLParameters(pipeline.settings.amqp_url)) as connection:
        connection.channel().exchange_delete(pipeline.names.status_exchange)
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))
    wait_for(
        lambda: pipeline.store.terminal_status(event["event_id"]) is not None,
        "the status to be recorded in the store",
        [worker],
    )

    worker.kill()
    worker.start()  # declares the topology again: the status exchange is back

    def settled() -> bool:
        skipped = any(
            line.get("event") == "event.already_reported"
            and line.get("event_id") == event["event_id"]
            for line in worker.log_lines()
        )
        return skipped or bool(pipeline.statuses.of(event["event_id"]))

    wait_for(settled, "the redelivered message to be handled", [worker])
    _drain_statuses(pipeline)
    assert len(pipeline.offers_of(sku)) == 1
    statuses = [s["status"] for s in pipeline.statuses.of(event["event_id"])]
    assert statuses == ["PUBLISHED"], statuses
