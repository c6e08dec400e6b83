"""The store's SQL, written once for both backends.

:class:`SqlStore` implements every :class:`~workers.store.base.Store` method (the status
history in its base :class:`~workers.store._sql_status.StatusSql`, the OAuth tokens in
:class:`~workers.store._sql_tokens.TokensSql`) on top of what a backend
provides (:class:`~workers.store._sqlcore.SqlCore`): ``_tx`` (run a unit of work in one
write transaction, retrying it where the backend retries), ``_read`` (the same for reads),
``_named_lock`` (the lock behind ``parameters_lock``/``refresh_lock``),
``_lock_migrations``/``_run_script``, ``close``, and a
:class:`~workers.store._common.Dialect` (how JSON and times travel). Statements use ``?``
placeholders (the PostgreSQL backend turns them into ``%s``) and stick to what SQLite
(3.24+) and PostgreSQL (12+) share: ``ON CONFLICT`` upserts, row values, row counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from schemas.events import ProductEvent, ProductPriceChanged, ProductStockChanged, ProductUpserted
from workers.domain.model import ProductState
from workers.store._common import PARTS_COLUMNS, Conn, chunks, marks, parts_from_row
from workers.store._merge import Parts, merge, to_state
from workers.store._migrations import load_migrations
from workers.store._sql_status import StatusSql
from workers.store._sql_tokens import TokensSql
from workers.store.base import (
    CachedParameters,
    CreateIntent,
    OfferRecord,
    RecordOutcome,
    RecordResult,
    StoreUnavailable,
)

__all__ = ["RowAppeared", "SqlStore"]

log = structlog.get_logger(__name__)


class RowAppeared(StoreUnavailable):
    """A new SKU's row was inserted by a concurrent transaction: run the work again (once:
    then the row exists and is locked like any other)."""


#: The parts a stock or price event can change on its own.
_LIGHT_PARTS = frozenset({"stock", "price"})
_OFFER_COLUMNS = (
    "sku, offer_id, publication_status, fingerprint, published_version, published_body, "
    "updated_at, operation_url"
)
#: ``sku`` and :data:`PARTS_COLUMNS` without the content itself, then whether there is some.
_LIGHT_PARTS_COLUMNS = (
    "sku, event_id, NULL, content_version, stock, stock_version, price, price_version, "
    "deleted, deleted_version, content IS NOT NULL"
)


def _parts_columns(content: bool) -> str:
    """``sku`` and :data:`PARTS_COLUMNS`, or (``content=False``) the light ones."""
    return f"sku, {PARTS_COLUMNS}" if content else _LIGHT_PARTS_COLUMNS


_PRODUCT_COLUMNS = (
    "version, event_id, content, content_version, stock, stock_version, price, "
    "price_version, deleted, deleted_version, updated_at"
)


class SqlStore(StatusSql, TokensSql):
    """Every Store method, in SQL both backends understand. See the module docstring."""

    # --- lifecycle ----------------------------------------------------------------------

    def migrate(self) -> None:
        dialect = self.dialect

        def work(conn: Conn) -> None:
            self._lock_migrations(conn)
            conn.execute(dialect.schema_version_ddl)
            applied = {
                row[0] for row in conn.execute("SELECT version FROM schema_version").fetchall()
            }
            for migration in load_migrations(dialect.name):
                if migration.version in applied:
                    continue
                self._run_script(conn, migration.sql)
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, dialect.time_in(self._now())),
                )
                log.info(
                    "store.migrated",
                    backend=dialect.name,
                    version=migration.version,
                    name=migration.name,
                )

        self._tx(work)

    # --- events and desired state -------------------------------------------------------

    def _parts(
        self, conn: Conn, account: str, sku: str, lock: str = "", *, content: bool = True
    ) -> Parts | None:
        """The SKU's stored parts; ``content=False``: see :meth:`_parts_of`."""
        row = conn.execute(
            f"SELECT {_parts_columns(content)} FROM products "  # noqa: S608
            f"WHERE account = ? AND sku = ?{lock}",
            (account, sku),
        ).fetchone()
        return self._parts_of(row, content) if row is not None else None

    def _parts_of(self, row: Sequence[Any], content: bool) -> Parts:
        """The parts of a row of :func:`_parts_columns` (``sku`` first). Without the content
        (``content=False``), an empty one stands for content that is there, not read."""
        parts = parts_from_row(row[1:10], self.dialect.json_out)
        return replace(parts, content={}) if not content and row[10] else parts

    def record_event(self, event: ProductEvent, *, content: bool = True) -> RecordResult:
        account, sku, dialect = event.account, event.sku, self.dialect
        # Without the content only where the event cannot change it (see the protocol).
        content = content or not isinstance(event, ProductStockChanged | ProductPriceChanged)

        def work(conn: Conn) -> RecordResult:
            now = dialect.time_in(self._now())
            # Locks the SKU's row (PostgreSQL); SQLite's transaction holds the whole file.
            current = self._parts(conn, account, sku, dialect.lock_row, content=content)
            merged = merge(current, event)
            outcome = RecordOutcome.NEW if merged.changed else RecordOutcome.SUPERSEDED
            inserted = conn.execute(
                "INSERT INTO events (event_id, account, sku, version, type, outcome, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                (event.event_id, account, sku, event.version, event.type.value, outcome.value, now),
            ).rowcount
            if not inserted:
                row = conn.execute(
                    "SELECT dispatched FROM events WHERE event_id = ?", (event.event_id,)
                ).fetchone()
                state = to_state(account, sku, current) if current is not None else None
                return RecordResult(RecordOutcome.DUPLICATE, state, dispatched=bool(row[0]))
            parts = merged.parts

            def values() -> tuple[Any, ...]:
                return (
                    parts.version,
                    parts.event_id,
                    dialect.json_in(parts.content),
                    parts.content_version,
                    dialect.json_in(parts.stock),
                    parts.stock_version,
                    dialect.json_in(parts.price),
                    parts.price_version,
                    parts.deleted,
                    parts.deleted_version,
                    now,
                )

            if merged.changed and current is None:
                created = conn.execute(
                    f"INSERT INTO products (account, sku, {_PRODUCT_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (account, sku) DO NOTHING",
                    (account, sku, *values()),
                ).rowcount
                if not created:
                    raise RowAppeared(f"{account}/{sku} was created concurrently")
            elif (
                merged.changed
                and merged.changed <= _LIGHT_PARTS
                and not isinstance(event, ProductUpserted)
            ):
                # A stock or price change sets only its part (the content, often the bulk
                # of the row, is neither encoded nor sent again).
                (part,) = merged.changed
                conn.execute(
                    f"UPDATE products SET version = ?, event_id = ?, {part} = ?, "  # noqa: S608
                    f"{part}_version = ?, updated_at = ? WHERE account = ? AND sku = ?",
                    (
                        parts.version,
                        parts.event_id,
                        dialect.json_in(getattr(parts, part)),
                        getattr(parts, f"{part}_version"),
                        now,
                        account,
                        sku,
                    ),
                )
            elif merged.changed:
                # Never for a stock or price event (the branch above), so never with the
                # content left unread.
                conn.execute(
                    f"UPDATE products SET ({_PRODUCT_COLUMNS}) = "  # noqa: S608
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE account = ? AND sku = ?",
                    (*values(), account, sku),
                )
            return RecordResult(outcome, to_state(account, sku, parts), changed=merged.changed)

        return self._tx(work)

    def mark_dispatched(self, event_id: str) -> None:
        # Not durable: lost, it only makes a redelivery hand the event on once more (every
        # step skips an event that has its status).
        self._write(
            "UPDATE events SET dispatched = ? WHERE event_id = ?", (True, event_id), durable=False
        )

    def mark_dispatched_many(self, event_ids: Iterable[str]) -> None:
        # Not durable, as mark_dispatched.
        def work(conn: Conn) -> None:
            for chunk in chunks(event_ids):
                conn.execute(
                    f"UPDATE events SET dispatched = ? WHERE event_id IN ({marks(chunk)})",  # noqa: S608
                    (True, *chunk),
                )

        self._tx(work, durable=False)

    def product_state(self, account: str, sku: str) -> ProductState | None:
        parts = self._read(lambda conn: self._parts(conn, account, sku))
        return to_state(account, sku, parts) if parts is not None else None

    def product_states(
        self, account: str, skus: Iterable[str], *, content: bool = True
    ) -> dict[str, ProductState]:
        columns = _parts_columns(content)
        return {
            row[0]: to_state(account, row[0], self._parts_of(row, content))
            for row in self._rows_of_skus("products", columns, account, skus)
        }

    def _rows_of_skus(
        self, table: str, columns: str, account: str, skus: Iterable[str]
    ) -> Iterator[Any]:
        """``columns`` of the rows of ``table`` for ``account`` and any of ``skus``, read
        in chunks of :data:`~workers.store._common.CHUNK` SKUs."""
        for chunk in chunks(skus):
            yield from self._rows(
                f"SELECT {columns} FROM {table} "  # noqa: S608 - our own names
                f"WHERE account = ? AND sku IN ({marks(chunk)})",
                (account, *chunk),
            )

    def latest_version(self, account: str, sku: str) -> int | None:
        rows = self._rows(
            "SELECT version FROM products WHERE account = ? AND sku = ?", (account, sku)
        )
        return int(rows[0][0]) if rows else None

    # --- offer registry -----------------------------------------------------------------

    def get_offer(self, account: str, sku: str) -> OfferRecord | None:
        rows = self._rows(
            f"SELECT {_OFFER_COLUMNS} FROM offers WHERE account = ? AND sku = ?",  # noqa: S608
            (account, sku),
        )
        return self._offer(account, rows[0]) if rows else None

    def get_offers(self, account: str, skus: Iterable[str]) -> dict[str, OfferRecord]:
        return {
            row[0]: self._offer(account, row)
            for row in self._rows_of_skus("offers", _OFFER_COLUMNS, account, skus)
        }

    def offer_stamps(
        self, account: str, skus: Iterable[str]
    ) -> dict[str, tuple[str, str | None, int | None, datetime | None]]:
        columns = "sku, offer_id, publication_status, published_version, updated_at"
        return {
            row[0]: (row[1], row[2], row[3], self.dialect.time_out(row[4]))
            for row in self._rows_of_skus("offers", columns, account, skus)
        }

    def _offer(self, account: str, row: Sequence[Any]) -> OfferRecord:
        sku, offer_id, status, fingerprint, version, body, updated_at, operation_url = row
        return OfferRecord(
            account=account,
            sku=sku,
            offer_id=offer_id,
            publication_status=status,
            fingerprint=fingerprint,
            published_version=version,
            published_body=self.dialect.json_out(body) if body is not None else None,
            updated_at=self.dialect.time_out(updated_at),
            operation_url=operation_url,
        )

    def save_offer(self, record: OfferRecord) -> None:
        self.save_offers([record])

    def save_offers(self, records: Sequence[OfferRecord], *, clear_intents: bool = True) -> None:
        if not records:
            return
        now = self.dialect.time_in(self._now())  # formatted once for the whole list

        def work(conn: Conn) -> None:
            for record in records:
                conn.execute(
                    "INSERT INTO offers (account, sku, offer_id, publication_status, "
                    "fingerprint, published_version, published_body, updated_at, operation_url) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (account, sku) DO UPDATE SET offer_id = excluded.offer_id, "
                    "publication_status = excluded.publication_status, "
                    "fingerprint = excluded.fingerprint, "
                    "published_version = excluded.published_version, "
                    "published_body = excluded.published_body, updated_at = excluded.updated_at, "
                    "operation_url = excluded.operation_url",
                    (
                        record.account,
                        record.sku,
                        record.offer_id,
                        record.publication_status,
                        record.fingerprint,
                        record.published_version,
                        self.dialect.json_in(record.published_body),
                        self.dialect.time_in(record.updated_at) if record.updated_at else now,
                        record.operation_url,
                    ),
                )
                if not clear_intents:
                    continue
                # The offer is known now: no POST of the SKU is pending any more.
                conn.execute(
                    "DELETE FROM create_intents WHERE account = ? AND sku = ?",
                    (record.account, record.sku),
                )

        self._tx(work)

    def forget_offer(self, account: str, sku: str, offer_id: str) -> bool:
        return bool(
            self._write(
                "DELETE FROM offers WHERE account = ? AND sku = ? AND offer_id = ?",
                (account, sku, offer_id),
            )
        )

    # --- creation intents ---------------------------------------------------------------

    def record_create_intent(self, account: str, sku: str) -> CreateIntent:
        now = self.dialect.time_in(self._now())

        def work(conn: Conn) -> CreateIntent:
            conn.execute(
                "INSERT INTO create_intents (account, sku, attempts, attempted_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (account, sku) DO UPDATE SET "
                "attempts = create_intents.attempts + 1, attempted_at = excluded.attempted_at",
                (account, sku, now),
            )
            intent = self._intent(conn, account, sku)
            assert intent is not None  # written just now, in this transaction
            return intent

        return self._tx(work)

    def _intent(self, conn: Conn, account: str, sku: str) -> CreateIntent | None:
        row = conn.execute(
            "SELECT attempts, attempted_at FROM create_intents WHERE account = ? AND sku = ?",
            (account, sku),
        ).fetchone()
        if row is None:
            return None
        return CreateIntent(account, sku, int(row[0]), self.dialect.time_out(row[1]))

    def create_intent(self, account: str, sku: str) -> CreateIntent | None:
        return self._read(lambda conn: self._intent(conn, account, sku))

    def clear_create_intent(self, account: str, sku: str) -> None:
        self._write("DELETE FROM create_intents WHERE account = ? AND sku = ?", (account, sku))

    # --- per-SKU publishing lease -------------------------------------------------------

    def acquire_lease(self, account: str, sku: str, owner: str, ttl_s: float) -> bool:
        return sku in self.acquire_leases(account, [sku], owner, ttl_s)

    def acquire_leases(
        self, account: str, skus: Iterable[str], owner: str, ttl_s: float
    ) -> set[str]:
        if ttl_s <= 0:
            raise ValueError(f"a lease needs a positive ttl_s, got {ttl_s!r}")
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return set()
        now = self._now()
        expires = self.dialect.time_in(now + timedelta(seconds=ttl_s))
        moment = self.dialect.time_in(now)

        def work(conn: Conn) -> set[str]:
            taken: set[str] = set()
            for sku in wanted:
                # Taken when free, expired, or already ours (then extended); else no row
                # changes.
                changed = conn.execute(
                    "INSERT INTO leases (account, sku, owner, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (account, sku) DO UPDATE SET owner = excluded.owner, "
                    "expires_at = excluded.expires_at "
                    "WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
                    (account, sku, owner, expires, moment),
                ).rowcount
                if changed == 1:
                    taken.add(sku)
            return taken

        return self._tx(work, durable=False)  # leases expire: losing one costs nothing

    def release_lease(self, account: str, sku: str, owner: str) -> None:
        self.release_leases(account, [sku], owner)

    def release_leases(self, account: str, skus: Iterable[str], owner: str) -> None:
        for chunk in chunks(skus):
            self._write(
                f"DELETE FROM leases WHERE account = ? AND owner = ? "  # noqa: S608
                f"AND sku IN ({marks(chunk)})",
                (account, owner, *chunk),
                durable=False,
            )

    # --- category parameters cache ------------------------------------------------------

    def cached_parameters(self, category_id: str) -> CachedParameters | None:
        rows = self._rows(
            "SELECT parameters, fetched_at FROM category_parameters WHERE category_id = ?",
            (category_id,),
        )
        if not rows:
            return None
        parameters, fetched_at = rows[0]
        return CachedParameters(
            category_id, self.dialect.json_out(parameters), self.dialect.time_out(fetched_at)
        )

    def put_parameters(self, category_id: str, parameters: list[dict[str, Any]]) -> None:
        self._write(
            "INSERT INTO category_parameters (category_id, parameters, fetched_at) "
            "VALUES (?, ?, ?) ON CONFLICT (category_id) DO UPDATE SET "
            "parameters = excluded.parameters, fetched_at = excluded.fetched_at",
            (category_id, self.dialect.json_in(parameters), self.dialect.time_in(self._now())),
        )

    def parameters_lock(self, category_id: str) -> AbstractContextManager[None]:
        return self._held.hold(
            f"parameters:{category_id}", lambda: self._named_lock("parameters", category_id)
        )
