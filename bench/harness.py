"""Start and stop what a scenario measures, through the project's public entry points.

A :class:`Stack` is one scenario's world: the local sandbox (``python -m workers.cli
sandbox``) with the scenario's knobs, a fresh SQLite store in a temporary directory with
the sandbox's seller connected through the device flow (``workers.runjob.connect_seller``),
the workers (``python -m workers.cli worker --processes P --threads T``) under a name
prefix of their own (``bench-<scenario>-<random>.``), an :class:`~bench.amqp.EventPublisher`
and a :class:`~bench.amqp.StatusCollector` on the prefixed queues. Leaving the ``with``
block stops the workers and the sandbox and deletes every queue of the prefix, whatever
happened.

:class:`NoopWorkers` runs ``dramatiq bench.noop`` the same way for the ceiling.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pika
import pika.exceptions

from bench.amqp import EventPublisher, StatusCollector
from bench.procs import worker_memory
from sandbox.testing import SandboxHandle
from workers import runjob
from workers.logging import configure_logging
from workers.settings import Environment, Settings
from workers.topology import Names

__all__ = [
    "NO_LIMITS",
    "NO_WORKER_LIMITS",
    "NoopWorkers",
    "Stack",
    "StackOptions",
    "finish_teardowns",
    "noop_workers",
]

#: Sandbox knobs that lift Allegro's rate limits (scenarios that measure the pipeline itself).
NO_LIMITS: dict[str, Any] = {
    "client_limit_per_min": 1_000_000_000,
    "seller_offer_writes_per_min": 1_000_000_000,
    "seller_offer_writes_per_h": 1_000_000_000,
    "seller_batch_changes_per_min": 1_000_000_000,
}
#: The workers' own rate budget switched off to match (0 = off; workers that do not know a
#: variable ignore it).
NO_WORKER_LIMITS: dict[str, str] = {
    "ALLEGRO_FEED_RATE_CLIENT_PER_MIN": "0",
    "ALLEGRO_FEED_RATE_OFFER_WRITES_PER_MIN": "0",
    "ALLEGRO_FEED_RATE_OFFER_WRITES_PER_HOUR": "0",
    "ALLEGRO_FEED_RATE_BATCH_CHANGES_PER_MIN": "0",
    "ALLEGRO_FEED_RATE_BATCH_CHANGES_PER_HOUR": "0",
}

# Stopping the workers gracefully takes seconds of mostly waiting; a scenario's teardown
# runs in a thread while the next one starts, and that start waits for it to end before
# anything is measured.
_teardowns: list[threading.Thread] = []


def _in_background(name: str, work: Callable[[], None]) -> None:
    thread = threading.Thread(target=work, name=f"teardown:{name}")
    thread.start()
    _teardowns.append(thread)


def finish_teardowns() -> None:
    """Wait until every background teardown ended."""
    while _teardowns:
        _teardowns.pop().join()


#: Request log entries the sandbox keeps (its default, 10,000, is less than a burst makes).
REQUEST_LOG_SIZE = 500_000


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALLEGRO_FEED_", "ALLEGRO_SANDBOX_", "BENCH_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _consumers(connection: pika.BlockingConnection, queue: str) -> int:
    """Consumers of ``queue``; 0 while it does not exist yet (a passive declaration's 404
    closes the channel, so each look takes a channel of its own)."""
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue, passive=True).method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if channel.is_open:
            channel.close()


def _wait_for_consumers(
    amqp_url: str,
    wanted: Mapping[str, int],
    check_alive: Callable[[], None],
    failure: str,
    timeout_s: float = 60.0,
) -> None:
    """Until each queue of ``wanted`` has at least that many consumers; ``check_alive``
    raises when what should consume them exited, RuntimeError(``failure``) after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        while time.monotonic() < deadline:
            if all(_consumers(connection, q) >= n for q, n in wanted.items()):
                return
            check_alive()
            time.sleep(0.2)
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()
    raise RuntimeError(f"{failure} in {timeout_s:.0f} s")


# --- the pipeline stack ---------------------------------------------------------------------


