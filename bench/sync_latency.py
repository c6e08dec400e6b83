"""Scenarios 4 (initial sync under Allegro's per-seller write limit) and 5 (latency at a
steady event rate)."""

from __future__ import annotations

import random
import time
from collections import Counter

from bench.common import Context, seed, wait_statuses
from bench.events import StockChanges, new_skus, upserted
from bench.harness import Stack
from bench.report import Figure, ScenarioResult
from bench.stats import Target, busiest_window, median, parse_iso, percentile, spread
from workers.settings import Settings

__all__ = ["initial_sync", "latency"]

#: The workers' setting that should pace offer writes (issue 4); set whether or not the
#: workers know it yet.
RATE_SETTING = "rate_offer_writes_per_min"
#: How often the initial sync reports progress, s.
PROGRESS_EVERY_S = 30.0


def _created_at(calls: list[dict[str, object]]) -> list[float]:
    """When the sandbox accepted each offer creation (POST answered 201 or 202), s."""
    return [
        parse_iso(str(c["at"]))
        for c in calls
        if c["method"] == "POST"
        and c["path"] == "/sale/product-offers"
        and c["status"] in (201, 202)
    ]


def initial_sync(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    limit = s.sync_limit_per_min
    knobs = {
        "seller_offer_writes_per_min": limit,
        "latency_ms": 150,
        "async_ratio": 1,
        "async_delay_s": 1,
        "retry_after_s": 1,
    }
    setup = (
        f"{s.sync_products:,} new products; sandbox seller_offer_writes_per_min={limit}, "
        "latency 150 ms, async_ratio 1, async_delay 1 s, retry_after 1 s; workers "
        f"ALLEGRO_FEED_RATE_OFFER_WRITES_PER_MIN={limit}; one run (≥ 3.3 min: not repeated)"
    )
    result = ScenarioResult("initial sync", setup)
    env = {f"ALLEGRO_FEED_{RATE_SETTING.upper()}": str(limit)}
    with Stack(ctx.options("sync", sandbox_knobs=knobs, worker_env=env), ctx.amqp_url) as stack:
        skus = new_skus(s.sync_products, "sync")
        start = time.perf_counter()
        ids = list(stack.publisher.publish([upserted(k, 1) for k in skus]))
        deadline = start + s.sync_cap_s
        while True:
            left = deadline - time.perf_counter()
            missing = stack.statuses.wait(ids, min(PROGRESS_EVERY_S, max(left, 0.0)))
            stack.check_alive()
            ctx.say(
                f"initial sync: {len(ids) - len(missing):,}/{len(ids):,} statuses after "
                f"{time.perf_counter() - start:.0f} s"
            )
            if not missing or time.perf_counter() >= deadline:
                break
        got = stack.statuses.got(ids)
        calls = stack.sandbox.requests()
    created = _created_at(calls)
    busiest = busiest_window(created, 60.0)
    rejected_429 = sum(1 for c in calls if c["status"] == 429)
    result.add(
        Figure(
            "creations_busiest_min",
            "offers created in the busiest minute",
            busiest,
            "/min",
            1,
        )
    )
    result.add(
        Figure("creation_ratio", "  ÷ limit (600/min)", busiest / limit, "", 1, Target(">=", 0.9))
    )
    result.add(Figure("answers_429", "429 answers", rejected_429, "", 1, Target("<=", 0)))
    done_s = max((r.at for r in got.values()), default=start) - start
    result.add(Figure("sync_s", "time until every product has its status", done_s, "s", 1))
    statuses = dict(Counter(r.status for r in got.values()))
    span_s = (max(created) - min(created)) if created else 0.0
    result.notes.append(
        f"initial sync: {len(got):,}/{len(ids):,} statuses {statuses}; {len(created):,} offers "
        f"created over {span_s:.0f} s (mean {60 * len(created) / max(span_s, 1e-9):.0f}/min)"
    )
    if len(got) < len(ids):
        result.notes.append(
            f"initial sync: stopped at the cap of {s.sync_cap_s:.0f} s with "
            f"{len(ids) - len(got):,} products still without a status"
        )
    if RATE_SETTING not in Settings.model_fields:
        result.notes.append(
            f"initial sync: the workers have no setting ALLEGRO_FEED_{RATE_SETTING.upper()} "
            "yet (ignored): nothing paces offer writes but the pipeline's own speed"
        )
    result.detail = {"statuses": statuses, "created": len(created), "answers_429": rejected_429}
    return result


def latency(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    per_run = max(1, round(s.latency_rate_per_s * s.latency_run_s))
    # One PATCH per event at 100/s is 6,000 writes/min, over Allegro's 2,490/min per seller:
    # lifted so that the figure is the pipeline's latency, not a quota's back-off.
    knobs = {
        "latency_ms": 20,
        "command_delay_s": 0.3,
        "seller_offer_writes_per_min": 1_000_000_000,
        "seller_offer_writes_per_h": 1_000_000_000,
    }
    env = {
        "ALLEGRO_FEED_RATE_OFFER_WRITES_PER_MIN": "0",
        "ALLEGRO_FEED_RATE_OFFER_WRITES_PER_HOUR": "0",
    }
    setup = (
        f"{s.latency_rate_per_s:g} product.stock/s for {s.latency_run_s:g} s per run over "
        f"{s.latency_offers} offers; sandbox latency 20 ms, command_delay 0.3 s; per-seller "
        "offer-write limit lifted in sandbox and workers (client and batch limits Allegro's)"
    )
    result = ScenarioResult("latency", setup)
    p50s: list[float] = []
    p99s: list[float] = []
    rates: list[float] = []
    served: list[float] = []
    statuses: Counter[str] = Counter()
    options = ctx.options("latency", sandbox_knobs=knobs, worker_env=env)
    with Stack(options, ctx.amqp_url) as stack:
        skus = new_skus(s.latency_offers, "lat")
        seed(stack, skus)
        changes = StockChanges(skus, random.Random(5))
        seeded = stack.sandbox.requests()
        seeded_seq = int(seeded[-1]["seq"]) if seeded else 0
        for run in range(s.runs):
            events = [
                changes.change(skus[(run * per_run + index) % len(skus)])
                for index in range(per_run)
            ]
            start = time.perf_counter()
            sent = stack.publisher.publish(events, rate_per_s=s.latency_rate_per_s)
            rates.append(len(events) / (max(sent.values()) - start) if len(events) > 1 else 0.0)
            got = wait_statuses(stack, list(sent), 120.0, "latency events")
            waits = [got[e].at - sent[e] for e in sent]
            # Events over the span of their statuses: when the pipeline keeps up, statuses
            # come as fast as the events were published (a tail after the last publish is
            # latency, not a lack of capacity).
            span_s = max(r.at for r in got.values()) - min(r.at for r in got.values())
            served.append(len(got) / span_s if span_s > 0 else 0.0)
            statuses.update(r.status for r in got.values())
            p50s.append(percentile(waits, 50))
            p99s.append(percentile(waits, 99))
            ctx.say(f"latency: p50 {p50s[-1]:.3f} s, p99 {p99s[-1]:.3f} s")
        calls = stack.sandbox.requests()
    timed_calls = [c for c in calls if int(c["seq"]) > seeded_seq]
    runs = s.runs
    result.add(Figure("p50_s", "p50 published → status", median(p50s), "s", runs, Target("<", 1)))
    result.add(Figure("p99_s", "p99 published → status", median(p99s), "s", runs, Target("<", 2)))
    result.notes.append(
        f"latency: {per_run:,} events per run published at {spread(rates)} ev/s, statuses "
        f"came at {spread(served)} ev/s; p50 runs {spread(p50s)} s, p99 runs {spread(p99s)} s; "
        f"statuses {dict(statuses)}; 429 answers {sum(1 for c in calls if c['status'] == 429)}"
    )
    result.notes.append(
        f"latency: {len(timed_calls):,} Allegro calls for {runs * per_run:,} events "
        f"({len(timed_calls) / max(1, runs * per_run):.2f} per event: "
        f"{dict(Counter(c['method'] + ' ' + _kind(c['path']) for c in timed_calls))})"
    )
    served_median = median(served)
    if served_median is not None and served_median < 0.95 * s.latency_rate_per_s:
        result.notes.append(
            "latency: the pipeline served fewer events/s than were published, so a queue "
            "builds up during a run and the latencies grow with the run's length"
        )
    return result


def _kind(path: str) -> str:
    """A request path's kind: its first two segments, ids left out."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    return "/" + "/".join(parts[:2])
