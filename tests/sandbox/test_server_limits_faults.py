"""Rate limits (per client id with a block, per seller on product-offers, batch changes)
and injected faults (scripted and by ratio), all on the sandbox clock."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sandbox.testing import SandboxHandle, error_codes, offer_body

# -- limits -----------------------------------------------------------------------------------


def test_client_over_its_limit_is_blocked_then_released(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.configure(client_limit_per_min=3, client_block_s=60)
    assert [api.get("/sale/offers").status_code for _ in range(3)] == [200, 200, 200]
    blocked = api.get("/sale/offers")
    assert blocked.status_code == 429
    assert error_codes(blocked) == ["TooManyRequestsException"]
    assert "retry-after" not in blocked.headers  # Allegro documents none
    assert api.get("/sale/categories").status_code == 429  # every call of the client id
    sandbox.advance_clock(59)
    assert api.get("/sale/offers").status_code == 429
    sandbox.advance_clock(1)
    assert api.get("/sale/offers").status_code == 200


def test_block_can_be_extended_and_announce_retry_after(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.configure(
        client_limit_per_min=1,
        client_block_s=60,
        client_block_extends=True,
        rate_limit_retry_after=True,
    )
    api.get("/sale/offers")
    first = api.get("/sale/offers")
    assert (first.status_code, first.headers["retry-after"]) == (429, "60")
    sandbox.advance_clock(50)
    assert api.get("/sale/offers").status_code == 429  # restarts the minute
    sandbox.advance_clock(50)
    assert api.get("/sale/offers").status_code == 429
    sandbox.advance_clock(60)
    assert api.get("/sale/offers").status_code == 200


def test_window_slides(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(client_limit_per_min=2)
    api.get("/sale/offers")
    sandbox.advance_clock(30)
    api.get("/sale/offers")
    sandbox.advance_clock(31)  # the first call left the window
    assert api.get("/sale/offers").status_code == 200


def test_limit_is_per_client_id(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(client_limit_per_min=1, extra_clients="other-app:other-secret")
    api.get("/sale/offers")
    assert api.get("/sale/offers").status_code == 429
    other = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("other-app", "other-secret"),
    ).json()["access_token"]
    with sandbox.client(other) as other_app:
        assert other_app.get("/sale/categories").status_code == 200


def test_seller_offer_writes_per_minute_and_hour(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(seller_offer_writes_per_min=2, seller_offer_writes_per_h=3)
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 201
    offer_id = api.get("/sale/offers").json()["offers"][0]["id"]
    assert (
        api.patch(f"/sale/product-offers/{offer_id}", json={"stock": {"available": 4}}).status_code
        == 200
    )
    refused = api.post("/sale/product-offers", json=offer_body())
    assert refused.status_code == 429
    assert api.get(f"/sale/product-offers/{offer_id}").status_code == 200  # reads unaffected
    with sandbox.client(sandbox.issue_user_token("seller-cz")["access_token"]) as czech:
        assert (
            czech.patch(
                f"/sale/product-offers/{offer_id}", json={"stock": {"available": 4}}
            ).status_code
            == 403
        )  # not 429
    sandbox.advance_clock(60)
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 429  # hour
    sandbox.advance_clock(3600)
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 201


def test_batch_changes_per_minute(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(seller_batch_changes_per_min=3)
    ids = [api.post("/sale/product-offers", json=offer_body()).json()["id"] for _ in range(2)]
    body = {
        "modification": {"changeType": "GAIN", "value": 1},
        "offerCriteria": [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in ids]}],
    }
    path = "/sale/offer-quantity-change-commands/"
    assert api.put(path + str(uuid.uuid4()), json=body).status_code == 201
    assert api.put(path + str(uuid.uuid4()), json=body).status_code == 429
    sandbox.advance_clock(60)
    assert api.put(path + str(uuid.uuid4()), json=body).status_code == 201


def test_seller_offer_reads_per_minute(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(seller_offer_reads_per_min=2)
    offer_id = api.post("/sale/product-offers", json=offer_body()).json()["id"]
    assert [api.get(f"/sale/product-offers/{offer_id}").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert api.get("/sale/offers").status_code == 200  # the search is another resource
    sandbox.advance_clock(60)
    assert api.get(f"/sale/product-offers/{offer_id}").status_code == 200


def test_batch_reads_count_offer_changes_read(api: httpx.Client, sandbox: SandboxHandle) -> None:
    ids = [api.post("/sale/product-offers", json=offer_body()).json()["id"] for _ in range(2)]
    body = {
        "modification": {"changeType": "FIXED", "value": 5},
        "offerCriteria": [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in ids]}],
    }
    path = f"/sale/offer-quantity-change-commands/{uuid.uuid4()}"
    assert api.put(path, json=body).status_code == 201
    sandbox.configure(seller_batch_reads_per_min=5)
    assert api.get(path).status_code == 200  # 2 offer changes read
    assert api.get(path).status_code == 200  # 4
    assert api.get(path).status_code == 429  # 6 > 5
    assert api.get(path + "/tasks", params={"limit": 1}).status_code == 200  # 5
    assert api.get(path + "/tasks", params={"limit": 1}).status_code == 429
    sandbox.advance_clock(60)
    assert api.get(path + "/tasks", params={"limit": 5}).status_code == 200


# -- scripted faults ----------------------------------------------------------------------------


def test_scripted_status_fault_is_not_applied(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(
        method="POST",
        path="^/sale/product-offers$",
        kind="status",
        status=503,
        retry_after_s=7,
        count=2,
    )
    for _ in range(2):
        response = api.post("/sale/product-offers", json=offer_body())
        assert (response.status_code, response.headers["retry-after"]) == (503, "7")
        assert response.json()["errors"][0]["code"] == "ServiceUnavailableException"
        assert response.headers["trace-id"]
    assert sandbox.offers() == []
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 201
    assert [e["fault"] for e in sandbox.requests() if "fault" in e] == ["status", "status"]


def test_lost_response_applies_the_request_then_drops_it(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.inject_fault(method="POST", path="/sale/product-offers", kind="lost_response")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/sale/product-offers", json=offer_body("TRAP-1"))
    assert len(sandbox.offers()) == 1  # the duplicate-offer trap
    found = api.get("/sale/offers", params={"external.id": "TRAP-1"}).json()
    assert found["totalCount"] == 1
    entry = sandbox.requests()[0]
    assert (entry["fault"], entry["status"], entry["applied_status"]) == (
        "lost_response",
        None,
        201,
    )


def test_lost_response_with_a_gateway_status(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(
        method="POST", path="/sale/product-offers", kind="lost_response", status=502
    )
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 502
    assert len(sandbox.offers()) == 1


def test_timeout_fault_answers_or_drops_after_the_hold(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.configure(timeout_hold_s=0.05)
    sandbox.inject_fault(method="GET", path="^/sale/offers$", kind="timeout", status=504)
    assert api.get("/sale/offers").status_code == 504
    sandbox.inject_fault(method="GET", path="^/sale/offers$", kind="timeout")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/sale/offers")
    assert api.get("/sale/offers").status_code == 200


def test_a_held_request_times_out_the_client(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(timeout_hold_s=30)
    sandbox.inject_fault(method="POST", path="/sale/product-offers", kind="timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/sale/product-offers", json=offer_body(), timeout=0.2)
    sandbox.reset()  # releases the hold at once
    assert sandbox.offers() == []  # a timeout is not applied


def test_faults_can_target_oauth(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(method="*", path="^/auth/oauth/token$", kind="status", status=500)
    response = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 500


# -- faults by ratio ----------------------------------------------------------------------------


def test_5xx_ratio_hits_api_calls_only(api: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(fault_5xx_ratio=1.0, latency_ms=1)
    assert {api.get("/sale/offers").status_code for _ in range(10)} <= {500, 503}
    token = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert token.status_code == 200
    assert sandbox.offers() == []  # admin calls are never faulted


def test_fault_ratios_are_reproducible(sandbox: SandboxHandle) -> None:
    def outcome() -> list[int]:
        sandbox.reset()
        sandbox.configure(fault_5xx_ratio=0.3, seed=7)
        with sandbox.client() as client:
            return [client.get("/sale/offers").status_code for _ in range(12)]

    first = outcome()
    assert 200 in first and set(first) - {200}
    assert outcome() == first