@dataclass(frozen=True)
class StackOptions:
    """One scenario's set-up: sandbox knobs, extra worker environment, pool sizes."""

    scenario: str
    processes: int = 2
    threads: int = 8
    sandbox_knobs: dict[str, Any] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)


class Stack:
    """Sandbox + store + workers + publisher + collector (module docstring)."""

    def __init__(self, options: StackOptions, amqp_url: str) -> None:
        self.options = options
        self.amqp_url = amqp_url
        self.prefix = f"bench-{options.scenario}-{uuid.uuid4().hex[:6]}."
        self._stack = contextlib.ExitStack()
        self.workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self.sandbox_proc: subprocess.Popen[bytes] | None = None
        self.workers: subprocess.Popen[bytes] | None = None
        self.sandbox: SandboxHandle
        self.settings: Settings
        self.names: Names
        self.publisher: EventPublisher
        self.statuses: StatusCollector

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        finish_teardowns()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        _in_background(self.prefix, self.close)

    def _start(self) -> None:
        port = runjob.free_port()
        url = f"http://127.0.0.1:{port}"
        knobs = {"request_log_size": REQUEST_LOG_SIZE, **self.options.sandbox_knobs}
        sandbox_env = {f"ALLEGRO_SANDBOX_{k.upper()}": str(v) for k, v in knobs.items()}
        # The sandbox's seller "confirms" the device code at once; poll every second.
        sandbox_env["ALLEGRO_SANDBOX_DEVICE_INTERVAL_S"] = "1"
        # No access log line per request: the benchmark reads the sandbox's request log.
        self.sandbox_proc = runjob.start_sandbox(
            port, self.workdir / "sandbox.log", _child_env(sandbox_env), log_level="warning"
        )
        self.sandbox = SandboxHandle(url)
        self.settings = Settings(
            environment=Environment.LOCAL,
            api_url=url,
            auth_url=url,
            amqp_url=self.amqp_url,
            database_url=f"sqlite:///{self.workdir / 'store.db'}",
            mapping_file=None,
            name_prefix=self.prefix,
            log_level="WARNING",
        )
        self.names = Names.of(self.settings)
        # This process only sets up (device flow); its log lines would clutter the table.
        configure_logging(self.settings, quiet_loggers=("httpx", "httpcore"))
        # Waiting for the consumers probes with passive declarations; pika logs each 404.
        logging.getLogger("pika").setLevel(logging.CRITICAL)
        env = {
            "ALLEGRO_FEED_ENVIRONMENT": "local",
            "ALLEGRO_FEED_API_URL": url,
            "ALLEGRO_FEED_AUTH_URL": url,
            "ALLEGRO_FEED_AMQP_URL": self.amqp_url,
            "ALLEGRO_FEED_DATABASE_URL": self.settings.database_url,
            "ALLEGRO_FEED_NAME_PREFIX": self.prefix,
            "ALLEGRO_FEED_LOG_FORMAT": "json",
            "ALLEGRO_FEED_LOG_LEVEL": "WARNING",
            **self.options.worker_env,
        }
        command = runjob.worker_command(self.options.processes, self.options.threads)
        self.workers = runjob.spawn(command, self.workdir / "workers.log", _child_env(env))
        # The workers boot (a few seconds) while the seller connects: nothing reaches them
        # before the first event, and the store's migrations take a lock.
        runjob.connect_seller(self.settings, url, out=lambda _line: None)
        # Until the bridge consumes allegro.ingest and every actor process its queue (the
        # worker declares the whole topology before it starts them, so the exchange and
        # the status queue exist by then).
        wanted = {self.names.ingest_queue: 1}
        wanted.update({q: self.options.processes for q in self.names.steps.values()})
        _wait_for_consumers(
            self.amqp_url, wanted, self.check_alive, "the workers did not consume their queues"
        )
        self.statuses = StatusCollector(self.amqp_url, self.names.status_queue)
        self.statuses.start()
        self.publisher = EventPublisher(self.amqp_url, self.names.products_exchange)

    def check_alive(self) -> None:
        """RuntimeError with the log's tail when the workers or the sandbox exited."""
        for name, proc, log in (
            ("workers", self.workers, "workers.log"),
            ("sandbox", self.sandbox_proc, "sandbox.log"),
        ):
            if proc is not None and proc.poll() is not None:
                last_lines = runjob.tail(self.workdir / log)
                raise RuntimeError(f"the {name} exited (code {proc.returncode}):\n{last_lines}")

    def worker_memory(self) -> list[dict[str, Any]]:
        """Peak RSS (MB) of every process of ``allegro-feed worker``, with its role."""
        if self.workers is None:
            return []
        return worker_memory(self.workers.pid)

    def close(self) -> None:
        """Stop everything this stack started and delete its queues (idempotent)."""
        closers: tuple[Callable[[], None], ...] = (
            lambda: self.publisher.close(),
            lambda: self.statuses.stop(),
            lambda: runjob.stop_process(self.workers),
            lambda: runjob.delete_topology(pika.URLParameters(self.amqp_url), self.names),
            lambda: self.sandbox.close(),
            lambda: runjob.stop_process(self.sandbox_proc, 10.0),
        )
        for closer in closers:
            with contextlib.suppress(Exception):
                closer()
        self._stack.close()


