"""What the batcher reports through, and the callback of the PATCH path.

- :class:`Reporter`: the part of :class:`workers.status.StatusReporter` the batcher uses
  (record the status in the store's outbox, publish it, once per event).
- :data:`OnTaskFailed`: called with a :class:`~workers.batching.model.Handover` for a change
  the batch commands could not make; it hands the SKU to the publish actor (one PATCH),
  whose status then stands for the change (see :mod:`workers.batching.handover`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from schemas.status import StatusError, StatusMessage

from .model import Handover

__all__ = ["OnTaskFailed", "Reporter", "status_errors"]


class Reporter(Protocol):
    def report(self, message: StatusMessage) -> bool:
        """Record and publish ``message``; False when its event has its status already."""

    def report_many(self, messages: Sequence[StatusMessage]) -> list[bool]:
        """:meth:`report` for each message, recorded together."""


OnTaskFailed = Callable[[Handover], None]


def status_errors(items: Iterable[Mapping[str, Any]], *, fallback: str) -> list[StatusError]:
    """Error items in Allegro's shape (``code``, ``message``, ``path``, ``userMessage``;
    ``user_message`` is taken too) as status items; one item saying ``fallback`` when
    there is none."""
    errors = []
    for item in items:
        code = str(item.get("code") or "ALLEGRO_ERROR")
        message = item.get("message") or item.get("userMessage") or item.get("user_message")
        user = item.get("userMessage") or item.get("user_message") or message
        errors.append(
            StatusError(
                code=code,
                message=str(message or code or fallback),
                path=item.get("path"),
                user_message=str(user or fallback),
            )
        )
    return errors or [StatusError(code="ALLEGRO_ERROR", message=fallback, user_message=fallback)]
