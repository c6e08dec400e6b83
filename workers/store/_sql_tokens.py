"""The sellers' OAuth tokens in SQL both backends understand (the
:class:`~workers.allegro.tokens.TokenStore` side of :class:`~workers.store.base.Store`).

Each account's :class:`~workers.allegro.tokens.TokenSet` is kept as the JSON of
:meth:`~workers.allegro.tokens.TokenSet.to_json`, with where it was issued (OAuth base URL,
client id) and when; rows written before those were recorded read back without them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from workers.allegro.tokens import TokenSet
from workers.store._sqlcore import SqlCore

__all__ = ["TokensSql"]


class TokensSql(SqlCore):
    """The token methods of :class:`~workers.store.base.Store`."""

    def get(self, account: str) -> TokenSet | None:
        rows = self._rows("SELECT tokens FROM tokens WHERE account = ?", (account,))
        return TokenSet.from_json(self.dialect.json_out(rows[0][0])) if rows else None

    def put(self, account: str, tokens: TokenSet) -> None:
        self._write(
            "INSERT INTO tokens (account, tokens, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (account) DO UPDATE SET tokens = excluded.tokens, "
            "updated_at = excluded.updated_at",
            (account, self.dialect.json_in(tokens.to_json()), self.dialect.time_in(self._now())),
        )

    def token_accounts(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT account FROM tokens ORDER BY account")]

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        return self._held.hold(f"refresh:{account}", lambda: self._named_lock("refresh", account))
