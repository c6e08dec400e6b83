"""``make run``: the main job end to end, on embedded defaults.

``python -m workers.runjob`` needs nothing configured but a RabbitMQ (``ALLEGRO_FEED_AMQP_URL``,
default the local one; a locally installed ``rabbitmq-server`` is started when nothing
answers). It then

1. starts the local Allegro sandbox (``allegro-feed sandbox``) on a free port;
2. opens a fresh SQLite store in a temporary directory and connects the sandbox's seller
   account with the device flow (the sandbox's admin endpoint plays the seller approving
   the code); the tokens go into the store;
3. starts the workers (``allegro-feed worker``: the ingest bridge and the actor pools) on the
   sandbox, that store and the sample shop's mapping file, under a name prefix of its own
   (``run-<pid>.``) so that runs never see each other's queues;
4. publishes the sample shop's events (:mod:`workers.sample`) as upstream would, wave by
   wave, and reads ``<prefix>allegro.status`` until every event has its terminal status;
5. prints a summary (statuses, top rejection reasons with an example SKU, time, events/s)
   and stops everything it started, also on Ctrl-C or an error, deleting its queues.

Exit codes: 0 every event got a status; 1 some did not in time, or a part failed to start;
2 RabbitMQ is not available (the message says how to get one); 130 interrupted.

The parts live in private modules of this package, re-exported here: exit codes and
:class:`RunError` (:mod:`._errors`), the children (:mod:`._procs`), getting a RabbitMQ
(:mod:`._rabbitmq`) and the run's queues and messages (:mod:`._amqp`). This module drives
the run and is its command line (``python -m workers.runjob``: :mod:`.__main__`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pika
import pika.exceptions

from workers.sample import MAPPING_FILE, SampleEvent, sample_events, waves
from workers.sample.report import Progress, StatusBoard, missing_text, summarize
from workers.settings import Environment, Settings
from workers.topology import Names

from ._amqp import (
    collect_statuses,
    delete_topology,
    publish_events,
    wait_for_topology,
)
from ._errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_NO_RABBITMQ,
    EXIT_OK,
    RunError,
)
from ._procs import (
    connect_seller,
    free_port,
    spawn,
    start_sandbox,
    stop_process,
    tail,
    worker_command,
)
from ._rabbitmq import _stop_rabbitmq, ensure_rabbitmq

__all__ = [
    "EXIT_NO_RABBITMQ",
    "Progress",
    "RunError",
    "StatusBoard",
    "collect_statuses",
    "connect_seller",
    "delete_topology",
    "ensure_rabbitmq",
    "free_port",
    "main",
    "publish_events",
    "run",
    "spawn",
    "start_sandbox",
    "stop_process",
    "summarize",
    "tail",
    "worker_command",
]

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
#: Longest wait for all statuses of the whole run (after the workers are up), s.
DEFAULT_TIMEOUT_S = 90.0


class _Interrupted(Exception):
    """SIGTERM received: stop like on Ctrl-C."""


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """What ``make run`` may be told (``python -m workers.runjob --help``)."""

    amqp_url: str = DEFAULT_AMQP_URL
    timeout_s: float = DEFAULT_TIMEOUT_S
    processes: int = 2
    threads: int = 8
    verbose: bool = False
    keep: bool = False


def _child_env(settings: Settings, *, verbose: bool) -> dict[str, str]:
    """The environment of the workers: this run's settings as ALLEGRO_FEED_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_FEED_")}
    env.update(
        {
            "ALLEGRO_FEED_ENVIRONMENT": "local",
            "ALLEGRO_FEED_API_URL": str(settings.api_url),
            "ALLEGRO_FEED_AUTH_URL": str(settings.auth_url),
            "ALLEGRO_FEED_AMQP_URL": settings.amqp_url,
            "ALLEGRO_FEED_DATABASE_URL": settings.database_url,
            "ALLEGRO_FEED_MAPPING_FILE": str(settings.mapping_file),
            "ALLEGRO_FEED_NAME_PREFIX": settings.name_prefix,
            # A demo should show FAILED within its timeout rather than retry for minutes.
            "ALLEGRO_FEED_ACTOR_MAX_RETRIES": str(settings.actor_max_retries),
            "ALLEGRO_FEED_ACTOR_MIN_BACKOFF_MS": str(settings.actor_min_backoff_ms),
            "ALLEGRO_FEED_ACTOR_MAX_BACKOFF_MS": str(settings.actor_max_backoff_ms),
            "ALLEGRO_FEED_OPERATION_POLL_MAX_S": str(settings.operation_poll_max_s),
            "ALLEGRO_FEED_LOG_FORMAT": "json",
            "ALLEGRO_FEED_LOG_LEVEL": "INFO" if verbose else "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _sandbox_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_SANDBOX_")}
    # The sandbox's seller "confirms" at once; polling every second keeps the start short.
    env["ALLEGRO_SANDBOX_DEVICE_INTERVAL_S"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _Interrupted


@dataclass
class _Started:
    """What this run started, to be stopped in reverse order."""

    rabbitmq: bool = False
    sandbox: subprocess.Popen[bytes] | None = None
    workers: subprocess.Popen[bytes] | None = None
    params: pika.URLParameters | None = None
    names: Names | None = None


def _cleanup(started: _Started, out: Callable[[str], None]) -> None:
    if started.workers is not None and started.workers.poll() is None:
        out("stopping the workers ...")
    stop_process(started.workers)
    if started.params is not None and started.names is not None:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            delete_topology(started.params, started.names)
    stop_process(started.sandbox)
    if started.rabbitmq:
        out("stopping the RabbitMQ this run started ...")
        _stop_rabbitmq()


def _drive(
    options: RunOptions,
    settings: Settings,
    started: _Started,
    workdir: Path,
    progress: Progress,
) -> int:
    """Steps 3-5 of the module docstring, once the sandbox runs and the seller is connected."""
    names = Names.of(settings)
    params = pika.URLParameters(settings.amqp_url)
    worker_log = workdir / "workers.log"
    progress.line(
        f"starting the workers ({options.processes} processes x {options.threads} threads, "
        f"prefix {settings.name_prefix}) ..."
    )
    started.workers = spawn(
        worker_command(options.processes, options.threads),
        worker_log,
        _child_env(settings, verbose=options.verbose),
    )
    started.params, started.names = params, names
    wait_for_topology(params, names, started.workers, worker_log)

    events = sample_events()
    board = StatusBoard()
    connection = pika.BlockingConnection(params)
    begun = time.monotonic()
    deadline = begun + options.timeout_s
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=500)
        grouped = waves(events)
        sent: list[SampleEvent] = []
        for number, wave in enumerate(grouped, start=1):
            label = f"wave {number}/{len(grouped)}"

            def published(n: int, total: int, label: str = label) -> None:
                progress.update(f"{label}: published {n}/{total} events", force=n == total)

            publish_events(channel, names.products_exchange, wave, published)
            sent += wave
            wanted = list(dict.fromkeys(e.event_id for e in wave))

            def show(done: int, total: int, label: str = label, wanted: list[str] = wanted) -> None:
                counts = board.counts([e for e in wanted if board.has(e)])
                shown = " ".join(f"{s.lower()} {n}" for s, n in sorted(counts.items()))
                progress.update(f"{label}: {done}/{total} statuses  ({shown})")

            missing = collect_statuses(channel, names.status_queue, board, wanted, deadline, show)
            show(len(wanted) - len(missing), len(wanted))
            progress.done(
                f"{label}: {len(wanted) - len(missing)}/{len(wanted)} statuses after "
                f"{time.monotonic() - begun:.1f} s"
            )
            if missing:
                progress.line(
                    f"gave up after {options.timeout_s:.0f} s: {len(missing)} events of {label} "
                    f"have no status yet:\n{missing_text(missing, events)}\n"
                    f"the workers' log ({worker_log.name}) ends with:\n{tail(worker_log)}"
                )
                progress.line(summarize(board.first, sent, time.monotonic() - begun))
                return EXIT_INCOMPLETE
            if started.workers.poll() is not None:
                raise RunError(
                    f"the workers exited (code {started.workers.returncode}):\n{tail(worker_log)}"
                )
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()
    progress.line(summarize(board.first, events, time.monotonic() - begun))
    return EXIT_OK


