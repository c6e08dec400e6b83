"""The journal worker's requests: a report that counts every offer a success settles the
command without reading its tasks; the first poll comes when commands of the kind lately
finished; the HTTP calls of one run overlap while the bookkeeping stays in order, in the
calling thread. A scripted Allegro (:class:`FakeAllegro` with the report's counts and
times) and a real SQLite store."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from schemas.status import Status
from workers.allegro import CommandKind, CommandResult, CommandTask, GeneralReport
from workers.batching import BatchRepo, JournalEntry, JournalState
from workers.batching._pacing import (
    FIRST_POLL_MARGIN,
    MAX_FIRST_POLL_S,
    MIN_FIRST_POLL_S,
    DurationEstimate,
    took_s,
)
from workers.batching.model import CommandType
from workers.batching.sender import Tick
from workers.store import open_store

from .test_flusher import FakeAllegro, Rig

CREATED_AT = datetime(2026, 7, 18, 12, 0, 0)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


class CountingAllegro(FakeAllegro):
    """:class:`FakeAllegro` whose reports carry what Allegro's do: ``taskCount`` (zeros
    until complete) and ``createdAt``/``completedAt``, ``server_s`` apart (no times when
    None)."""

    def __init__(self) -> None:
        super().__init__()
        self.server_s: float | None = 1.0

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport:
        plain = super().get_command_report(kind, command_id)  # the call, its errors
        _, ids, _ = self.commands[command_id]
        listed = [oid for oid in ids if oid not in self.missing]
        failed = sum(1 for oid in listed if oid in self.fail)
        body: dict[str, Any] = {"id": command_id, "completedAt": plain.completed_at}
        if plain.completed:
            body["taskCount"] = {
                "total": len(listed),
                "success": len(listed) - failed,
                "failed": failed,
            }
        else:
            body["taskCount"] = {"total": 0, "success": 0, "failed": 0}
        if self.server_s is not None:
            body["createdAt"] = _iso(CREATED_AT)
            if plain.completed:
                body["completedAt"] = _iso(CREATED_AT + timedelta(seconds=self.server_s))
        return GeneralReport.model_validate(body)

    def of(self, command_id: str) -> list[str]:
        return [method for method, cid in self.calls if cid == command_id]


class GatedAllegro(CountingAllegro):
    """Once :meth:`arm` ed, each PUT and report read waits until ``parties`` of them are
    under way at once (a barrier: when they do not overlap it breaks and the calls fail),
    then they return in the reverse order of their command ids (the journal's order)."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.parties = parties
        self.barrier: threading.Barrier | None = None
        self.returned: list[str] = []
        self.threads: list[str] = []
        self._waiting: set[str] = set()
        self._turn = threading.Condition()

    def arm(self, *, ungated: Iterable[str] = ()) -> None:
        self.barrier = threading.Barrier(self.parties, timeout=10)
        self.returned, self.threads, self._waiting = [], [], set()
        self.ungated = set(ungated)  # calls for these commands pass at once

    def _gate(self, command_id: str) -> None:
        if self.barrier is None or command_id in getattr(self, "ungated", ()):
            return
        with self._turn:
            self._waiting.add(command_id)
            self.threads.append(threading.current_thread().name)
        self.barrier.wait()
        with self._turn:
            later = {cid for cid in self._waiting if cid > command_id}
            assert self._turn.wait_for(lambda: later <= set(self.returned), timeout=10)
            self.returned.append(command_id)
            self._turn.notify_all()

    def _put(self, kind: CommandKind, ids: Iterable[str], value: Any, cid: str | None) -> Any:
        assert cid is not None
        self._gate(cid)
        return super()._put(kind, ids, value, cid)

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport:
        self._gate(command_id)
        return super().get_command_report(kind, command_id)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    with BatchRepo(url) as repo:
        yield Rig(store, repo, allegro=CountingAllegro())
    store.close()


def _allegro(rig: Rig) -> CountingAllegro:
    assert isinstance(rig.allegro, CountingAllegro)
    return rig.allegro


# --- the tasks are read only when the report's counts do not say it all --------------------------


def test_a_report_counting_every_offer_a_success_settles_without_reading_the_tasks(
    rig: Rig,
) -> None:
    allegro = _allegro(rig)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")]
    rig.settle_all(batcher)
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.DONE
    assert allegro.of(entry.command_id) == ["PUT", "GET"]
    assert [rig.reporter.of(e) for e in events] == [Status.UPDATED] * 2
    for sku in ("A", "B"):
        record = rig.store.get_offer("default", sku)
        assert record is not None and record.published_body is not None
        assert (record.published_body["stock"]["available"], record.published_version) == (3, 2)
    assert rig.store.acquire_lease("default", "A", "publish-actor", 60)  # released


def test_a_report_counting_a_failed_task_reads_the_tasks(rig: Rig) -> None:
    allegro = _allegro(rig)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher(handover=False)
    events = {sku: rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")}
    allegro.fail = {"o-B": [{"code": "OfferNotFoundException", "message": "gone"}]}
    rig.settle_all(batcher)
    (entry,) = rig.repo.entries()
    assert allegro.of(entry.command_id) == ["PUT", "GET", "TASKS"]
    assert rig.reporter.of(events["A"]) is Status.UPDATED
    assert rig.reporter.of(events["B"]) is Status.REJECTED
    (rejected,) = [m for m in rig.reporter.messages if m.event_id == events["B"]]
    assert rejected.errors[0].code == "OfferNotFoundException"


def test_a_report_whose_counts_do_not_add_up_reads_the_tasks(rig: Rig) -> None:
    allegro = _allegro(rig)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = {sku: rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")}
    allegro.missing = {"o-B"}  # one task fewer than offers: total 1, success 1
    rig.settle_all(batcher)
    (entry,) = rig.repo.entries()
    assert allegro.of(entry.command_id) == ["PUT", "GET", "TASKS"]
    assert rig.reporter.of(events["A"]) is Status.UPDATED
    assert [h.sku for h in rig.handovers] == ["B"]


def test_a_restock_counted_a_success_activates_at_once_without_reading_tasks(rig: Rig) -> None:
    allegro = _allegro(rig)
    rig.offer("A", status="ENDED", stock=0)
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 6)
    rig.run(batcher, seconds=1.0)  # the quantity command
    rig.run(batcher, seconds=0.25)  # done: the ACTIVATE is written and sent in the same run
    assert [p[0] for p in allegro.puts()] == [CommandKind.QUANTITY, CommandKind.PUBLICATION]
    assert rig.reporter.of(event) is None  # not before the activation's outcome
    rig.settle_all(batcher)
    assert [m for m, _ in allegro.calls] == ["PUT", "GET", "PUT", "GET"]
    assert rig.reporter.of(event) is Status.UPDATED
    record = rig.store.get_offer("default", "A")
    # Allegro does not list it ACTIVE yet: the activation was taken, it runs on.
    assert record is not None and record.publication_status == "ACTIVATING"
    assert allegro.searches == [(["o-A"], ("ACTIVE",))]


# --- the first poll ----------------------------------------------------------------------------


def test_the_first_poll_comes_when_commands_of_the_kind_lately_finished(rig: Rig) -> None:
    allegro = _allegro(rig)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    allegro.server_s = 1.2
    allegro.complete = False
    rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=1.0)
    (first,) = rig.repo.entries()
    assert first.sent_at == rig.now
    assert first.next_at == pytest.approx(rig.now + 0.25)  # nothing learned: the interval
    for _ in range(4):
        rig.run(batcher, seconds=0.25)  # busy at +0.25, +0.5, +1.0 (the pauses grow)
    allegro.complete = True
    rig.run(batcher, seconds=0.6)  # complete at +1.6; Allegro says it took 1.2 s
    done = rig.repo.entry(first.command_id)
    assert done is not None and done.state is JournalState.DONE
    assert batcher.journal.durations.get(CommandType.QUANTITY) == pytest.approx(1.2)

    event = rig.stage(batcher, "B", 2, 4)
    rig.run(batcher, seconds=1.0)
    second = rig.repo.entries()[1]
    # The learned 1.2 s, with the margin that keeps the poll from coming just too early.
    factor, extra_s = FIRST_POLL_MARGIN
    assert second.next_at == pytest.approx(rig.now + 1.2 * factor + extra_s)
    rig.run(batcher, seconds=1.2)
    assert allegro.of(second.command_id) == ["PUT"]  # not due yet
    rig.run(batcher, seconds=0.2)
    assert allegro.of(second.command_id) == ["PUT", "GET"]
    assert rig.reporter.of(event) is Status.UPDATED
    # Polled when it was done: no busy poll, Allegro's 1.2 s again.
    assert batcher.journal.durations.get(CommandType.QUANTITY) == pytest.approx(1.2)


def test_the_first_poll_is_timed_from_the_puts_answer_not_the_runs_start(rig: Rig) -> None:
    allegro = _allegro(rig)
    rig.offer("A")
    batcher = rig.batcher()
    put = allegro.change_quantity

    def slow_put(*args: Any, **kwargs: Any) -> Any:
        rig.now += 0.2  # the run was slow to get to the PUT (its other work, the machine)
        return put(*args, **kwargs)

    allegro.change_quantity = slow_put  # type: ignore[method-assign]
    rig.stage(batcher, "A", 2, 3)
    rig.now += 1.0
    started = rig.now
    batcher.run_once(started)
    (entry,) = rig.repo.entries()
    assert entry.sent_at == started
    assert entry.next_at == pytest.approx(started + 0.2 + 0.25)  # answered + the interval


def test_a_duration_is_bounded_by_what_the_worker_saw(rig: Rig) -> None:
    allegro = _allegro(rig)
    rig.offer("A")
    batcher = rig.batcher()
    allegro.server_s = 30.0  # Allegro's clock says more than the worker could have seen
    rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=1.0)
    rig.run(batcher, seconds=0.25)
    assert batcher.journal.durations.get(CommandType.QUANTITY) == pytest.approx(0.25)


