"""A Dramatiq no-op actor on its own prefixed queue: the ceiling of the benchmark.

Run by the standard CLI with the pipeline's pool sizes::

    BENCH_NOOP_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2F BENCH_NOOP_PREFIX=bench-noop-x. \\
    BENCH_NOOP_TALLY_DIR=/some/dir  python -m dramatiq bench.noop --processes 2 --threads 8

The actor does nothing. To tell when N messages are *done* (acked work, not just taken
from the queue), a middleware counts finished messages per process and overwrites one
small file per process (``<pid>.tally``: count and ``time.time()`` of the latest), a
single ``pwrite`` of some 30 bytes: microseconds, against Dramatiq's own per-message cost
of a fraction of a millisecond.

The benchmark enqueues with :func:`make_broker` (Dramatiq's defaults: persistent messages,
no publisher confirms) from its own process.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware

__all__ = ["ENV_PREFIX", "ENV_TALLY_DIR", "ENV_URL", "Tally", "make_broker", "queue_name"]

ENV_URL = "BENCH_NOOP_AMQP_URL"
ENV_PREFIX = "BENCH_NOOP_PREFIX"
ENV_TALLY_DIR = "BENCH_NOOP_TALLY_DIR"


def queue_name(prefix: str) -> str:
    """The no-op actor's queue under ``prefix``."""
    return f"{prefix}noop"


class Tally(Middleware):
    """Counts the messages this process finished into ``<tally_dir>/<pid>.tally``."""

    def __init__(self, tally_dir: Path | None) -> None:
        self._dir = tally_dir
        self._lock = threading.Lock()
        self._count = 0
        self._fd: int | None = None
        self._pid = 0

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if self._dir is None:
            return
        with self._lock:
            if self._fd is None or self._pid != os.getpid():  # first message after the fork
                self._pid = os.getpid()
                self._count = 0
                path = self._dir / f"{self._pid}.tally"
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._count += 1
            os.pwrite(self._fd, f"{self._count:012d} {time.time():.6f}\n".encode(), 0)


def make_broker(
    amqp_url: str, prefix: str, tally_dir: Path | None = None
) -> tuple[RabbitmqBroker, dramatiq.Actor[Any, Any]]:
    """A RabbitMQ broker with Dramatiq's default middleware (plus :class:`Tally`) and the
    no-op actor on ``<prefix>noop`` declared on it."""
    broker = RabbitmqBroker(url=amqp_url)
    broker.add_middleware(Tally(tally_dir))

    def noop() -> None:
        """Does nothing."""

    actor = dramatiq.Actor(
        noop,
        broker=broker,
        actor_name="noop",
        queue_name=queue_name(prefix),
        priority=0,
        options={"max_retries": 0},
    )
    return broker, actor


if ENV_PREFIX in os.environ:  # imported by the dramatiq CLI (see the module docstring)
    _tally = os.environ.get(ENV_TALLY_DIR)
    broker, noop = make_broker(
        os.environ[ENV_URL], os.environ[ENV_PREFIX], Path(_tally) if _tally else None
    )
    dramatiq.set_broker(broker)
