"""The store in PostgreSQL: shared by every process on every host.

Concurrency: every method is one transaction (READ COMMITTED) on a connection from a
``psycopg_pool`` pool (opened on first use). ``record_event`` locks the SKU's row with
``SELECT ... FOR UPDATE``, so events of one SKU are merged one at a time; a first event of
a new SKU that meets another one inserting the row is retried once (then the row exists).
Serialization failures and deadlocks are retried once too. The named locks
(``parameters_lock``, ``refresh_lock``) are session advisory locks, each taken on a
dedicated connection outside the pool: a waiter never holds a pooled connection the holder
may need, and a crashed holder's lock goes with its session.

Times are TIMESTAMPTZ (read back in UTC), JSON is JSONB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from schemas.events import ProductEvent
from schemas.status import StatusMessage
from workers.allegro.tokens import TokenSet
from workers.domain.model import ProductState
from workers.store._common import (
    HISTORY_PAGE,
    PARTS_COLUMNS,
    TERMINAL_STATUSES,
    Clock,
    HeldLocks,
    lock_digest,
    parts_from_row,
    to_utc,
    utc_now,
)
from workers.store._merge import Parts, merge, to_state
from workers.store._migrations import load_migrations
from workers.store.base import (
    CachedParameters,
    LockTimeout,
    OfferRecord,
    RecordOutcome,
    RecordResult,
    StoreError,
    StoreUnavailable,
)

__all__ = ["PostgresStore"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
Connection = psycopg.Connection[tuple[Any, ...]]

# The advisory lock held (per transaction) while migrating.
_MIGRATION_LOCK = int.from_bytes(lock_digest("migrate", "schema")[:8], "big", signed=True)


class _RowAppeared(StoreUnavailable):
    """A new SKU's row was inserted by a concurrent transaction: run ours again."""


_RETRIED = (errors.SerializationFailure, errors.DeadlockDetected, _RowAppeared)

_PRODUCT_VALUES = (
    "version, event_id, content, content_version, stock, stock_version, price, "
    "price_version, deleted, deleted_version, updated_at"
)


def _identity(value: Any) -> Any:
    return value


def _jsonb(value: Any) -> Jsonb | None:
    return Jsonb(value) if value is not None else None


@contextmanager
def _translated() -> Iterator[None]:
    # psycopg's exceptions become the store's, once, here (STYLE lesson 2).
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(f"PostgreSQL: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL: {exc}") from exc


