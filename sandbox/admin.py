"""Admin endpoints under ``/__sandbox`` (no auth, not logged, not rate limited, never
faulted) and the device-flow page a person opens from ``verification_uri``.

- ``POST /__sandbox/reset``: back to the start (state, clock, faults, knobs)
- ``GET|PATCH /__sandbox/config``: read or change knobs (unknown knob: 400 naming it)
- ``GET|POST /__sandbox/faults``: list or script faults
- ``POST /__sandbox/clock`` ``{"advance_s": n}``: move sandbox time forward
- ``POST /__sandbox/device/approve`` ``{"user_code", "user"?}``, ``/deny`` ``{"user_code"}``
- ``GET|POST /__sandbox/tokens``: token-issue counts; issue a user token pair directly
- ``GET /__sandbox/offers``: every offer of every seller
- ``POST /__sandbox/offers/{offer_id}/purchase`` ``{"quantity": n}``: buyers take ``n``
  units of an ACTIVE offer (default 1): ``stock.available`` falls, ``stock.sold`` grows;
  the last unit sold ends the offer with ``endedBy`` EMPTY_STOCK, as Allegro does
- ``GET /__sandbox/requests?since=N``: the request log after entry N
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.clock import iso_millis
from sandbox.config import DEFAULT_CLIENT_ID, UnknownKnobError
from sandbox.lifecycle import end, set_stock_available, stock_available
from sandbox.oauth import VERIFICATION_PATH, issue_user_tokens
from sandbox.offer_views import render_offer
from sandbox.state import SandboxState

__all__ = ["routes"]


class _Bad(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _Bad(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise _Bad(400, "the body must be a JSON object")
    return body


def _admin(handler: Any) -> Any:
    async def run(request: Request) -> Response:
        try:
            result = await handler(request, _state(request))
        except _Bad as bad:
            return JSONResponse({"error": str(bad)}, status_code=bad.status)
        return result if isinstance(result, Response) else JSONResponse(result)

    run.__name__ = handler.__name__
    return run


@_admin
async def reset(request: Request, state: SandboxState) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


@_admin
async def get_config(request: Request, state: SandboxState) -> dict[str, Any]:
    return state.config.knobs()


@_admin
async def patch_config(request: Request, state: SandboxState) -> dict[str, Any]:
    changes = await _json(request)
    try:
        state.set_config(state.config.with_knobs(changes))
    except UnknownKnobError as unknown:
        raise _Bad(400, f"unknown knob: {unknown.name}") from None
    except ValueError as invalid:
        raise _Bad(400, str(invalid)) from None
    return state.config.knobs()


@_admin
async def list_faults(request: Request, state: SandboxState) -> dict[str, Any]:
    return {"faults": [fault.describe() for fault in state.faults.scripted]}


@_admin
async def add_fault(request: Request, state: SandboxState) -> dict[str, Any]:
    body = await _json(request)
    try:
        fault = state.faults.add(
            method=str(body["method"]),
            path=str(body["path"]),
            kind=str(body["kind"]),
            count=int(body.get("count", 1)),
            status=None if body.get("status") is None else int(body["status"]),
            retry_after_s=None
            if body.get("retry_after_s") is None
            else float(body["retry_after_s"]),
        )
    except KeyError as missing:
        raise _Bad(400, f"missing field: {missing.args[0]}") from None
    except (TypeError, ValueError) as invalid:
        raise _Bad(400, str(invalid)) from None
    return fault.describe()


@_admin
async def advance_clock(request: Request, state: SandboxState) -> dict[str, Any]:
    body = await _json(request)
    try:
        seconds = float(body.get("advance_s", 0))
        state.clock.advance(seconds)
    except (TypeError, ValueError) as invalid:
        raise _Bad(400, str(invalid)) from None
    now = state.settle()
    return {"now": iso_millis(now), "offset_s": state.clock.offset_s}


def _decide(state: SandboxState, user_code: str, user: str | None) -> None:
    grant = state.tokens.device_by_user_code(user_code.strip().lower())
    if grant is None:
        raise _Bad(404, f"unknown user_code {user_code!r}")
    if state.now() >= grant.expires_at:
        raise _Bad(400, "the device code has expired")
    if grant.state != "pending":
        raise _Bad(400, f"the device code is already {grant.state}")
    if user is None:
        grant.state = "denied"
        return
    if state.catalog.seller(user) is None:
        raise _Bad(400, f"unknown user {user!r}")
    grant.state, grant.user = "approved", user


@_admin
async def approve_device(request: Request, state: SandboxState) -> dict[str, Any]:
    body = await _json(request)
    _decide(state, str(body.get("user_code", "")), str(body.get("user") or "seller"))
    return {"approved": True}


@_admin
async def deny_device(request: Request, state: SandboxState) -> dict[str, Any]:
    body = await _json(request)
    _decide(state, str(body.get("user_code", "")), None)
    return {"denied": True}


@_admin
async def token_counts(request: Request, state: SandboxState) -> dict[str, Any]:
    return {"issued": state.tokens.issue_counts()}


@_admin
async def issue_token(request: Request, state: SandboxState) -> dict[str, Any]:
    body = await _json(request)
    user = str(body.get("user") or "seller")
    client_id = str(body.get("client_id") or DEFAULT_CLIENT_ID)
    if state.catalog.seller(user) is None:
        raise _Bad(400, f"unknown user {user!r}")
    if client_id not in state.config.clients():
        raise _Bad(400, f"unknown client_id {client_id!r}")
    return issue_user_tokens(state, client_id, user)


@_admin
async def all_offers(request: Request, state: SandboxState) -> dict[str, Any]:
    state.settle()
    return {
        "offers": [
            {
                **render_offer(offer, state.catalog, state.seller(offer.seller)),
                "seller": offer.seller,
            }
            for offer in state.offers.values()
        ]
    }


@_admin
async def purchase(request: Request, state: SandboxState) -> dict[str, Any]:
    now = state.settle()
    offer_id = str(request.path_params["offer_id"])
    offer = state.offers.get(offer_id)
    if offer is None:
        raise _Bad(404, f"unknown offer {offer_id!r}")
    body = await _json(request)
    quantity = body.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise _Bad(400, "quantity must be a positive integer")
    if offer.status != "ACTIVE":
        raise _Bad(409, f"offer {offer_id} is {offer.status}: only an ACTIVE offer is bought")
    available = stock_available(offer.body)
    if quantity > available:
        raise _Bad(409, f"offer {offer_id} has {available} units available, not {quantity}")
    left = available - quantity
    set_stock_available(offer, left)
    offer.sold += quantity
    offer.updated_at = now
    offer.revision += 1
    if left == 0:
        end(offer, "EMPTY_STOCK", now)  # selling the last unit ends the offer [FACTS §11]
    return {
        "id": offer.id,
        "stock": {"available": left, "sold": offer.sold},
        "publication": {"status": offer.status, "endedBy": offer.ended_by},
    }


@_admin
async def logged_requests(request: Request, state: SandboxState) -> dict[str, Any]:
    try:
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        raise _Bad(400, "since must be an integer") from None
    return {"requests": state.log.since(since)}


# -- the page behind verification_uri --------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allegro sandbox: connect an app</title></head>
<body><h1>Connect an application (Allegro sandbox)</h1>{message}
<form method="post"><p><label>Code <input name="code" value="{code}"></label></p>
<p><label>Seller <select name="user">{users}</select></label></p>
<p><button name="decision" value="approve">Allow</button>
<button name="decision" value="deny">Refuse</button></p></form></body></html>
"""


