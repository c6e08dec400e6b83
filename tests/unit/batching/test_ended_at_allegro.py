"""Offers Allegro ended itself (the last unit sold: EMPTY_STOCK) while the registry still
believes them live: after a quantity command the batcher reads their publication status
(one GET /sale/offers per 100 offers, ENDED only) and sends those found ENDED the ACTIVATE
a restock gets; an END for an offer already ENDED ends ENDED; an ACTIVATE reports
ACTIVATING until Allegro lists the offer ACTIVE. A scripted Allegro (:class:`FakeAllegro`)
and a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from schemas.status import Status
from workers.allegro import CommandKind, Forbidden, OfferListing, ServerError
from workers.batching import JournalState

from .test_flusher import FakeAllegro, Rig


def _message(rig: Rig, event: str) -> tuple[Status, str | None]:
    (message,) = [m for m in rig.reporter.messages if m.event_id == event]
    return message.status, message.publication_status


def _registry(rig: Rig, sku: str) -> str | None:
    record = rig.store.get_offer("default", sku)
    assert record is not None
    return record.publication_status


def test_a_sold_out_offer_restocked_gets_its_activate(rig: Rig) -> None:
    rig.offer("A", status="ACTIVE", stock=1)  # the registry: what we last sent
    rig.offer("B", status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-A": "ENDED", "o-B": "ACTIVE"}  # a buyer took A's last unit
    batcher = rig.batcher()
    events = {sku: rig.stage(batcher, sku, 2, 10) for sku in ("A", "B")}
    rig.run(batcher, seconds=1.0)  # the quantity command
    rig.run(batcher, seconds=0.25)  # done: A's ACTIVATE written and sent at once
    assert rig.allegro.searches == [(["o-A", "o-B"], ("ENDED",))]  # one read, ENDED only
    assert rig.allegro.puts() == [
        (CommandKind.QUANTITY, ["o-A", "o-B"], 10),
        (CommandKind.PUBLICATION, ["o-A"], "ACTIVATE"),
    ]
    assert _message(rig, events["B"]) == (Status.UPDATED, "ACTIVE")
    assert rig.reporter.of(events["A"]) is None  # waits for the ACTIVATE
    assert _registry(rig, "A") == "ENDED"  # as Allegro has it, until the ACTIVATE is done
    rig.allegro.listed["o-A"] = "ACTIVE"  # Allegro activates it
    rig.settle_all(batcher)
    assert _message(rig, events["A"]) == (Status.UPDATED, "ACTIVE")
    assert _registry(rig, "A") == "ACTIVE"
    assert rig.allegro.searches[-1] == (["o-A"], ("ACTIVE",))
    assert rig.handovers == []


def test_an_activation_not_listed_active_yet_is_reported_activating(rig: Rig) -> None:
    rig.offer("A", status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-A": "ENDED"}
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 4)
    rig.settle_all(batcher)
    assert _message(rig, event) == (Status.UPDATED, "ACTIVATING")
    assert _registry(rig, "A") == "ACTIVATING"  # live: the next quantity checks it again


def test_offers_allegro_lists_live_get_no_activate(rig: Rig) -> None:
    for sku in ("A", "B"):
        rig.offer(sku, status="ACTIVE", stock=5)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")]
    rig.settle_all(batcher)
    assert [kind for kind, _, _ in rig.allegro.puts()] == [CommandKind.QUANTITY]
    assert len(rig.allegro.searches) == 1
    assert [_message(rig, e) for e in events] == [(Status.UPDATED, "ACTIVE")] * 2


def test_offers_the_registry_knows_ended_are_not_read(rig: Rig) -> None:
    rig.offer("A", status="ENDED", stock=0)
    batcher = rig.batcher()
    rig.stage(batcher, "A", 2, 3)
    rig.settle_all(batcher)
    # The quantity's ACTIVATE follows from the registry; only the ACTIVATE is checked.
    assert rig.allegro.searches == [(["o-A"], ("ACTIVE",))]


def test_stock_0_of_an_offer_allegro_ended_already_ends_ended(rig: Rig) -> None:
    rig.offer("A", status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-A": "ENDED"}
    # Allegro's END task fails for an offer that is no longer active.
    rig.allegro.fail = {"o-A": [{"code": "SomethingAboutStatus", "message": "not active"}]}
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 0)
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [(CommandKind.PUBLICATION, ["o-A"], "END")]
    assert rig.allegro.searches == [(["o-A"], ("ENDED",))]
    assert _message(rig, event) == (Status.ENDED, "ENDED")
    assert _registry(rig, "A") == "ENDED"
    assert rig.handovers == []


def test_a_failed_end_of_an_offer_not_ended_still_goes_the_patch_path(rig: Rig) -> None:
    rig.offer("A", status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-A": "ACTIVE"}
    rig.allegro.fail = {"o-A": [{"code": "ConflictException", "message": "busy"}]}
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 0)
    rig.settle_all(batcher)
    assert [(h.sku, h.event_id) for h in rig.handovers] == [("A", event)]


class RefusingSearch(FakeAllegro):
    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.errors = list(errors)

    def find_offers_by_id(
        self, offer_ids: Iterable[str], *, statuses: Sequence[str] = ()
    ) -> list[OfferListing]:
        if self.errors:
            self.searches.append((list(offer_ids), tuple(statuses)))
            raise self.errors.pop(0)
        return super().find_offers_by_id(offer_ids, statuses=statuses)


def test_a_transient_failure_of_the_status_read_repeats_the_poll(rig: Rig) -> None:
    rig.allegro = RefusingSearch(ServerError("boom", status=503))
    rig.offer("A", status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-A": "ENDED"}
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 10)
    rig.run(batcher, seconds=1.0)
    rig.run(batcher, seconds=0.25)  # the poll fails with the status read
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.SENT
    assert rig.reporter.messages == []
    rig.settle_all(batcher)  # read again: ENDED, so the ACTIVATE follows
    assert [kind for kind, _, _ in rig.allegro.puts()][-1] == CommandKind.PUBLICATION
    assert _message(rig, event) == (Status.UPDATED, "ACTIVATING")


def test_a_refused_status_read_settles_as_before(rig: Rig) -> None:
    rig.allegro = RefusingSearch(Forbidden("no offers:read", status=403))
    rig.offer("A", status="ACTIVE", stock=1)
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 10)
    rig.settle_all(batcher)
    assert _message(rig, event) == (Status.UPDATED, "ACTIVE")
    assert [kind for kind, _, _ in rig.allegro.puts()] == [CommandKind.QUANTITY]


def test_the_commands_finished_in_one_run_are_read_together(rig: Rig) -> None:
    # Three quantity commands (three values) finish in the same run: one read for all.
    for sku in ("A", "B", "C"):
        rig.offer(sku, status="ACTIVE", stock=1)
    rig.allegro.listed = {"o-B": "ENDED"}
    batcher = rig.batcher()
    events = {
        sku: rig.stage(batcher, sku, 2, value) for sku, value in zip("ABC", (4, 5, 6), strict=True)
    }
    rig.run(batcher, seconds=1.0)
    assert len(rig.allegro.puts()) == 3
    rig.run(batcher, seconds=0.25)
    assert len(rig.allegro.searches) == 1
    ((ids, statuses),) = rig.allegro.searches
    assert sorted(ids) == ["o-A", "o-B", "o-C"] and statuses == ("ENDED",)
    assert _message(rig, events["A"]) == (Status.UPDATED, "ACTIVE")
    assert _message(rig, events["C"]) == (Status.UPDATED, "ACTIVE")
    assert rig.reporter.of(events["B"]) is None  # waits for its ACTIVATE
    assert rig.allegro.puts()[-1] == (CommandKind.PUBLICATION, ["o-B"], "ACTIVATE")


def test_more_than_100_offers_are_read_100_at_a_time(rig: Rig) -> None:
    skus = [f"S{i:03d}" for i in range(150)]
    for sku in skus:
        rig.offer(sku, status="ACTIVE", stock=1)
    batcher = rig.batcher()
    for sku in skus:
        rig.stage(batcher, sku, 2, 9)
    rig.settle_all(batcher)
    assert sorted(len(ids) for ids, _ in rig.allegro.searches) == [50, 100]
    assert sorted(i for ids, _ in rig.allegro.searches for i in ids) == [f"o-{s}" for s in skus]


def test_a_failed_read_repeats_the_polls_of_every_command_it_covered(rig: Rig) -> None:
    rig.allegro = RefusingSearch(ServerError("boom", status=503))
    for sku in ("A", "B"):
        rig.offer(sku, status="ACTIVE", stock=1)
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, value) for sku, value in (("A", 4), ("B", 5))]
    rig.run(batcher, seconds=1.0)
    rig.run(batcher, seconds=0.25)  # both finished; the one read for both fails
    assert {e.state for e in rig.repo.entries()} == {JournalState.SENT}
    assert rig.reporter.messages == []
    rig.settle_all(batcher)
    assert [_message(rig, e) for e in events] == [(Status.UPDATED, "ACTIVE")] * 2


# --- an offer that no longer exists (archived) ----------------------------------------------


def test_a_task_failing_for_an_offer_that_no_longer_exists_goes_the_patch_path(
    rig: Rig,
) -> None:
    # Ended over 60 days ago: archived, Allegro's task says it does not exist (FACTS §11).
    rig.offer("A", status="ENDED", stock=0)
    rig.allegro.fail = {"o-A": [{"code": "OfferNotFoundException", "message": "not found"}]}
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 5)
    rig.settle_all(batcher)
    (handover,) = rig.handovers
    assert (handover.sku, handover.event_id, handover.offer_id) == ("A", event, "o-A")
    assert "no longer exists" in handover.reason
    assert handover.errors[0]["code"] == "OfferNotFoundException"
    assert rig.reporter.of(event) is None  # the PATCH path reports it
    assert [kind for kind, _, _ in rig.allegro.puts()] == [CommandKind.QUANTITY]  # no ACTIVATE


def test_without_a_patch_path_a_gone_offer_is_rejected_with_allegros_error(rig: Rig) -> None:
    rig.offer("A")
    rig.allegro.fail = {"o-A": [{"code": "OfferNotFoundException", "message": "not found"}]}
    batcher = rig.batcher(handover=False)
    event = rig.stage(batcher, "A", 2, 7)
    rig.settle_all(batcher)
    (message,) = [m for m in rig.reporter.messages if m.event_id == event]
    assert message.status is Status.REJECTED
    assert message.errors[0].code == "OfferNotFoundException"
