"""The sandbox's front door (pure ASGI middleware): ``Trace-Id`` on every response, and for
API and OAuth calls the request log, injected latency and injected faults.

Admin calls (``/__sandbox/...`` and the device-approval page) pass straight through: they are
not logged, not delayed and never faulted.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import iso_millis
from sandbox.faults import Fault, drop_connection
from sandbox.requestlog import RawBody, redact_headers, redact_query
from sandbox.responses import ALLEGRO_MEDIA_TYPE, error_item
from sandbox.state import SandboxState

__all__ = ["ADMIN_PREFIXES", "Gateway", "is_admin_path"]

ADMIN_PREFIXES = ("/__sandbox", "/skojarz-aplikacje")
_OAUTH_PREFIX = "/auth/oauth"
_TOKEN_FIELDS = ("access_token", "refresh_token", "device_code")

_FAULT_ERRORS = {
    500: ("InternalServerErrorException", "Internal server error"),
    502: ("BadGatewayException", "Bad gateway"),
    503: ("ServiceUnavailableException", "Service temporarily unavailable"),
    504: ("GatewayTimeoutException", "Gateway timeout"),
}


def is_admin_path(path: str) -> bool:
    return path.startswith(ADMIN_PREFIXES)


class Gateway:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _Traced(send)
        path: str = scope["path"]
        if is_admin_path(path):
            await self.app(scope, receive, send)
            return
        state: SandboxState = scope["app"].state.sandbox
        await self._serve_logged(state, scope, receive, send, path)

    async def _serve_logged(
        self, state: SandboxState, scope: Scope, receive: Receive, send: Send, path: str
    ) -> None:
        body = await _read_body(receive)
        replay = _Replay(body, receive)
        headers = redact_headers(scope.get("headers", []))
        method: str = scope["method"]
        is_api = not path.startswith(_OAUTH_PREFIX)
        entry: dict[str, Any] = {
            "at": iso_millis(state.now()),
            "method": method,
            "path": path,
            "query": redact_query(scope.get("query_string", b"").decode("latin-1")),
            "headers": headers,
            "content_type": headers.get("content-type"),
            "body": RawBody(body, headers.get("content-type")),
        }
        config, log = state.config, state.log
        fault = state.faults.take(method, path, is_api=is_api, config=config, rng=state.fault_rng)
        if is_api and config.latency_ms > 0:
            await asyncio.sleep(config.latency_ms / 1000.0)
        capture = _Capture(send)
        if fault is None:
            await self.app(scope, replay, capture)
        else:
            entry["fault"] = fault.kind
            if fault.kind == "lost_response":
                capture.forward = False
                await self.app(scope, replay, capture)
                entry["applied_status"] = capture.status
                capture = _Capture(send)
            elif fault.kind == "timeout":
                await state.faults.hold(config.timeout_hold_s)
            if fault.kind == "status" or fault.status is not None:
                await _fault_response(fault, capture)
            elif not await drop_connection(receive):
                await _fault_response(Fault(fault.kind, 504), capture)
        entry.update(capture.summary(oauth=not is_api))
        if state.log is log:  # not reset meanwhile (a reset releases held requests)
            log.append(entry, config.request_log_size)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class _Traced:
    """A ``send`` that adds a fresh ``Trace-Id`` to the response it starts."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.trace_id = uuid.uuid4().hex[:16]

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [*message.get("headers", []), (b"trace-id", self.trace_id.encode())],
            }
        await self._send(message)


class _Replay:
    """A ``receive`` that hands the buffered body to the app, then defers to the server."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


class _Capture:
    """A ``send`` that records the response (and forwards it unless told not to)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.forward = True
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
            if self.forward and isinstance(self._send, _Traced):
                self.headers.append((b"trace-id", self._send.trace_id.encode()))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        if self.forward:
            await self._send(message)

    def summary(self, *, oauth: bool) -> dict[str, Any]:
        """Log fields of the response the client got (``status`` None: dropped)."""
        headers = redact_headers(self.headers)
        content_type = headers.get("content-type")
        return {
            "status": self.status,
            "response_headers": headers,
            "response_content_type": content_type,
            "response_body": RawBody(
                b"".join(self.chunks), content_type, _TOKEN_FIELDS if oauth else ()
            ),
        }


async def _fault_response(fault: Fault, send: Send) -> None:
    status = fault.status or 500
    code, message = _FAULT_ERRORS.get(status, ("SandboxInjectedFault", "Injected fault"))
    payload = json.dumps({"errors": [error_item(code, message)]}).encode()
    headers = [
        (b"content-type", ALLEGRO_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    if fault.retry_after_s is not None:
        headers.append((b"retry-after", str(round(fault.retry_after_s)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
