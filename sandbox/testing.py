"""Run the sandbox inside a test: a real HTTP server on 127.0.0.1 in a background thread.

Example::

    from sandbox.testing import running_sandbox

    with running_sandbox(async_ratio=1.0, async_delay_s=5) as sandbox:
        token = sandbox.issue_user_token()["access_token"]
        ...                                  # talk to sandbox.url with any HTTP client
        sandbox.advance_clock(5)             # the operation is now complete

The handle drives the sandbox through its admin endpoints (``/__sandbox/...``), over HTTP
like any client, so it works the same against a sandbox started with ``allegro-feed
sandbox``: ``SandboxHandle("http://127.0.0.1:8765")``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxConfig
from sandbox.responses import ALLEGRO_MEDIA_TYPE

__all__ = [
    "ALLEGRO_MEDIA_TYPE",
    "SAMPLE_GTIN",
    "SandboxError",
    "SandboxHandle",
    "error_codes",
    "offer_body",
    "running_sandbox",
]

_START_TIMEOUT_S = 15.0


class SandboxError(RuntimeError):
    """An admin call to the sandbox was refused (the message holds the sandbox's reason)."""


class SandboxHandle:
    """Controls one running sandbox through its admin endpoints."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._http = httpx.Client(base_url=self.url + "/__sandbox", timeout=10.0)

    # -- admin calls -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget offers, operations, commands, tokens, the request log, faults, clock offset
        and limit counters; restore the knobs the sandbox was started with."""
        self._call("POST", "/reset")

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs (see :mod:`sandbox.config`); returns all knobs after the change."""
        result: dict[str, Any] = self._call("PATCH", "/config", json=knobs)
        return result

    def config(self) -> dict[str, Any]:
        """All knobs as they are now."""
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def inject_fault(
        self,
        *,
        method: str,
        path: str,
        kind: str,
        status: int | None = None,
        count: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        """Script a fault for the next ``count`` requests matching ``method`` and ``path``.

        ``path`` is a regular expression searched in the request path (anchor it with ``^``
        and ``$`` to match exactly). ``kind`` is ``status`` (answer ``status``, with
        ``Retry-After`` when ``retry_after_s`` is given, without applying the request),
        ``timeout`` (hold ``timeout_hold_s``, then answer ``status`` or, without one, drop the
        connection) or ``lost_response`` (apply the request, then answer ``status`` or, without
        one, drop the connection).
        """
        body: dict[str, Any] = {"method": method, "path": path, "kind": kind, "count": count}
        if status is not None:
            body["status"] = status
        if retry_after_s is not None:
            body["retry_after_s"] = retry_after_s
        self._call("POST", "/faults", json=body)

    def advance_clock(self, seconds: float) -> None:
        """Move sandbox time forward: expiry, async delays, limits and blocks all follow it."""
        self._call("POST", "/clock", json={"advance_s": seconds})

    def approve_device(self, user_code: str, user: str = "seller") -> None:
        """Act as the seller who confirms a device-flow ``user_code``."""
        self._call("POST", "/device/approve", json={"user_code": user_code, "user": user})

    def deny_device(self, user_code: str) -> None:
        """Act as the seller who refuses a device-flow ``user_code``."""
        self._call("POST", "/device/deny", json={"user_code": user_code})

    def issue_user_token(self, user: str = "seller") -> dict[str, Any]:
        """A user token pair for the default app, as the token endpoint would return it."""
        result: dict[str, Any] = self._call("POST", "/tokens", json={"user": user})
        return result

    def issued_tokens(self) -> dict[str, int]:
        """How many tokens were issued since the last reset, per user login (application
        tokens: ``client:<client id>``)."""
        result: dict[str, int] = self._call("GET", "/tokens")["issued"]
        return result

    def offers(self) -> list[dict[str, Any]]:
        """Every stored offer of every seller, as ``GET /sale/product-offers/{id}`` shows it,
        plus ``seller`` (the owner's login)."""
        result: list[dict[str, Any]] = self._call("GET", "/offers")["offers"]
        return result

    def purchase(self, offer_id: str, quantity: int = 1) -> dict[str, Any]:
        """Act as buyers taking ``quantity`` units of an ACTIVE offer: its stock falls, and
        the last unit sold ends it (``endedBy`` EMPTY_STOCK). Returns the offer's ``id``,
        ``stock`` (``available``, ``sold``) and ``publication`` (``status``, ``endedBy``)."""
        result: dict[str, Any] = self._call(
            "POST", f"/offers/{offer_id}/purchase", json={"quantity": quantity}
        )
        return result

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged API and OAuth calls with ``seq`` greater than ``since``, oldest first."""
        result: list[dict[str, Any]] = self._call("GET", "/requests", params={"since": since})[
            "requests"
        ]
        return result

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` for the API: base URL, Allegro's media type in ``Accept`` and
        ``Content-Type``, and ``Authorization: Bearer <token>`` (default: a fresh user
        token of "seller"). Close it when done (or use it as a context manager)."""
        if token is None:
            token = str(self.issue_user_token()["access_token"])
        headers = {
            "Accept": ALLEGRO_MEDIA_TYPE,
            "Content-Type": ALLEGRO_MEDIA_TYPE,
            "Authorization": f"Bearer {token}",
            **kwargs.pop("headers", {}),
        }
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def close(self) -> None:
        """Close the admin HTTP client (the sandbox keeps running)."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxError(f"{method} /__sandbox{path}: {response.status_code} {response.text}")
        return response.json()


#: GTIN of a catalogue product of the default sandbox data that needs nothing more than
#: the condition parameter to be listed (Sony WH-1000XM5, category 85166).
SAMPLE_GTIN = "4548735214676"


def offer_body(
    external_id: str | None = "SKU-1", *, stock: int = 5, amount: str = "999.00", **fields: Any
) -> dict[str, Any]:
    """A ``POST /sale/product-offers`` body the default sandbox accepts (seller "seller",
    PLN): the sample product by GTIN, condition "new", a price and a stock. ``fields``
    are added or replace top-level fields."""
    body: dict[str, Any] = {
        "productSet": [{"product": {"id": SAMPLE_GTIN, "idType": "GTIN"}}],
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "sellingMode": {"price": {"amount": amount, "currency": "PLN"}},
        "stock": {"available": stock},
    }
    if external_id is not None:
        body["external"] = {"id": external_id}
    body.update(fields)
    return body


def error_codes(response: httpx.Response) -> list[str]:
    """The ``code`` of each item of an API answer's ``errors``, in order."""
    return [item["code"] for item in response.json()["errors"]]


@contextmanager
def running_sandbox(**knobs: Any) -> Iterator[SandboxHandle]:
    """Serve a fresh sandbox on a free port of 127.0.0.1 for the duration of the block.

    ``knobs`` are :class:`~sandbox.config.SandboxConfig` fields; ``reset()`` returns to them.
    The server stops, and its thread ends, when the block exits.
    """
    from sandbox.app import create_app  # deferred: keeps `import sandbox.testing` light

    config = SandboxConfig.from_knobs(**knobs)
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every kept-alive request waits out a 40 ms delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{port}", daemon=True
    )
    thread.start()
    handle = SandboxHandle(f"http://127.0.0.1:{port}")
    try:
        _wait_until_serving(server, thread, handle)
        yield handle
    finally:
        # A request held by a timeout fault would keep the server's graceful shutdown
        # waiting; a reset releases it.
        with contextlib.suppress(httpx.HTTPError, SandboxError):
            handle.reset()
        handle.close()
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_S)
        sock.close()


def _wait_until_serving(
    server: uvicorn.Server, thread: threading.Thread, handle: SandboxHandle
) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server thread ended during start-up")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start in time")
        time.sleep(0.01)
    handle.config()  # one real round trip
