"""The one typed settings object.

Read once at process start (``Settings()`` or :func:`load_settings`) and passed down; nothing
in ``workers`` reads the environment at import time. Every field is documented in the README
table with its default and unit; the environment variable is the field name in upper case
with the ``ALLEGRO_FEED_`` prefix.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.events import DEFAULT_MAX_EVENT_BYTES

__all__ = [
    "ACCEPT_LANGUAGES",
    "ENVIRONMENT_HOSTS",
    "MARKETPLACE_CURRENCY",
    "Environment",
    "Settings",
    "load_settings",
]


class Environment(StrEnum):
    """Which Allegro the client talks to."""

    PRODUCTION = "production"
    SANDBOX = "sandbox"  # Allegro's own sandbox (allegrosandbox.pl)
    LOCAL = "local"  # our simulator in sandbox/, see `allegro-feed sandbox`


#: (API base URL, auth base URL) per environment. OAuth paths such as ``/auth/oauth/token``
#: are appended to the auth URL, API paths such as ``/sale/product-offers`` to the API URL.
ENVIRONMENT_HOSTS: dict[Environment, tuple[str, str]] = {
    Environment.PRODUCTION: ("https://api.allegro.pl", "https://allegro.pl"),
    Environment.SANDBOX: (
        "https://api.allegro.pl.allegrosandbox.pl",
        "https://allegro.pl.allegrosandbox.pl",
    ),
    Environment.LOCAL: ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
}

#: The values of ``Accept-Language`` that Allegro's API accepts (the enum every sale
#: operation declares in openapi.yaml; FACTS.md §1). It sets the language of userMessage.
ACCEPT_LANGUAGES = ("en-US", "pl-PL", "uk-UA", "sk-SK", "cs-CZ", "hu-HU")

#: Base currency per marketplace (FACTS.md §12; allegro-hu is inferred there).
MARKETPLACE_CURRENCY = {
    "allegro-pl": "PLN",
    "allegro-cz": "CZK",
    "allegro-sk": "EUR",
    "allegro-hu": "HUF",
}

#: The client id and secret the local sandbox registers by default, so that `make run` and
#: the tests work with nothing configured. They mean nothing outside the local sandbox.
LOCAL_CLIENT_ID = "local-client-id"
LOCAL_CLIENT_SECRET = "local-client-secret"  # noqa: S105 - a documented dev default


class Settings(BaseSettings):
    """All run-time configuration of allegro-feed (env prefix ``ALLEGRO_FEED_``)."""

    model_config = SettingsConfigDict(
        env_prefix="ALLEGRO_FEED_", extra="ignore", frozen=True, validate_default=True
    )

    # --- Allegro ---------------------------------------------------------------------------
    environment: Environment = Field(
        Environment.LOCAL, description="production, sandbox (Allegro's) or local (ours)"
    )
    api_url: str | None = Field(None, description="override of the environment's API base URL")
    auth_url: str | None = Field(
        None, description="override of the environment's OAuth base URL (/auth/oauth/... appended)"
    )
    client_id: str | None = Field(None, description="Allegro application client id")
    client_secret: SecretStr | None = Field(None, description="Allegro application secret")
    accept_language: str = Field(
        "en-US",
        description="language of Allegro's userMessage texts: en-US, pl-PL, uk-UA, sk-SK, "
        "cs-CZ or hu-HU",
    )
    http_timeout_s: float = Field(10.0, gt=0, description="read/write timeout of one call, s")
    http_connect_timeout_s: float = Field(5.0, gt=0, description="connect timeout, s")
    retry_max_attempts: int = Field(
        4, ge=1, le=20, description="attempts of one call, first included"
    )
    retry_max_time_s: float = Field(
        20.0, gt=0, description="give up retrying one call after this long, s"
    )
    retry_backoff_initial_s: float = Field(0.2, gt=0, description="first backoff, s")
    retry_backoff_max_s: float = Field(5.0, gt=0, description="longest single backoff, s")
    retry_after_max_s: float = Field(
        10.0,
        gt=0,
        description="longest Retry-After honoured inside a call; longer waits are raised",
    )
    operation_poll_max_s: float = Field(
        120.0, gt=0, description="longest wait for an async offer operation (202 -> 303), s"
    )
    token_file: Path = Field(
        Path("var/tokens.json"),
        description="FileTokenStore file (0600) for library use; workers use the store",
    )
    device_scope: str | None = Field(
        None, description="space-separated OAuth scopes asked for in the device flow"
    )

    # --- infrastructure ------------------------------------------------------------------
    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/%2F", description="RabbitMQ connection URL"
    )
    database_url: str = Field("sqlite:///var/allegro-feed.db", description="the store")
    mapping_file: Path | None = Field(None, description="category/attribute mapping (YAML)")

    # --- pipeline ----------------------------------------------------------------------
    name_prefix: str = Field(
        "",
        pattern=r"^[a-z0-9_.-]*$",
        description="prefix of every exchange and queue name (e.g. 'staging.'); "
        "empty = the designed names",
    )
    marketplace: str = Field(
        "allegro-pl",
        description="the base marketplace assumed for an account whose seller's own (GET /me) "
        "cannot be read: it fixes the price currency then",
    )
    max_event_bytes: int = Field(
        DEFAULT_MAX_EVENT_BYTES, gt=0, description="largest accepted event body, B"
    )
    ingest_prefetch: int = Field(64, ge=1, description="unacked events the ingest bridge holds")
    amqp_heartbeat_s: int = Field(30, ge=0, description="AMQP heartbeat interval, s")
    amqp_blocked_timeout_s: float = Field(
        60.0, gt=0, description="give up on a connection RabbitMQ keeps blocked this long, s"
    )
    dead_letter_ttl_ms: int = Field(
        7 * 24 * 3600 * 1000, gt=0, description="how long dead letters (.XQ) are kept, ms"
    )
    actor_max_retries: int = Field(
        8, ge=0, description="retries of a transient failure before FAILED (first run excluded)"
    )
    actor_min_backoff_ms: int = Field(1_000, gt=0, description="first retry delay, ms")
    actor_max_backoff_ms: int = Field(300_000, gt=0, description="longest retry delay, ms")
    parameters_ttl_s: int = Field(
        24 * 3600, gt=0, description="category parameters are re-fetched after this long, s"
    )
    sku_lease_s: float = Field(
        300.0, gt=0, description="how long one worker may hold a SKU while publishing it, s"
    )
    create_grace_s: float = Field(
        120.0,
        ge=0,
        description=(
            "after a POST whose answer was lost, a search by external.id that finds nothing "
            "is not believed for this long (no second POST meanwhile), s"
        ),
    )
    history_days: float = Field(
        30.0,
        ge=0,
        description="statuses and events older than this are deleted from the store by "
        "`allegro-feed worker` (hourly; unpublished statuses stay); 0 keeps them forever, days",
    )
    worker_processes: int = Field(2, ge=1, description="worker processes of `allegro-feed worker`")
    worker_threads: int = Field(8, ge=1, description="threads per worker process")
    batching: bool = Field(
        True, description="stock/price changes of existing offers go through batch commands"
    )
    coalesce_window_ms: int = Field(
        200, ge=0, description="changes to one SKU within this window become one change, ms"
    )
    batch_window_ms: int = Field(
        300,
        ge=0,
        description="longest a batch command waits for more offers, counted from the arrival "
        "of its earliest change (alongside that change's coalescing window) while fewer than "
        "200 changes wait, else from the end of that coalescing window, ms",
    )
    batch_burst_hold_ms: int = Field(
        5000,
        ge=0,
        description="while a burst keeps changing the same SKUs, commands that are not full "
        "wait up to this long beyond the windows for it to pass (0 = never), ms",
    )
    batch_max_offers: int = Field(1000, ge=1, le=1000, description="offers per batch command")
    command_poll_interval_ms: int = Field(
        250, gt=0, description="pause between polls of one batch command, ms"
    )
    rate_client_per_min: int = Field(
        9000, ge=0, description="API requests per minute per client id (Allegro's limit); 0 = off"
    )
    rate_offer_writes_per_min: int = Field(
        2490, ge=0, description="POST+PATCH of product offers per minute per seller; 0 = off"
    )
    rate_offer_writes_per_hour: int = Field(
        74700, ge=0, description="POST+PATCH of product offers per hour per seller; 0 = off"
    )
    rate_batch_changes_per_min: int = Field(
        9000, ge=0, description="offer changes in batch commands per minute per seller; 0 = off"
    )
    rate_batch_changes_per_hour: int = Field(
        150000, ge=0, description="offer changes in batch commands per hour per seller; 0 = off"
    )
    rate_offer_reads_per_min: int = Field(
        3500,
        ge=0,
        description="GETs of one product offer (/sale/product-offers/{id}, its operations and "
        "parts) per minute per seller; 0 = off",
    )
    rate_batch_reads_per_min: int = Field(
        270000,
        ge=0,
        description="offer changes read by batch command report and /tasks GETs per minute per "
        "seller (a report costs the command's offers, 1,000 when the PUT was another "
        "process's; /tasks its limit); 0 = off",
    )
    rate_product_reads_per_min: int = Field(
        0,
        ge=0,
        description="GETs of /sale/products* per minute per seller (Allegro publishes no "
        "threshold); 0 = off, a 429 still blocks that seller's product reads",
    )
    rate_budget_url: str | None = Field(
        None, description="where the shared rate budget lives (sqlite/postgresql/redis URL)"
    )
    rate_max_inline_wait_s: float = Field(
        1.0, ge=0, description="longest wait for budget inside a call; longer re-schedules, s"
    )
    rate_client_penalty_s: float = Field(
        60.0, ge=0, description="client-id block assumed after a 429 without Retry-After, s"
    )
    rate_seller_penalty_s: float = Field(
        60.0, ge=0, description="seller block assumed after a 429 without Retry-After, s"
    )
    rate_client_probe_s: float = Field(
        5.0,
        ge=0,
        description="after a 429 on a seller's resource, how long the whole client id is held "
        "too (at most the seller's block), so that a real client-id block is found by one "
        "request; 0 = off, s",
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus metrics port of the workers; 0 = off"
    )

    # --- logging -----------------------------------------------------------------------
    log_format: str = Field(
        "auto", pattern="^(auto|json|console)$", description="auto = console on a TTY, else JSON"
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR")

    @field_validator("accept_language", mode="before")
    @classmethod
    def _accept_language(cls, value: object) -> object:
        # Checked at startup: Allegro answers a value outside its enum with 400 on every
        # call. Matched without regard to case and written the way the spec spells it.
        if isinstance(value, str):
            for known in ACCEPT_LANGUAGES:
                if value.strip().lower() == known.lower():
                    return known
        raise ValueError(
            f"ALLEGRO_FEED_ACCEPT_LANGUAGE must be one of {', '.join(ACCEPT_LANGUAGES)} "
            f"(the languages Allegro's API accepts), not {value!r}"
        )

    @model_validator(mode="after")
    def _local_defaults(self) -> Settings:
        # The local sandbox registers a default app; use it unless told otherwise, so that
        # `make run` needs no configuration. Other environments must be given credentials.
        if self.environment is Environment.LOCAL:
            if self.client_id is None:
                object.__setattr__(self, "client_id", LOCAL_CLIENT_ID)
            if self.client_secret is None:
                object.__setattr__(self, "client_secret", SecretStr(LOCAL_CLIENT_SECRET))
        return self

    @property
    def api_base_url(self) -> str:
        """The API base URL without a trailing slash."""
        return (self.api_url or ENVIRONMENT_HOSTS[self.environment][0]).rstrip("/")

    @property
    def auth_base_url(self) -> str:
        """The OAuth base URL without a trailing slash (``/auth/oauth/...`` is appended)."""
        return (self.auth_url or ENVIRONMENT_HOSTS[self.environment][1]).rstrip("/")

    @property
    def currency(self) -> str:
        """The base currency of the account's marketplace (FACTS.md §12)."""
        return MARKETPLACE_CURRENCY.get(self.marketplace, "PLN")

    def name(self, base: str) -> str:
        """An exchange or queue name with the configured prefix (``allegro.ingest`` ...)."""
        return f"{self.name_prefix}{base}"

    def require_credentials(self) -> tuple[str, str]:
        """Return (client id, secret) or raise ``ValueError`` saying which variable to set."""
        if not self.client_id or self.client_secret is None:
            raise ValueError(
                "Allegro credentials missing: set ALLEGRO_FEED_CLIENT_ID and "
                "ALLEGRO_FEED_CLIENT_SECRET (register an app at apps.developer.allegro.pl, "
                "or .allegrosandbox.pl for Allegro's sandbox)"
            )
        return self.client_id, self.client_secret.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; keyword overrides win (used by the CLI and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
