"""The token endpoint failing under the running pipeline (FACTS §2: Allegro answers 429 when
it issues too many tokens; §8: 429 and 5xx are transient).

The seller's access token expires on the sandbox only, so the worker's call gets 401 and
refreshes; that refresh meets a 429, or 5xx answers beyond its own retries. The event must
not end FAILED (a permanent 401) but be published once the token endpoint answers again,
and the refused token must not be sent a second time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.pipeline.conftest import Pipeline, upserted
from workers import middleware
from workers.allegro import TokenSet, errors, oauth
from workers.allegro.auth import REFUSED
from workers.allegro.oauth import TOKEN_BLOCKS

TOKEN = r"^/auth/oauth/token$"


@pytest.fixture(autouse=True)
def _short_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A token-endpoint 429 blocks asking for a minute and defers the message as long; here
    # for a fraction of a second, so that the deferred run comes at once.
    monkeypatch.setattr(errors, "TOKEN_RATE_LIMIT_MIN_S", 0.3)
    monkeypatch.setattr(oauth, "TOKEN_RATE_LIMIT_MIN_S", 0.3)
    monkeypatch.setattr(middleware, "INLINE_RATE_LIMIT_S", 0.1)
    TOKEN_BLOCKS.clear()
    REFUSED.clear()
    yield
    TOKEN_BLOCKS.clear()
    REFUSED.clear()


def _since(pipeline: Pipeline, seq: int) -> list[dict[str, Any]]:
    return [r for r in pipeline.sandbox.requests() if int(r["seq"]) > seq]


def _last_seq(pipeline: Pipeline) -> int:
    entries = pipeline.sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def _short_lived_user_token(pipeline: Pipeline) -> None:
    """A user token that the sandbox expires after a minute while the workers, and the
    application token they fetch, take it for good for 12 h."""
    pipeline.sandbox.configure(access_token_ttl_s=60)
    issued = pipeline.sandbox.issue_user_token()
    pipeline.sandbox.configure(access_token_ttl_s=43_199)
    tokens = TokenSet.from_token_response(issued, now=time.time())
    pipeline.store.put("default", replace(tokens, expires_at=time.time() + 43_199))
    pipeline.runtime.services.forget_clients()


@pytest.mark.parametrize(("status", "runs"), [(429, 1), (503, 2)], ids=["429", "503"])
def test_a_failing_refresh_after_401_defers_instead_of_failing(
    pipeline: Pipeline, status: int, runs: int
) -> None:
    # A 429 is asked once (never again within the block); 5xx answers are retried within
    # the refresh (retry_max_attempts), and again by the message's later runs.
    count = runs if status == 429 else runs * pipeline.settings.retry_max_attempts
    _short_lived_user_token(pipeline)
    warm = pipeline.publish(upserted(pipeline.new_sku(), 1))  # the app token is fetched
    assert pipeline.status_of(warm["event_id"])["status"] == "PUBLISHED"
    pipeline.sandbox.advance_clock(120)  # the user token expires, on Allegro only
    since = _last_seq(pipeline)
    pipeline.sandbox.inject_fault(
        method="POST", path=TOKEN, kind="status", status=status, count=count
    )
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    result = pipeline.status_of(event["event_id"])

    assert result["status"] == "PUBLISHED", result
    assert [s["status"] for s in pipeline.statuses.of(event["event_id"])] == ["PUBLISHED"]
    calls = _since(pipeline, since)
    refreshes = [
        (int(r["status"]), (r.get("body") or {}).get("grant_type"))
        for r in calls
        if r["path"] == "/auth/oauth/token"
    ]
    assert refreshes == [(status, "refresh_token")] * count + [(200, "refresh_token")]
    # The refused token was sent once; the calls after the refresh carry the new one.
    assert [r["status"] for r in calls if r["status"] == 401] == [401]
    assert len(pipeline.offers_of(sku)) == 1
