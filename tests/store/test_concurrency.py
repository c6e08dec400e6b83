"""record_event under concurrency: threads and processes on one SKU lose nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.store._events import mixed, parse, upserted
from tests.store._proc import run_together
from workers.domain.model import ProductState
from workers.store import RecordOutcome, Store
from workers.store._merge import Parts, merge, to_state


def _expected(raw: list[dict[str, Any]], sku: str) -> ProductState:
    parts: Parts | None = None
    for item in sorted(raw, key=lambda item: item["version"]):
        parts = merge(parts, parse(item)).parts
    assert parts is not None
    return to_state("default", sku, parts)


def _comparable(state: ProductState | None) -> tuple[Any, ...]:
    # event_id names the last event to change the state: it depends on arrival order.
    assert state is not None
    return (state.version, state.deleted, state.complete, state.product)


def _in_threads(count: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_threads_recording_one_sku(store: Store) -> None:
    raw = mixed("HOT", 48, seed=11)
    workers = 6
    start = threading.Barrier(workers)
    outcomes: list[RecordOutcome] = []

    def work(index: int) -> None:
        mine = [parse(item) for item in raw[index::workers]]
        start.wait(timeout=30)
        for event in mine:
            outcomes.append(store.record_event(event).outcome)

    _in_threads(workers, work)
    assert len(outcomes) == len(raw)
    assert RecordOutcome.DUPLICATE not in outcomes
    assert _comparable(store.product_state("default", "HOT")) == _comparable(_expected(raw, "HOT"))
    assert store.latest_version("default", "HOT") == 48


def test_threads_creating_a_new_sku_at_once(store: Store) -> None:
    # Every thread's event is the first of a SKU nobody has seen (PostgreSQL: concurrent
    # inserts of the SKU's row; the losers run again and merge into it).
    workers = 6
    events = [upserted("NEW", version, name=f"v{version}") for version in range(1, workers + 1)]
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        start.wait(timeout=30)
        assert store.record_event(events[index]).outcome in {
            RecordOutcome.NEW,
            RecordOutcome.SUPERSEDED,
        }

    _in_threads(workers, work)
    state = store.product_state("default", "NEW")
    assert state is not None
    assert (state.version, state.product["name"]) == (workers, f"v{workers}")


def test_threads_delivering_one_event_twice(store: Store) -> None:
    event = upserted("TWICE", 1)
    workers = 6
    start = threading.Barrier(workers)
    outcomes: list[RecordOutcome] = []

    def work(index: int) -> None:
        start.wait(timeout=30)
        outcomes.append(store.record_event(event).outcome)

    _in_threads(workers, work)
    assert sorted(outcomes) == sorted(
        [RecordOutcome.NEW] + [RecordOutcome.DUPLICATE] * (workers - 1)
    )


def test_processes_recording_one_sku(store: Store, store_url: str, tmp_path: Path) -> None:
    raw = mixed("HOT", 40, seed=5)
    processes = 2
    commands = []
    for index in range(processes):
        path = tmp_path / f"events-{index}.json"
        path.write_text(json.dumps(raw[index::processes]), encoding="utf-8")
        commands.append(["record", store_url, str(path)])
    results = run_together(*commands)
    outcomes = [outcome for result in results for outcome in result]
    assert len(outcomes) == len(raw)
    assert set(outcomes) <= {"new", "superseded"}
    assert _comparable(store.product_state("default", "HOT")) == _comparable(_expected(raw, "HOT"))
    # Every event is in the log: a redelivery of any of them is a duplicate.
    for item in raw[:5]:
        assert store.record_event(parse(item)).outcome is RecordOutcome.DUPLICATE
