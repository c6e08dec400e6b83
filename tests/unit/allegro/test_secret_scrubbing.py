"""No token or secret reaches an exception text, a status message or the batching journal.

Allegro's 401 ``error_description`` may quote the refused token ("Access token expired:
<token>", allegro-api I#13741). The tokens here are opaque (not JWTs) and most are never
registered with :func:`workers.logging.register_secret`, so only the textual shapes can
catch them.
"""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from schemas.status import Status, StatusError, StatusMessage
from tests.unit.allegro.conftest import FakeAllegro, reply
from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.allegro.errors import (
    ErrorItem,
    InvalidGrant,
    OAuthError,
    Unauthorized,
    error_for_status,
)
from workers.logging import REDACTED, redact_text, register_secret
from workers.middleware import failure_errors
from workers.status import StatusReporter, scrubbed

OPAQUE_ACCESS = "opaque-access-Q7w2e9r4t6y8u1"
OPAQUE_REFRESH = "opaque-refresh-Z3x5c7v9b2n4m6"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Access token expired: 8fK2mQ9zLp4xR7tB", "8fK2mQ9zLp4xR7tB"),
        ("Invalid refresh token: opaque-refresh-ABC987654", "opaque-refresh-ABC987654"),
        ("token=abc123", "abc123"),
        ('{"token": "shortTok1"}', "shortTok1"),
        ("access_token=zz-9-yy&x=1", "zz-9-yy"),
        ("refresh_token: rrrrrr77", "rrrrrr77"),
        ("Authorization: Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),
        ("Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA=="),
        ("the token ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh was refused", "ABCDEFGHIJKLMNOPQRSTUVWX"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJhbGciOiJIUzI1NiJ9"),
        ("client secret: s3cr3t-value", "s3cr3t-value"),
    ],
)
def test_redact_text_hides_opaque_tokens(text: str, secret: str) -> None:
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_redact_text_keeps_ordinary_error_text() -> None:
    text = (
        "Allegro refused the access token (expired or revoked, or an application token used "
        "where a user token is needed) [HTTP 401, GET /sale/product-offers/1234567890123456]"
    )
    assert redact_text(text) == text
    assert redact_text("token refused: ALLEGRO_FEED_CLIENT_ID") == (
        "token refused: ALLEGRO_FEED_CLIENT_ID"
    )
    context = (
        "refused [HTTP 503, POST /auth/oauth/token, Trace-Id 3f2a9c1d7e4b4a6f9c0d1e2f3a4b5c6d]"
    )
    assert redact_text(context) == context
    # Allegro's texts that merely use the words stay readable.
    basic = "Basic information about the product is missing"
    assert redact_text(basic) == basic
    # Idempotent: scrubbed text scrubbed again does not change.
    once = redact_text("Access token expired: 8fK2mQ9zLp4xR7tB; token=abc123")
    assert redact_text(once) == once


def test_redact_text_hides_registered_values_anywhere() -> None:
    register_secret("plain-looking-value-zzq")
    assert redact_text("oops plain-looking-value-zzq oops") == f"oops {REDACTED} oops"


def test_exception_texts_are_scrubbed_when_made() -> None:
    error = error_for_status(
        401,
        description=f"Access token expired: {OPAQUE_ACCESS}",
        method="GET",
        path="/sale/product-offers/1",
        trace_id="t-1",
    )
    assert isinstance(error, Unauthorized)
    for text in (str(error), error.message, repr(error), str(error.args)):
        assert OPAQUE_ACCESS not in text
    assert "GET /sale/product-offers/1" in str(error)
    assert "Trace-Id t-1" in str(error)
    # Pickled and restored (errors cross processes), still scrubbed.
    restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert OPAQUE_ACCESS not in str(restored)

    oauth = OAuthError(f"refused ({OPAQUE_REFRESH}); Invalid refresh token: {OPAQUE_REFRESH}")
    assert OPAQUE_REFRESH not in str(oauth)


def test_error_items_are_scrubbed_when_parsed() -> None:
    item = ErrorItem.model_validate(
        {
            "code": "InvalidToken",
            "message": f"token {OPAQUE_ACCESS} is not valid",
            "userMessage": f"Bearer {OPAQUE_ACCESS}",
            "details": f"access_token={OPAQUE_ACCESS}",
            "metadata": {"token": f"token: {OPAQUE_ACCESS}"},
        }
    )
    dumped = item.model_dump_json()
    assert OPAQUE_ACCESS not in dumped
    assert item.code == "InvalidToken"