def _start_and_drive(
    options: RunOptions,
    workdir: Path,
    started: _Started,
    progress: Progress,
    say: Callable[[str], None],
) -> int:
    started.rabbitmq = ensure_rabbitmq(options.amqp_url, out=say)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"starting the local Allegro sandbox on {url} ...")
    started.sandbox = start_sandbox(port, workdir / "sandbox.log", _sandbox_env())
    settings = Settings(
        environment=Environment.LOCAL,
        api_url=url,
        auth_url=url,
        amqp_url=options.amqp_url,
        database_url=f"sqlite:///{workdir / 'store.db'}",
        mapping_file=MAPPING_FILE,
        name_prefix=f"run-{os.getpid()}.",
        actor_max_retries=3,
        actor_min_backoff_ms=200,
        actor_max_backoff_ms=2_000,
        operation_poll_max_s=30.0,
        log_level="WARNING",
    )
    from workers.logging import configure_logging

    # This process talks (device flow, setup); its log lines would only clutter the output.
    configure_logging(settings, quiet_loggers=("httpx", "httpcore"))
    # Waiting for the workers' topology probes with passive declarations: their 404s are
    # expected and pika logs each as a warning.
    logging.getLogger("pika").setLevel(logging.ERROR)
    connect_seller(settings, url, say)
    return _drive(options, settings, started, workdir, progress)


