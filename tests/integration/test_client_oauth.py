"""The Allegro client's OAuth against the sandbox over real HTTP: client credentials, the
device flow, refresh with rotation, and a refresh race between two processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks
from workers.allegro import (
    AllegroClient,
    DeviceFlowDenied,
    DeviceFlowExpired,
    FileTokenStore,
    InvalidClient,
    InvalidGrant,
    TokenSet,
    connect_account,
)
from workers.allegro._http import HttpCore
from workers.allegro.oauth import OAuthClient
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def oauth(settings: Settings, clocks: Clocks) -> Iterator[OAuthClient]:
    core = HttpCore(settings, sleep=clocks.sleep, clock=clocks.now)
    yield OAuthClient(core, sleep=clocks.sleep, clock=clocks.now)
    core.close()


def _token_calls(sandbox: SandboxHandle, grant: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.requests(since)
        if r["path"] == "/auth/oauth/token" and (r.get("body") or {}).get("grant_type") == grant
    ]


def _user_store(sandbox: SandboxHandle, path: Path, now: float) -> FileTokenStore:
    store = FileTokenStore(path)
    store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), now))
    return store


# --- client credentials ------------------------------------------------------------------


def test_client_credentials_token_reads_categories(
    sandbox: SandboxHandle, settings: Settings, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "empty.json")  # no user connected: not needed here
    with AllegroClient(settings, store) as client:
        assert client.list_categories()
        assert client.get_category("165").leaf is not None
    (call,) = _token_calls(sandbox, "client_credentials")
    assert call["headers"]["authorization"].startswith("Basic")
    api_calls = [r for r in sandbox.requests() if r["path"].startswith("/sale/")]
    assert all(
        r["headers"]["accept"] == "application/vnd.allegro.public.v1+json" for r in api_calls
    )


def test_wrong_client_secret(settings: Settings, clocks: Clocks) -> None:
    bad = settings.model_copy(update={"client_secret": SecretStr("nope")})
    core = HttpCore(bad, sleep=clocks.sleep, clock=clocks.now)
    try:
        with pytest.raises(InvalidClient, match="ALLEGRO_FEED_CLIENT_SECRET"):
            OAuthClient(core).client_credentials()
    finally:
        core.close()


# --- device flow -------------------------------------------------------------------------


def test_device_flow_pending_then_approved(
    sandbox: SandboxHandle, oauth: OAuthClient, clocks: Clocks
) -> None:
    device = oauth.start_device_flow()
    assert device.user_code and device.verification_uri_complete.endswith(device.user_code)
    assert device.interval_s == 5  # sent as the string "5"

    approve_on_second_wait = _after_waits(
        clocks, 2, lambda: sandbox.approve_device(device.user_code)
    )
    oauth._sleep = approve_on_second_wait
    tokens = oauth.wait_for_device_tokens(device)
    assert tokens.refresh_token and tokens.expires_at > clocks.now()
    errors = [r["response_body"].get("error") for r in _token_calls(sandbox, _DEVICE)]
    assert errors == ["authorization_pending", None]


def test_device_flow_slow_down_adds_five_seconds(
    sandbox: SandboxHandle, oauth: OAuthClient, clocks: Clocks
) -> None:
    device = oauth.start_device_flow()
    script = iter([5.0, 0.0, 10.0])  # the second wait is cut short: polling too fast

    def sleep(seconds: float) -> None:
        clocks.sleeps.append(seconds)
        advance = next(script)
        if advance == 10.0:
            sandbox.approve_device(device.user_code)
        if advance:
            sandbox.advance_clock(advance)

    oauth._sleep = sleep
    oauth.wait_for_device_tokens(device)
    assert clocks.sleeps == [5.0, 5.0, 10.0]
    errors = [r["response_body"].get("error") for r in _token_calls(sandbox, _DEVICE)]
    assert errors == ["authorization_pending", "slow_down", None]


def test_device_flow_denied(sandbox: SandboxHandle, oauth: OAuthClient) -> None:
    device = oauth.start_device_flow()
    sandbox.deny_device(device.user_code)
    with pytest.raises(DeviceFlowDenied):
        oauth.wait_for_device_tokens(device)


def test_device_flow_expired_by_sandbox_clock(sandbox: SandboxHandle, oauth: OAuthClient) -> None:
    device = oauth.start_device_flow()
    sandbox.advance_clock(device.expires_in_s + 1)
    with pytest.raises(DeviceFlowExpired):
        oauth.poll_device_once(device)


def test_device_code_used_twice_is_rejected(sandbox: SandboxHandle, oauth: OAuthClient) -> None:
    device = oauth.start_device_flow()
    sandbox.approve_device(device.user_code)
    oauth.wait_for_device_tokens(device)
    with pytest.raises(DeviceFlowExpired, match="Invalid device code"):
        oauth.poll_device_once(device)


def test_connect_account_end_to_end(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    store = FileTokenStore(settings.token_file)
    lines: list[str] = []
    tokens = connect_account(
        settings,
        store,
        "shop-2",
        out=lines.append,
        sleep=clocks.sleep,
        clock=clocks.now,
        on_started=lambda device: sandbox.approve_device(device.user_code),
    )
    assert store.get("shop-2") == tokens
    assert any(sandbox.url in line and "code=" in line for line in lines)
    assert "'shop-2'" in lines[-1] and "UTC" in lines[-1]
    with AllegroClient(settings, store, account="shop-2") as client:
        assert client.find_offers_by_external_id(["nothing-yet"]) == []


# --- refresh -----------------------------------------------------------------------------


def test_refresh_rotates_the_pair_and_old_refresh_token_dies(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    sandbox.configure(refresh_grace_s=0)
    store = _user_store(sandbox, settings.token_file, clocks.now())
    first = store.get("default")
    assert first is not None
    clocks.sleep(43199)  # the access token expires, locally and in the sandbox
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        client.find_offers_by_external_id(["x"])
        second = store.get("default")
        assert second is not None
        assert second.access_token != first.access_token
        assert second.refresh_token != first.refresh_token
        assert len(_token_calls(sandbox, "refresh_token")) == 1
        # The used refresh token is single-use: a second refresh with it fails.
        clocks.sleep(1)
        with pytest.raises(InvalidGrant):
            client.oauth.refresh(first.refresh_token or "")


def test_401_from_the_api_triggers_one_refresh(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    store = _user_store(sandbox, settings.token_file, clocks.now())
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        client.find_offers_by_external_id(["x"])
        sandbox.advance_clock(43200)  # only the sandbox sees the token expire: 401
        client.find_offers_by_external_id(["x"])
    statuses = [r["status"] for r in sandbox.requests() if r["path"] == "/sale/offers"]
    assert statuses == [200, 401, 200]
    assert len(_token_calls(sandbox, "refresh_token")) == 1


_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"

_RACE_SCRIPT = r"""
import json, os, sys, time
from pathlib import Path
from workers.allegro import AllegroClient, FileTokenStore
from workers.settings import Settings

