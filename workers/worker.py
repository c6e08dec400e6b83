"""``allegro-feed worker``: the ingest bridge and the actor pools of one host, supervised.

It declares the topology first (so a broken RabbitMQ setup fails here, at once, with the
reason), then starts its child processes and logs where each runs:

- the ingest bridge: ``python -m workers.ingest`` (one process; one per host is plenty,
  start it on several hosts for availability);
- beside it, unless ``ALLEGRO_FEED_BATCHING=false``, the batcher: ``python -m
  workers.batching``, which sends staged stock/price changes as Allegro batch commands
  (one batcher leads each account across hosts; the others stand by);
- the actor pools: ``python -m dramatiq workers.entrypoint --processes N --threads M
  [--queues ...]``, the standard Dramatiq CLI with its own process supervision.

Beside them, a thread of this command keeps idle accounts connected (:class:`TokenKeeper`):
at start and then daily it refreshes every account whose stored token pair is older than 60
days. A refresh token lasts 3 months from its issue and each refresh starts a new one
(FACTS §2), while the workers refresh only when an event needs a call, so an account
without events for 3 months would have been disconnected. Another prunes the store's
history hourly (:class:`~workers.housekeeping.HistoryKeeper`, ``ALLEGRO_FEED_HISTORY_DAYS``).

SIGTERM and SIGINT are forwarded to all of them for a graceful stop (the bridge finishes its
current message, Dramatiq its messages in progress). When a child dies on its own, the
other is stopped too and the command exits 1, so that systemd or Kubernetes restarts the
whole unit. Either part can also run alone (``--no-ingest``, ``--no-actors``), and the
actor pools can run without this command: ``dramatiq workers.entrypoint`` (see
:mod:`workers.entrypoint`).

Exit codes: 0 stopped by a signal and every child stopped cleanly; 1 a child died or could
not start, or RabbitMQ could not be reached; 2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog

from workers.housekeeping import HistoryKeeper, Keeper
from workers.metrics import MULTIPROC_ENV, multiproc_dir
from workers.ops import positive_int
from workers.settings import Settings
from workers.topology import Step

if TYPE_CHECKING:
    import httpx

    from workers.store import Store

__all__ = [
    "TokenKeeper",
    "actor_command",
    "batcher_command",
    "ingest_command",
    "main",
    "register",
    "renew_idle_tokens",
    "run_worker",
]

# Named, not __name__: the module also runs as __main__ (python -m workers.worker).
log = structlog.get_logger("workers.worker")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: How often the supervisor looks at its children, s.
POLL_INTERVAL_S = 0.2
#: How long stopping children may take before they are killed, s (Dramatiq's own
#: shutdown waits for messages in progress up to 10 minutes; give it most of that).
STOP_TIMEOUT_S = 600.0
#: A stored token pair issued longer ago than this is refreshed by :class:`TokenKeeper`, s
#: (60 days: the refresh token lasts 3 months, FACTS §2, which leaves a month for failures).
RENEW_TOKENS_AFTER_S = 60 * 86400.0
#: How often :class:`TokenKeeper` looks at the accounts, s; and how soon it looks again
#: after a look that failed for a transient reason (the store or Allegro down), s.
TOKEN_CHECK_INTERVAL_S = 86400.0
TOKEN_RETRY_S = 3600.0

_EPILOG = """\
examples:
  allegro-feed worker                                  bridge + actors (settings' defaults)
  allegro-feed worker --processes 4 --threads 16       bigger actor pools
  allegro-feed worker --no-ingest --queues publish     only the publish pool on this host
  allegro-feed worker --no-actors                      only the ingest bridge
  dramatiq workers.entrypoint --processes 2            the actor pools with the plain CLI

exit codes: 0 stopped by SIGTERM/SIGINT, 1 a part died or RabbitMQ is unreachable,
2 usage or configuration error.
"""


def ingest_command() -> list[str]:
    """The command line of the ingest bridge process."""
    return [sys.executable, "-m", "workers.ingest"]


def batcher_command() -> list[str]:
    """The command line of the batcher process (stock/price batch commands)."""
    return [sys.executable, "-m", "workers.batching"]


def actor_command(
    settings: Settings, *, processes: int, threads: int, queues: Sequence[str] = ()
) -> list[str]:
    """The ``dramatiq`` command line of the actor pools. ``queues`` are step names
    (``publish``) or full queue names; the configured prefix is added where missing."""
    command = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.entrypoint",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    if queues:
        command += ["--queues", *[_queue_name(settings, q) for q in queues]]
    return command


def _queue_name(settings: Settings, queue: str) -> str:
    steps = {step.value for step in Step}
    return settings.name(queue) if queue in steps else queue


def _declare_topology(settings: Settings) -> None:
    from workers.broker import connection_parameters
    from workers.topology import declare_on_own_connection

    declare_on_own_connection(connection_parameters(settings, name="allegro-feed"), settings)


def renew_idle_tokens(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """Refresh the tokens of every account whose stored pair was issued more than
    :data:`RENEW_TOKENS_AFTER_S` before ``clock()`` (one store read per account; a token
    call only for those). Each account's failure is logged (its class and, for Allegro's
    errors, their scrubbed text) and the others go on. Returns False when one failed for a
    transient reason (look again soon), True otherwise (a permanent failure, such as a
    refused refresh token, needs a person: ``allegro-feed connect``)."""
    from workers.allegro._http import HttpCore
    from workers.allegro.auth import UserTokens
    from workers.allegro.errors import AllegroError, PermanentError
    from workers.allegro.oauth import OAuthClient

    cutoff = clock() - RENEW_TOKENS_AFTER_S
    all_done = True
    core = HttpCore(settings, transport=transport, sleep=sleep, clock=clock)
    try:
        oauth = OAuthClient(core, sleep=sleep, clock=clock)
        for account in store.token_accounts():
            user = UserTokens(oauth, store, account, clock=clock, sleep=sleep)
            try:
                renewed = user.renew_if_issued_before(cutoff)
            except PermanentError as exc:
                log.error(
                    "worker.token_renewal_failed",
                    account=account,
                    error=type(exc).__name__,
                    reason=exc.message,
                )
            except Exception as exc:  # transient, or the store: look again later
                all_done = False
                reason = exc.message if isinstance(exc, AllegroError) else None
                log.warning(
                    "worker.token_renewal_failed",
                    account=account,
                    error=type(exc).__name__,
                    reason=reason,
                    retry_in_s=TOKEN_RETRY_S,
                )
            else:
                if renewed is not None:
                    log.info(
                        "worker.idle_tokens_renewed", account=account, expires_at=renewed.expires_at
                    )
    finally:
        core.close()
    return all_done


class TokenKeeper(Keeper):
    """:func:`renew_idle_tokens` in a daemon thread: at :meth:`start`, then every
    :data:`TOKEN_CHECK_INTERVAL_S` (:data:`TOKEN_RETRY_S` after a transient failure), until
    :meth:`stop` (see :class:`~workers.housekeeping.Keeper`)."""

    name = "token-keeper"
    every_s = TOKEN_CHECK_INTERVAL_S
    retry_s = TOKEN_RETRY_S
    failed_event = "worker.token_check_failed"

    def job(self, settings: Settings, store: Store) -> bool:
        return renew_idle_tokens(settings, store)


class _Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.signal: int | None = None

    def start(self, name: str, command: list[str], **popen: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(command, **popen)  # noqa: S603 - our interpreter and modules
        self.children[name] = child
        log.info("worker.child_started", part=name, pid=child.pid, command=" ".join(command))
        return child

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = signum
        self.stopping.set()

    def forward(self, signum: int) -> None:
        for name, child in self.children.items():
            if child.poll() is None:
                log.info("worker.stopping_child", part=name, pid=child.pid)
                child.send_signal(signum)

    def wait_all(self, timeout_s: float) -> None:
        for name, child in self.children.items():
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.error("worker.child_killed", part=name, pid=child.pid)
                child.kill()
                child.wait()

    def run(self) -> int:
        """Wait for a signal or a child's death; returns the exit code."""
        died: str | None = None
        while not self.stopping.wait(POLL_INTERVAL_S):
            died = next((n for n, c in self.children.items() if c.poll() is not None), None)
            if died is not None:
                break
        if died is not None:
            code = self.children[died].returncode
            log.error("worker.child_died", part=died, returncode=code)
            self.forward(signal.SIGTERM)
            self.wait_all(STOP_TIMEOUT_S)
            return EXIT_FAILED
        forwarded = self.signal or signal.SIGTERM
        self.forward(forwarded)
        self.wait_all(STOP_TIMEOUT_S)
        codes = {name: child.returncode for name, child in self.children.items()}
        log.info("worker.stopped", returncodes=codes)
        # A child that the forwarded signal ended before it could take it (still starting:
        # nothing in progress) stopped as asked, too.
        stopped = all(code in (0, -forwarded) for code in codes.values())
        return EXIT_OK if stopped else EXIT_FAILED


