"""The pipeline's store: SQLite for one host, PostgreSQL for several.

:func:`open_store` picks the backend from ``ALLEGRO_FEED_DATABASE_URL``; everything else codes
against :class:`~workers.store.base.Store`.
"""

from __future__ import annotations

from pathlib import Path

from workers.store.base import (
    CachedParameters,
    CreateIntent,
    LockTimeout,
    OfferRecord,
    RecordOutcome,
    RecordResult,
    Store,
    StoredStatus,
    StoreError,
    StoreUnavailable,
    offer_stamp,
)

__all__ = [
    "CachedParameters",
    "CreateIntent",
    "LockTimeout",
    "OfferRecord",
    "RecordOutcome",
    "RecordResult",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredStatus",
    "offer_stamp",
    "open_store",
    "sqlite_path",
]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL: ``sqlite:///var/a.db`` is ``var/a.db`` (relative to
    the working directory), ``sqlite:////srv/a.db`` is ``/srv/a.db``.

    Raises ValueError for anything else (no in-memory database: the store is shared by
    processes)."""
    if not url.startswith(_SQLITE):
        raise ValueError(f"not a sqlite:/// URL: {url!r}")
    path = url[len(_SQLITE) :]
    if not path or path == ":memory:" or "?" in path:
        raise ValueError(
            f"{url!r}: give a database file, e.g. sqlite:///var/allegro-feed.db "
            "(in-memory databases and URL parameters are not supported)"
        )
    return Path(path)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The store at ``url``: ``sqlite:///relative/or/absolute/path.db`` (parent folders are
    created) or ``postgresql://user@host/db`` (``postgres://`` too; any libpq URL).

    With ``migrate`` (the default) the schema is created or upgraded first; that is
    idempotent and safe when several processes start at once. The connection itself is
    made lazily (PostgreSQL) or per thread on first use (SQLite).

    Raises ValueError for an unknown scheme, and the store's errors
    (:class:`~workers.store.base.StoreUnavailable` when the database cannot be reached).
    """
    store: Store
    if url.startswith(_SQLITE):
        from workers.store.sqlite import SQLiteStore

        store = SQLiteStore(sqlite_path(url))
    elif url.startswith(_POSTGRES):
        from workers.store.postgres import PostgresStore

        store = PostgresStore(url)
    else:
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:///path/to/file.db "
            "or postgresql://user@host/dbname"
        )
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
