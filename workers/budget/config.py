"""What the rate budget allows: Allegro's limits per kind of request (FACTS.md §3).

:class:`BudgetConfig` is read from the settings object with :meth:`BudgetConfig.from_settings`
(``getattr`` with the defaults below, so it works with settings that do not have the fields
yet). The limits are Allegro's published figures; set them lower to leave room for other
applications of the same seller, never higher.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["BudgetConfig", "Kind", "Window", "budget_url"]

MINUTE_S = 60.0
HOUR_S = 3600.0


class Kind(enum.StrEnum):
    """What a budget counts, and whose it is."""

    #: every API request, per client id (the whole application): 9,000/min
    CLIENT = "client"
    #: POST and PATCH of ``/sale/product-offers``, per seller: 2,490/min and 74,700/h
    OFFER_WRITES = "offer_writes"
    #: offers changed by batch commands, per seller: 9,000/min (cost = offers in a command)
    BATCH_CHANGES = "batch_changes"
    #: GET of one ``/sale/product-offers/{id}`` (its operations and parts too), per seller:
    #: 3,500/min
    OFFER_READS = "offer_reads"
    #: offer changes read by the report and ``/tasks`` GETs of batch commands, per seller:
    #: 270,000/min (cost = the command's offers for a report, the ``limit`` for tasks)
    BATCH_READS = "batch_reads"
    #: GET ``/sale/products`` and ``/sale/products/{id}``, per seller: a leaky bucket whose
    #: threshold Allegro does not publish (off by default; a 429 still blocks it)
    PRODUCT_READS = "product_reads"


@dataclass(frozen=True)
class Window:
    """At most ``limit`` units in any ``span_s`` seconds, counted in ``buckets`` buckets of
    ``span_s / buckets`` seconds each (see :mod:`workers.budget._window`)."""

    limit: int
    span_s: float
    buckets: int

    @property
    def bucket_s(self) -> float:
        return self.span_s / self.buckets

    @property
    def tag(self) -> str:
        """Names the window's counters in the stored state. The limit is not part of it:
        a changed limit applies to the counts already stored; a changed span or bucket
        count starts afresh."""
        return f"{self.span_s:g}/{self.buckets}"


@dataclass(frozen=True)
class BudgetConfig:
    """The rate budget's limits and behaviour. A limit of 0 switches that limit off.

    - ``client_per_min``: API requests per minute per client id (Allegro: 9,000; going
      over blocks the client id for a minute).
    - ``offer_writes_per_min`` / ``offer_writes_per_hour``: POST + PATCH of
      ``/sale/product-offers`` per seller (Allegro: 2,490 and 74,700).
    - ``batch_changes_per_min`` / ``batch_changes_per_hour``: offer changes in batch
      commands per seller (Allegro: 9,000/min; 150,000/h for price commands and 250,000/h
      for the others, so 150,000 is the safe hourly figure for all of them together).
    - ``offer_reads_per_min``: GETs of one ``/sale/product-offers/{id}`` per seller
      (Allegro: 3,500).
    - ``batch_reads_per_min``: offer changes read by batch command report and ``/tasks``
      GETs per seller (Allegro: 270,000).
    - ``product_reads_per_min``: GETs of ``/sale/products*`` per seller (Allegro: a leaky
      bucket with no published threshold; 0 = off, only a 429's block applies).
    - ``client_key``: whose ``client`` budget this is: the application's client id (one
      budget per client id, shared by every process using it).
    - ``max_inline_wait_s``: a request whose budget frees up within this long waits for it
      (sleeps); a longer wait raises :class:`~workers.budget.errors.BudgetExhausted`.
    - ``client_penalty_s`` / ``seller_penalty_s``: how long nothing of the kind is granted
      after a 429 without ``Retry-After`` (Allegro blocks a client id for 60 s).
    - ``client_probe_s``: after a 429 on a per-seller resource, how long the whole client
      id is held as well (at most the seller's block): such a 429 may also be the first
      sign of a client-id block, which Allegro does not tell apart; 0 = off.
    - ``buckets_per_window``: resolution of the sliding windows; the budget grants up to
      ``1 / (buckets + 1)`` less than the limit at a window's edge (0.8 % with 120).
    """

    client_per_min: int = 9000
    offer_writes_per_min: int = 2490
    offer_writes_per_hour: int = 74700
    batch_changes_per_min: int = 9000
    batch_changes_per_hour: int = 150_000
    offer_reads_per_min: int = 3500
    batch_reads_per_min: int = 270_000
    product_reads_per_min: int = 0
    client_key: str = "default"
    max_inline_wait_s: float = 1.0
    client_penalty_s: float = 60.0
    seller_penalty_s: float = 60.0
    client_probe_s: float = 5.0
    buckets_per_window: int = 120

    def __post_init__(self) -> None:
        for name in (
            "client_per_min",
            "offer_writes_per_min",
            "offer_writes_per_hour",
            "batch_changes_per_min",
            "batch_changes_per_hour",
            "offer_reads_per_min",
            "batch_reads_per_min",
            "product_reads_per_min",
            "max_inline_wait_s",
            "client_penalty_s",
            "seller_penalty_s",
            "client_probe_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.buckets_per_window < 1:
            raise ValueError("buckets_per_window must be at least 1")
        if not self.client_key:
            raise ValueError("client_key must not be empty")

    @classmethod
    def from_settings(cls, settings: Any) -> BudgetConfig:
        """The config from the settings object: each field from ``rate_<field>`` (env
        ``ALLEGRO_FEED_RATE_<FIELD>``), the client key from ``client_id``;
        ``buckets_per_window`` is not a setting. A field the settings do not have (or leave
        None) keeps its default."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.name == "buckets_per_window":
                continue
            name = "client_id" if field.name == "client_key" else f"rate_{field.name}"
            value = getattr(settings, name, None)
            if value is not None:
                convert: Any = type(field.default)  # int, float or str
                values[field.name] = convert(value)
        return cls(**values)

    @functools.cached_property
    def _windows(self) -> dict[Kind, tuple[Window, ...]]:
        """Every kind's windows, built once: the budget reads them before every request."""
        n = self.buckets_per_window
        pairs: dict[Kind, tuple[tuple[int, float], ...]] = {
            Kind.CLIENT: ((self.client_per_min, MINUTE_S),),
            Kind.OFFER_WRITES: (
                (self.offer_writes_per_min, MINUTE_S),
                (self.offer_writes_per_hour, HOUR_S),
            ),
            Kind.BATCH_CHANGES: (
                (self.batch_changes_per_min, MINUTE_S),
                (self.batch_changes_per_hour, HOUR_S),
            ),
            Kind.OFFER_READS: ((self.offer_reads_per_min, MINUTE_S),),
            Kind.BATCH_READS: ((self.batch_reads_per_min, MINUTE_S),),
            Kind.PRODUCT_READS: ((self.product_reads_per_min, MINUTE_S),),
        }
        return {
            kind: tuple(Window(limit, span, n) for limit, span in limits if limit > 0)
            for kind, limits in pairs.items()
        }

    def windows(self, kind: Kind) -> tuple[Window, ...]:
        """The limits that apply to ``kind`` (those set to 0 left out)."""
        return self._windows[kind]

    def tightest(self, kind: Kind) -> Window | None:
        """The window of ``kind`` with the smallest limit, which caps what one acquisition
        of ``kind`` can ever take; None when every limit of ``kind`` is off."""
        return min(self.windows(kind), key=lambda window: window.limit, default=None)

    def penalty_s(self, kind: Kind) -> float:
        """The default block after a 429 of ``kind`` (when Allegro sent no Retry-After)."""
        return self.client_penalty_s if kind is Kind.CLIENT else self.seller_penalty_s


def budget_url(settings: Any) -> str:
    """Where the budget lives: ``rate_budget_url`` (env ``ALLEGRO_FEED_RATE_BUDGET_URL``)
    when set, else beside the store: the same PostgreSQL database, or for a SQLite store a
    sibling file ``<name>.budget.db`` (every API call writes the budget, and a file of its
    own keeps those writes from queueing behind the store's transactions)."""
    explicit = getattr(settings, "rate_budget_url", None)
    if explicit:
        return str(explicit)
    url = getattr(settings, "database_url", None)
    if not url:
        raise ValueError("no rate budget URL: set ALLEGRO_FEED_RATE_BUDGET_URL")
    url = str(url)
    if url.startswith("sqlite:") and url.endswith(".db"):
        return url[: -len(".db")] + ".budget.db"
    return url
