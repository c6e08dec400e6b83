"""What the scenarios share: sizes, the run context, seeding and timed runs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.amqp import Received
from bench.events import upserted
from bench.harness import Stack, StackOptions
from bench.report import ScenarioResult

__all__ = ["Context", "Run", "Sizes", "seed", "statuses_note", "timed", "wait_statuses"]


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; :meth:`quick` is the smoke run."""

    runs: int = 3
    ceiling_messages: int = 10_000
    warmup_upserts: int = 20
    #: New products kept in flight by the upsert throughput's closed loop (bench.sustained).
    throughput_upserts: int = 200
    #: Existing offers of the stock throughput's closed loop, each with one change in
    #: flight: enough that the fixed delays of batching (the coalescing and batch windows,
    #: a command's round trip: about two seconds a change under this load) are not what
    #: limits the rate. By Little's law 2,000 in flight cap it at ~1,000 events/s; they
    #: gave 912, where 4,000 give ~1,100 with the cores still not saturated.
    throughput_stock: int = 4_000
    #: The closed loops: warm-up, then this many windows of this length, s.
    throughput_warmup_s: float = 4.0
    throughput_window_s: float = 4.0
    burst_offers: int = 1_000
    burst_events: int = 10_000
    burst_timeout_s: float = 200.0
    #: The one-PATCH-per-event baseline burst: the same 10 events per offer, a fifth of the
    #: size (a full one takes some 3 minutes, beyond the 10-minute budget).
    baseline_offers: int = 200
    baseline_events: int = 2_000
    sync_products: int = 2_000
    sync_limit_per_min: int = 600
    sync_cap_s: float = 300.0
    latency_offers: int = 500
    latency_rate_per_s: float = 100.0
    latency_run_s: float = 10.0

    @classmethod
    def quick(cls) -> Sizes:
        """Every scenario at a tiny size: a smoke run of the harness (a minute or two)."""
        return cls(
            runs=2,
            ceiling_messages=300,
            warmup_upserts=3,
            throughput_upserts=10,
            throughput_stock=10,
            throughput_warmup_s=1.0,
            throughput_window_s=1.0,
            burst_offers=20,
            burst_events=200,
            burst_timeout_s=120.0,
            baseline_offers=10,
            baseline_events=100,
            sync_products=20,
            sync_cap_s=60.0,
            latency_offers=20,
            latency_run_s=2.0,
        )


@dataclass(frozen=True)
class Context:
    """What every scenario gets: sizes, broker, pool sizes, and results measured so far."""

    sizes: Sizes
    amqp_url: str
    processes: int
    threads: int
    measured: dict[str, ScenarioResult]
    say: Callable[[str], None]
    #: Worker environment that switches stock batching off, for the burst's baseline run
    #: (None: the pipeline has no such switch, so the one run is the baseline).
    baseline_env: dict[str, str] | None = None

    def options(self, scenario: str, **kwargs: Any) -> StackOptions:
        return StackOptions(scenario, self.processes, self.threads, **kwargs)

    def ceiling(self) -> float | None:
        """The ceiling measured earlier in this benchmark run, if any."""
        found = self.measured.get("ceiling")
        return found.value("ceiling") if found is not None else None


def wait_statuses(
    stack: Stack, ids: Sequence[str], timeout_s: float, what: str
) -> dict[str, Received]:
    """Every id's status; RuntimeError when some are missing after ``timeout_s``."""
    missing = stack.statuses.wait(ids, timeout_s)
    stack.check_alive()
    if missing:
        counts = dict(stack.statuses.counts(ids))
        raise RuntimeError(
            f"{len(missing)} of {len(ids)} {what} got no status in {timeout_s:.0f} s ({counts})"
        )
    return stack.statuses.got(ids)


def seed(stack: Stack, skus: Sequence[str], timeout_s: float = 300.0) -> None:
    """Create an offer for every SKU (version 1) and wait for them; not timed."""
    sent = stack.publisher.publish([upserted(sku, 1) for sku in skus])
    got = wait_statuses(stack, list(sent), timeout_s, "seeding upserts")
    bad = Counter(r.status for r in got.values() if r.status != "PUBLISHED")
    if bad:
        example = next(r.body for r in got.values() if r.status != "PUBLISHED")
        raise RuntimeError(f"seeding did not publish every offer: {dict(bad)}; e.g. {example}")


@dataclass(frozen=True)
class Run:
    """One timed run: events/s from the first publish to the last status."""

    rate_per_s: float
    duration_s: float
    statuses: Counter[str]


def timed(stack: Stack, events: Sequence[dict[str, Any]], timeout_s: float) -> Run:
    """Publish ``events`` at once and wait for all their statuses."""
    start = time.perf_counter()
    sent = stack.publisher.publish(events)
    got = wait_statuses(stack, list(sent), timeout_s, "events")
    duration_s = max(r.at for r in got.values()) - start
    return Run(len(got) / duration_s, duration_s, Counter(r.status for r in got.values()))


def statuses_note(label: str, runs: Sequence[Run], expected: str) -> str | None:
    """A note when some runs' events ended otherwise than ``expected``."""
    other: Counter[str] = Counter()
    for run in runs:
        other.update(run.statuses)
    other.pop(expected, None)
    return f"{label}: statuses other than {expected}: {dict(other)}" if other else None