def _share_metrics(settings: Settings) -> str | None:
    """With a metrics port, one prometheus_client multiprocess directory for this process
    and every child (set in the environment they inherit), so that the actor pools'
    exposition server also shows what the ingest bridge and the batcher counted
    (:mod:`workers.metrics`). Returns the directory this run made, to remove at the end;
    None without a metrics port or when the environment names one already."""
    if settings.metrics_port <= 0 or any(os.environ.get(name) for name in MULTIPROC_ENV):
        return None
    directory = tempfile.mkdtemp(prefix="allegro-feed-metrics-")
    for name in MULTIPROC_ENV:
        os.environ[name] = directory
    return directory


def _serve_metrics(settings: Settings) -> None:
    """Serve the counters of this command's processes on the metrics port from a thread of
    its own: for a host without actor pools (``--no-actors``), whose Dramatiq exposition
    server would otherwise serve them. Same address as Dramatiq's (``dramatiq_prom_host``,
    default all interfaces)."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiproc_dir())  # type: ignore[no-untyped-call]
    host = os.environ.get("dramatiq_prom_host", "0.0.0.0")  # noqa: S104, SIM112 - Dramatiq's name and default
    start_http_server(settings.metrics_port, addr=host, registry=registry)


def run_worker(
    settings: Settings,
    *,
    processes: int | None = None,
    threads: int | None = None,
    ingest: bool = True,
    actors: bool = True,
    queues: Sequence[str] = (),
    keep_tokens: bool = True,
) -> int:
    """Declare the topology, start the parts, supervise them; returns the exit code.
    ``keep_tokens``: run the :class:`TokenKeeper` beside them."""
    if not ingest and not actors:
        print(
            "allegro-feed worker: --no-ingest and --no-actors leave nothing to run", file=sys.stderr
        )
        return EXIT_USAGE
    if settings.mapping_file is not None:
        from schemas.mapping import load_mapping

        try:
            load_mapping(settings.mapping_file)
        except Exception as exc:
            print(f"allegro-feed worker: ALLEGRO_FEED_MAPPING_FILE: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        _declare_topology(settings)
    except Exception as exc:
        print(
            f"allegro-feed worker: cannot declare the RabbitMQ topology: {exc!r}; check "
            "ALLEGRO_FEED_AMQP_URL and that RabbitMQ runs",
            file=sys.stderr,
        )
        return EXIT_FAILED
    metrics_dir = _share_metrics(settings)
    supervisor = _Supervisor()
    previous = {s: signal.signal(s, supervisor.on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    keepers: list[Keeper] = [TokenKeeper(settings)] if keep_tokens else []
    if settings.history_days > 0:
        keepers.append(HistoryKeeper(settings))
    for keeper in keepers:
        keeper.start()
    try:
        if settings.metrics_port > 0 and not actors:
            _serve_metrics(settings)
        if ingest:
            supervisor.start("ingest", ingest_command())
            if settings.batching:
                # Beside every bridge: one batcher leads each account, the others stand by.
                supervisor.start("batcher", batcher_command())
        if actors:
            supervisor.start(
                "actors",
                actor_command(
                    settings,
                    processes=processes or settings.worker_processes,
                    threads=threads or settings.worker_threads,
                    queues=queues,
                ),
            )
        return supervisor.run()
    except OSError as exc:
        print(f"allegro-feed worker: cannot start a part: {exc}", file=sys.stderr)
        supervisor.forward(signal.SIGTERM)
        supervisor.wait_all(STOP_TIMEOUT_S)
        return EXIT_FAILED
    finally:
        for keeper in keepers:
            keeper.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _cmd_worker(args: argparse.Namespace) -> int:
    from workers.logging import configure_logging
    from workers.settings import load_settings

    settings = load_settings()
    configure_logging(settings, quiet_loggers=("httpx", "httpcore", "pika"))
    return run_worker(
        settings,
        processes=args.processes,
        threads=args.threads,
        ingest=args.ingest,
        actors=args.actors,
        queues=args.queues or (),
    )


def register(sub: Any) -> None:
    """Add ``worker`` to ``allegro-feed``'s subparsers (``ArgumentParser.add_subparsers()``)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="run the ingest bridge and the actor pools (categorize, enrich, validate, publish)",
        description="Run the ingest bridge and the Dramatiq actor pools of this host as "
        "supervised child processes; SIGTERM/SIGINT stop them gracefully.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--processes",
        type=positive_int,
        help="actor worker processes (default: ALLEGRO_FEED_WORKER_PROCESSES, 2)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="threads per actor process (default: ALLEGRO_FEED_WORKER_THREADS, 8)",
    )
    parser.add_argument(
        "--no-ingest", dest="ingest", action="store_false", help="do not run the ingest bridge"
    )
    parser.add_argument(
        "--no-actors", dest="actors", action="store_false", help="do not run the actor pools"
    )
    parser.add_argument(
        "--queues",
        nargs="+",
        metavar="Q",
        help="only these actor queues: categorize, enrich, validate, publish (prefix added)",
    )
    parser.set_defaults(handler=_cmd_worker)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workers.worker [options]``: the same as ``allegro-feed worker``."""
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["worker", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
