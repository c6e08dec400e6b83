"""Allegro's ``errors[]`` items: :class:`ErrorItem` and :func:`parse_error_items`.

Allegro lists what it refused in ``{"errors": [...]}`` bodies, in validation results and in
the tasks of a batch command; the errors of :mod:`workers.allegro.errors` carry them as
``errors``. Both are re-exported from :mod:`workers.allegro.errors`, their public home.

No secret reaches an item's text: its free texts and metadata values are scrubbed with
:func:`workers.logging.redact_text` when the item is made (Allegro's 401
``error_description`` may quote the refused token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workers.logging import redact_text

__all__ = ["ErrorItem", "parse_error_items"]


class ErrorItem(BaseModel):
    """One entry of Allegro's ``errors[]`` (also used in validation and task reports).

    Parsed leniently: every field may be missing or null, ``metadata`` may arrive as ``[]``
    (seen in production) and its values are turned into strings.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    code: str | None = None
    message: str | None = None
    details: str | None = None
    path: str | None = None
    user_message: str | None = Field(default=None, alias="userMessage")
    metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("code", "path", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    @field_validator("message", "details", "user_message", mode="before")
    @classmethod
    def _free_text(cls, value: Any) -> Any:
        # Free text may quote what was sent, a token included: scrubbed once, here.
        if value is None:
            return value
        return redact_text(value if isinstance(value, str) else str(value))

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> dict[str, str]:
        # Allegro documents a string map, production sends [] for "no metadata".
        if isinstance(value, Mapping):
            return {
                str(k): redact_text(v if isinstance(v, str) else _to_text(v))
                for k, v in value.items()
            }
        return {}

    def summary(self) -> str:
        """``code: message (path)``, the short form used in exception messages."""
        text = self.user_message or self.message or ""
        head = f"{self.code}: {text}" if self.code else text
        return f"{head} (at {self.path})" if self.path else head


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_to_text(v) for v in value)
    return str(value)


def parse_error_items(body: Any) -> tuple[ErrorItem, ...]:
    """Read Allegro's ``{"errors": [...]}`` (or a bare list) into items; tolerant of junk."""
    raw = body.get("errors") if isinstance(body, Mapping) else body
    if not isinstance(raw, list):
        return ()
    items: list[ErrorItem] = []
    for entry in raw:
        if isinstance(entry, Mapping):
            items.append(ErrorItem.model_validate(entry))
        elif entry is not None:
            items.append(ErrorItem(message=str(entry)))
    return tuple(items)