def test_without_allegros_times_a_duration_is_the_middle_of_what_the_worker_saw(
    rig: Rig,
) -> None:
    allegro = _allegro(rig)
    rig.offer("A")
    batcher = rig.batcher()
    allegro.server_s = None
    allegro.complete = False
    rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=1.0)
    rig.run(batcher, seconds=0.25)  # busy at +0.25
    allegro.complete = True
    rig.run(batcher, seconds=0.25)  # complete at +0.5
    assert batcher.journal.durations.get(CommandType.QUANTITY) == pytest.approx(0.375)


def test_the_first_poll_lies_between_its_floor_and_its_cap(rig: Rig) -> None:
    batcher = rig.batcher()
    journal = batcher.journal
    factor, extra_s = FIRST_POLL_MARGIN
    assert journal.first_poll_s(CommandType.PRICE) == pytest.approx(0.25)  # nothing learned
    journal.durations.add(CommandType.PRICE, 0.1)
    assert journal.first_poll_s(CommandType.PRICE) == pytest.approx(0.1 * factor + extra_s)
    journal.durations.add(CommandType.PRICE, 0.0)  # done at once, lately
    assert journal.first_poll_s(CommandType.PRICE) >= MIN_FIRST_POLL_S
    journal.durations.add(CommandType.QUANTITY, 600.0)
    assert journal.first_poll_s(CommandType.QUANTITY) == MAX_FIRST_POLL_S
    assert journal.first_poll_s(CommandType.PUBLICATION) == pytest.approx(0.25)


