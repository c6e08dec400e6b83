"""The batcher's status publishing, on a thread of its own.

Publishing a settled command's statuses waits for RabbitMQ (one transaction commit) and
then for the store's writer lock (marking them published); measured in a sustained stock
stream, that was a third of the batcher loop's time, during which no command was flushed
or polled. :class:`StatusThread` takes those jobs (``StatusReporter(runner=...)``) and runs
them one after another, in the order given, on the one thread that uses the status channel
(pika channels belong to one thread). Between jobs it serves the connection's heartbeats.

A job is handed over only after the store committed its statuses, so none is published
before it is recorded; a job that fails is logged and its statuses stay unpublished in the
store, where the ingest bridge's outbox sweep publishes them. The queue is bounded: when
RabbitMQ is slower than the batcher, the batcher waits instead of piling up statuses.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Protocol

import structlog

__all__ = ["StatusThread"]

log = structlog.get_logger(__name__)

#: Jobs waiting at most; handing over one more waits for room.
MAX_QUEUED = 64
#: With nothing to publish, the connection's heartbeats are served this often, s.
IDLE_S = 0.5

Job = Callable[[], None]


class Channel(Protocol):
    def idle(self, seconds: float, stop: threading.Event) -> None:
        """Serve the connection for up to ``seconds``."""


class StatusThread:
    """Runs publishing jobs in order on one thread (see the module doc)."""

    def __init__(self, channel: Channel, *, max_queued: int = MAX_QUEUED) -> None:
        self._channel = channel
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_queued)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-publisher", daemon=True)
        self.failed = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue ``job`` (waits while the queue is full)."""
        if self._stop.is_set():
            raise RuntimeError("the status thread is closed")
        self._jobs.put(job)

    def close(self, timeout_s: float = 30.0) -> None:
        """Run the jobs queued so far, then end the thread (waits up to ``timeout_s``)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_S)
            except queue.Empty:
                self._channel.idle(0.0, self._stop)
                continue
            if job is None:
                return
            try:
                job()
            except Exception:
                # Its statuses stay unpublished in the store: the outbox sweep sends them.
                self.failed += 1
                log.warning("batch.status_publish_failed", exc_info=True)
