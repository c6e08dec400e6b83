"""The batching tables: pending changes, staged event ids and the command journal.

- ``batch_pending`` (account, sku, kind): the change waiting to be sent. Staging upserts it
  (:func:`~workers.batching.plan.coalesce`: the newest version's value wins, every event is
  kept with its version). Claiming moves its events into a journal entry, in the same
  transaction, and marks the row in flight until that entry is done: two batchers never
  send the same change, and a newer change of the SKU waits for the older one.
- ``batch_staged`` (event_id): each event is staged once (a redelivery is a DUPLICATE).
- ``batch_commands``: the journal. An entry is written (NEW) *before* its PUT, with the
  command id it will be sent under; after a crash it is PUT again with the same id (409
  means Allegro took it the first time) and polled (SENT) until every item has its outcome
  (DONE). Each entry is leased by one batcher at a time (``owner``, ``lease_until``).

Every time column holds Unix epoch seconds of the batcher's clock. Every method is one
transaction and raises the store's errors (:class:`~workers.store.StoreError`,
:class:`~workers.store.StoreUnavailable`). Open it on the store's URL after the store has
been migrated (``open_store(url)`` creates these tables).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from workers.store._common import chunks
from workers.store._common import marks as in_marks

from ._db import Conn, Database, open_database
from ._journal import JournalTable
from .model import (
    ChangeKind,
    Item,
    JournalEntry,
    JournalState,
    NewCommand,
    PendingRow,
    StagedEvent,
    StageOutcome,
    events_from_json,
    events_to_json,
)
from .plan import coalesce

__all__ = ["BatchRepo"]

_PENDING_COLUMNS = (
    "account, sku, kind, value, version, events, first_at, last_at, sent_version, inflight, "
    "offer_id"
)


def _in_lists(skus: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """``skus`` without repeats, in the store's chunks (:func:`~workers.store._common.chunks`),
    each with its ``?`` placeholders for an ``IN (...)`` list. Sorted: on PostgreSQL every
    claimer then locks its rows chunk by chunk in one order, never in two that cross."""
    for chunk in chunks(sorted(set(skus))):
        yield chunk, in_marks(chunk)


class BatchRepo(JournalTable):
    """The batching tables of the store at ``url`` (see the module doc)."""

    def __init__(
        self, url: str | None = None, *, database: Database | None = None, store: object = None
    ) -> None:
        if database is None:
            if url is None:
                raise ValueError("give the store's URL or a database")
            database = open_database(url, store)
        self.db = database

    @property
    def joins_store_units(self) -> bool:
        """Whether this repository's writes join the store's units of work (SQLite, opened
        with ``store=``: the store's connection). Otherwise a store unit of work must not
        wrap its writes: on SQLite, a second connection would wait for the unit's lock."""
        return bool(getattr(self.db, "shares_store_connection", False))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> BatchRepo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- rows -------------------------------------------------------------------------------

    def _pending(self, row: Sequence[Any]) -> PendingRow:
        return PendingRow(
            account=row[0],
            sku=row[1],
            kind=ChangeKind(row[2]),
            value=self.db.json_out(row[3]),
            version=int(row[4]),
            events=events_from_json(self.db.json_out(row[5])),
            first_at=row[6],
            last_at=row[7],
            sent_version=int(row[8]),
            inflight=row[9],
            offer_id=row[10],
        )

    def _row(self, conn: Conn, account: str, sku: str, kind: str) -> PendingRow | None:
        found = conn.execute(
            f"SELECT {_PENDING_COLUMNS} FROM batch_pending "  # noqa: S608
            f"WHERE account = ? AND sku = ? AND kind = ?{self.db.for_update}",
            (account, sku, kind),
        ).fetchone()
        return self._pending(found) if found is not None else None

    def _insert_row(self, conn: Conn, row: PendingRow) -> bool:
        return bool(
            conn.execute(
                f"INSERT INTO batch_pending ({_PENDING_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, sku, kind) DO NOTHING",
                (
                    row.account,
                    row.sku,
                    row.kind.value,
                    self.db.json_in(row.value),
                    row.version,
                    self.db.json_in(events_to_json(row.events)),
                    row.first_at,
                    row.last_at,
                    row.sent_version,
                    row.inflight,
                    row.offer_id,
                ),
            ).rowcount
        )

    def _update_row(self, conn: Conn, row: PendingRow) -> None:
        conn.execute(
            "UPDATE batch_pending SET value = ?, version = ?, events = ?, first_at = ?, "
            "last_at = ?, sent_version = ?, inflight = ?, offer_id = ? "
            "WHERE account = ? AND sku = ? AND kind = ?",
            (
                self.db.json_in(row.value),
                row.version,
                self.db.json_in(events_to_json(row.events)),
                row.first_at,
                row.last_at,
                row.sent_version,
                row.inflight,
                row.offer_id,
                row.account,
                row.sku,
                row.kind.value,
            ),
        )

    # --- staging ----------------------------------------------------------------------------

    def stage(self, staged: StagedEvent, now: float, *, first_time: bool = False) -> StageOutcome:
        """Merge one event into its SKU's pending change (see the module doc).
        ``first_time``: the caller vouches that the event was never staged (it was recorded
        in this very transaction), so no ``batch_staged`` row is needed to tell."""

        def work(conn: Conn) -> StageOutcome:
            first = (
                first_time
                or conn.execute(
                    "INSERT INTO batch_staged (event_id, account, staged_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (event_id) DO NOTHING",
                    (staged.event_id, staged.account, now),
                ).rowcount
            )
            if not first:
                return StageOutcome.DUPLICATE
            key = (staged.account, staged.sku, staged.kind.value)
            current = self._row(conn, *key)
            if current is None:
                fresh, outcome = coalesce(None, staged, now)
                if self._insert_row(conn, fresh):
                    return outcome
                # Inserted meanwhile by another transaction (PostgreSQL): locked now.
                current = self._row(conn, *key)
                assert current is not None
            merged, outcome = coalesce(current, staged, now)
            if outcome is StageOutcome.STAGED:
                self._update_row(conn, merged)
            return outcome

        return self.db.tx(work)

    def pending_row(self, account: str, sku: str, kind: ChangeKind) -> PendingRow | None:
        return self.db.read(lambda conn: self._row(conn, account, sku, kind.value))

    # --- what is due ------------------------------------------------------------------------

    def accounts_with_work(self) -> list[str]:
        """Accounts with a pending change or an unfinished journal entry."""
        rows = self.db.read(
            lambda conn: conn.execute(
                "SELECT account FROM batch_pending WHERE first_at IS NOT NULL "
                "UNION SELECT account FROM batch_commands WHERE state <> 'DONE'"
            ).fetchall()
        )
        return sorted({str(row[0]) for row in rows})

    def pending_groups(
        self, account: str, settled_before: float
    ) -> tuple[int, float | None, int, int]:
        """How many changes of ``account`` can be claimed (not in flight, coalescing window
        opened at or before ``settled_before``), the earliest ``first_at`` of them, the
        size of the largest group of them that share a kind and a value (the most offers
        one command of them could carry), and how many changes wait in all (those still
        coalescing too: the load)."""
        row = self.db.read(
            lambda conn: conn.execute(
                "SELECT COALESCE(SUM(r), 0), MIN(f), COALESCE(MAX(r), 0), COALESCE(SUM(n), 0) "
                "FROM (SELECT SUM(CASE WHEN first_at <= ? THEN 1 ELSE 0 END) AS r, "
                "MIN(CASE WHEN first_at <= ? THEN first_at END) AS f, COUNT(*) AS n "
                "FROM batch_pending WHERE account = ? AND first_at IS NOT NULL "
                "AND inflight IS NULL GROUP BY kind, value) AS groups",
                (settled_before, settled_before, account),
            ).fetchone()
        )
        oldest = float(row[1]) if row[1] is not None else None
        return int(row[0]), oldest, int(row[2]), int(row[3])

    def unclaimed(self) -> tuple[int, float | None]:
        """How many staged changes of every account no batcher has claimed yet, and the
        earliest ``first_at`` among them (epoch seconds; None when there are none)."""
        row = self.db.read(
            lambda conn: conn.execute(
                "SELECT COUNT(*), MIN(first_at) FROM batch_pending "
                "WHERE first_at IS NOT NULL AND inflight IS NULL"
            ).fetchone()
        )
        return int(row[0]), float(row[1]) if row[1] is not None else None

    def absorption(self, account: str, since: float) -> tuple[int, int]:
        """How the changes staged for ``account`` since ``since`` landed: ``(absorbed,
        fresh)``. Absorbed: the pending changes opened before ``since`` that took another
        event (of any version) after it, and those of SKUs whose previous change is still
        in flight (the SKU changed again before Allegro had the last value); fresh: the
        others opened after it. Many absorbed ones mean a burst that coalescing pays off
        for (the same SKUs changing again while they wait)."""
        row = self.db.read(
            lambda conn: conn.execute(
                "SELECT COALESCE(SUM(CASE WHEN first_at < ? OR inflight IS NOT NULL "
                "THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN first_at >= ? AND inflight IS NULL THEN 1 ELSE 0 END), 0) "
                "FROM batch_pending WHERE account = ? AND first_at IS NOT NULL "
                "AND last_at >= ?",
                (since, since, account, since),
            ).fetchone()
        )
        return int(row[0]), int(row[1])

    def pending(self, account: str, settled_before: float, limit: int = 50_000) -> list[PendingRow]:
        """The claimable changes of ``account`` (as :meth:`pending_groups` counts them),
        oldest first."""
        rows = self.db.read(
            lambda conn: conn.execute(
                f"SELECT {_PENDING_COLUMNS} FROM batch_pending WHERE account = ? "  # noqa: S608
                "AND first_at IS NOT NULL AND first_at <= ? AND inflight IS NULL "
                "ORDER BY first_at, sku, kind LIMIT ?",
                (account, settled_before, limit),
            ).fetchall()
        )
        return [self._pending(row) for row in rows]

    # --- claiming into the journal ------------------------------------------------------------

    def claim(
        self,
        account: str,
        commands: Sequence[NewCommand],
        *,
        owner: str,
        lease_s: float,
        now: float,
    ) -> list[JournalEntry]:
        """Write ``commands`` (each with its ``command_id``) to the journal as NEW, leased by
        ``owner``, and move the claimed changes out of ``batch_pending``, atomically.

        An item is claimed only when its change is still pending at the planned version
        and not in flight; the others stay pending (a newer event came meanwhile: planned
        again next time). The events claimed are those the row holds now. Returns the
        entries written (a command whose items were all left out is not written)."""

        def work(conn: Conn) -> list[JournalEntry]:
            # The claimable rows of the commands' SKUs as they are now, read once (under
            # the writer lock on SQLite, locked FOR UPDATE on PostgreSQL): (sku, kind) ->
            # (version, events as stored).
            claimable: dict[tuple[str, str], tuple[int, Any]] = {}
            skus = (item.sku for command in commands for item in command.items)
            for chunk, marks in _in_lists(skus):
                rows = conn.execute(
                    "SELECT sku, kind, version, events FROM batch_pending "  # noqa: S608
                    f"WHERE account = ? AND sku IN ({marks}) AND first_at IS NOT NULL "
                    f"AND inflight IS NULL{self.db.for_update}",
                    (account, *chunk),
                ).fetchall()
                claimable.update(((row[0], row[1]), (int(row[2]), row[3])) for row in rows)
            no_events = self.db.json_in([])
            written: list[JournalEntry] = []
            for command in commands:
                if not command.command_id:
                    raise ValueError("a command to claim needs its command_id")
                items: list[Item] = []
                for item in command.items:
                    found = claimable.pop((item.sku, item.kind.value), None)
                    if found is None or found[0] != item.version:
                        continue
                    events = events_from_json(self.db.json_out(found[1]))
                    if not events:
                        continue
                    conn.execute(
                        "UPDATE batch_pending SET events = ?, first_at = NULL, last_at = NULL, "
                        "sent_version = CASE WHEN sent_version > version THEN sent_version "
                        "ELSE version END, inflight = ? "
                        "WHERE account = ? AND sku = ? AND kind = ?",
                        (no_events, command.command_id, account, item.sku, item.kind.value),
                    )
                    items.append(item.with_events(events))
                if items:
                    entry = JournalEntry(
                        command_id=command.command_id,
                        account=account,
                        type=command.type,
                        value=command.value,
                        items=tuple(items),
                        state=JournalState.NEW,
                        created_at=now,
                        next_at=now,
                        parent=command.parent,
                        owner=owner,
                        lease_until=now + lease_s,
                    )
                    self._insert_entry(conn, entry)
                    written.append(entry)
            return written

        return self.db.tx(work)

    def complete(
        self, entry: JournalEntry, *, owner: str, now: float, follow: NewCommand | None = None
    ) -> bool:
        """→ DONE; the items' changes are no longer in flight, except those moved into
        ``follow`` (its ``command_id`` set; written NEW in the same transaction, leased by
        ``owner``). False, and nothing done, when the entry is DONE already or leased by
        another batcher (its work then decides)."""

        def work(conn: Conn) -> bool:
            done = conn.execute(
                "UPDATE batch_commands SET state = 'DONE', done_at = ?, owner = NULL, "
                "lease_until = NULL WHERE command_id = ? AND owner = ? AND state <> 'DONE'",
                (now, entry.command_id, owner),
            ).rowcount
            if not done:
                return False
            moved = {(i.sku, i.kind) for i in follow.items} if follow is not None else set()
            for item in entry.items:
                target = follow.command_id if follow and (item.sku, item.kind) in moved else None
                conn.execute(
                    "UPDATE batch_pending SET inflight = ? "
                    "WHERE account = ? AND sku = ? AND kind = ? AND inflight = ?",
                    (target, entry.account, item.sku, item.kind.value, entry.command_id),
                )
            if follow is not None:
                if not follow.command_id:
                    raise ValueError("a follow-up command needs its command_id")
                self._insert_entry(
                    conn,
                    JournalEntry(
                        command_id=follow.command_id,
                        account=entry.account,
                        type=follow.type,
                        value=follow.value,
                        items=follow.items,
                        state=JournalState.NEW,
                        created_at=now,
                        next_at=now,
                        parent=entry.command_id,
                        owner=owner,
                        lease_until=entry.lease_until,
                    ),
                )
            return True

        return self.db.tx(work)

    def in_flight(self, account: str, skus: Iterable[str]) -> set[str]:
        """The SKUs of ``skus`` that still have a change in flight."""
        found: set[str] = set()

        def work(conn: Conn) -> None:
            for chunk, marks in _in_lists(skus):
                rows = conn.execute(
                    "SELECT DISTINCT sku FROM batch_pending WHERE account = ? "  # noqa: S608
                    f"AND inflight IS NOT NULL AND sku IN ({marks})",
                    (account, *chunk),
                ).fetchall()
                found.update(str(row[0]) for row in rows)

        self.db.read(work)
        return found

    # --- reading and housekeeping ---------------------------------------------------------

    def prune(self, before: float) -> int:
        """Delete DONE entries finished before ``before`` and staged event ids older than
        it; returns how many rows went."""

        def work(conn: Conn) -> int:
            commands = conn.execute(
                "DELETE FROM batch_commands WHERE state = 'DONE' AND done_at < ?", (before,)
            ).rowcount
            staged = conn.execute(
                "DELETE FROM batch_staged WHERE staged_at < ?", (before,)
            ).rowcount
            return int(commands) + int(staged)

        result: int = self.db.tx(work)
        return result