def test_a_duration_is_allegros_figure_clamped_to_the_span_the_worker_saw() -> None:
    # Sent at 10, last found busy at 11, found done at 13: it took between 1 and 3 s.
    assert took_s(10.0, 11.0, 13.0, 2.5) == 2.5
    assert took_s(10.0, 11.0, 13.0, 0.2) == 1.0  # Allegro's clock says less than seen
    assert took_s(10.0, 11.0, 13.0, 9.0) == 3.0  # ... or more
    assert took_s(10.0, 11.0, 13.0, None) == 2.0  # no figure: the middle of the span
    assert took_s(10.0, None, 13.0, None) == 1.5  # never found busy: between 0 and 3 s
    assert took_s(10.0, 14.0, 13.0, None) == 3.0  # a busy reading after "now" is clamped


def test_the_estimate_is_a_moving_average_per_kind() -> None:
    estimate = DurationEstimate(weight=0.5)
    assert estimate.get(CommandType.QUANTITY) is None
    assert estimate.add(CommandType.QUANTITY, 2.0) == 2.0
    assert estimate.add(CommandType.QUANTITY, 1.0) == 1.5
    assert estimate.add(CommandType.QUANTITY, -3.0) == 0.75  # never below zero
    assert estimate.get(CommandType.PRICE) is None
    with pytest.raises(ValueError):
        DurationEstimate(weight=0)


