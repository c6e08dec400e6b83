"""The batching tables on SQLite and PostgreSQL: staging (coalescing, duplicates), claiming
into the journal, leases of journal entries, completion and follow-ups, concurrency."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

from workers.batching import BatchRepo
from workers.batching.model import (
    ChangeKind,
    CommandType,
    Item,
    JournalState,
    NewCommand,
    StagedEvent,
    StageOutcome,
)


def staged(sku: str, version: int, available: int, *, account: str = "default") -> StagedEvent:
    return StagedEvent(
        account=account,
        sku=sku,
        kind=ChangeKind.STOCK,
        value={"available": available, "unit": "UNIT"},
        version=version,
        event_id=f"ev-{account}-{sku}-{version}",
        offer_id=f"o-{sku}",
    )


def command(repo: BatchRepo, skus: list[str], *, cid: str, account: str = "default") -> NewCommand:
    """A quantity command of the pending changes of ``skus`` as they are now."""
    items = []
    for sku in skus:
        row = repo.pending_row(account, sku, ChangeKind.STOCK)
        assert row is not None
        items.append(
            Item(
                sku=sku,
                offer_id=row.offer_id,
                kind=ChangeKind.STOCK,
                value=row.value,
                version=row.version,
            )
        )
    return NewCommand(CommandType.QUANTITY, 5, tuple(items), command_id=cid)


def test_unclaimed_counts_the_staged_changes_no_batcher_has_claimed(repo: BatchRepo) -> None:
    assert repo.unclaimed() == (0, None)
    repo.stage(staged("A", 1, 3), 10.0)
    repo.stage(staged("B", 1, 4), 12.0)
    repo.stage(staged("C", 1, 5, account="other"), 11.0)
    assert repo.unclaimed() == (3, 10.0)  # every account, the oldest first_at

    repo.claim("default", [command(repo, ["A"], cid="c1")], owner="b", lease_s=30, now=13.0)
    assert repo.unclaimed() == (2, 11.0)  # A is in flight now


def test_staging_coalesces_and_deduplicates(repo: BatchRepo) -> None:
    assert repo.stage(staged("A", 1, 3), 10.0) is StageOutcome.STAGED
    assert repo.stage(staged("A", 3, 9), 10.1) is StageOutcome.STAGED
    assert repo.stage(staged("A", 2, 5), 10.2) is StageOutcome.STAGED  # late, older
    assert repo.stage(staged("A", 3, 9), 10.3) is StageOutcome.DUPLICATE
    row = repo.pending_row("default", "A", ChangeKind.STOCK)
    assert row is not None
    assert (row.value, row.version, row.first_at, row.last_at, row.offer_id) == (
        {"available": 9, "unit": "UNIT"},
        3,
        10.0,
        10.2,
        "o-A",
    )
    assert [(e.event_id, e.version) for e in row.events] == [
        ("ev-default-A-1", 1),
        ("ev-default-A-3", 3),
        ("ev-default-A-2", 2),
    ]
    assert repo.accounts_with_work() == ["default"]


def test_pending_counts_only_changes_whose_window_opened_early_enough(repo: BatchRepo) -> None:
    repo.stage(staged("A", 1, 3), 10.0)
    repo.stage(staged("B", 1, 3), 11.0)
    assert repo.pending_groups("default", 9.0)[:2] == (0, None)
    assert repo.pending_groups("default", 10.5)[:2] == (1, 10.0)
    assert [r.sku for r in repo.pending("default", 12.0)] == ["A", "B"]
    assert repo.pending_groups("other", 12.0)[:2] == (0, None)
    # The largest group of one kind and value: what one command of them could carry.
    repo.stage(staged("C", 1, 5), 11.0)
    assert repo.pending_groups("default", 12.0) == (3, 10.0, 2, 3)
    # Every change waiting counts in the load, those still coalescing too.
    assert repo.pending_groups("default", 10.5) == (1, 10.0, 1, 3)


def test_absorption_counts_the_changes_touched_since_by_when_they_were_opened(
    repo: BatchRepo,
) -> None:
    assert repo.absorption("default", 10.0) == (0, 0)
    repo.stage(staged("OLD", 1, 3), 5.0)  # opened and last touched before ``since``
    repo.stage(staged("A", 1, 3), 8.0)
    repo.stage(staged("A", 2, 4), 10.5)  # opened before, touched after: absorbed
    repo.stage(staged("B", 2, 3), 9.0)
    repo.stage(staged("B", 1, 9), 10.0)  # touched at ``since`` by a late, older event
    repo.stage(staged("C", 1, 3), 10.0)  # opened at ``since``: fresh
    repo.stage(staged("D", 1, 3), 11.0)
    repo.stage(staged("D", 2, 3), 11.5)  # opened and touched after: fresh
    repo.stage(staged("A", 3, 5, account="other"), 10.5)  # another account's
    assert repo.absorption("default", 10.0) == (2, 2)  # A and B; C and D
    assert repo.absorption("default", 10.2) == (1, 1)  # A; D
    assert repo.absorption("other", 10.0) == (0, 1)
    assert repo.absorption("default", 12.0) == (0, 0)
    # A claimed change counts no more; a newer event for it while the claimed one is in
    # flight opens a change that counts as absorbed (the SKU changed again before Allegro
    # had its last value).
    cid = "12121212-1212-4212-8212-121212121212"
    repo.claim("default", [command(repo, ["A"], cid=cid)], owner="me", lease_s=15, now=12.0)
    assert repo.absorption("default", 10.0) == (1, 2)
    repo.stage(staged("A", 4, 6), 12.5)
    assert repo.absorption("default", 10.0) == (2, 2)


def test_claim_moves_the_change_into_the_journal_once(repo: BatchRepo) -> None:
    for version in (1, 2):
        repo.stage(staged("A", version, version), 1.0)
    repo.stage(staged("B", 1, 4), 1.0)
    planned = command(repo, ["A", "B"], cid="11111111-1111-4111-8111-111111111111")
    (entry,) = repo.claim("default", [planned], owner="me", lease_s=15, now=2.0)
    assert (entry.state, entry.owner, entry.lease_until, entry.created_at) == (
        JournalState.NEW,
        "me",
        17.0,
        2.0,
    )
    assert entry.offer_ids == ["o-A", "o-B"]
    assert entry.event_ids == ["ev-default-A-1", "ev-default-A-2", "ev-default-B-1"]
    assert repo.entry(entry.command_id) == entry
    # Claimed: nothing pending, both in flight; claiming again writes nothing.
    assert repo.pending("default", 10.0) == []
    assert repo.in_flight("default", ["A", "B", "C"]) == {"A", "B"}
    again = dataclasses.replace(planned, command_id="22222222-2222-4222-8222-222222222222")
    assert repo.claim("default", [again], owner="me", lease_s=15, now=2.0) == []
    # A newer event waits for the command in flight; an older one is superseded.
    assert repo.stage(staged("A", 1, 7), 3.0) is StageOutcome.DUPLICATE
    assert repo.stage(staged("A", 0, 7), 3.0) is StageOutcome.SUPERSEDED
    assert repo.stage(staged("A", 5, 8), 3.0) is StageOutcome.STAGED
    assert repo.pending_groups("default", 10.0)[:2] == (0, None)
    assert repo.accounts_with_work() == ["default"]


def test_claim_leaves_a_change_that_moved_on_since_it_was_planned(repo: BatchRepo) -> None:
    repo.stage(staged("A", 1, 3), 1.0)
    repo.stage(staged("B", 1, 3), 1.0)
    planned = command(repo, ["A", "B"], cid="33333333-3333-4333-8333-333333333333")
    repo.stage(staged("A", 2, 6), 1.5)  # newer value after planning
    (entry,) = repo.claim("default", [planned], owner="me", lease_s=15, now=2.0)
    assert [i.sku for i in entry.items] == ["B"]
    row = repo.pending_row("default", "A", ChangeKind.STOCK)
    assert row is not None and row.pending and row.version == 2


def test_journal_leases_polls_and_completion_with_a_follow_up(repo: BatchRepo) -> None:
    repo.stage(staged("A", 1, 3), 1.0)
    repo.stage(staged("B", 1, 3), 1.0)
    cid = "44444444-4444-4444-8444-444444444444"
    repo.claim("default", [command(repo, ["A", "B"], cid=cid)], owner="a", lease_s=15, now=2.0)
    # The owner's lease keeps others out until it expires.
    assert repo.lease_due("default", owner="b", lease_s=15, now=3.0) == []
    assert [e.command_id for e in repo.lease_due("default", owner="a", lease_s=15, now=3.0)] == [
        cid
    ]
    assert repo.mark_sent(cid, owner="a", trace_id="t-1", now=3.0, next_at=3.25)
    assert not repo.mark_sent(cid, owner="a", trace_id="t-2", now=3.0, next_at=3.25)
    sent = repo.entry(cid)
    assert sent is not None
    assert (sent.state, sent.trace_id, sent.attempts, sent.next_at) == (
        JournalState.SENT,
        "t-1",
        1,
        3.25,
    )
    assert repo.lease_due("default", owner="a", lease_s=15, now=3.2) == []  # not due yet
    repo.reschedule(cid, owner="a", next_at=3.5, poll=True)
    (due,) = repo.lease_due("default", owner="a", lease_s=15, now=3.6)
    assert due.polls == 1 and due.lease_until == 18.6
    assert repo.lease_due("default", owner="b", lease_s=15, now=10.0) == []
    (taken,) = repo.lease_due("default", owner="b", lease_s=15, now=19.0)  # expired
    assert taken.owner == "b"
    assert not repo.complete(taken, owner="a", now=19.5)  # no longer a's
    follow = NewCommand(
        CommandType.PUBLICATION,
        "ACTIVATE",
        (taken.items[0],),
        command_id="55555555-5555-4555-8555-555555555555",
        parent=cid,
    )
    assert repo.complete(taken, owner="b", now=20.0, follow=follow)
    assert not repo.complete(taken, owner="b", now=20.0)  # once
    done = repo.entry(cid)
    assert done is not None and (done.state, done.done_at, done.owner) == (
        JournalState.DONE,
        20.0,
        None,
    )
    activate = repo.entry(follow.command_id)
    assert activate is not None
    assert (activate.state, activate.parent, activate.owner, activate.value) == (
        JournalState.NEW,
        cid,
        "b",
        "ACTIVATE",
    )
    assert repo.in_flight("default", ["A", "B"]) == {"A"}
    states = [e.state for e in repo.entries("default")]
    assert states == [JournalState.DONE, JournalState.NEW]
    assert [e.command_id for e in repo.entries(states=[JournalState.NEW])] == [follow.command_id]


def test_reschedule_to_new_and_release(repo: BatchRepo) -> None:
    repo.stage(staged("A", 1, 3), 1.0)
    cid = "66666666-6666-4666-8666-666666666666"
    repo.claim("default", [command(repo, ["A"], cid=cid)], owner="a", lease_s=15, now=2.0)
    repo.mark_sent(cid, owner="a", trace_id=None, now=2.0, next_at=2.0)
    repo.reschedule(cid, owner="a", next_at=2.5, error="unknown", state=JournalState.NEW)
    entry = repo.entry(cid)
    assert entry is not None and (entry.state, entry.error) == (JournalState.NEW, "unknown")
    repo.release(cid, owner="a")
    (taken,) = repo.lease_due("default", owner="b", lease_s=15, now=3.0)
    assert taken.owner == "b"
    assert repo.release_all(owner="b") == 1
    (taken,) = repo.lease_due("default", owner="c", lease_s=15, now=3.0)
    assert taken.owner == "c"


def test_prune_drops_old_done_entries_and_staged_ids(repo: BatchRepo) -> None:
    repo.stage(staged("A", 1, 3), 1.0)
    cid = "77777777-7777-4777-8777-777777777777"
    (entry,) = repo.claim(
        "default", [command(repo, ["A"], cid=cid)], owner="a", lease_s=15, now=2.0
    )
    assert repo.complete(entry, owner="a", now=3.0)
    assert repo.prune(2.5) == 1  # the staged id only
    assert repo.prune(4.0) == 1  # the entry
    assert repo.entries() == []
    assert repo.accounts_with_work() == []


def test_concurrent_staging_keeps_every_event_and_the_newest_value(store_url: str) -> None:
    repos = [BatchRepo(store_url) for _ in range(4)]
    try:
        versions = list(range(1, 41))

        def stage(version: int) -> StageOutcome:
            return repos[version % 4].stage(staged("HOT", version, version), float(version))

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(stage, versions))
        assert set(outcomes) == {StageOutcome.STAGED}
        row = repos[0].pending_row("default", "HOT", ChangeKind.STOCK)
        assert row is not None
        assert sorted(e.version for e in row.events) == versions
        assert (row.version, row.value["available"]) == (40, 40)
    finally:
        for opened in repos:
            opened.close()


def test_two_claimers_never_claim_the_same_change(store_url: str) -> None:
    first, second = BatchRepo(store_url), BatchRepo(store_url)
    try:
        skus = [f"S{i:03d}" for i in range(60)]
        for sku in skus:
            first.stage(staged(sku, 1, 2), 1.0)
        plans = [
            command(first, skus, cid="88888888-8888-4888-8888-888888888888"),
            command(first, skus, cid="99999999-9999-4999-8999-999999999999"),
        ]
        barrier = threading.Barrier(2)

        def claim(args: tuple[BatchRepo, NewCommand]) -> list[str]:
            repo, planned = args
            barrier.wait()
            written = repo.claim("default", [planned], owner="x", lease_s=15, now=2.0)
            return [i.sku for e in written for i in e.items]

        with ThreadPoolExecutor(max_workers=2) as pool:
            claimed = list(pool.map(claim, zip((first, second), plans, strict=True)))
        assert sorted(claimed[0] + claimed[1]) == skus
    finally:
        first.close()
        second.close()
