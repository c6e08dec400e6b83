"""The sandbox as one Starlette app: OAuth, the REST API and the admin endpoints share a port.

    app = create_app(SandboxConfig(async_ratio=0.5), Catalog.load_default())

Serve it with any ASGI server; ``sandbox.server`` runs it under uvicorn and
``sandbox.testing.running_sandbox`` in a test.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox import (
    admin,
    oauth,
    routes_categories,
    routes_commands,
    routes_me,
    routes_offer_search,
    routes_offers,
)
from sandbox.catalog import Catalog
from sandbox.config import SandboxConfig
from sandbox.gateway import Gateway, is_admin_path
from sandbox.responses import ApiError, error_item, errors_response
from sandbox.state import SandboxState

__all__ = ["create_app"]


def create_app(config: SandboxConfig | None = None, catalog: Catalog | None = None) -> Starlette:
    """A fresh sandbox with its own state. ``config`` defaults to the defaults (Allegro's
    limits, no faults), ``catalog`` to the data shipped in ``sandbox/data``."""
    state = SandboxState(config or SandboxConfig(), catalog or Catalog.load_default())
    app = Starlette(
        routes=[
            *oauth.routes,
            *routes_categories.routes,
            *routes_offers.routes,
            *routes_offer_search.routes,
            *routes_commands.routes,
            *routes_me.routes,
            *admin.routes,
        ],
        middleware=[Middleware(Gateway)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
        },
    )
    app.state.sandbox = state
    return app


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods, in Allegro's shape (admin paths: plain JSON)."""
    assert isinstance(exc, HTTPException)
    if is_admin_path(request.url.path):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 405:
        item = error_item(
            "MethodNotAllowedException", f"Request method '{request.method}' is not supported"
        )
    elif exc.status_code == 404:
        item = error_item(
            "NotFoundException",
            "Requested resource was not found",
            user_message="The requested resource was not found.",
        )
    else:
        item = error_item("HttpException", str(exc.detail))
    return errors_response(exc.status_code, [item], exc.headers)
