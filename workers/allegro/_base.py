"""What the endpoint mixins of :class:`~workers.allegro.client.AllegroClient` share."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from workers.allegro._http import HttpCore
from workers.allegro.errors import InvalidRequest
from workers.settings import Settings

__all__ = ["ClientBase", "segment"]


class ClientBase:
    """Attributes the mixins rely on; set by ``AllegroClient.__init__``."""

    _http: HttpCore
    _settings: Settings
    _sleep: Callable[[float], None]
    _clock: Callable[[], float]


def segment(value: str, what: str = "id") -> str:
    """``value`` as one URL path segment; rejects empty values (a client bug)."""
    text = str(value).strip()
    if not text:
        raise InvalidRequest(f"{what} must not be empty")
    return quote(text, safe="")