url, secret, token_file, go_file = sys.argv[1:5]
settings = Settings(api_url=url, auth_url=url, client_id="local-client-id",
                    client_secret=secret, token_file=token_file)
store = FileTokenStore(token_file)
deadline = time.monotonic() + 30
while not Path(go_file).exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.005)
with AllegroClient(settings, store) as client:
    client.find_offers_by_external_id(["race"])
    tokens = client.user_tokens()
print(json.dumps({"access": tokens.access_token, "refresh": tokens.refresh_token}))
"""


def test_refresh_race_between_two_processes(
    sandbox: SandboxHandle, settings: Settings, tmp_path: Path
) -> None:
    issued = sandbox.issue_user_token()
    store = FileTokenStore(settings.token_file)
    # Both processes find an access token that expired (locally): both want to refresh.
    store.put("default", TokenSet(issued["access_token"], issued["refresh_token"], 0.0))
    go_file = tmp_path / "go"
    args = [sandbox.url, sandbox.client_secret, str(settings.token_file), str(go_file)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE_SCRIPT, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)  # let both import and start waiting for the signal
    go_file.touch()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    refreshes = _token_calls(sandbox, "refresh_token")
    assert len(refreshes) == 1, refreshes
    assert refreshes[0]["status"] == 200
    assert outputs[0] == outputs[1]
    stored = store.get("default")
    assert stored is not None
    assert outputs[0] == {"access": stored.access_token, "refresh": stored.refresh_token}
    assert stored.access_token != issued["access_token"]
    offer_calls = [r for r in sandbox.requests() if r["path"] == "/sale/offers"]
    assert [r["status"] for r in offer_calls] == [200, 200]


def _after_waits(clocks: Clocks, n: int, action: Callable[[], None]) -> Callable[[float], None]:
    """A sleep that advances both clocks and runs ``action`` at the ``n``-th wait."""
    count = 0

    def sleep(seconds: float) -> None:
        nonlocal count
        count += 1
        if count == n:
            action()
        clocks.sleep(seconds)

    return sleep