def _page(state: SandboxState, code: str, message: str = "") -> HTMLResponse:
    users = "".join(
        f'<option value="{html.escape(s.login)}">{html.escape(s.login)}</option>'
        for s in state.catalog.sellers()
    )
    return HTMLResponse(
        _PAGE.format(
            code=html.escape(code),
            users=users,
            message=f"<p>{html.escape(message)}</p>" if message else "",
        )
    )


async def verification_page(request: Request) -> Response:
    state = _state(request)
    if request.method == "GET":
        return _page(state, request.query_params.get("code", ""))
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    code = form.get("code", "")
    approve = form.get("decision") == "approve"
    try:
        _decide(state, code, form.get("user") or "seller" if approve else None)
    except _Bad as bad:
        return _page(state, code, str(bad))
    return _page(
        state, "", "Allowed. You can return to the application." if approve else "Refused."
    )


routes = [
    Route("/__sandbox/reset", reset, methods=["POST"]),
    Route("/__sandbox/config", get_config, methods=["GET"]),
    Route("/__sandbox/config", patch_config, methods=["PATCH"]),
    Route("/__sandbox/faults", list_faults, methods=["GET"]),
    Route("/__sandbox/faults", add_fault, methods=["POST"]),
    Route("/__sandbox/clock", advance_clock, methods=["POST"]),
    Route("/__sandbox/device/approve", approve_device, methods=["POST"]),
    Route("/__sandbox/device/deny", deny_device, methods=["POST"]),
    Route("/__sandbox/tokens", token_counts, methods=["GET"]),
    Route("/__sandbox/tokens", issue_token, methods=["POST"]),
    Route("/__sandbox/offers", all_offers, methods=["GET"]),
    Route("/__sandbox/offers/{offer_id}/purchase", purchase, methods=["POST"]),
    Route("/__sandbox/requests", logged_requests, methods=["GET"]),
    Route(VERIFICATION_PATH, verification_page, methods=["GET", "POST"]),
]
