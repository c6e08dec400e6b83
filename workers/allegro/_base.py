"""What the endpoint mixins of :class:`~workers.allegro.client.AllegroClient` share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote

from workers.allegro._http import HttpCore
from workers.allegro.errors import InvalidRequest
from workers.settings import Settings

__all__ = ["ClientBase", "segment", "unique_offer_ids"]


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


def unique_offer_ids(values: Iterable[str]) -> list[str]:
    """``values`` stripped, each once, in their order; rejects an empty one (a client bug)."""
    ids: dict[str, None] = {}  # insertion-ordered set
    for value in values:
        text = str(value).strip()
        if not text:
            raise InvalidRequest("offer ids must not be empty")
        ids[text] = None
    return list(ids)
