"""Allegro's response shapes: the media type, ``ErrorsHolder`` items and OAuth ``AuthError``.

Handlers build refusals with :func:`error_item` and raise :class:`ApiError`; the app turns it
into the response, so a refusal deep inside a helper needs no plumbing back to the handler.
:func:`error_item` is the offer rules' :func:`sandbox.rules_common.error`: one builder of
Allegro's ``Error`` shape for the whole sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.rules_common import error as error_item

__all__ = [
    "ALLEGRO_MEDIA_TYPE",
    "AllegroJSON",
    "ApiError",
    "OAuthJSON",
    "access_denied",
    "auth_error",
    "bad_request",
    "error_item",
    "errors_response",
    "invalid_parameter",
    "not_found",
]

ALLEGRO_MEDIA_TYPE = "application/vnd.allegro.public.v1+json"

# Allegro's generic userMessage for requests a program got wrong (seen in #12696, #10293).
CONTACT_AUTHOR = "Request contains invalid data. Contact the application author."


class AllegroJSON(JSONResponse):
    """A JSON body with Allegro's versioned media type."""

    media_type = ALLEGRO_MEDIA_TYPE


class OAuthJSON(JSONResponse):
    """The OAuth server's plain JSON (the token endpoint is not the versioned REST API)."""

    media_type = "application/json;charset=UTF-8"


def errors_response(
    status: int, items: Iterable[dict[str, Any]], headers: Mapping[str, str] | None = None
) -> Response:
    """``{"errors": [...]}`` with the given status."""
    return AllegroJSON({"errors": list(items)}, status_code=status, headers=dict(headers or {}))


def auth_error(
    status: int, error: str, description: str | None = None, *, oauth: bool = False
) -> Response:
    """Allegro's ``AuthError``: ``{"error": ..., "error_description": ...}``."""
    body: dict[str, str] = {"error": error}
    if description is not None:
        body["error_description"] = description
    cls = OAuthJSON if oauth else AllegroJSON
    return cls(body, status_code=status)


class ApiError(Exception):
    """Abort the current request with a ready response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response

    @classmethod
    def errors(
        cls, status: int, *items: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> ApiError:
        return cls(errors_response(status, items, headers))


def bad_request(status: int, code: str, message: str, *, path: str | None = None) -> ApiError:
    """A request the program got wrong (400, 406, 415, 422...), with Allegro's generic
    "contact the application author" ``userMessage``."""
    return ApiError.errors(
        status, error_item(code, message, path=path, user_message=CONTACT_AUTHOR)
    )


def invalid_parameter(path: str, message: str) -> ApiError:
    """422 ``ConstraintViolationException`` on a query parameter or body field."""
    return bad_request(422, "ConstraintViolationException", message, path=path)


def not_found(
    message: str, *, code: str = "NotFoundException", metadata: Mapping[str, str] | None = None
) -> ApiError:
    """404 in Allegro's shape."""
    return ApiError.errors(
        404,
        error_item(
            code, message, metadata=metadata, user_message="The requested resource was not found."
        ),
    )


def access_denied() -> ApiError:
    """403 as Allegro words it (seen in issue #12336)."""
    return ApiError.errors(
        403,
        error_item(
            "AccessDenied", "Access is denied", user_message="No access to the specified resource."
        ),
    )
