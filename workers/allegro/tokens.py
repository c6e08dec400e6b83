"""OAuth token sets and where they are kept.

Allegro's refresh tokens are single-use (the old one works for 60 s after its first use), so
every process that holds tokens for an account must share one copy of the newest pair. The
:class:`TokenStore` protocol is that copy; :class:`FileTokenStore` keeps it in a JSON file,
and the pipeline's database store implements the same protocol.

The refresh protocol (implemented by ``workers.allegro.auth.UserTokens``): take
``refresh_lock(account)`` (exclusive across processes), re-read the store; if the stored
access token differs from the one that failed or expired, another process already refreshed,
so use the stored pair; otherwise refresh, ``put`` the new pair, release the lock.

A token set remembers which Allegro issued it: the OAuth base URL (production, sandbox, a
local simulator) and the application's client id. Sandbox and production are separate
worlds (FACTS §1), and a token of another application or world is refused by Allegro with
an error that hides why, so a stored pair is checked against the running settings before
anything is sent (:meth:`TokenSet.issued_elsewhere`). Pairs stored before the binding
existed have none; they are accepted, and the next pair stored (after a refresh) has it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from filelock import FileLock
from filelock import Timeout as FileLockTimeout

__all__ = ["FileTokenStore", "TokenSet", "TokenStore", "TokenStoreError"]

_FILE_MODE = 0o600
_DIR_MODE = 0o700
_FORMAT_VERSION = 1
#: Lifetime of an access token (FACTS §2: 12 h); a stored pair without ``issued_at`` was
#: issued about this long before its ``expires_at``.
ACCESS_TOKEN_LIFETIME_S = 12 * 3600.0


class TokenStoreError(Exception):
    """The token store cannot be read or written (corrupt file, permissions)."""


@dataclass(frozen=True, repr=False)
class TokenSet:
    """An access token with its refresh token and expiry.

    ``expires_at`` and ``issued_at`` are absolute times in epoch seconds (UTC).
    ``refresh_token`` is None for application (client-credentials) tokens. ``auth_base_url``
    and ``client_id`` say which Allegro and application issued the pair (None: not known,
    stored before they were recorded). The repr never shows the tokens.
    """

    access_token: str
    refresh_token: str | None
    expires_at: float
    scope: str | None = None
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    issued_at: float | None = None
    auth_base_url: str | None = None
    client_id: str | None = None

    def expired(self, now: float, skew_s: float = 60.0) -> bool:
        """True when the token expires within ``skew_s`` seconds of ``now`` (epoch s)."""
        return now + skew_s >= self.expires_at

    def issued(self) -> float:
        """When the pair was issued (epoch s): ``issued_at``, or for a pair stored without
        it, :data:`ACCESS_TOKEN_LIFETIME_S` before its expiry."""
        if self.issued_at is not None:
            return self.issued_at
        return self.expires_at - ACCESS_TOKEN_LIFETIME_S

    def issued_elsewhere(self, auth_base_url: str, client_id: str | None) -> bool:
        """True when the pair was issued by another Allegro (OAuth base URL) or to another
        application (client id) than ``auth_base_url`` and ``client_id``; False when it was
        issued there, or where it was issued is not recorded (a pair stored before that)."""
        if self.auth_base_url is not None and not _same_url(self.auth_base_url, auth_base_url):
            return True
        return self.client_id is not None and self.client_id != (client_id or "")

    @classmethod
    def from_token_response(
        cls,
        body: Mapping[str, Any],
        now: float,
        *,
        auth_base_url: str | None = None,
        client_id: str | None = None,
    ) -> TokenSet:
        """Build from the JSON of ``POST /auth/oauth/token``; ``now`` in epoch seconds (the
        issue time); ``auth_base_url`` and ``client_id``: where it was asked for.

        Lenient: ``expires_in`` may be a string; a missing one counts as already expired.
        """
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("token response has no access_token")
        refresh = body.get("refresh_token")
        try:
            expires_in = float(body.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0.0
        scope = body.get("scope")
        token_type = body.get("token_type")
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=now + expires_in,
            scope=scope if isinstance(scope, str) else None,
            token_type=token_type if isinstance(token_type, str) and token_type else "bearer",
            issued_at=now,
            auth_base_url=auth_base_url,
            client_id=client_id,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (contains the secrets: store it only in a protected place)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
            "issued_at": self.issued_at,
            "auth_base_url": self.auth_base_url,
            "client_id": self.client_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenSet:
        """Inverse of :meth:`to_json`."""
        try:
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=(str(data["refresh_token"]) if data.get("refresh_token") else None),
                expires_at=float(data["expires_at"]),
                scope=data.get("scope"),
                token_type=str(data.get("token_type") or "bearer"),
                issued_at=(float(data["issued_at"]) if data.get("issued_at") is not None else None),
                auth_base_url=_optional_text(data.get("auth_base_url")),
                client_id=_optional_text(data.get("client_id")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenStoreError(f"stored token set is malformed: {exc!r}") from None

    def __repr__(self) -> str:
        refresh = "'***'" if self.refresh_token else "None"
        return (
            f"TokenSet(access_token='***', refresh_token={refresh}, "
            f"expires_at={self.expires_at!r}, scope={self.scope!r}, "
            f"token_type={self.token_type!r}, issued_at={self.issued_at!r}, "
            f"auth_base_url={self.auth_base_url!r}, client_id={self.client_id!r})"
        )

    __str__ = __repr__


def _optional_text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


@runtime_checkable
class TokenStore(Protocol):
    """Where the tokens of each Allegro account live, shared by all processes."""

    def get(self, account: str) -> TokenSet | None:
        """The stored tokens of ``account``, or None."""
        ...

    def put(self, account: str, tokens: TokenSet) -> None:
        """Store (replace) the tokens of ``account``."""
        ...

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        """A lock on refreshing ``account``'s tokens, exclusive across processes and hosts
        that share the store."""
        ...


class FileTokenStore:
    """Tokens of all accounts in one JSON file, readable by the owner only (0600).

    Writes are atomic (a temporary file in the same directory, then ``os.replace``), so a
    reader never sees half a file. ``refresh_lock`` is a ``filelock`` lock on
    ``<path>.lock``: exclusive between processes on one host (and between threads of one
    process); it does not work across hosts unless the file system supports locks.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self._lock_timeout_s = lock_timeout_s
        self._thread_lock = threading.RLock()
        self._file_lock = FileLock(
            str(self.path) + ".lock", timeout=lock_timeout_s, mode=_FILE_MODE
        )

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    # --- reading ------------------------------------------------------------------------

    def _read_all(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenStoreError(f"cannot read token file {self.path}: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise TokenStoreError(
                f"token file {self.path} is not valid JSON; remove it and connect again"
            ) from None
        accounts = data.get("accounts") if isinstance(data, dict) else None
        return accounts if isinstance(accounts, dict) else {}

    def get(self, account: str) -> TokenSet | None:
        entry = self._read_all().get(account)
        return TokenSet.from_json(entry) if isinstance(entry, dict) else None

    def accounts(self) -> list[str]:
        """Names of the accounts that have tokens in the file."""
        return sorted(self._read_all())

    # --- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        # The RLock serialises threads of this process (filelock is re-entrant per thread);
        # the file lock serialises processes. Both are re-entrant, so put() may be called
        # while refresh_lock() is held.
        with self._thread_lock:
            try:
                self._file_lock.acquire()
            except FileLockTimeout:
                raise TokenStoreError(
                    f"token file {self.path} stayed locked for {self._lock_timeout_s:g} s "
                    "(another process is refreshing, or a stale lock: check that process)"
                ) from None
            try:
                yield
            finally:
                self._file_lock.release()

    def put(self, account: str, tokens: TokenSet) -> None:
        with self._locked():
            accounts = self._read_all()
            accounts[account] = tokens.to_json()
            self._write_all(accounts)

    def _write_all(self, accounts: dict[str, Any]) -> None:
        payload = json.dumps(
            {"version": _FORMAT_VERSION, "accounts": accounts}, indent=2, sort_keys=True
        )
        directory = self.path.parent
        # mkstemp creates the file with mode 0600 from the start: the secret is never
        # readable by others, not even for a moment.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), _FILE_MODE)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(directory)

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        # One lock for the whole file: refreshes are rare, and put() rewrites all accounts.
        return self._locked()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not supported everywhere (e.g. Windows), hence best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
