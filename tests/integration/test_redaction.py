"""No secret reaches the logs, printed output or error messages.

Runs a device-flow connection, an application token, a token refresh after a refused
access token, a 422 and a refused client secret against the sandbox over HTTP, with every
log line captured at DEBUG level, then looks for each secret seen on the wire.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks, sandbox_settings
from workers.allegro import (
    AllegroClient,
    FileTokenStore,
    InvalidClient,
    TokenSet,
    ValidationFailed,
)
from workers.allegro.device import connect_account
from workers.allegro.oauth import DeviceAuthorization
from workers.logging import configure_logging
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]


@pytest.mark.sends_invalid
def test_no_secret_in_logs_output_or_errors(
    sandbox: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = io.StringIO()
    settings = sandbox_settings(
        sandbox,
        tmp_path / "tokens.json",
        client_secret=SecretStr(sandbox.client_secret),
        log_format="json",
        log_level="DEBUG",
        retry_backoff_max_s=0.02,
    )
    configure_logging(settings, stream=logs, quiet_loggers=())
    clock = Clocks(sandbox)
    store = FileTokenStore(settings.token_file)
    device_codes: list[str] = []

    def approve(device: DeviceAuthorization) -> None:
        device_codes.append(device.device_code)
        sandbox.approve_device(device.user_code)

    first = connect_account(
        settings, store, "shop", sleep=clock.sleep, clock=clock.now, on_started=approve
    )
    errors: list[BaseException] = []
    with AllegroClient(settings, store, account="shop", sleep=clock.sleep) as client:
        client.list_categories()  # application token (client credentials)
        # A refused access token: the client refreshes once (rotation) and retries.
        store.put("shop", replace(first, access_token=first.access_token[:-4] + "XXXX"))
        client.search_products("4242002375502", mode="GTIN")
        with pytest.raises(ValidationFailed) as refused:
            client.create_offer({"stock": {"available": -1}, "external": {"id": "SKU-1"}})
        errors.append(refused.value)
    rotated = store.get("shop")
    assert isinstance(rotated, TokenSet)
    assert rotated.refresh_token != first.refresh_token  # the refresh really happened

    wrong = Settings(**{**settings.model_dump(), "client_secret": SecretStr("wrong-secret-42")})
    with AllegroClient(wrong, FileTokenStore(tmp_path / "other.json")) as bad:
        with pytest.raises(InvalidClient) as denied:
            bad.list_categories()
        errors.append(denied.value)

    # A careless log call elsewhere in the code base is caught by the redaction processor.
    structlog.get_logger("careless").warning(
        "debugging", header=f"Bearer {rotated.access_token}", note=f"was {rotated.refresh_token}"
    )

    secrets = {
        "client secret": sandbox.client_secret,
        "wrong client secret": "wrong-secret-42",
        "device code": device_codes[0],
        "first access token": first.access_token,
        "first refresh token": str(first.refresh_token),
        "rotated access token": rotated.access_token,
        "rotated refresh token": str(rotated.refresh_token),
    }
    printed = capsys.readouterr()
    places = {
        "logs": logs.getvalue(),
        "printed output": printed.out + printed.err,
        "errors": "\n".join(f"{e}\n{e!r}\n{e.__dict__!r}" for e in errors),
        "token repr": repr(first) + repr(rotated),
    }
    assert "allegro.response" in places["logs"]  # the calls were logged at all
    leaks = [
        f"{name} in {where}"
        for name, value in secrets.items()
        for where, text in places.items()
        if value and value in text
    ]
    assert leaks == []
