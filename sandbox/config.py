"""The sandbox's knobs: one frozen dataclass, read from the environment or given by tests.

Every knob has a default equal to Allegro's documented behaviour where Allegro documents one
(token lifetime, rate limits, ``Retry-After`` of 5 s); fault knobs default to "no faults".
Units are in the names (``_s`` seconds, ``_ms`` milliseconds, ``_per_min`` per minute).

A running sandbox can change its knobs through ``PATCH /__sandbox/config``
(:meth:`SandboxConfig.with_knobs`), and ``POST /__sandbox/reset`` restores the values it was
started with.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ENV_PREFIX",
    "KNOB_HELP",
    "SandboxConfig",
    "UnknownKnobError",
]

#: The application every sandbox registers, so that local runs need no configuration.
DEFAULT_CLIENT_ID = "local-client-id"
DEFAULT_CLIENT_SECRET = "local-client-secret"

ENV_PREFIX = "ALLEGRO_SANDBOX_"


class UnknownKnobError(KeyError):
    """A knob name that :class:`SandboxConfig` does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown knob: {self.name}"


@dataclass(frozen=True)
class SandboxConfig:
    """All knobs of the sandbox. See :data:`KNOB_HELP` for one line on each."""

    # --- addressing ------------------------------------------------------------------------
    base_url: str = ""
    # --- determinism -----------------------------------------------------------------------
    seed: int = 0
    # --- faults ----------------------------------------------------------------------------
    latency_ms: float = 0.0
    fault_5xx_ratio: float = 0.0
    fault_timeout_ratio: float = 0.0
    timeout_hold_s: float = 30.0
    fault_lost_response_ratio: float = 0.0
    # --- asynchronous processing -----------------------------------------------------------
    async_ratio: float = 0.0
    async_delay_s: float = 2.0
    activation_refusal_ratio: float = 0.0
    retry_after_s: int = 5
    command_delay_s: float = 1.0
    # --- eventual consistency --------------------------------------------------------------
    search_lag_s: float = 0.0
    # --- OAuth -----------------------------------------------------------------------------
    access_token_ttl_s: int = 43199
    refresh_token_ttl_s: int = 90 * 24 * 3600
    refresh_grace_s: float = 60.0
    device_code_ttl_s: int = 3600
    device_interval_s: int = 5
    token_issue_limit_per_h: int = 0
    extra_clients: str = ""
    # --- rate limits -----------------------------------------------------------------------
    client_limit_per_min: int = 9000
    client_block_s: float = 60.0
    client_block_extends: bool = False
    seller_offer_writes_per_min: int = 2490
    seller_offer_writes_per_h: int = 74700
    seller_batch_changes_per_min: int = 9000
    seller_offer_reads_per_min: int = 3500
    seller_batch_reads_per_min: int = 270000
    rate_limit_retry_after: bool = False
    # --- bookkeeping -----------------------------------------------------------------------
    request_log_size: int = 10000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_ratio") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must lie in [0, 1], got {value}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{f.name} must not be negative, got {value}")
        self.clients()  # fail early on a malformed extra_clients

    # -- derived ------------------------------------------------------------------------------

    def clients(self) -> dict[str, str]:
        """Registered applications, client id -> secret (the default app always included)."""
        apps = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        for item in filter(None, (part.strip() for part in self.extra_clients.split(","))):
            client_id, sep, secret = item.partition(":")
            if not sep or not client_id or not secret:
                raise ValueError(f"extra_clients wants 'id:secret,...', got {item!r}")
            apps[client_id] = secret
        return apps

    def knobs(self) -> dict[str, Any]:
        """The knobs as a JSON-ready dict."""
        return dataclasses.asdict(self)

    # -- construction -------------------------------------------------------------------------

    def with_knobs(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A copy with ``changes`` applied; values are coerced to each knob's type.

        Raises :class:`UnknownKnobError` naming the first unknown knob, ``ValueError`` for a
        value of the wrong type or range.
        """
        types = _knob_types()
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in types:
                raise UnknownKnobError(name)
            coerced[name] = _coerce(name, types[name], value)
        return dataclasses.replace(self, **coerced)

    @classmethod
    def from_knobs(cls, **knobs: Any) -> SandboxConfig:
        """Defaults with ``knobs`` applied (same checks as :meth:`with_knobs`)."""
        return cls().with_knobs(knobs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Defaults overridden by ``ALLEGRO_SANDBOX_<KNOB>`` variables (e.g. ``..._SEED=7``)."""
        env = os.environ if environ is None else environ
        found = {
            name: env[ENV_PREFIX + name.upper()]
            for name in _knob_types()
            if ENV_PREFIX + name.upper() in env
        }
        return cls().with_knobs(found)


#: One line per knob, used by ``--help`` and the README.
KNOB_HELP: dict[str, str] = {
    "base_url": "public base URL used in Location and verification_uri (default: from Host)",
    "seed": "seed of the random generators behind fault and async decisions",
    "latency_ms": "latency added to every API call, ms",
    "fault_5xx_ratio": "share of API calls answered 500/503 without being applied, 0..1",
    "fault_timeout_ratio": "share of API calls held timeout_hold_s then answered 504 or dropped",
    "timeout_hold_s": "how long a timeout fault holds the response, s",
    "fault_lost_response_ratio": "share of API calls applied, then answered 502/504 or dropped",
    "async_ratio": "share of offer POST/PATCH answered 202 with an operation, 0..1",
    "async_delay_s": "sandbox-clock time an offer operation runs, s",
    "activation_refusal_ratio": "share of POSTs of offers to publish that Allegro's check at "
    "activation leaves INACTIVE with validation.errors (201, or a finished operation), 0..1",
    "retry_after_s": "Retry-After sent with 202 responses, s",
    "command_delay_s": "sandbox-clock time before batch command tasks are applied, s",
    "search_lag_s": "offers created less than this long ago (sandbox clock) are missing from "
    "GET /sale/offers, s",
    "access_token_ttl_s": "access token lifetime, s",
    "refresh_token_ttl_s": "refresh token lifetime, s",
    "refresh_grace_s": "how long a used refresh token still works after its first use, s",
    "device_code_ttl_s": "device code lifetime, s",
    "device_interval_s": "minimum device-flow polling interval, s",
    "token_issue_limit_per_h": "tokens issued per user per hour before 429 (0 = no limit)",
    "extra_clients": "more registered apps besides the default, 'id:secret,id2:secret2'",
    "client_limit_per_min": "API requests per client id per minute before a block",
    "client_block_s": "how long an over-limit client id is blocked (429 on every call), s",
    "client_block_extends": "calls made while blocked extend the block",
    "seller_offer_writes_per_min": "POST+PATCH /sale/product-offers per seller per minute",
    "seller_offer_writes_per_h": "POST+PATCH /sale/product-offers per seller per hour",
    "seller_batch_changes_per_min": "offer changes in batch commands per seller per minute",
    "seller_offer_reads_per_min": "GET /sale/product-offers/{id} per seller per minute",
    "seller_batch_reads_per_min": "offer changes read by batch command report and /tasks GETs "
    "per seller per minute (a report reads the command's offers, /tasks its limit)",
    "rate_limit_retry_after": "send Retry-After with 429 (Allegro documents none)",
    "request_log_size": "request log entries kept for GET /__sandbox/requests",
}


def _knob_types() -> dict[str, type]:
    defaults = SandboxConfig()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(SandboxConfig)}


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"{name} wants a boolean, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{name} wants a string, got {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"{name} wants a number, got {value!r}")
    try:
        number = float(value) if kind is float else _to_int(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} wants {'a number' if kind is float else 'an integer'}, got {value!r}"
        ) from None
    return number


def _to_int(value: Any) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    return int(value)
