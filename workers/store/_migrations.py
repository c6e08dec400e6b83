"""Versioned schema migrations: ``migrations/<dialect>/NNNN_name.sql``, applied in order.

Each backend's ``migrate()`` takes its lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
transaction-scoped advisory lock), creates ``schema_version`` if needed, and applies every
file whose number is not recorded there, recording it in the same transaction. A migration
is never edited once released: a change is a new file.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "load_migrations", "split_statements"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    """The migrations of ``dialect`` (``sqlite`` or ``postgresql``), oldest first.

    Raises ValueError on a misnamed file or a repeated number (a packaging bug)."""
    folder = resources.files("workers.store").joinpath("migrations").joinpath(dialect)
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise ValueError(f"migration file {dialect}/{entry.name} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two {dialect} migrations are numbered {version}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    if not found:
        raise ValueError(f"no {dialect} migrations found (is the package installed whole?)")
    return [found[version] for version in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, as SQLite's parser sees them (quotes, comments and
    trigger bodies included), because ``executescript`` would commit our transaction."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    rest = "\n".join(
        line for line in buffer.splitlines() if line.strip() and not line.strip().startswith("--")
    )
    if rest:
        raise ValueError(f"unterminated SQL statement at the end of a migration: {rest[:80]!r}")
    return statements