# --- the no-op Dramatiq workers (ceiling) ---------------------------------------------------


class NoopWorkers:
    """``python -m dramatiq bench.noop`` with P processes x T threads on its own queue.

    Each worker process tallies the messages it finished into a file of ``tally_dir``
    (see :mod:`bench.noop`); :meth:`done` sums them.
    """

    def __init__(self, amqp_url: str, processes: int, threads: int) -> None:
        self.amqp_url = amqp_url
        self.processes = processes
        self.threads = threads
        self.prefix = f"bench-noop-{uuid.uuid4().hex[:6]}."
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-noop-")
        self.tally_dir = Path(self._tmp.name)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NoopWorkers:
        from bench import noop

        env = _child_env(
            {
                noop.ENV_URL: self.amqp_url,
                noop.ENV_PREFIX: self.prefix,
                noop.ENV_TALLY_DIR: str(self.tally_dir),
            }
        )
        command = [
            sys.executable,
            "-m",
            "dramatiq",
            "bench.noop",
            "--processes",
            str(self.processes),
            "--threads",
            str(self.threads),
        ]
        self.proc = runjob.spawn(command, self.tally_dir / "dramatiq.log", env)
        queue = noop.queue_name(self.prefix)
        try:
            _wait_for_consumers(
                self.amqp_url,
                {queue: self.processes},
                self.check_alive,
                f"the no-op workers did not consume {queue}",
            )
        except BaseException:
            self.close()
            raise
        finish_teardowns()
        return self

    def check_alive(self) -> None:
        """RuntimeError with the log's tail when ``dramatiq bench.noop`` exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"dramatiq bench.noop exited:\n{runjob.tail(self.tally_dir / 'dramatiq.log')}"
            )

    def done(self) -> tuple[int, float]:
        """Messages finished so far by all processes, and when the latest finished
        (``time.time()``; 0 when none)."""
        total, latest = 0, 0.0
        for path in self.tally_dir.glob("*.tally"):
            with contextlib.suppress(OSError, ValueError):
                count, last = path.read_text().split()[:2]
                total += int(count)
                latest = max(latest, float(last))
        return total, latest

    def close(self) -> None:
        from bench import noop

        runjob.stop_process(self.proc)
        with contextlib.suppress(Exception):
            connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
            try:
                queue = noop.queue_name(self.prefix)
                for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                    connection.channel().queue_delete(name)
            finally:
                connection.close()
        self._tmp.cleanup()

    def __exit__(self, *_exc: object) -> None:
        _in_background(self.prefix, self.close)


@contextlib.contextmanager
def noop_workers(amqp_url: str, processes: int, threads: int) -> Iterator[NoopWorkers]:
    """:class:`NoopWorkers` as a context manager function."""
    with NoopWorkers(amqp_url, processes, threads) as workers:
        yield workers
