"""``make bench``: the benchmark of allegro-feed on this machine (issue 4).

Runs the scenarios of :mod:`bench.scenarios` (each on its own sandbox, store, workers and
queue prefix, cleaned up whatever happens), prints a table of the figures with the issue's
targets (met/MISSED), and writes it as JSON to ``bench/results/latest.json``.

A benchmark, not a test: missed targets do not fail it.

Exit codes: 0 every scenario ran; 1 a scenario failed (its error is in the notes);
2 RabbitMQ is not available; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Context, Sizes
from bench.harness import finish_teardowns
from bench.report import ScenarioResult, machine_info, render_table, to_json, write_json
from bench.scenarios import SCENARIOS
from workers.runjob import DEFAULT_AMQP_URL, RunError, ensure_rabbitmq

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
#: The scenario's name in the table, where it differs from its ``--only`` name.
NAMES = {"sync": "initial sync"}
#: ``--only`` also accepts these names.
ALIASES = {"memory": "burst", "initial-sync": "sync", "pipeline": "throughput"}

EXIT_OK, EXIT_FAILED, EXIT_NO_RABBITMQ, EXIT_INTERRUPTED = 0, 1, 2, 130

_EPILOG = """\
scenarios: ceiling, throughput, burst (also memory), latency, sync (initial sync).
The throughput ratios need the ceiling: --only throughput runs the ceiling too.

examples:
  python -m bench                     everything (about 7 minutes on 2 cores)
  python -m bench --quick             every scenario at tiny sizes (a smoke run)
  python -m bench --only burst        one scenario

exit codes: 0 every scenario ran (missed targets included), 1 a scenario failed,
2 RabbitMQ is not available, 130 interrupted.
"""


def _say(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _selected(only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    wanted = {ALIASES.get(name, name) for name in only}
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; see --help")
    if "throughput" in wanted:
        wanted.add("ceiling")
    return [name for name in SCENARIOS if name in wanted]


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops the benchmark as Ctrl-C does: what it started is stopped first."""
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark allegro-feed's pipeline against the local sandbox and print "
        "the figures beside the targets of issue 4.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", nargs="+", metavar="SCENARIO", help="run only these scenarios (see below)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    parser.add_argument(
        "--baseline-env",
        nargs="+",
        metavar="NAME=VALUE",
        help="worker environment that switches stock batching off for the burst's "
        "one-PATCH-per-event baseline (default: ALLEGRO_FEED_BATCHING=false when the workers "
        "have that setting)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the burst's baseline run")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="JSON file (default bench/results/latest.json)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = _selected(args.only)
    amqp_url = os.environ.get("ALLEGRO_FEED_AMQP_URL") or DEFAULT_AMQP_URL
    try:
        ensure_rabbitmq(amqp_url, out=_say)
    except RunError as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return EXIT_NO_RABBITMQ
    sizes = Sizes.quick() if args.quick else Sizes()
    measured: dict[str, ScenarioResult] = {}
    baseline_env = _baseline_env(args.baseline_env, args.no_baseline)
    ctx = Context(sizes, amqp_url, args.processes, args.threads, measured, _say, baseline_env)
    started_at = datetime.now(UTC)
    begun = time.monotonic()
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        for name in names:
            _say(f"{name} ...")
            scenario_begun = time.monotonic()
            try:
                result = SCENARIOS[name](ctx)
            except Exception as exc:
                result = ScenarioResult(NAMES.get(name, name), "failed")
                result.error = f"{exc!r}"
                _say(f"{name} failed:\n{traceback.format_exc()}")
            result.duration_s = time.monotonic() - scenario_begun
            measured[name] = result
            _say(f"{name} done in {result.duration_s:.0f} s")
    except KeyboardInterrupt:
        interrupted = True
        _say("interrupted: stopping what the benchmark started ...")
    finally:
        # A second Ctrl-C or a SIGTERM must not leave the workers behind half-stopped.
        ignored = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            finish_teardowns()
        finally:
            for sig, handler in ignored.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGTERM, previous)
    total_s = time.monotonic() - begun
    machine = machine_info(amqp_url)
    pools = (
        f"allegro-feed worker --processes {args.processes} --threads {args.threads} "
        f"({args.processes} actor processes x {args.threads} threads, plus the ingest bridge "
        "and batcher processes it starts); the no-op ceiling: the same processes x threads"
    )
    quick = " (--quick: smoke sizes, figures meaningless)" if args.quick else ""
    header = [
        f"allegro-feed benchmark{quick} — {started_at:%Y-%m-%d %H:%M} UTC, "
        f"total {total_s / 60:.1f} min",
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; "
        f"Python {machine['python']}; RabbitMQ {machine['rabbitmq'] or 'unknown'}; sandbox, "
        "workers, broker and bench all on this machine",
        f"workers: {pools}",
        "",
    ]
    results = list(measured.values())
    print(render_table(results, header))
    document = to_json(
        results,
        {
            "started_at": started_at.isoformat(),
            "duration_s": round(total_s, 1),
            "quick": args.quick,
            "interrupted": interrupted,
            "machine": machine,
            "workers": {"processes": args.processes, "threads": args.threads, "command": pools},
        },
    )
    write_json(document, args.output)
    print(f"\nwritten to {_shown(args.output)}; total {total_s:.0f} s")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(r.error for r in results) else EXIT_OK


def _baseline_env(given: Sequence[str] | None, skip: bool) -> dict[str, str] | None:
    """The workers' environment of the burst's baseline (batching off), or None."""
    if skip:
        return None
    if given:
        return dict(item.partition("=")[::2] for item in given)
    from workers.settings import Settings

    return {"ALLEGRO_FEED_BATCHING": "false"} if "batching" in Settings.model_fields else None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