def _leaky_allegro() -> FakeAllegro:
    """Allegro as in I#13741: every refusal quotes the token it refused."""
    fake = FakeAllegro()

    def token(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        return httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "Invalid refresh token: " + form.get("refresh_token", ""),
            },
        )

    def api(request: httpx.Request) -> httpx.Response:
        quoted = request.headers.get("authorization", "").split()[-1]
        return reply(
            401, {"error": "invalid_token", "error_description": f"Access token expired: {quoted}"}
        )

    fake.on("POST", "/auth/oauth/token", token)
    fake.on("GET", "/sale/product-offers/.*", api)
    return fake


def _status_texts(errors: list[StatusError]) -> str:
    return " ".join(f"{e.message} {e.user_message}" for e in errors)


def test_refused_refresh_token_stays_out_of_the_error_and_the_failed_status(
    settings: Any, store: FileTokenStore, clock: Any
) -> None:
    # The store holds a pair that was never registered as a secret in this process.
    store.put("default", TokenSet(OPAQUE_ACCESS, OPAQUE_REFRESH, clock.now + 3600))
    fake = _leaky_allegro()
    with (
        AllegroClient(
            settings, store, transport=fake.transport(), sleep=clock.sleep, clock=clock
        ) as allegro,
        pytest.raises(InvalidGrant) as caught,
    ):
        allegro.get_offer("123")
    error = caught.value
    assert fake.calls("POST", "/auth/oauth/token")  # Allegro did quote the refresh token
    # What the batcher stores in its journal (batching/_answers.py) is str(exc).
    for text in (str(error), error.message, repr(error)):
        assert OPAQUE_REFRESH not in text
        assert OPAQUE_ACCESS not in text
    assert "connect" in str(error)

    status = StatusMessage.model_validate(
        {
            "event_id": "e-1",
            "sku": "SKU-1",
            "account": "default",
            "version": 1,
            "status": Status.FAILED,
            "errors": failure_errors(error),
        }
    )
    body = status.to_json().decode()
    assert OPAQUE_REFRESH not in body
    assert OPAQUE_ACCESS not in body
    assert "InvalidGrant" in body


def test_token_quoted_in_a_second_401_stays_out_of_unauthorized(
    settings: Any, store: FileTokenStore, clock: Any
) -> None:
    fake = _leaky_allegro()
    fake.on("POST", "/auth/oauth/token", fake.token_endpoint)  # the refresh works
    with (
        AllegroClient(
            settings, store, transport=fake.transport(), sleep=clock.sleep, clock=clock
        ) as allegro,
        pytest.raises(Unauthorized) as caught,
    ):
        allegro.get_offer("123")
    assert "access-1" not in str(caught.value)  # the refreshed token Allegro quoted back
    assert "user-access-0" not in str(caught.value)
    assert "GET /sale/product-offers/123" in str(caught.value)


class _Exploding(Exception):
    pass


def test_failure_errors_scrub_foreign_exceptions() -> None:
    errors = failure_errors(_Exploding(f"driver said: refresh_token={OPAQUE_REFRESH}"))
    assert OPAQUE_REFRESH not in _status_texts(errors)


class _Store:
    def __init__(self) -> None:
        self.added: list[StatusMessage] = []

    def add_status(self, message: StatusMessage) -> bool:
        self.added.append(message)
        return True

    def add_statuses(self, messages: Any) -> list[bool]:
        self.added.extend(messages)
        return [True] * len(messages)

    def mark_statuses_published(self, keys: Any) -> None:
        pass

    def mark_status_published(self, event_id: str, status: Any) -> None:
        pass


class _Publisher:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: Any) -> None:
        self.bodies.append(body)


def _failed(text: str) -> StatusMessage:
    return StatusMessage.model_validate(
        {
            "event_id": "e-2",
            "sku": "SKU-2",
            "account": "default",
            "version": 1,
            "status": Status.FAILED,
            "errors": [StatusError(code="X", message=text, user_message=text)],
        }
    )


def test_reporter_scrubs_every_status_before_storing_and_publishing() -> None:
    store, publisher = _Store(), _Publisher()
    reporter = StatusReporter(store, publisher, "allegro.status")  # type: ignore[arg-type]
    reporter.report(_failed(f"Access token expired: {OPAQUE_ACCESS}"))
    reporter.report_many([_failed(f"Bearer {OPAQUE_ACCESS}")])
    assert len(store.added) == 2
    for message in store.added:
        assert OPAQUE_ACCESS not in message.to_json().decode()
    for body in publisher.bodies:
        assert OPAQUE_ACCESS not in body.decode()
    assert len(publisher.bodies) == 2


def test_scrubbed_returns_clean_messages_unchanged() -> None:
    clean = _failed("Allegro rejected the data")
    assert scrubbed(clean) is clean