def run(options: RunOptions, out: Callable[[str], None] | None = None) -> int:
    """The whole of ``make run`` (module docstring); returns the exit code.

    Whatever happens (an error, Ctrl-C, SIGTERM), what the run started is stopped and its
    queues deleted before this returns.
    """
    progress = Progress()
    say = out or progress.line
    started = _Started()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with contextlib.ExitStack() as stack:
            if options.keep:
                tmp = tempfile.mkdtemp(prefix="allegro-feed-run-")
                say(f"logs and the store are kept in {tmp}")
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="allegro-feed-run-"))
            try:
                return _start_and_drive(options, Path(tmp), started, progress, say)
            except RunError as exc:
                say(f"make run: {exc}")
                return exc.exit_code
            except (KeyboardInterrupt, _Interrupted):
                say("interrupted: stopping what this run started ...")
                return EXIT_INTERRUPTED
            finally:
                # A second Ctrl-C must not leave children behind half-stopped.
                sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
                try:
                    _cleanup(started, say)
                finally:
                    signal.signal(signal.SIGINT, sigint)
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers.runjob",
        description="make run: publish the sample shop through the whole pipeline (RabbitMQ, "
        "the workers, the local Allegro sandbox) and summarise the outcomes.",
        epilog="exit codes: 0 every event got a status; 1 some did not, or a part failed; "
        "2 no RabbitMQ (the message says how to get one); 130 interrupted.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up waiting for statuses after S seconds (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    parser.add_argument("--processes", type=int, default=2, help="actor processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    parser.add_argument("--verbose", action="store_true", help="INFO logs in the workers' log file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's directory (workers.log, sandbox.log, store.db) and print it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make run``."""
    args = build_parser().parse_args(argv)
    options = RunOptions(
        amqp_url=os.environ.get("ALLEGRO_FEED_AMQP_URL") or DEFAULT_AMQP_URL,
        timeout_s=args.timeout,
        processes=args.processes,
        threads=args.threads,
        verbose=args.verbose,
        keep=args.keep,
    )
    return run(options)
