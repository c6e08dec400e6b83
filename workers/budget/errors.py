"""The rate budget's errors, in :mod:`workers.allegro.errors`' tree so that the retry and
reschedule code treats them like Allegro's own answers.

- :class:`BudgetExhausted` (a :class:`~workers.allegro.errors.RateLimited`): the budget
  has no room for a request soon enough; the request was not sent. ``retry_after_s`` says
  when it would fit.
- :class:`BudgetUnavailable` (a :class:`~workers.allegro.errors.TransientError`): the
  budget's backend cannot be reached; nothing was sent (the budget fails closed: sending
  unbudgeted risks a one-minute block of the whole client id).
"""

from __future__ import annotations

from typing import Any

from workers.allegro.errors import RateLimited, TransientError

__all__ = ["BudgetExhausted", "BudgetUnavailable"]


class BudgetExhausted(RateLimited):
    """The shared rate budget of ``kind`` has no room within the inline wait; the request
    was not sent (``maybe_applied`` is False). Retry after ``retry_after_s`` seconds."""

    def __init__(
        self,
        retry_after_s: float,
        *,
        kind: str | None = None,
        account: str | None = None,
        **context: Any,
    ) -> None:
        which = f" ({kind}{f' of {account}' if account and kind != 'client' else ''})"
        super().__init__(
            f"rate budget exhausted{which if kind else ''}; the request was not sent, "
            f"retry in {retry_after_s:.3g} s",
            retry_after_s=retry_after_s,
            maybe_applied=False,
            **context,
        )
        self.kind = kind
        self.account = account


class BudgetUnavailable(TransientError):
    """The rate budget's backend (database or Redis) cannot be reached or failed."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message, maybe_applied=False, **context)
