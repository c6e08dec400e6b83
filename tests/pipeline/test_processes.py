"""The real processes: ``allegro-feed worker`` (here ``python -m workers.worker``) starts the
ingest bridge and the standard ``dramatiq`` CLI on ``workers.entrypoint``, publishes an event
end to end, and stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import pytest

from tests.pipeline.conftest import Pipeline, stock_changed, upserted

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def in_process() -> bool:
    return False  # the processes under test run the bridge and the actors


def test_the_worker_command_runs_the_pipeline_and_stops_on_sigterm(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    env = {**os.environ, **pipeline.environment(), "ALLEGRO_FEED_LOG_FORMAT": "json"}
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.worker", "--processes", "1", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            sku = pipeline.new_sku()
            event = pipeline.publish(upserted(sku, 1))
            status = pipeline.status_of(event["event_id"])
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=60)

    output = log_path.read_text()
    assert status["status"] == "PUBLISHED", output[-3000:]
    assert len(pipeline.offers_of(sku)) == 1
    assert returncode == 0, output[-3000:]
    assert "worker.child_started" in output and "ingest.stopped" in output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int, wanted: str, timeout_s: float = 30.0) -> str:
    """The metrics page once it shows ``wanted`` (the exposition server starts with the
    actor pools, and a status counted by another process shows at the next scrape)."""
    deadline = time.monotonic() + timeout_s
    page = ""
    while time.monotonic() < deadline:
        try:
            page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.TransportError:
            page = ""
        if wanted in page:
            return page
        time.sleep(0.2)
    pytest.fail(f"{wanted!r} not on the metrics page within {timeout_s} s:\n{page[-3000:]}")


@contextlib.contextmanager
def _worker_with_metrics(
    pipeline: Pipeline, tmp_path: Path, *args: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``allegro-feed worker *args`` with a free metrics port (yielded with the process),
    stopped by SIGTERM at the end; its output goes to ``worker.log`` in ``tmp_path``."""
    port = _free_port()
    env = {
        **os.environ,
        **pipeline.environment(),
        "ALLEGRO_FEED_METRICS_PORT": str(port),
        "dramatiq_prom_host": "127.0.0.1",
    }
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "dramatiq_prom_db"):
        env.pop(name, None)
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.worker", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield port, process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_the_metrics_port_shows_what_every_process_counted(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    with _worker_with_metrics(pipeline, tmp_path, "--processes", "1", "--threads", "2") as (
        port,
        _process,
    ):
        sku = pipeline.new_sku()
        first = pipeline.publish(upserted(sku, 2))
        assert pipeline.status_of(first["event_id"])["status"] == "PUBLISHED"
        # An older version: SUPERSEDED by the ingest bridge, a process of its own.
        older = pipeline.publish(upserted(sku, 1))
        assert pipeline.status_of(older["event_id"])["status"] == "SUPERSEDED"
        # A stock change: the batcher's command, and its backlog gauge.
        restock = pipeline.publish(stock_changed(sku, 3, 7))
        assert pipeline.status_of(restock["event_id"])["status"] == "UPDATED"
        _scrape(port, 'allegro_feed_statuses_total{status="SUPERSEDED"} 1.0')
        page = _scrape(port, "allegro_feed_batch_waiting{")

    assert 'allegro_feed_statuses_total{status="PUBLISHED"} 1.0' in page
    assert 'allegro_feed_allegro_calls_total{code="202",method="POST"}' in page or (
        'allegro_feed_allegro_calls_total{code="201",method="POST"}' in page
    )
    assert "dramatiq_messages_total" in page  # Dramatiq's own, on the same page
    assert 'allegro_feed_statuses_total{status="UPDATED"} 1.0' in page
    assert 'allegro_feed_allegro_calls_total{code="201",method="PUT"}' in page
    assert 'allegro_feed_batch_oldest_seconds{account="default"' in page
    assert 'allegro_feed_batch_items_total{kind="quantity",outcome="succeeded"} 1.0' in page


def test_a_host_without_actor_pools_serves_its_own_counters(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    with _worker_with_metrics(pipeline, tmp_path, "--no-actors") as (port, process):
        message_id = f"unreadable-{pipeline.new_sku()}"
        pipeline.publish(
            b"[1]",
            routing_key="product.stock",
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type="application/json",
                message_id=message_id,
            ),
        )
        assert pipeline.status_of(message_id)["status"] == "REJECTED"
        page = _scrape(port, 'allegro_feed_statuses_total{status="REJECTED"} 1.0')

    assert "dramatiq_messages_total" not in page  # no actor pools on this host
    assert process.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
