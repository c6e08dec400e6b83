"""The scenarios of ``make bench`` (issue 4): each starts its own stack, measures, and
returns a :class:`~bench.report.ScenarioResult` of figures with the issue's targets.

Ratios are taken from figures of the same benchmark run (the ceiling measured minutes
earlier on the same machine, not a remembered number). Seeding existing offers (upserts
waited for) is never timed.
"""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import Context, seed, statuses_note, timed
from bench.events import QUANTITY_MAX, StockChanges, new_skus, upserted
from bench.harness import NO_LIMITS, NO_WORKER_LIMITS, Stack, noop_workers
from bench.report import Figure, ScenarioResult
from bench.stats import Target, median, parse_iso, ratio, spread
from bench.sustained import Sustained, closed_loop
from bench.sync_latency import initial_sync, latency

__all__ = ["SCENARIOS", "burst", "ceiling", "throughput"]

#: Pause between polls of ``/__sandbox/offers`` in the burst, s.
POLL_S = 1.0


# --- 1. ceiling -----------------------------------------------------------------------------


def ceiling(ctx: Context) -> ScenarioResult:
    from bench import noop

    n, runs = ctx.sizes.ceiling_messages, ctx.sizes.runs
    result = ScenarioResult("ceiling", f"dramatiq bench.noop -p {ctx.processes} -t {ctx.threads}")
    rates: list[float] = []
    with noop_workers(ctx.amqp_url, ctx.processes, ctx.threads) as workers:
        broker, actor = noop.make_broker(ctx.amqp_url, workers.prefix)
        try:
            expected = 0
            for _ in range(runs):
                start = time.time()
                for _ in range(n):
                    actor.send()
                expected += n
                deadline = time.monotonic() + 120
                while (done := workers.done())[0] < expected:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the no-op workers finished {done[0]}/{expected}")
                    time.sleep(0.01)
                rates.append(n / (done[1] - start))
                ctx.say(f"ceiling: {rates[-1]:.0f} messages/s")
        finally:
            broker.close()
    result.add(
        Figure("ceiling", "no-op actor messages/s (enqueue → done)", median(rates), "msg/s", runs)
    )
    result.notes.append(
        f"ceiling: {n:,} messages per run enqueued from the bench process with Dramatiq's "
        f"defaults (persistent, no publisher confirms); runs {spread(rates)}"
    )
    return result


# --- 2. pipeline throughput -----------------------------------------------------------------


