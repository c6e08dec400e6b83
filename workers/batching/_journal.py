"""The journal table ``batch_commands`` (see :mod:`workers.batching.repo`): reading
entries, their leases, and their way from NEW through SENT (completion, which touches the
pending changes too, is :meth:`~workers.batching.repo.BatchRepo.complete`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._db import Conn, Database
from .model import CommandType, Item, JournalEntry, JournalState

__all__ = ["COMMAND_COLUMNS", "JournalTable"]

COMMAND_COLUMNS = (
    "command_id, account, kind, value, items, state, created_at, next_at, parent, attempts, "
    "polls, owner, lease_until, trace_id, error, sent_at, done_at"
)


class JournalTable:
    """Methods on ``batch_commands``; the class using it sets ``db``."""

    db: Database

    def _entry(self, row: Sequence[Any]) -> JournalEntry:
        return JournalEntry(
            command_id=row[0],
            account=row[1],
            type=CommandType(row[2]),
            value=self.db.json_out(row[3]),
            items=tuple(Item.from_json(item) for item in self.db.json_out(row[4])),
            state=JournalState(row[5]),
            created_at=float(row[6]),
            next_at=float(row[7]),
            parent=row[8],
            attempts=int(row[9]),
            polls=int(row[10]),
            owner=row[11],
            lease_until=row[12],
            trace_id=row[13],
            error=row[14],
            sent_at=row[15],
            done_at=row[16],
        )

    def _insert_entry(self, conn: Conn, entry: JournalEntry) -> None:
        conn.execute(
            "INSERT INTO batch_commands (command_id, account, kind, value, offer_ids, "
            "event_ids, items, state, created_at, next_at, parent, attempts, polls, owner, "
            "lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
            (
                entry.command_id,
                entry.account,
                entry.type.value,
                self.db.json_in(entry.value),
                self.db.json_in(entry.offer_ids),
                self.db.json_in(entry.event_ids),
                self.db.json_in([item.to_json() for item in entry.items]),
                entry.state.value,
                entry.created_at,
                entry.next_at,
                entry.parent,
                entry.owner,
                entry.lease_until,
            ),
        )

    # --- working the journal --------------------------------------------------------------------

    def lease_due(
        self, account: str, *, owner: str, lease_s: float, now: float, limit: int = 200
    ) -> list[JournalEntry]:
        """Take (or extend) the lease of ``account``'s unfinished entries that are due
        (``next_at`` reached) and free, expired or already ``owner``'s; return them, oldest
        first."""

        def work(conn: Conn) -> list[Sequence[Any]]:
            conn.execute(
                "UPDATE batch_commands SET owner = ?, lease_until = ? "
                "WHERE account = ? AND state <> 'DONE' AND next_at <= ? "
                "AND (owner IS NULL OR owner = ? OR lease_until <= ?)",
                (owner, now + lease_s, account, now, owner, now),
            )
            rows: list[Sequence[Any]] = conn.execute(
                f"SELECT {COMMAND_COLUMNS} FROM batch_commands "  # noqa: S608
                "WHERE account = ? AND state <> 'DONE' AND next_at <= ? AND owner = ? "
                "ORDER BY created_at, command_id LIMIT ?",
                (account, now, owner, limit),
            ).fetchall()
            return rows

        # Decoded once the transaction is over: an entry's items (up to 1,000 offers each)
        # are most of the work, and the writer lock is not needed for it.
        return [self._entry(row) for row in self.db.tx(work)]

    def mark_sent(
        self, command_id: str, *, owner: str, trace_id: str | None, now: float, next_at: float
    ) -> bool:
        """NEW → SENT: Allegro accepted the PUT (201, or 409 for the same id earlier)."""
        changed = self.db.tx(
            lambda conn: (
                conn.execute(
                    "UPDATE batch_commands SET state = 'SENT', sent_at = ?, trace_id = ?, "
                    "attempts = attempts + 1, next_at = ?, error = NULL "
                    "WHERE command_id = ? AND state = 'NEW' AND owner = ?",
                    (now, trace_id, next_at, command_id, owner),
                ).rowcount
            )
        )
        return bool(changed)

    def reschedule(
        self,
        command_id: str,
        *,
        owner: str,
        next_at: float,
        error: str | None = None,
        attempt: bool = False,
        poll: bool = False,
        state: JournalState | None = None,
    ) -> None:
        """Look at the entry again at ``next_at``; count a failed PUT (``attempt``) or a
        poll (``poll``); ``state`` NEW sends it again (Allegro does not know it)."""
        self.db.tx(
            lambda conn: conn.execute(
                "UPDATE batch_commands SET next_at = ?, error = ?, "
                "attempts = attempts + ?, polls = polls + ?, state = COALESCE(?, state) "
                "WHERE command_id = ? AND owner = ? AND state <> 'DONE'",
                (
                    next_at,
                    error,
                    int(attempt),
                    int(poll),
                    state.value if state is not None else None,
                    command_id,
                    owner,
                ),
            )
        )

    def release(self, command_id: str, *, owner: str) -> None:
        """Give up the lease of an entry (another batcher may take it at once)."""
        self.db.tx(
            lambda conn: conn.execute(
                "UPDATE batch_commands SET owner = NULL, lease_until = NULL "
                "WHERE command_id = ? AND owner = ?",
                (command_id, owner),
            )
        )

    def release_all(self, *, owner: str) -> int:
        """Give up every unfinished entry ``owner`` leases (a batcher stopping); returns
        how many."""
        released: int = self.db.tx(
            lambda conn: (
                conn.execute(
                    "UPDATE batch_commands SET owner = NULL, lease_until = NULL "
                    "WHERE owner = ? AND state <> 'DONE'",
                    (owner,),
                ).rowcount
            )
        )
        return released

    def entry(self, command_id: str) -> JournalEntry | None:
        row = self.db.read(
            lambda conn: conn.execute(
                f"SELECT {COMMAND_COLUMNS} FROM batch_commands WHERE command_id = ?",  # noqa: S608
                (command_id,),
            ).fetchone()
        )
        return self._entry(row) if row is not None else None

    def entries(
        self, account: str | None = None, states: Iterable[JournalState] | None = None
    ) -> list[JournalEntry]:
        """Journal entries (of ``account``, in ``states``), oldest first."""
        where, params = ["1 = 1"], []
        if account is not None:
            where.append("account = ?")
            params.append(account)
        wanted = [s.value for s in states] if states is not None else []
        if wanted:
            where.append(f"state IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        rows = self.db.read(
            lambda conn: conn.execute(
                f"SELECT {COMMAND_COLUMNS} FROM batch_commands "  # noqa: S608
                f"WHERE {' AND '.join(where)} ORDER BY created_at, command_id",
                params,
            ).fetchall()
        )
        return [self._entry(row) for row in rows]