# --- concurrent calls, bookkeeping in order ------------------------------------------------------


def test_the_calls_of_one_run_overlap_and_the_bookkeeping_keeps_the_journals_order(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    allegro = rig.allegro = GatedAllegro(parties=3)
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, value) for sku, value in (("A", 3), ("B", 7), ("C", 12))]
    caller = threading.current_thread().name
    booked: list[tuple[str, str, str]] = []  # (what, command id, thread)

    def record(what: str, method: Any) -> Any:
        def wrapper(command: str | JournalEntry, *args: Any, **kwargs: Any) -> Any:
            cid = command if isinstance(command, str) else command.command_id
            booked.append((what, cid, threading.current_thread().name))
            return method(command, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(rig.repo, "mark_sent", record("sent", rig.repo.mark_sent))
    monkeypatch.setattr(rig.repo, "complete", record("done", rig.repo.complete))

    allegro.arm()
    rig.run(batcher, seconds=1.0)  # three quantity commands (three values): three PUTs
    journal = [e.command_id for e in rig.repo.entries()]
    assert len(journal) == 3 and journal == sorted(journal)
    assert allegro.returned == journal[::-1]  # the calls came back last to first …
    assert booked == [("sent", cid, caller) for cid in journal]  # … booked first to last
    assert len(allegro.threads) == 3 and caller not in allegro.threads

    booked.clear()
    # Three report reads, all complete and successful: the first command's (the probe)
    # alone, then, as it is done, the other two together.
    allegro.parties = 2
    allegro.arm(ungated=journal[:1])
    rig.run(batcher, seconds=0.25)
    assert allegro.returned == journal[:0:-1]
    assert [cid for method, cid in allegro.calls if method == "GET"][-3] == journal[0]
    assert booked == [("done", cid, caller) for cid in journal]
    assert [m for m, _ in allegro.calls].count("TASKS") == 0
    assert [rig.reporter.of(e) for e in events] == [Status.UPDATED] * 3
    assert not rig.repo.accounts_with_work()


def test_a_failing_call_is_rescheduled_alone_while_the_others_go_on(rig: Rig) -> None:
    allegro = rig.allegro = GatedAllegro(parties=2)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = {sku: rig.stage(batcher, sku, 2, value) for sku, value in (("A", 3), ("B", 7))}
    allegro.arm()
    original = allegro.change_quantity

    def change_quantity(
        offer_ids: Iterable[str], quantity: int, *, command_id: str | None = None
    ) -> CommandResult:
        result = original(offer_ids, quantity, command_id=command_id)
        if quantity == 7:
            raise RuntimeError("a bug in the client")
        return result

    allegro.change_quantity = change_quantity  # type: ignore[method-assign]
    rig.run(batcher, seconds=1.0)
    entries = {e.value: e for e in rig.repo.entries()}
    assert entries[3].state is JournalState.SENT
    assert entries[7].state is JournalState.NEW
    assert entries[7].error == "RuntimeError('a bug in the client')"
    assert entries[7].next_at == pytest.approx(rig.now + 0.25)
    allegro.barrier = None
    allegro.change_quantity = original  # type: ignore[method-assign]
    rig.settle_all(batcher)
    assert [rig.reporter.of(e) for e in events.values()] == [Status.UPDATED] * 2


def test_the_worker_closes_its_pool_and_starts_another_when_needed(rig: Rig) -> None:
    allegro = rig.allegro = GatedAllegro(parties=2)
    for sku in ("A", "B", "C", "D"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, value) for sku, value in (("A", 3), ("B", 7))]
    allegro.arm()
    rig.run(batcher, seconds=1.0)
    batcher.journal.close()
    batcher.journal.close()  # twice: nothing to do
    # Two new commands: their PUTs overlap again, in a new pool (the first two commands'
    # reports go first, the probe alone and then the other).
    events += [rig.stage(batcher, sku, 2, value) for sku, value in (("C", 4), ("D", 8))]
    done = [e.command_id for e in rig.repo.entries()]
    allegro.arm(ungated=done)
    rig.run(batcher, seconds=1.0)
    assert len(allegro.returned) == 2
    allegro.barrier = None
    rig.settle_all(batcher)
    assert [rig.reporter.of(e) for e in events] == [Status.UPDATED] * 4
    batcher.journal.close()