class PostgresStore:
    """The :class:`~workers.store.base.Store` in the PostgreSQL database at ``url``.

    ``min_size``/``max_size``: pool connections per process. ``pool_timeout_s``: longest
    wait for a pooled connection. ``connect_timeout_s``: per connection attempt.
    ``lock_timeout_s``: how long ``parameters_lock``/``refresh_lock`` wait before
    :class:`~workers.store.base.LockTimeout`. ``clock``: the time used for leases and
    record times; every host must keep its clock in sync (NTP), as lease expiry compares
    times written by different hosts.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        min_size: int = 1,
        max_size: int = 8,
        pool_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        lock_timeout_s: float = 60.0,
    ) -> None:
        if lock_timeout_s <= 0:
            raise ValueError("lock_timeout_s must be positive")
        self._url = url
        self._clock = clock or utc_now
        self._min_size = min_size
        self._max_size = max_size
        self._pool_timeout_s = pool_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._lock_timeout_s = lock_timeout_s
        self._pool: ConnectionPool | None = None
        self._pool_guard = threading.Lock()
        self._closed = False
        self._held = HeldLocks()

    def __repr__(self) -> str:
        # Never the URL itself: it may carry a password.
        try:
            info = conninfo_to_dict(self._url)
        except psycopg.ProgrammingError:
            return "PostgresStore(<invalid URL>)"
        return f"PostgresStore(host={info.get('host')!r}, dbname={info.get('dbname')!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- connections and transactions -------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"connect_timeout": max(1, round(self._connect_timeout_s))}

    def _get_pool(self) -> ConnectionPool:
        with self._pool_guard:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            if self._pool is None:
                pool = ConnectionPool(
                    self._url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    open=False,
                    kwargs={"autocommit": False, **self._connect_kwargs()},
                    check=ConnectionPool.check_connection,
                    timeout=self._pool_timeout_s,
                    name="allegro-feed-store",
                )
                try:
                    pool.open(wait=True, timeout=self._connect_timeout_s)
                except PoolTimeout as exc:
                    pool.close()
                    raise StoreUnavailable(
                        f"cannot connect to {self!r} within {self._connect_timeout_s:g} s"
                    ) from exc
                self._pool = pool
            return self._pool

    def _attempt(self, work: Callable[[Connection], T]) -> T:
        with self._get_pool().connection() as conn, conn.transaction():
            return work(conn)

    def _tx(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; once more after a conflict that a retry fixes."""
        with _translated():
            try:
                return self._attempt(work)
            except _RETRIED as exc:
                log.info(
                    "store.transaction_retried", backend="postgresql", reason=type(exc).__name__
                )
            return self._attempt(work)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._tx(lambda conn: conn.execute(sql, params).fetchall())

    def _now(self) -> datetime:
        return to_utc(self._clock())

    # --- lifecycle ----------------------------------------------------------------------

    def migrate(self) -> None:
        def work(conn: Connection) -> None:
            # Waits for any other process migrating; released at commit.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for migration in load_migrations("postgresql"):
                if migration.version in applied:
                    continue
                conn.execute(migration.sql.encode())  # several statements, no parameters
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, self._now()),
                )
                log.info(
                    "store.migrated",
                    backend="postgresql",
                    version=migration.version,
                    name=migration.name,
                )

        self._tx(work)

    def close(self) -> None:
        with self._pool_guard:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # --- events and desired state -------------------------------------------------------

    @staticmethod
    def _parts(conn: Connection, account: str, sku: str, *, lock: bool) -> Parts | None:
        row = conn.execute(
            f"SELECT {PARTS_COLUMNS} FROM products WHERE account = %s AND sku = %s"  # noqa: S608
            + (" FOR UPDATE" if lock else ""),
            (account, sku),
        ).fetchone()
        return parts_from_row(row, _identity) if row is not None else None

    def record_event(self, event: ProductEvent) -> RecordResult:
        account, sku = event.account, event.sku

        def work(conn: Connection) -> RecordResult:
            now = self._now()
            current = self._parts(conn, account, sku, lock=True)
            merged = merge(current, event)
            outcome = RecordOutcome.NEW if merged.changed else RecordOutcome.SUPERSEDED
            inserted = conn.execute(
                "INSERT INTO events (event_id, account, sku, version, type, outcome, "
                "recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (event_id) DO NOTHING",
                (event.event_id, account, sku, event.version, event.type.value, outcome.value, now),
            ).rowcount
            if not inserted:
                row = conn.execute(
                    "SELECT dispatched FROM events WHERE event_id = %s", (event.event_id,)
                ).fetchone()
                state = to_state(account, sku, current) if current is not None else None
                return RecordResult(RecordOutcome.DUPLICATE, state, dispatched=bool(row and row[0]))
            parts = merged.parts
            values = (
                parts.version,
                parts.event_id,
                _jsonb(parts.content),
                parts.content_version,
                _jsonb(parts.stock),
                parts.stock_version,
                _jsonb(parts.price),
                parts.price_version,
                parts.deleted,
                parts.deleted_version,
                now,
            )
            if merged.changed and current is None:
                created = conn.execute(
                    f"INSERT INTO products (account, sku, {_PRODUCT_VALUES}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (account, sku) DO NOTHING",
                    (account, sku, *values),
                ).rowcount
                if not created:
                    raise _RowAppeared(f"{account}/{sku} was created concurrently")
            elif merged.changed:
                conn.execute(
                    f"UPDATE products SET ({_PRODUCT_VALUES}) = "  # noqa: S608
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "WHERE account = %s AND sku = %s",
                    (*values, account, sku),
                )
            return RecordResult(outcome, to_state(account, sku, parts), changed=merged.changed)

        return self._tx(work)

    def mark_dispatched(self, event_id: str) -> None:
        self._tx(
            lambda conn: conn.execute(
                "UPDATE events SET dispatched = TRUE WHERE event_id = %s", (event_id,)
            )
        )

    def product_state(self, account: str, sku: str) -> ProductState | None:
        parts = self._tx(lambda conn: self._parts(conn, account, sku, lock=False))
        return to_state(account, sku, parts) if parts is not None else None

    def latest_version(self, account: str, sku: str) -> int | None:
        rows = self._rows(
            "SELECT version FROM products WHERE account = %s AND sku = %s", (account, sku)
        )
        return int(rows[0][0]) if rows else None

    # --- offer registry -----------------------------------------------------------------

    def get_offer(self, account: str, sku: str) -> OfferRecord | None:
        rows = self._rows(
            "SELECT offer_id, publication_status, fingerprint, published_version, "
            "published_body, updated_at FROM offers WHERE account = %s AND sku = %s",
            (account, sku),
        )
        if not rows:
            return None
        offer_id, status, fingerprint, version, body, updated_at = rows[0]
        return OfferRecord(
            account=account,
            sku=sku,
            offer_id=offer_id,
            publication_status=status,
            fingerprint=fingerprint,
            published_version=version,
            published_body=body,
            updated_at=to_utc(updated_at),
        )

    def save_offer(self, record: OfferRecord) -> None:
        values = (
            record.account,
            record.sku,
            record.offer_id,
            record.publication_status,
            record.fingerprint,
            record.published_version,
            _jsonb(record.published_body),
            record.updated_at or self._now(),
        )
        self._tx(
            lambda conn: conn.execute(
                "INSERT INTO offers (account, sku, offer_id, publication_status, fingerprint, "
                "published_version, published_body, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (account, sku) DO UPDATE SET offer_id = EXCLUDED.offer_id, "
                "publication_status = EXCLUDED.publication_status, "
                "fingerprint = EXCLUDED.fingerprint, "
                "published_version = EXCLUDED.published_version, "
                "published_body = EXCLUDED.published_body, updated_at = EXCLUDED.updated_at",
                values,
            )
        )

    # --- per-SKU publishing lease -------------------------------------------------------

    def acquire_lease(self, account: str, sku: str, owner: str, ttl_s: float) -> bool:
        if ttl_s <= 0:
            raise ValueError(f"a lease needs a positive ttl_s, got {ttl_s!r}")
        now = self._now()
        expires_at = now + timedelta(seconds=ttl_s)
        # Taken when free, expired, or already ours (then extended); else no row changes.
        changed = self._tx(
            lambda conn: (
                conn.execute(
                    "INSERT INTO leases (account, sku, owner, expires_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (account, sku) DO UPDATE SET owner = EXCLUDED.owner, "
                    "expires_at = EXCLUDED.expires_at "
                    "WHERE leases.owner = EXCLUDED.owner OR leases.expires_at <= %s",
                    (account, sku, owner, expires_at, now),
                ).rowcount
            )
        )
        return changed == 1

    def release_lease(self, account: str, sku: str, owner: str) -> None:
        self._tx(
            lambda conn: conn.execute(
                "DELETE FROM leases WHERE account = %s AND sku = %s AND owner = %s",
                (account, sku, owner),
            )
        )

    # --- category parameters cache ------------------------------------------------------

    def cached_parameters(self, category_id: str) -> CachedParameters | None:
        rows = self._rows(
            "SELECT parameters, fetched_at FROM category_parameters WHERE category_id = %s",
            (category_id,),
        )
        return CachedParameters(category_id, rows[0][0], to_utc(rows[0][1])) if rows else None

    def put_parameters(self, category_id: str, parameters: list[dict[str, Any]]) -> None:
        values = (category_id, Jsonb(parameters), self._now())
        self._tx(
            lambda conn: conn.execute(
                "INSERT INTO category_parameters (category_id, parameters, fetched_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (category_id) DO UPDATE SET "
                "parameters = EXCLUDED.parameters, fetched_at = EXCLUDED.fetched_at",
                values,
            )
        )

    def parameters_lock(self, category_id: str) -> AbstractContextManager[None]:
        return self._named_lock("parameters", category_id)

    # --- OAuth tokens -------------------------------------------------------------------

    def get(self, account: str) -> TokenSet | None:
        rows = self._rows("SELECT tokens FROM tokens WHERE account = %s", (account,))
        return TokenSet.from_json(rows[0][0]) if rows else None

    def put(self, account: str, tokens: TokenSet) -> None:
        values = (account, Jsonb(tokens.to_json()), self._now())
        self._tx(
            lambda conn: conn.execute(
                "INSERT INTO tokens (account, tokens, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (account) DO UPDATE SET tokens = EXCLUDED.tokens, "
                "updated_at = EXCLUDED.updated_at",
                values,
            )
        )

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        return self._named_lock("refresh", account)

    def _named_lock(self, kind: str, key: str) -> AbstractContextManager[None]:
        lock_id = int.from_bytes(lock_digest(kind, key)[:8], "big", signed=True)
        return self._held.hold(f"{kind}:{key}", lambda: self._advisory_lock(lock_id, kind, key))

    @contextmanager
    def _advisory_lock(self, lock_id: int, kind: str, key: str) -> Iterator[None]:
        with _translated():
            conn = psycopg.connect(self._url, autocommit=True, **self._connect_kwargs())
        try:
            with _translated():
                # lock_timeout bounds the wait for the advisory lock as for any other lock.
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, false)",
                    (f"{round(self._lock_timeout_s * 1000)}ms",),
                )
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
                except errors.LockNotAvailable:
                    raise LockTimeout(
                        f"the {kind} lock of {key!r} was not granted within "
                        f"{self._lock_timeout_s:g} s"
                    ) from None
            yield
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
        finally:
            # Ending the session releases the lock in any case (an exception in the body).
            conn.close()

    # --- status history -----------------------------------------------------------------

    def add_status(self, message: StatusMessage) -> bool:
        values = (
            message.event_id,
            message.account,
            message.sku,
            message.version,
            message.status.value,
            message.status in TERMINAL_STATUSES,
            message.at,
            Jsonb(message.model_dump(mode="json")),
        )
        inserted = self._tx(
            lambda conn: (
                conn.execute(
                    "INSERT INTO statuses (event_id, account, sku, version, status, terminal, at, "
                    "message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    values,
                ).rowcount
            )
        )
        return inserted == 1

    def terminal_status(self, event_id: str) -> StatusMessage | None:
        rows = self._rows(
            "SELECT message FROM statuses WHERE event_id = %s AND terminal", (event_id,)
        )
        return StatusMessage.model_validate(rows[0][0]) if rows else None

    def history(self, account: str, sku: str, limit: int = 50) -> list[StatusMessage]:
        rows = self._rows(
            "SELECT message FROM statuses WHERE account = %s AND sku = %s "
            "ORDER BY at DESC, id DESC LIMIT %s",
            (account, sku, limit),
        )
        return [StatusMessage.model_validate(row[0]) for row in rows]

    def iter_history(self, since: datetime | None = None) -> Iterator[StatusMessage]:
        # Page by (at, id) so that no transaction stays open while the caller works.
        after: tuple[datetime | None, int] = (since, 0)
        while True:
            if after[0] is None:
                rows = self._rows(
                    "SELECT at, id, message FROM statuses ORDER BY at, id LIMIT %s",
                    (HISTORY_PAGE,),
                )
            else:
                rows = self._rows(
                    "SELECT at, id, message FROM statuses WHERE (at, id) > (%s, %s) "
                    "ORDER BY at, id LIMIT %s",
                    (*after, HISTORY_PAGE),
                )
            for at, row_id, message in rows:
                after = (at, row_id)
                yield StatusMessage.model_validate(message)
            if len(rows) < HISTORY_PAGE:
                return
