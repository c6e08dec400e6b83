"""allegro-feed's own Prometheus metrics, beside Dramatiq's per-actor ones.

With ``ALLEGRO_FEED_METRICS_PORT`` set, ``allegro-feed worker`` gives all its processes (the
ingest bridge, the batcher, the actor pools and its own keepers) one prometheus_client
multiprocess directory, and Dramatiq's exposition server on that port sums what each
process counted:

- ``allegro_feed_statuses_total{status}``: statuses recorded, by status (``PUBLISHED``,
  ``UPDATED``, ``REJECTED``, ``FAILED``, ...), whichever process decided them;
- ``allegro_feed_allegro_calls_total{method,code}``: Allegro's answers by HTTP method and
  status code (``429``: rate limited), or ``timeout`` / ``connection`` when none came;
- ``allegro_feed_allegro_call_seconds{method}``: how long Allegro took to answer;
- ``allegro_feed_batch_waiting{account}``: stock and price changes staged for batch
  commands and not yet sent in one, as the batcher leading the account last saw them;
- ``allegro_feed_batch_oldest_seconds{account}``: how long the oldest of them past its
  coalescing window has waited since it arrived (how stale the account's stock and prices
  on Allegro may be);
- ``allegro_feed_batch_items_total{kind,outcome}``: the offers of finished batch commands
  by command kind (``quantity``, ``price``, ``publication``: END and ACTIVATE) and outcome
  (``succeeded``; ``failed``: Allegro's task failed or reported nothing for the offer, which
  then takes the PATCH path or is rejected; ``refused``: Allegro refused the whole command);
- ``allegro_feed_budget_waits_total{kind,outcome}``: requests the rate budget held back, by
  the limit that held them (``client``, ``offer_writes``, ``batch_changes``, ...) and what
  followed (``slept``: waited in the calling thread, briefly; ``rescheduled``: not sent,
  the work is tried again later);
- ``allegro_feed_budget_wait_seconds_total{kind}``: the time spent sleeping for it.

Nothing is imported or counted unless ``PROMETHEUS_MULTIPROC_DIR`` is set (by ``allegro-feed
worker`` with a metrics port, or by Dramatiq's Prometheus middleware when its worker
processes boot): prometheus_client picks its multiprocess storage when it is first
imported, so it is imported here on first use, never at module import.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = [
    "MULTIPROC_ENV",
    "batch_backlog",
    "count_batch_items",
    "count_budget_wait",
    "count_call",
    "count_status",
    "multiproc_dir",
    "reset",
]

#: The environment variables naming the directory every process writes its values to
#: (prometheus_client reads either spelling; Dramatiq's middleware sets both, and reads
#: ``dramatiq_prom_db`` for its own).
MULTIPROC_ENV = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "dramatiq_prom_db")

#: Buckets of the Allegro call duration, s.
CALL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Metrics:
    def __init__(self) -> None:
        import prometheus_client as prom

        self.statuses = prom.Counter(
            "allegro_feed_statuses", "Statuses recorded, by status.", ["status"]
        )
        self.calls = prom.Counter(
            "allegro_feed_allegro_calls",
            "Allegro's answers by HTTP method and status code (or timeout / connection).",
            ["method", "code"],
        )
        self.seconds = prom.Histogram(
            "allegro_feed_allegro_call_seconds",
            "How long Allegro took to answer, s.",
            ["method"],
            buckets=CALL_BUCKETS,
        )
        # A host's batcher leads some accounts: the largest live value of each is the one.
        self.waiting = prom.Gauge(
            "allegro_feed_batch_waiting",
            "Stock and price changes staged for batch commands, not yet in one, by account.",
            ["account"],
            multiprocess_mode="livemax",
        )
        self.oldest = prom.Gauge(
            "allegro_feed_batch_oldest_seconds",
            "How long the oldest staged change past its coalescing window has waited, s.",
            ["account"],
            multiprocess_mode="livemax",
        )
        self.batch_items = prom.Counter(
            "allegro_feed_batch_items",
            "Offers of finished batch commands, by command kind and outcome.",
            ["kind", "outcome"],
        )
        self.budget_waits = prom.Counter(
            "allegro_feed_budget_waits",
            "Requests the rate budget held back, by limit and what followed.",
            ["kind", "outcome"],
        )
        self.budget_seconds = prom.Counter(
            "allegro_feed_budget_wait_seconds",
            "Time requests slept waiting for the rate budget, s, by limit.",
            ["kind"],
        )

    def all(self) -> tuple[Any, ...]:
        return (
            self.statuses,
            self.calls,
            self.seconds,
            self.waiting,
            self.oldest,
            self.batch_items,
            self.budget_waits,
            self.budget_seconds,
        )


_UNSET: Any = object()
_metrics: _Metrics | None = _UNSET
_lock = threading.Lock()


def multiproc_dir() -> str | None:
    """The multiprocess directory prometheus_client writes to, from the environment (None:
    metrics off)."""
    return next((os.environ[name] for name in MULTIPROC_ENV[:2] if os.environ.get(name)), None)


def _current() -> _Metrics | None:
    global _metrics
    if _metrics is _UNSET:
        with _lock:
            if _metrics is _UNSET:
                _metrics = _Metrics() if multiproc_dir() else None
    return _metrics


def count_status(status: str) -> None:
    """One status recorded."""
    metrics = _current()
    if metrics is not None:
        metrics.statuses.labels(status=status).inc()


def count_call(method: str, code: int | str, seconds: float | None = None) -> None:
    """One call to Allegro: its answer's status code (or what came instead) and, when it
    answered, how long it took."""
    metrics = _current()
    if metrics is not None:
        metrics.calls.labels(method=method, code=str(code)).inc()
        if seconds is not None:
            metrics.seconds.labels(method=method).observe(seconds)


def batch_backlog(account: str, waiting: int, oldest_s: float) -> None:
    """What the batcher leading ``account`` saw waiting: ``waiting`` changes, the oldest of
    those past their coalescing window there for ``oldest_s`` seconds (0 and 0: none)."""
    metrics = _current()
    if metrics is not None:
        metrics.waiting.labels(account=account).set(waiting)
        metrics.oldest.labels(account=account).set(oldest_s)


def count_batch_items(kind: str, outcome: str, offers: int) -> None:
    """``offers`` offers of a finished batch command of ``kind`` ended ``outcome``
    (``succeeded``, ``failed`` or ``refused``)."""
    metrics = _current()
    if metrics is not None and offers > 0:
        metrics.batch_items.labels(kind=kind, outcome=outcome).inc(offers)


def count_budget_wait(kind: str | None, seconds: float, *, rescheduled: bool) -> None:
    """The rate budget held a request back (``kind``: the limit that did; None: not known):
    it slept ``seconds`` for it, or (``rescheduled``) it was not sent."""
    metrics = _current()
    if metrics is None:
        return
    label = kind or "unknown"
    outcome = "rescheduled" if rescheduled else "slept"
    metrics.budget_waits.labels(kind=label, outcome=outcome).inc()
    if not rescheduled:
        metrics.budget_seconds.labels(kind=label).inc(seconds)


def reset() -> None:
    """Forget the metrics of this process (tests: after changing the environment, with the
    collectors unregistered from prometheus_client's default registry)."""
    global _metrics
    with _lock:
        if isinstance(_metrics, _Metrics):
            from prometheus_client import REGISTRY

            for collector in _metrics.all():
                REGISTRY.unregister(collector)
        _metrics = _UNSET
