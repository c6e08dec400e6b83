"""Tokens and device grants: issuing, looking up, rotating. No HTTP here (see oauth.py).

Tokens look like Allegro's (JWTs: ``eyJ...``) but the sandbox never verifies a signature: a
token is valid because the store issued it. Their payload carries the claims Allegro's do
(``user_name`` for user tokens, ``client_id``, ``scope``, ``exp``, ``jti``), which makes
them handy to read in logs.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APP_SCOPES",
    "AccessToken",
    "DeviceGrant",
    "RefreshToken",
    "TokenStore",
]

#: Scopes every sandbox app declares; a token gets all of them unless it asked for fewer.
APP_SCOPES: tuple[str, ...] = (
    "allegro:api:sale:offers:read",
    "allegro:api:sale:offers:write",
    "allegro:api:sale:settings:read",
    "allegro:api:sale:settings:write",
    "allegro:api:profile:read",
)

_USER_CODE_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class AccessToken:
    token: str
    client_id: str
    user: str | None  # None: a client-credentials (application) token
    scopes: tuple[str, ...]
    expires_at: float
    jti: str


@dataclass
class RefreshToken:
    token: str
    client_id: str
    user: str
    scopes: tuple[str, ...]
    expires_at: float
    first_used_at: float | None = None


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    interval_s: float
    last_poll_at: float | None = None
    state: str = "pending"  # pending | approved | denied | used
    user: str | None = None


@dataclass
class TokenStore:
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    devices: dict[str, DeviceGrant] = field(default_factory=dict)
    #: Sandbox times at which tokens were issued, per user (application tokens: client id).
    issued: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def issue(
        self,
        *,
        client_id: str,
        user: str | None,
        scopes: tuple[str, ...],
        now: float,
        access_ttl_s: float,
        refresh_ttl_s: float,
    ) -> dict[str, Any]:
        """Issue an access token (and a refresh token for a user) and return the token
        endpoint's JSON answer."""
        jti = str(uuid.uuid4())
        expires_at = now + access_ttl_s
        claims: dict[str, Any] = {
            "exp": int(expires_at),
            "jti": jti,
            "client_id": client_id,
            "scope": list(scopes),
            "allegro_api": True,
        }
        if user is not None:
            claims["user_name"] = user
            claims["authorities"] = ["ROLE_USER"]
        token = _jwt_like(claims)
        self.access[token] = AccessToken(token, client_id, user, scopes, expires_at, jti)
        self.issued[_issue_key(client_id, user)].append(now)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(access_ttl_s),
            "scope": " ".join(scopes),
            "allegro_api": True,
            "jti": jti,
        }
        if user is not None:
            refresh = _jwt_like(
                {
                    "user_name": user,
                    "client_id": client_id,
                    "ati": jti,
                    "exp": int(now + refresh_ttl_s),
                    "jti": str(uuid.uuid4()),
                }
            )
            self.refresh[refresh] = RefreshToken(
                refresh, client_id, user, scopes, now + refresh_ttl_s
            )
            answer["refresh_token"] = refresh
        return answer

    def issued_within(self, client_id: str, user: str | None, now: float, span_s: float) -> int:
        """Tokens issued to ``user`` (None: application tokens of ``client_id``) in the last
        ``span_s`` seconds."""
        times = self.issued.get(_issue_key(client_id, user), ())
        return sum(1 for at in times if at > now - span_s)

    def issue_counts(self) -> dict[str, int]:
        return {key: len(times) for key, times in self.issued.items()}

    def new_device_grant(
        self,
        *,
        client_id: str,
        scopes: tuple[str, ...],
        now: float,
        ttl_s: float,
        interval_s: float,
    ) -> DeviceGrant:
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(24),
            user_code="".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
            client_id=client_id,
            scopes=scopes,
            expires_at=now + ttl_s,
            interval_s=interval_s,
        )
        self.devices[grant.device_code] = grant
        return grant

    def device_by_user_code(self, user_code: str) -> DeviceGrant | None:
        for grant in self.devices.values():
            if grant.user_code == user_code:
                return grant
        return None


def _issue_key(client_id: str, user: str | None) -> str:
    """Whose tokens :attr:`TokenStore.issued` counts: the user's, else the application's."""
    return user or f"client:{client_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_like(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"
