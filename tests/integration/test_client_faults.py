"""The Allegro client under injected faults, against the sandbox over HTTP: bounded retries
of 429 and 5xx, Retry-After, the client-id block, timeouts, and lost answers to the
non-idempotent POST (which must never create a second offer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks, sandbox_settings
from workers.allegro import (
    AllegroClient,
    ApiTimeout,
    ConnectionFailed,
    RateLimited,
    ServerError,
    TransientError,
)
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

OFFER_POST = "^/sale/product-offers$"
BODY: dict[str, Any] = {
    "productSet": [{"product": {"id": "4242002375502", "idType": "GTIN"}}],
    "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
    "sellingMode": {"price": {"amount": "199.99", "currency": "PLN"}},
    "stock": {"available": 5},
}
WITH_EXTERNAL = {**BODY, "external": {"id": "SKU-FAULTS"}}


@pytest.fixture
def settings(sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    return sandbox_settings(
        sandbox, tmp_path / "tokens.json", retry_max_attempts=4, retry_after_max_s=10
    )


def _calls(sandbox: SandboxHandle, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == method and r["path"] == path]


def _offer(client: AllegroClient) -> str:
    offer_id = client.create_offer(BODY).offer_id
    assert offer_id
    return offer_id


# --- retries of idempotent calls ---------------------------------------------------------


def test_429_with_retry_after_is_waited_then_succeeds(
    client: AllegroClient, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    offer_id = _offer(client)
    sandbox.inject_fault(
        method="GET", path=r"^/sale/product-offers/\d+$", kind="status", status=429,
        count=2, retry_after_s=3,
    )  # fmt: skip
    clocks.sleeps.clear()
    assert client.get_offer(offer_id).id == offer_id
    statuses = [r["status"] for r in _calls(sandbox, "GET", f"/sale/product-offers/{offer_id}")]
    assert statuses == [429, 429, 200]
    assert clocks.sleeps == [3.0, 3.0]


def test_5xx_is_retried_with_backoff_then_succeeds(
    client: AllegroClient, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    offer_id = _offer(client)
    sandbox.inject_fault(method="GET", path=r"/parts$", kind="status", status=503, count=3)
    clocks.sleeps.clear()
    parts = client.get_offer_parts(offer_id)
    assert parts.id == offer_id
    statuses = [
        r["status"] for r in _calls(sandbox, "GET", f"/sale/product-offers/{offer_id}/parts")
    ]
    assert statuses == [503, 503, 503, 200]
    assert len(clocks.sleeps) == 3 and all(0.01 <= s <= 0.05 for s in clocks.sleeps)


def test_5xx_beyond_the_attempt_bound_is_raised(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    sandbox.inject_fault(method="GET", path="^/sale/offers$", kind="status", status=500, count=10)
    with pytest.raises(ServerError) as caught:
        client.find_offers_by_external_id(["x"])
    assert caught.value.status == 500 and caught.value.trace_id
    assert len(_calls(sandbox, "GET", "/sale/offers")) == 4  # retry_max_attempts


def test_429_without_retry_after_is_retried_then_raised(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    sandbox.inject_fault(method="GET", path="^/sale/offers$", kind="status", status=429, count=10)
    with pytest.raises(RateLimited) as caught:
        client.find_offers_by_external_id(["x"])
    assert caught.value.retry_after_s is None
    assert len(_calls(sandbox, "GET", "/sale/offers")) == 4


def test_client_id_block_is_raised_as_rate_limited(
    client: AllegroClient, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    sandbox.configure(client_limit_per_min=3, client_block_s=60, rate_limit_retry_after=True)
    for _ in range(3):
        client.find_offers_by_external_id(["x"])
    clocks.sleeps.clear()
    with pytest.raises(RateLimited) as caught:
        client.find_offers_by_external_id(["x"])
    # A 60 s wait is above retry_after_max_s: raised at once for the caller to reschedule.
    assert caught.value.retry_after_s == 60
    assert clocks.sleeps == []
    assert [r["status"] for r in _calls(sandbox, "GET", "/sale/offers")] == [200, 200, 200, 429]
    sandbox.advance_clock(61)
    assert client.find_offers_by_external_id(["x"]) == []


def test_client_id_block_without_retry_after_header(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    # Allegro documents no Retry-After on 429: retried within bounds, then raised.
    sandbox.configure(client_limit_per_min=1, client_block_s=60)
    client.find_offers_by_external_id(["x"])
    with pytest.raises(RateLimited) as caught:
        client.find_offers_by_external_id(["x"])
    assert caught.value.retry_after_s is None
    assert [r["status"] for r in _calls(sandbox, "GET", "/sale/offers")] == [200] + [429] * 4


def test_read_timeout_is_retried(
    make_client: Callable[..., AllegroClient], sandbox: SandboxHandle
) -> None:
    client = make_client(http_timeout_s=0.3)
    offer_id = _offer(client)
    sandbox.configure(timeout_hold_s=5)
    sandbox.inject_fault(method="GET", path=r"^/sale/product-offers/\d+$", kind="timeout")
    assert client.get_offer(offer_id).id == offer_id


def test_lost_patch_answer_is_retried(client: AllegroClient, sandbox: SandboxHandle) -> None:
    offer_id = _offer(client)
    sandbox.inject_fault(method="PATCH", path=r"^/sale/product-offers/\d+$", kind="lost_response")
    result = client.update_offer(offer_id, {"stock": {"available": 8}})
    assert result.offer.stock and result.offer.stock.available == 8
    assert len(_calls(sandbox, "PATCH", f"/sale/product-offers/{offer_id}")) == 2


# --- the non-idempotent POST --------------------------------------------------------------


@pytest.mark.parametrize("status", [None, 502, 504], ids=["dropped", "502", "504"])
def test_lost_post_answer_does_not_create_a_second_offer(
    client: AllegroClient, sandbox: SandboxHandle, status: int | None
) -> None:
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="lost_response", status=status)
    result = client.create_offer(WITH_EXTERNAL)
    assert result.recovered
    offers = sandbox.offers()
    assert [o["id"] for o in offers] == [result.offer_id]
    assert len(_calls(sandbox, "POST", "/sale/product-offers")) == 1
    lookup = _calls(sandbox, "GET", "/sale/offers")
    assert lookup and lookup[0]["query"]["external.id"] == "SKU-FAULTS"


def test_lost_post_answer_without_external_id_is_raised_not_resent(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="lost_response")
    with pytest.raises(ConnectionFailed) as caught:
        client.create_offer(BODY)
    assert caught.value.maybe_applied and isinstance(caught.value, TransientError)
    assert len(_calls(sandbox, "POST", "/sale/product-offers")) == 1
    assert len(sandbox.offers()) == 1  # it was applied: sending again would duplicate it


def test_post_5xx_not_applied_is_resent_after_lookup(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="status", status=503)
    result = client.create_offer(WITH_EXTERNAL, resend_if_unsure=True)
    assert not result.recovered and result.status == 201
    assert [r["status"] for r in _calls(sandbox, "POST", "/sale/product-offers")] == [503, 201]
    assert len(_calls(sandbox, "GET", "/sale/offers")) == 1  # looked up before re-sending
    assert len(sandbox.offers()) == 1


def test_post_429_is_resent_without_lookup(client: AllegroClient, sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="status", status=429)
    result = client.create_offer(BODY)
    assert result.status == 201
    assert [r["status"] for r in _calls(sandbox, "POST", "/sale/product-offers")] == [429, 201]
    assert _calls(sandbox, "GET", "/sale/offers") == []
    assert len(sandbox.offers()) == 1


def test_post_timeout_with_external_id(
    make_client: Callable[..., AllegroClient], sandbox: SandboxHandle
) -> None:
    client = make_client(http_timeout_s=0.3)
    sandbox.configure(timeout_hold_s=5)
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="timeout")
    result = client.create_offer(WITH_EXTERNAL, resend_if_unsure=True)
    assert result.offer_id and len(sandbox.offers()) == 1


def test_post_5xx_is_raised_by_default_after_a_lookup_miss(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    # One search miss is no proof (Allegro's search lags): the caller decides, with its
    # creation intent, when to POST again.
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="status", status=503)
    with pytest.raises(ServerError):
        client.create_offer(WITH_EXTERNAL)
    assert [r["status"] for r in _calls(sandbox, "POST", "/sale/product-offers")] == [503]
    assert sandbox.offers() == []


def test_post_timeout_without_external_id_is_raised(
    make_client: Callable[..., AllegroClient], sandbox: SandboxHandle
) -> None:
    client = make_client(http_timeout_s=0.3)
    sandbox.configure(timeout_hold_s=5)
    sandbox.inject_fault(method="POST", path=OFFER_POST, kind="timeout")
    with pytest.raises(ApiTimeout) as caught:
        client.create_offer(BODY)
    assert caught.value.maybe_applied
    assert len(_calls(sandbox, "POST", "/sale/product-offers")) <= 1