def throughput(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    setup = (
        "sandbox latency 0 ms (batch commands applied at once: command_delay 0 s), rate "
        "limits lifted in the sandbox and the workers (the pipeline's speed, not Allegro's "
        "quota)"
    )
    result = ScenarioResult("throughput", setup)
    options = ctx.options(
        "throughput",
        sandbox_knobs={**NO_LIMITS, "command_delay_s": 0.0},
        worker_env=dict(NO_WORKER_LIMITS),
    )
    loop = functools.partial(
        closed_loop,
        warmup_s=s.throughput_warmup_s,
        window_s=s.throughput_window_s,
        windows=s.runs,
    )
    with Stack(options, ctx.amqp_url) as stack:
        seed(stack, new_skus(s.warmup_upserts, "warm"))  # warm-up: caches, connections
        first = [upserted(sku, 1) for sku in new_skus(s.throughput_upserts, "up")]
        upserts = loop(stack, first, lambda _done: upserted(new_skus(1, "up")[0], 1))
        created = [str(e["sku"]) for e, status in upserts.finished if status == "PUBLISHED"]
        ctx.say(f"throughput: {spread(upserts.rates)} product.upserted/s")
        if len(created) < s.throughput_stock:  # more offers for the stock loop: not timed
            more = new_skus(s.throughput_stock - len(created), "st")
            seed(stack, more)
            created += more
        rng = random.Random(2)
        changes = StockChanges(created, rng)
        skus = rng.sample(created, min(s.throughput_stock, len(created)))
        # One change per offer in flight; an offer's next change once its last one is done.
        stocks = loop(
            stack,
            [changes.change(sku) for sku in skus],
            lambda finished: changes.change(str(finished["sku"])),
        )
        ctx.say(f"throughput: {spread(stocks.rates)} product.stock/s")
        # For comparison with earlier figures: the same offers changed all at once.
        once = timed(stack, [changes.change(sku) for sku in skus], 300)
    ceiling_rate = ctx.ceiling()
    up = median(upserts.rates)
    st = median(stocks.rates)
    runs = s.runs
    result.add(Figure("upserted", "product.upserted events/s (new offers)", up, "ev/s", runs))
    result.add(
        Figure(
            "upserted_ratio", "  ÷ ceiling", ratio(up, ceiling_rate), "", runs, Target(">=", 0.1)
        )
    )
    result.add(Figure("stock", "product.stock events/s (existing offers)", st, "ev/s", runs))
    result.add(
        Figure("stock_ratio", "  ÷ ceiling", ratio(st, ceiling_rate), "", runs, Target(">=", 0.3))
    )
    result.notes.append(
        f"throughput: closed loops (bench.sustained): {s.throughput_upserts} new products in "
        f"flight, each status followed by another new product (windows "
        f"{spread(upserts.rates)} ev/s); {len(skus)} existing offers with one change each in "
        f"flight, each status followed by that offer's next change (windows "
        f"{spread(stocks.rates)} ev/s); events/s counted in {runs} windows of "
        f"{s.throughput_window_s:g} s after {s.throughput_warmup_s:g} s of warm-up"
    )
    result.notes.append(
        f"throughput: the same {len(skus)} offers changed all at once, first publish → last "
        f"status: {once.rate_per_s:.0f} ev/s ({once.duration_s:.2f} s, the batching windows "
        "and the fill included)"
    )
    if ceiling_rate is None:
        result.notes.append("throughput: no ceiling measured in this run, so no ratios")
    for label, loop_result, expected in (
        ("throughput upserts", upserts, "PUBLISHED"),
        ("throughput stock", stocks, "UPDATED"),
    ):
        note = _loop_note(label, loop_result, expected)
        if note:
            result.notes.append(note)
    note = statuses_note("throughput stock at once", [once], "UPDATED")
    if note:
        result.notes.append(note)
    return result


def _loop_note(label: str, loop_result: Sustained, expected: str) -> str | None:
    """A note when some events of a closed loop ended otherwise than ``expected`` or did
    not end."""
    other = Counter(loop_result.statuses)
    other.pop(expected, None)
    if loop_result.unfinished:
        other["no status"] = loop_result.unfinished
    return f"{label}: statuses other than {expected}: {dict(other)}" if other else None


# --- 3. stock burst (+ 6. memory) -----------------------------------------------------------


def _burst_events(
    skus: Sequence[str], count: int
) -> tuple[list[dict[str, Any]], dict[str, int], list[str]]:
    """``count`` stock events round-robin over ``skus`` (versions 2, 3, ... per SKU), the
    final quantity of each SKU and the ids of each SKU's newest event."""
    changes = StockChanges(skus, random.Random(3))
    events = [changes.change(skus[index % len(skus)]) for index in range(count)]
    newest = {event["sku"]: event["event_id"] for event in events}
    final = {sku: changes.levels[sku] for sku in newest}
    return events, final, list(newest.values())


def _wrong_quantities(stack: Stack, final: dict[str, int]) -> int:
    """How many SKUs the sandbox does not hold at their final quantity (a missing offer
    counts)."""
    held = {
        str((o.get("external") or {}).get("id")): (o.get("stock") or {}).get("available")
        for o in stack.sandbox.offers()
    }
    return sum(1 for sku, q in final.items() if held.get(sku) != q)


def _converged_after(
    stack: Stack, final: dict[str, int], newest: list[str], start: float, deadline: float
) -> float | None:
    """Seconds from ``start`` until a poll of ``/__sandbox/offers`` shows every final
    quantity; None when that did not happen by ``deadline`` (``perf_counter()``).

    A poll renders every offer and holds the single-threaded sandbox for a second or two
    (polling all along slowed a burst by a third), so polling starts once every SKU's
    newest event has its status: a quantity cannot be final before its event was recorded,
    and a batched change may still be pending after its status."""
    stack.statuses.wait(newest, max(deadline - time.perf_counter(), 0.0))
    while time.perf_counter() < deadline:
        polled_at = time.perf_counter() - start
        if _wrong_quantities(stack, final) == 0:
            return polled_at
        stack.check_alive()
        time.sleep(POLL_S)
    return None


@dataclass
class _Burst:
    """What one burst measured."""

    events: int
    offers: int
    distinct_final: int
    published_s: float
    converged_s: float | None
    done_s: float | None
    missing: int
    finished: int
    wrong: int
    calls: Counter[str]
    statuses: dict[str, int]
    memory: list[dict[str, Any]]

    @property
    def per_event(self) -> float:
        # Capped: the calls so far per event finished so far (an estimate; see the notes).
        return sum(self.calls.values()) / max(self.finished, 1)


def _burst_once(
    ctx: Context,
    label: str,
    worker_env: dict[str, str],
    offers: int,
    count: int,
    *,
    in_rounds: bool = False,
) -> _Burst:
    """One burst. ``in_rounds``: publish one event per offer at a time and wait for their
    statuses before the next round (the one-PATCH-per-event baseline: published at once,
    the PATCH path too would skip the values a newer event superseded)."""
    s = ctx.sizes
    options = ctx.options(
        "burst", sandbox_knobs=dict(NO_LIMITS), worker_env={**NO_WORKER_LIMITS, **worker_env}
    )
    with Stack(options, ctx.amqp_url) as stack:
        skus = new_skus(offers, "burst")
        seed(stack, skus)
        events, final, newest = _burst_events(skus, count)
        ctx.say(f"{label}: {len(events):,} stock events over {len(skus):,} offers ...")
        # The sandbox's clock is this machine's (never advanced here): its request log's
        # times tell the burst's calls from the seeding's.
        started_at = time.time()
        start = time.perf_counter()
        if in_rounds:
            ids = []
            for first in range(0, len(events), len(skus)):
                batch = list(stack.publisher.publish(events[first : first + len(skus)]))
                stack.statuses.wait(batch, max(start + s.burst_timeout_s - time.perf_counter(), 0))
                ids += batch
        else:
            ids = list(stack.publisher.publish(events))
        published_s = time.perf_counter() - start
        deadline = start + s.burst_timeout_s
        converged_s = _converged_after(stack, final, newest, start, deadline)
        missing = stack.statuses.wait(ids, max(deadline - time.perf_counter(), 0.0))
        got = stack.statuses.got(ids)
        return _Burst(
            events=len(events),
            offers=len(skus),
            distinct_final=len(set(final.values())),
            published_s=published_s,
            converged_s=converged_s,
            done_s=max(r.at for r in got.values()) - start if not missing else None,
            missing=len(missing),
            finished=len(got),
            wrong=_wrong_quantities(stack, final),
            calls=Counter(
                f"{c['method']} {c['status']}"
                for c in stack.sandbox.requests()
                if parse_iso(c["at"]) >= started_at
            ),
            statuses=dict(stack.statuses.counts(ids)),
            memory=stack.worker_memory(),
        )


def _burst_note(label: str, run: _Burst, timeout_s: float) -> list[str]:
    notes = [
        f"{label}: {run.events:,} product.stock events over {run.offers:,} offers (stock "
        f"levels 1..{QUANTITY_MAX}, {run.distinct_final} distinct final ones), published "
        f"in {run.published_s:.1f} s; {sum(run.calls.values()):,} logged Allegro calls "
        f"({dict(run.calls)}); statuses {run.statuses}"
    ]
    if run.missing:
        notes.append(
            f"{label}: CAPPED at {timeout_s:.0f} s with {run.missing:,} of {run.events:,} "
            "events still without a status; requests per event counted over the finished ones"
        )
    return notes


def burst(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    setup = (
        "sandbox latency 0 ms, rate limits lifted (sandbox and workers); one run each (too "
        f"long to repeat), capped at {s.burst_timeout_s:.0f} s; /__sandbox/offers polled every "
        f"{POLL_S:g} s once every SKU's newest event had its status"
    )
    result = ScenarioResult("burst", setup)
    run = _burst_once(ctx, "burst", {}, s.burst_offers, s.burst_events)
    baseline = None
    if ctx.baseline_env is not None:
        baseline = _burst_once(
            ctx,
            "burst baseline",
            ctx.baseline_env,
            s.baseline_offers,
            s.baseline_events,
            in_rounds=True,
        )
    result.add(
        Figure(
            "requests_per_event",
            "Allegro requests per event",
            run.per_event,
            "",
            1,
            Target("<=", 0.02),
        )
    )
    if baseline is not None:
        switch = " ".join(f"{k}={v}" for k, v in (ctx.baseline_env or {}).items())
        baseline_note = (
            f"a second, smaller burst ({baseline.events:,} events over {baseline.offers:,} "
            f"offers: the same 10 per offer) with the workers' {switch}, published one "
            "event per offer at a time (each round after the statuses of the one before), "
            "as a store that sends every change as it happens"
        )
    else:
        baseline_note = (
            "no switch to disable batching given (--baseline-env): the one run above is the "
            "baseline"
        )
    result.add(
        Figure(
            "baseline_requests_per_event",
            "  baseline: one PATCH per event",
            (baseline or run).per_event,
            "",
            1,
            Target(">=", 1.0),
            note=baseline_note,
        )
    )
    result.add(
        Figure(
            "converged_s", "time until the sandbox holds every final qty", run.converged_s, "s", 1
        )
    )
    result.add(Figure("statuses_s", "time until every event has its status", run.done_s, "s", 1))
    result.add(
        Figure(
            "wrong_quantities",
            "offers with a wrong final quantity",
            run.wrong,
            "",
            1,
            Target("<=", 0),
        )
    )
    if baseline is not None:
        result.add(
            Figure(
                "baseline_converged_s",
                "  baseline: time until every final qty",
                baseline.converged_s,
                "s",
                1,
            )
        )
        result.add(
            Figure(
                "baseline_wrong",
                "  baseline: offers with a wrong final qty",
                baseline.wrong,
                "",
                1,
                Target("<=", 0),
            )
        )
    peaks = [
        m["peak_rss_mb"]
        for m in run.memory
        if m["role"] in ("actor process", "ingest bridge", "batcher")
        and m["peak_rss_mb"] is not None
    ]
    result.add(
        Figure(
            "peak_rss_mb",
            "peak RSS of a worker process (max)",
            max(peaks, default=None),
            "MB",
            1,
            Target("<", 150),
            note="VmHWM of the ingest bridge, batcher and actor processes, seeding included",
            group="memory",
        )
    )
    result.notes += _burst_note("burst", run, s.burst_timeout_s)
    if baseline is not None:
        result.notes += _burst_note("burst baseline", baseline, s.burst_timeout_s)
    result.notes.append(
        "memory (VmHWM during the burst): "
        + ", ".join(f"{m['role']} {m['peak_rss_mb'] or 0:.0f} MB" for m in run.memory)
    )
    result.detail = {
        "calls": dict(run.calls),
        "statuses": run.statuses,
        "memory": run.memory,
        "baseline_calls": dict(baseline.calls) if baseline else None,
    }
    return result


#: Every scenario by name, in the order ``make bench`` runs them (the ceiling first: the
#: throughput ratios need it).
SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {
    "ceiling": ceiling,
    "throughput": throughput,
    "burst": burst,
    "sync": initial_sync,
    "latency": latency,
}