def test_the_due_calls_are_on_their_way_while_the_flush_runs(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    allegro = _allegro(rig)
    event = rig.stage(batcher, "A", 2, 3)
    allegro.complete = False
    rig.run(batcher, seconds=1.0)  # A's command is sent; Allegro is still on it
    polling = threading.Event()
    original = allegro.get_command_report

    def report(kind: CommandKind | str, command_id: str) -> GeneralReport:
        polling.set()
        return original(kind, command_id)

    seen_by_flush: list[bool] = []
    groups = rig.repo.pending_groups

    def flush_reads(account: str, settled_before: float) -> Any:
        # The poll was sent before the flush began, from a thread of the pool.
        seen_by_flush.append(polling.wait(5.0))
        return groups(account, settled_before)

    allegro.get_command_report = report  # type: ignore[method-assign]
    monkeypatch.setattr(rig.repo, "pending_groups", flush_reads)
    allegro.complete = True
    rig.run(batcher, seconds=0.3)
    assert seen_by_flush == [True]
    assert rig.reporter.of(event) is Status.UPDATED


def test_finish_settles_the_items_and_returns_the_follow_up_unsent(rig: Rig) -> None:
    allegro = _allegro(rig)
    rig.offer("A", status="ENDED", stock=0)
    batcher = rig.batcher()
    rig.stage(batcher, "A", 2, 6)
    allegro.complete = False
    rig.run(batcher, seconds=1.0)
    (entry,) = rig.repo.entries()
    task = CommandTask.model_validate({"offer": {"id": "o-A"}, "status": "SUCCESS"})
    tick = Tick()
    leased = rig.repo.lease_due("default", owner="test-batcher", lease_s=15, now=rig.now + 1)
    assert [e.command_id for e in leased] == [entry.command_id]
    follow = batcher.journal._finish(leased[0], {"o-A": task}, {}, rig.now, tick)
    assert follow is not None and follow.state is JournalState.NEW
    assert (follow.type, follow.value, follow.parent) == (
        CommandType.PUBLICATION,
        "ACTIVATE",
        entry.command_id,
    )
    assert tick.done == 1 and tick.sent == 0
    assert [m for m, _ in allegro.calls] == ["PUT"]  # nothing sent by _finish
    done = rig.repo.entry(entry.command_id)
    assert done is not None and done.state is JournalState.DONE


def test_while_the_first_command_of_a_kind_is_busy_the_later_ones_are_not_read(
    rig: Rig,
) -> None:
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher()
    allegro = _allegro(rig)
    events = [rig.stage(batcher, sku, 2, value) for sku, value in (("A", 3), ("B", 7), ("C", 12))]
    allegro.complete = False
    rig.run(batcher, seconds=1.0)  # three quantity commands sent; Allegro is on them
    journal = [e.command_id for e in rig.repo.entries()]
    for _ in range(4):
        rig.run(batcher, seconds=0.25)
    reads = [cid for method, cid in allegro.calls if method == "GET"]
    assert reads == [journal[0]] * 3  # only the first one (at +0.25, +0.5, +1.0)
    assert {e.polls for e in rig.repo.entries()} == {3, 0}  # the others counted none

    allegro.complete = True
    rig.run(batcher, seconds=0.6)  # the first one's next poll, and the others with it
    reads = [cid for method, cid in allegro.calls if method == "GET"]
    # The first is done: the others are read in the same run (together, in any order).
    assert reads[3] == journal[0] and sorted(reads[4:]) == journal[1:]
    assert [rig.reporter.of(e) for e in events] == [Status.UPDATED] * 3


@pytest.mark.usefixtures("counting")
def test_the_offers_of_finished_commands_are_counted_by_kind_and_outcome(rig: Rig) -> None:
    allegro = _allegro(rig)
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher(handover=False)
    for sku in ("A", "B", "C"):
        rig.stage(batcher, sku, 2, 3)
    allegro.fail = {"o-B": [{"code": "OfferNotFoundException", "message": "gone"}]}
    rig.settle_all(batcher)

    def items(outcome: str) -> float | None:
        labels = {"kind": "quantity", "outcome": outcome}
        return REGISTRY.get_sample_value("allegro_feed_batch_items_total", labels)

    assert (items("succeeded"), items("failed"), items("refused")) == (2, 1, None)
