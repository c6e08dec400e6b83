"""Retry policy of one call: which failures are retried, how long to wait, when to stop.

- Only :class:`TransientError` classes are retried, decided by class, never by text.
- Never retried within a call: a 429 of the token endpoint (:class:`TokenRateLimited`:
  asking again while blocked makes the block longer), and an error raised while getting
  an API call's token (``while_authenticating``: the token call had its own retries).
- A request that is not idempotent (:attr:`Retry.UNSAFE`) is retried only after failures
  that certainly did not take effect (429, refused connection, connect timeout).
- At most ``retry_max_attempts`` attempts and ``retry_max_time_s`` in total (a wait that
  would end past the budget is not started).
- Waits: Allegro's ``Retry-After`` when sent and not above ``retry_after_max_s``; a longer
  one is raised at once (the caller reschedules instead of blocking a worker). Otherwise
  exponential backoff with jitter between ``retry_backoff_initial_s`` and
  ``retry_backoff_max_s``.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time
from collections.abc import Callable

import structlog
import tenacity

from workers.allegro.errors import OperationPending, TokenRateLimited, TransientError
from workers.settings import Settings

__all__ = ["Retry", "RetryPolicy", "backoff_s", "parse_retry_after"]

log = structlog.get_logger(__name__)


class Retry(enum.Enum):
    """Which transient failures a call may retry."""

    SAFE = "safe"  # idempotent request: any transient failure
    UNSAFE = "unsafe"  # not idempotent: only failures that certainly did not take effect
    NEVER = "never"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or HTTP date); None if absent
    or unreadable. Negative values count as 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


def backoff_s(attempt: int, initial_s: float, max_s: float) -> float:
    """Exponential backoff with jitter: ``initial * 2^(attempt-1)`` plus up to ``initial``
    of random jitter (so that processes retrying together spread out), at most ``max_s``."""
    exponential = initial_s * 2.0 ** min(max(attempt - 1, 0), 30)
    return min(max_s, exponential + random.uniform(0, initial_s))


class RetryPolicy:
    """Builds the tenacity controller of each call from the settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.clock = clock

    def retryable(self, exc: BaseException, retry: Retry) -> bool:
        """Whether ``exc`` may be retried under ``retry``; decided by class, never text."""
        if retry is Retry.NEVER or not isinstance(exc, TransientError):
            return False
        if isinstance(exc, OperationPending):
            return False  # the caller resumes it with wait_operation()
        if isinstance(exc, TokenRateLimited) or exc.while_authenticating:
            return False  # see the module doc: the caller waits or reschedules
        if exc.retry_after_s is not None and exc.retry_after_s > self.settings.retry_after_max_s:
            return False  # a long wait is the caller's to schedule, not ours to sleep
        return not (retry is Retry.UNSAFE and exc.maybe_applied)

    def retrying(self, retry: Retry, *, max_time_s: float | None = None) -> tenacity.Retrying:
        """A tenacity controller for one call (attempt and time bounds start now);
        ``max_time_s`` lowers ``retry_max_time_s`` for this call."""
        s = self.settings
        limit_s = s.retry_max_time_s if max_time_s is None else min(max_time_s, s.retry_max_time_s)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and exc.retry_after_s is not None:
                return exc.retry_after_s
            return backoff_s(state.attempt_number, s.retry_backoff_initial_s, s.retry_backoff_max_s)

        return tenacity.Retrying(
            sleep=self.sleep,
            stop=tenacity.stop_after_attempt(s.retry_max_attempts)
            | _OutOfTime(self.clock, limit_s),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda exc: self.retryable(exc, retry)),
            before_sleep=_log_retry,
            reraise=True,
        )


class _OutOfTime(tenacity.stop.stop_base):
    """Do not start a wait that would end past the call's time budget (counted from now)."""

    def __init__(self, clock: Callable[[], float], max_time_s: float) -> None:
        self.clock = clock
        self.max_time_s = max_time_s
        self.started = clock()

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        return self.clock() - self.started + state.upcoming_sleep > self.max_time_s


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "allegro.retry",
        error=type(exc).__name__,
        status=getattr(exc, "status", None),
        trace_id=getattr(exc, "trace_id", None),
        method=getattr(exc, "method", None),
        path=getattr(exc, "path", None),
        attempt=state.attempt_number,
        wait_s=round(state.upcoming_sleep, 3),
    )
