"""``GET /me`` (meGET): the seller behind a user token, with its base marketplace.

A seller's base marketplace is fixed by where it registered (FACTS §12); the sandbox's
sellers have theirs in the catalogue (``seller``: allegro-pl, ``seller-cz``: allegro-cz).
Allegro asks for the ``allegro:api:profile:read`` scope; the sandbox answers any valid
user token (its tokens carry the offer scopes only).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import Call, endpoint
from sandbox.responses import AllegroJSON

__all__ = ["routes"]


@endpoint()
async def me(call: Call) -> Response:
    seller = call.seller
    return AllegroJSON(
        {
            "id": seller.user_id,
            "login": seller.login,
            "baseMarketplace": {"id": seller.marketplace},
        }
    )


routes = [Route("/me", me, methods=["GET"])]
