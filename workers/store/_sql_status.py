"""The status history in SQL both backends understand: the audit trail, the outbox of the
status messages (``published_at``) and the delivery attempt chains of terminal statuses
(one terminal status per chain; a FAILED one opens the next). See
:class:`~workers.store.base.Store` for the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from schemas.status import Status, StatusMessage
from workers.store import _common
from workers.store._common import TERMINAL_STATUSES, Conn
from workers.store._sqlcore import SqlCore
from workers.store.base import StoredStatus

__all__ = ["StatusSql"]


class StatusSql(SqlCore):
    """The status methods of :class:`~workers.store.base.Store`."""

    def add_status(self, message: StatusMessage) -> bool:
        return self.add_statuses([message])[0]

    def add_statuses(self, messages: Sequence[StatusMessage]) -> list[bool]:
        if not messages:
            return []
        dialect = self.dialect
        recorded_at = dialect.time_in(self._now())

        def insert(conn: Conn, message: StatusMessage, chain: int) -> bool:
            # A concurrent call that took the same chain first makes this insert do nothing
            # (the unique index on event_id, chain of terminal statuses).
            inserted = conn.execute(
                "INSERT INTO statuses (event_id, account, sku, version, status, terminal, "
                "chain, at, recorded_at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    message.event_id,
                    message.account,
                    message.sku,
                    message.version,
                    message.status.value,
                    message.status in TERMINAL_STATUSES,
                    chain,
                    dialect.time_in(message.at),
                    recorded_at,
                    dialect.json_in(message.model_dump(mode="json")),
                ),
            ).rowcount
            return bool(inserted == 1)

        def add(conn: Conn, message: StatusMessage) -> bool:
            terminal = message.status in TERMINAL_STATUSES and message.event_id is not None
            # The event's first terminal status takes chain 0: one statement, the common
            # case. Only when chain 0 is taken is the latest chain read.
            inserted = insert(conn, message, 0)
            if inserted or not terminal:
                return inserted
            latest = conn.execute(
                "SELECT chain, status FROM statuses WHERE event_id = ? AND terminal "
                "ORDER BY chain DESC LIMIT 1",
                (message.event_id,),
            ).fetchone()
            if latest is None or latest[1] != Status.FAILED.value:
                return False
            # The replay of a FAILED event: a new chain.
            return insert(conn, message, int(latest[0]) + 1)

        # One message after another, each seeing the ones before it (two statuses of one
        # event in a list: the second is refused like a second call would be).
        return self._tx(lambda conn: [add(conn, message) for message in messages])

    def _message(self, value: Any) -> StatusMessage:
        return StatusMessage.model_validate(self.dialect.json_out(value))

    def terminal_entry(self, event_id: str) -> StoredStatus | None:
        # "AND terminal" spelled as the partial unique index has it, so both databases use it.
        rows = self._rows(
            "SELECT message, published_at, chain FROM statuses WHERE event_id = ? AND terminal "
            "ORDER BY chain DESC LIMIT 1",
            (event_id,),
        )
        if not rows:
            return None
        message, published_at, chain = rows[0]
        return StoredStatus(
            self._message(message),
            self.dialect.time_out(published_at) if published_at is not None else None,
            int(chain),
        )

    def terminal_entries(self, event_ids: Iterable[str]) -> dict[str, StoredStatus]:
        found: dict[str, StoredStatus] = {}
        for chunk in _common.chunks(event_ids):
            rows = self._rows(
                "SELECT event_id, message, published_at, chain FROM statuses "  # noqa: S608
                f"WHERE event_id IN ({_common.marks(chunk)}) AND terminal",
                chunk,
            )
            for event_id, message, published_at, chain in rows:
                held = found.get(event_id)
                if held is not None and held.chain >= int(chain):
                    continue  # an earlier chain: the latest one counts
                found[event_id] = StoredStatus(
                    self._message(message),
                    self.dialect.time_out(published_at) if published_at is not None else None,
                    int(chain),
                )
        return found

    def terminal_status(self, event_id: str) -> StatusMessage | None:
        entry = self.terminal_entry(event_id)
        return entry.message if entry is not None else None

    def mark_status_published(self, event_id: str, status: Status) -> None:
        self.mark_statuses_published([(event_id, status)])

    def mark_statuses_published(self, published: Sequence[tuple[str, Status]]) -> None:
        if not published:
            return
        moment = self.dialect.time_in(self._now())

        # One statement per status and few hundred events, not one per event: the
        # batcher marks a whole run's statuses at once.
        by_status: dict[Status, list[str]] = {}
        for event_id, status in published:
            by_status.setdefault(status, []).append(event_id)

        def work(conn: Conn) -> None:
            for status, event_ids in by_status.items():
                # Only terminal statuses exist today; a progress status added later would
                # want an index on event_id for the other branch.
                kind = "terminal" if status in TERMINAL_STATUSES else "NOT terminal"
                for chunk in _common.chunks(event_ids):
                    conn.execute(
                        "UPDATE statuses SET published_at = ? "  # noqa: S608
                        f"WHERE event_id IN ({_common.marks(chunk)}) AND {kind} "
                        "AND status = ? AND published_at IS NULL",
                        (moment, *chunk, status.value),
                    )

        # Not durable: a mark lost in a power cut only makes the sweep publish the status
        # once more, with the same message_id.
        self._tx(work, durable=False)

    def unpublished_statuses(
        self, limit: int = 100, *, min_age_s: float = 0.0
    ) -> list[StatusMessage]:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit!r}")
        recorded_before = self._now() - timedelta(seconds=max(0.0, min_age_s))
        # The conditions of the partial index statuses_unpublished, written as it has them.
        rows = self._rows(
            "SELECT message FROM statuses WHERE published_at IS NULL AND event_id IS NOT NULL "
            "AND recorded_at <= ? ORDER BY recorded_at, id LIMIT ?",
            (self.dialect.time_in(recorded_before), limit),
        )
        return [self._message(row[0]) for row in rows]

    def history(self, account: str, sku: str, limit: int = 50) -> list[StatusMessage]:
        rows = self._rows(
            "SELECT message FROM statuses WHERE account = ? AND sku = ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (account, sku, limit),
        )
        return [self._message(row[0]) for row in rows]

    def prune_history(self, before: datetime, *, batch: int = 1000) -> int:
        if batch < 1:
            raise ValueError(f"batch must be positive, got {batch!r}")
        cutoff = self.dialect.time_in(before)
        # Through the indexes statuses_by_time and events_by_time, a batch at a time. Not
        # durable: a prune lost in a power cut is done again by the next one.
        statements = (
            (
                "DELETE FROM statuses WHERE id IN (SELECT id FROM statuses WHERE at < ? "
                "AND (published_at IS NOT NULL OR event_id IS NULL) ORDER BY at, id LIMIT ?)",
                (cutoff, batch),
            ),
            (
                "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events "
                "WHERE recorded_at < ? AND dispatched = ? LIMIT ?)",
                (cutoff, True, batch),
            ),
        )
        deleted = 0
        for sql, params in statements:
            while True:
                rows = self._write(sql, params, durable=False)
                deleted += rows
                if rows < batch:
                    break
        return deleted

    def iter_history(self, since: datetime | None = None) -> Iterator[StatusMessage]:
        # Page by (at, id) so that no transaction stays open while the caller works;
        # (at, id) > (since, 0) is at >= since, as ids start at 1.
        after: tuple[Any, int] | None = (self.dialect.time_in(since), 0) if since else None
        while True:
            page = _common.HISTORY_PAGE
            where = "WHERE (at, id) > (?, ?) " if after is not None else ""
            rows = self._rows(
                f"SELECT at, id, message FROM statuses {where}ORDER BY at, id LIMIT ?",  # noqa: S608
                (*(after or ()), page),
            )
            for at, row_id, message in rows:
                after = (at, row_id)
                yield self._message(message)
            if len(rows) < page:
                return
