"""A seller of another marketplace through the real processes (``allegro-feed worker``:
bridge, batcher, actors), real RabbitMQ and the sandbox over HTTP: an account connected as
the sandbox's Czech seller (allegro-cz) publishes in CZK, and its stock and price changes go
out as batch commands in CZK; the currency is learned with one ``GET /me`` per process and
account, not per event (FACTS §12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import Pipeline, price_changed, stock_changed, upserted
from workers.allegro import TokenSet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def in_process() -> bool:
    return False  # the worker process under test runs the bridge, the batcher and the actors


def test_a_czech_seller_publishes_and_changes_prices_in_czk(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    czech = TokenSet.from_token_response(
        pipeline.sandbox.issue_user_token("seller-cz"), now=time.time()
    )
    pipeline.store.put("cz", czech)
    env = {**os.environ, **pipeline.environment(), "ALLEGRO_FEED_BATCHING": "true"}
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
            skus = [pipeline.new_sku() for _ in range(2)]
            czk = {"amount": "2490.00", "currency": "CZK"}
            created = [pipeline.publish(upserted(sku, 1, account="cz", price=czk)) for sku in skus]
            for event in created:
                status = pipeline.status_of(event["event_id"])
                assert (status["status"], status["account"]) == ("PUBLISHED", "cz"), status
            # A PLN price is not this seller's currency: refused before Allegro sees it.
            pln = pipeline.publish(upserted(pipeline.new_sku(), 1, account="cz"))
            refused = pipeline.status_of(pln["event_id"])
            assert refused["status"] == "REJECTED", refused
            assert "sellingMode.price.currency" in str(refused["errors"])
            start = pipeline.sandbox.requests()[-1]["seq"]
            changes = []
            for sku in skus:
                stock = stock_changed(sku, 2, 7)
                price = price_changed(sku, 3, "2190.00")
                price["price"]["currency"] = "CZK"
                changes += [
                    pipeline.publish({**stock, "account": "cz"}),
                    pipeline.publish({**price, "account": "cz"}),
                ]
            statuses = {e["event_id"]: pipeline.status_of(e["event_id"]) for e in changes}
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=60)

    output = log_path.read_text()
    assert returncode == 0, output[-3000:]
    assert {s["status"] for s in statuses.values()} == {"UPDATED"}, statuses
    calls = pipeline.sandbox.requests(since=start)
    prices = [
        c["body"]
        for c in calls
        if c["method"] == "PUT" and "/offer-price-change-commands/" in c["path"]
    ]
    assert prices, [(c["method"], c["path"]) for c in calls]
    assert {p["modification"]["price"]["currency"] for p in prices} == {"CZK"}
    assert not [c for c in calls if c["method"] == "PATCH"]  # batch commands only
    for sku in skus:
        (offer,) = pipeline.offers_of(sku)
        assert offer["sellingMode"]["price"] == {"amount": "2190.00", "currency": "CZK"}
        assert offer["stock"]["available"] == 7
    # One GET /me per process and account (the actors' process and the batcher's), however
    # many events.
    me = [c for c in pipeline.sandbox.requests() if c["path"] == "/me"]
    assert len(me) == 2, len(me)
