"""A command Allegro accepted (PUT 201 or 409) whose report answers 404 for a while: the
batcher polls it again after a growing pause and never hands its offers to the PATCH path;
only after a long grace is it PUT again under the same id, and a 409 then keeps it polled.
A command Allegro is busy with is polled after growing pauses too. A scripted Allegro
(:class:`FakeAllegro`) and a real SQLite store."""

from __future__ import annotations

import itertools

import pytest

from schemas.status import Status
from workers.allegro import CommandKind, GeneralReport, NotFound
from workers.batching import JournalState
from workers.batching._pacing import MAX_POLL_PAUSE_S, poll_pause_s
from workers.batching.sender import UNSEEN_GRACE_S

from .test_flusher import FakeAllegro, Rig


class LaggyAllegro(FakeAllegro):
    """The report (and tasks) of a command answer 404 for its first ``unseen`` reads."""

    def __init__(self, unseen: int) -> None:
        super().__init__()
        self.unseen = unseen

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport:
        if self.unseen > 0 and command_id in self.commands:
            self.unseen -= 1
            self.calls.append(("GET404", command_id))
            raise NotFound("Command not found", status=404)
        return super().get_command_report(kind, command_id)


def _kinds(rig: Rig) -> list[str]:
    return [kind for kind, _ in rig.allegro.calls]


def test_a_report_not_visible_yet_is_polled_again_never_handed_over(rig: Rig) -> None:
    rig.allegro = LaggyAllegro(unseen=3)
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")]
    rig.settle_all(batcher, runs=200)
    assert rig.handovers == []
    assert _kinds(rig) == ["PUT", "GET404", "GET404", "GET404", "GET", "TASKS"]  # one PUT
    assert [rig.reporter.of(event) for event in events] == [Status.UPDATED] * 2
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.DONE


def test_the_pause_after_a_404_grows_and_is_capped(rig: Rig) -> None:
    rig.allegro = LaggyAllegro(unseen=100)
    rig.offer("A")
    batcher = rig.batcher()
    rig.stage(batcher, "A", 2, 3)
    pauses: list[float] = []
    seen = 0
    for _ in range(400):
        rig.run(batcher, seconds=0.05)
        misses = _kinds(rig).count("GET404")
        if misses > seen:  # this run met a 404: when is the next poll due?
            seen = misses
            (entry,) = rig.repo.entries()
            pauses.append(round(entry.next_at - rig.now, 6))
        if len(pauses) >= 8:
            break
    assert entry.state is JournalState.SENT
    assert pauses == sorted(pauses) and pauses[0] < pauses[-1] == MAX_POLL_PAUSE_S
    assert pauses[0] == poll_pause_s(0.25, 0)
    assert rig.handovers == [] and rig.reporter.messages == []


def test_after_the_grace_it_is_put_again_and_a_409_keeps_it_polled(rig: Rig) -> None:
    rig.allegro = LaggyAllegro(unseen=10**6)
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=1.0)  # PUT 201
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.SENT
    while _kinds(rig).count("PUT") < 2:
        rig.run(batcher, seconds=MAX_POLL_PAUSE_S)
        assert rig.now < 1_000 + UNSEEN_GRACE_S + 10 * MAX_POLL_PAUSE_S
    assert rig.now >= 1_000 + UNSEEN_GRACE_S  # not before the grace
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.SENT  # the re-PUT's 409: Allegro has it
    assert rig.handovers == [] and rig.reporter.of(event) is None
    rig.allegro.unseen = 0  # visible at last
    rig.settle_all(batcher, runs=50)
    assert rig.reporter.of(event) is Status.UPDATED
    assert _kinds(rig).count("PUT") == 2 and rig.handovers == []


def test_a_busy_command_is_polled_after_growing_pauses(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    rig.allegro.complete = False
    rig.run(batcher, seconds=1.0)  # sent
    sent_at = rig.now
    polled_at: list[float] = []
    while rig.now < sent_at + 30.0:  # Allegro busy for 30 s
        before = len(rig.allegro.calls)
        rig.run(batcher, seconds=0.05)
        if len(rig.allegro.calls) > before:
            polled_at.append(rig.now)
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(polled_at)]
    assert gaps[0] == pytest.approx(0.25, abs=0.05)  # the poll interval at first
    assert gaps == sorted(gaps) and gaps[-1] == pytest.approx(MAX_POLL_PAUSE_S, abs=0.05)
    assert len(polled_at) < 20  # not 120 reads at a fixed 250 ms
    rig.allegro.complete = True
    rig.settle_all(batcher, runs=100)
    assert rig.reporter.of(event) is Status.UPDATED
