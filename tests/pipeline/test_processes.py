"""The real processes: ``allegro-feed worker`` (here ``python -m workers.worker``) starts the
ingest bridge and the standard ``dramatiq`` CLI on ``workers.entrypoint``, publishes an event
end to end, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import Pipeline, upserted

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
