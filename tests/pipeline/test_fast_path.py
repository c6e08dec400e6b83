"""The stock/price fast path through the real processes: ``allegro-feed worker`` starts the
bridge, the batcher and the actors; stock and price changes of existing offers reach Allegro
as batch commands (coalesced per SKU), never as one PATCH each, and every event gets its
status only once Allegro applied the change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.pipeline.conftest import Pipeline, price_changed, stock_changed, upserted

ROOT = Path(__file__).resolve().parents[2]
SKUS = 6


@pytest.fixture(scope="module")
def in_process() -> bool:
    return False  # the processes under test run the bridge, the batcher and the actors


def test_stock_and_price_changes_go_out_as_batch_commands(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    env = {**os.environ, **pipeline.environment(), "ALLEGRO_FEED_LOG_FORMAT": "json"}
    env["ALLEGRO_FEED_BATCHING"] = "true"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.worker", "--processes", "1", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            skus = [pipeline.new_sku() for _ in range(SKUS)]
            created = [pipeline.publish(upserted(sku, 1)) for sku in skus]
            for event in created:
                assert pipeline.status_of(event["event_id"])["status"] == "PUBLISHED"
            start = pipeline.sandbox.requests()[-1]["seq"]
            # Three stock changes per SKU (coalesced to the last), one to 0 (END), prices.
            follow_ups = []
            for n, sku in enumerate(skus):
                for version, available in ((2, 3), (3, 4), (4, 0 if n == 0 else 9)):
                    follow_ups.append(pipeline.publish(stock_changed(sku, version, available)))
                follow_ups.append(pipeline.publish(price_changed(sku, 5, "149.00")))
            statuses = {e["event_id"]: pipeline.status_of(e["event_id"]) for e in follow_ups}
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=60)

    output = log_path.read_text()
    assert returncode == 0, output[-3000:]
    calls = pipeline.sandbox.requests(since=start)
    writes = Counter(
        (c["method"], c["path"].split("/")[2])
        for c in calls
        if c["method"] in {"PUT", "PATCH", "POST"}
    )
    # No offer was patched: stock and price went in batch commands.
    patches = [c["body"] for c in calls if c["method"] == "PATCH"]
    assert writes[("PATCH", "product-offers")] == 0, (writes, patches)
    assert writes[("PUT", "offer-quantity-change-commands")] >= 1
    assert writes[("PUT", "offer-publication-commands")] >= 1  # stock 0 ends by END
    assert writes[("PUT", "offer-price-change-commands")] >= 1
    assert sum(writes.values()) < len(follow_ups) / 2
    outcomes = Counter(s["status"] for s in statuses.values())
    assert set(outcomes) <= {"UPDATED", "ENDED", "SUPERSEDED", "UNCHANGED"}, outcomes
    assert outcomes["ENDED"] >= 1
    for sku in skus:
        (offer,) = pipeline.offers_of(sku)
        assert offer["sellingMode"]["price"]["amount"] in {"149.00", "149.0", "149"}
        if sku == skus[0]:
            # Stock 0 cannot be set by a quantity command: the offer is ended instead, and
            # Allegro keeps its last quantity until a restock sets a new one.
            assert offer["publication"]["status"] == "ENDED"
        else:
            assert offer["stock"]["available"] == 9
            assert offer["publication"]["status"] == "ACTIVE"
