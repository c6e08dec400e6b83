"""OAuth of the sandbox over real HTTP: client credentials, device flow, refresh rotation
with its 60 s grace, token expiry, and how the API treats each kind of token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.testing import ALLEGRO_MEDIA_TYPE, SandboxHandle

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def http(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url, auth=(sandbox.client_id, sandbox.client_secret), timeout=10
    ) as client:
        yield client


def token(http: httpx.Client, **form: str) -> httpx.Response:
    return http.post("/auth/oauth/token", data=form)


def api_get(sandbox: SandboxHandle, path: str, access_token: str | None) -> httpx.Response:
    headers = {"Accept": ALLEGRO_MEDIA_TYPE}
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    return httpx.get(sandbox.url + path, headers=headers, timeout=10)


def start_device_flow(http: httpx.Client, sandbox: SandboxHandle) -> dict[str, Any]:
    response = http.post("/auth/oauth/device", data={"client_id": sandbox.client_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- client credentials ----------------------------------------------------------------------


def test_client_credentials_gives_an_application_token_without_refresh(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    response = token(http, grant_type="client_credentials")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 43199
    assert "refresh_token" not in body
    assert body["access_token"].startswith("eyJ")  # JWT-like, as Allegro's
    assert api_get(sandbox, "/sale/categories", body["access_token"]).status_code == 200


def test_application_token_on_a_user_resource_is_refused_like_allegro(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    access = token(http, grant_type="client_credentials").json()["access_token"]
    response = api_get(sandbox, "/sale/offers", access)
    assert response.status_code == 401
    assert response.json()["error_description"] == "Empty user_name claim"


def test_grant_type_may_come_in_the_query_string(sandbox: SandboxHandle) -> None:
    response = httpx.post(
        sandbox.url + "/auth/oauth/token?grant_type=client_credentials",
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (None, "Full authentication is required to access this resource"),
        (("local-client-id", "wrong"), "Bad credentials"),
        (("unknown", "local-client-secret"), "Bad credentials"),
    ],
)
def test_token_endpoint_needs_registered_basic_credentials(
    sandbox: SandboxHandle, auth: tuple[str, str] | None, expected: str
) -> None:
    response = httpx.post(
        sandbox.url + "/auth/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
    )
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "error_description": expected}


def test_unknown_and_missing_grant_types(http: httpx.Client) -> None:
    assert token(http, grant_type="password").json()["error"] == "unsupported_grant_type"
    missing = token(http)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_extra_registered_apps(sandbox: SandboxHandle) -> None:
    sandbox.configure(extra_clients="other-app:other-secret")
    response = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("other-app", "other-secret"),
    )
    assert response.status_code == 200


def test_token_issue_limit_per_user(http: httpx.Client, sandbox: SandboxHandle) -> None:
    sandbox.configure(token_issue_limit_per_h=2)
    assert token(http, grant_type="client_credentials").status_code == 200
    assert token(http, grant_type="client_credentials").status_code == 200
    assert token(http, grant_type="client_credentials").status_code == 429
    assert sandbox.issued_tokens() == {"client:local-client-id": 2}
    sandbox.advance_clock(3601)
    assert token(http, grant_type="client_credentials").status_code == 200


# -- device flow -----------------------------------------------------------------------------


def test_device_flow_end_to_end(http: httpx.Client, sandbox: SandboxHandle) -> None:
    device = start_device_flow(http, sandbox)
    assert device["expires_in"] == "3600" and device["interval"] == "5"  # strings, as Allegro
    assert device["verification_uri"] == sandbox.url + "/skojarz-aplikacje"
    assert device["verification_uri_complete"].endswith("?code=" + device["user_code"])
    code = device["device_code"]

    pending = token(http, grant_type=DEVICE_GRANT, device_code=code)
    assert (pending.status_code, pending.json()) == (400, {"error": "authorization_pending"})

    sandbox.approve_device(device["user_code"])
    sandbox.advance_clock(5)
    granted = token(http, grant_type=DEVICE_GRANT, device_code=code)
    assert granted.status_code == 200
    pair = granted.json()
    assert pair["refresh_token"]
    assert api_get(sandbox, "/sale/offers", pair["access_token"]).status_code == 200

    sandbox.advance_clock(5)
    again = token(http, grant_type=DEVICE_GRANT, device_code=code)
    assert (again.status_code, again.json()) == (400, {"error": "Invalid device code"})


def test_device_code_may_be_passed_as_query_parameter(sandbox: SandboxHandle) -> None:
    response = httpx.post(
        f"{sandbox.url}/auth/oauth/device?client_id={sandbox.client_id}",
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200
    assert response.json()["user_code"]


def test_device_request_without_or_with_a_foreign_client_id(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    assert http.post("/auth/oauth/device").status_code == 400
    assert http.post("/auth/oauth/device", data={"client_id": "someone-else"}).status_code == 401


def test_polling_faster_than_the_interval_slows_down(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    code = start_device_flow(http, sandbox)["device_code"]
    assert token(http, grant_type=DEVICE_GRANT, device_code=code).json()["error"] == (
        "authorization_pending"
    )
    assert token(http, grant_type=DEVICE_GRANT, device_code=code).json()["error"] == "slow_down"
    # The interval is now 5 + 5 s: waiting the old 5 s is still too fast.
    sandbox.advance_clock(5)
    assert token(http, grant_type=DEVICE_GRANT, device_code=code).json()["error"] == "slow_down"
    sandbox.advance_clock(15)
    assert token(http, grant_type=DEVICE_GRANT, device_code=code).json()["error"] == (
        "authorization_pending"
    )


def test_denied_expired_and_invalid_device_codes(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    denied = start_device_flow(http, sandbox)
    sandbox.deny_device(denied["user_code"])
    response = token(http, grant_type=DEVICE_GRANT, device_code=denied["device_code"])
    assert response.json() == {"error": "access_denied"}

    expiring = start_device_flow(http, sandbox)
    sandbox.advance_clock(3600)
    response = token(http, grant_type=DEVICE_GRANT, device_code=expiring["device_code"])
    assert response.status_code == 400
    assert response.json()["error"] == "expired_token"

    response = token(http, grant_type=DEVICE_GRANT, device_code="no-such-code")
    assert response.json() == {"error": "Invalid device code"}


def test_verification_page_lets_a_person_approve(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    device = start_device_flow(http, sandbox)
    page = httpx.get(device["verification_uri_complete"])
    assert page.status_code == 200 and device["user_code"] in page.text
    answer = httpx.post(
        device["verification_uri"],
        data={"code": device["user_code"], "user": "seller-cz", "decision": "approve"},
    )
    assert "Allowed" in answer.text
    sandbox.advance_clock(5)
    pair = token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"]).json()
    offers = api_get(sandbox, "/sale/offers", pair["access_token"])
    assert offers.status_code == 200


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_rotates_with_a_grace_period_for_the_old_token(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    first = sandbox.issue_user_token()
    second = token(http, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    sandbox.advance_clock(59)  # the old refresh token still works within 60 s of first use
    retry = token(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert retry.status_code == 200

    sandbox.advance_clock(2)
    late = token(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")
    newest = token(http, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert newest.status_code == 200


def test_refresh_token_of_another_app_or_unknown_is_refused(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.configure(extra_clients="other-app:other-secret")
    pair = sandbox.issue_user_token()
    foreign = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        auth=("other-app", "other-secret"),
    )
    assert foreign.json()["error"] == "invalid_grant"
    unknown = token(http, grant_type="refresh_token", refresh_token="nope")
    assert unknown.json()["error"] == "invalid_grant"


def test_access_token_expires_but_refresh_still_works(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    pair = sandbox.issue_user_token()
    assert api_get(sandbox, "/sale/offers", pair["access_token"]).status_code == 200
    sandbox.advance_clock(43199)
    expired = api_get(sandbox, "/sale/offers", pair["access_token"])
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"
    renewed = token(http, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert api_get(sandbox, "/sale/offers", renewed.json()["access_token"]).status_code == 200


def test_access_token_lifetime_is_a_knob(sandbox: SandboxHandle) -> None:
    sandbox.configure(access_token_ttl_s=60)
    pair = sandbox.issue_user_token()
    assert pair["expires_in"] == 60
    sandbox.advance_clock(60)
    assert api_get(sandbox, "/sale/offers", pair["access_token"]).status_code == 401


def test_missing_and_unknown_bearer_tokens(sandbox: SandboxHandle) -> None:
    missing = api_get(sandbox, "/sale/categories", None)
    assert missing.status_code == 401
    assert missing.json() == {
        "error": "unauthorized",
        "error_description": "Full authentication is required to access this resource",
    }
    unknown = api_get(sandbox, "/sale/categories", "eyJhbGciOi.not.issued")
    assert unknown.status_code == 401
    assert unknown.json()["error_description"] == "Cannot convert access token to JSON"


def test_scopes_limit_what_a_device_token_may_do(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    response = http.post(
        "/auth/oauth/device",
        data={"client_id": sandbox.client_id, "scope": "allegro:api:sale:settings:read"},
    )
    device = response.json()
    sandbox.approve_device(device["user_code"])
    pair = token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"]).json()
    assert pair["scope"] == "allegro:api:sale:settings:read"
    refused = api_get(sandbox, "/sale/offers", pair["access_token"])
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "AccessDenied"


def test_oauth_calls_are_logged_with_secrets_redacted(
    http: httpx.Client, sandbox: SandboxHandle
) -> None:
    pair = sandbox.issue_user_token()
    token(http, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    (entry,) = sandbox.requests()
    assert entry["path"] == "/auth/oauth/token"
    assert entry["headers"]["authorization"] == "Basic <redacted>"
    assert entry["body"] == {"grant_type": "refresh_token", "refresh_token": "<redacted>"}
    assert entry["response_body"]["access_token"] == "<redacted>"
    assert entry["status"] == 200
