"""The batcher's settings, read from the one settings object.

:class:`BatchSettings` is the part of :class:`workers.settings.Settings` the batcher uses,
in its units (with seconds derived); its defaults are the settings' own, so that a test can
build one without the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.settings import Settings

__all__ = ["BatchSettings"]


def _default(name: str) -> Any:
    """The default of the settings field ``name`` (one place for every default)."""
    return Settings.model_fields[name].default


#: Fewer pending changes than this (an account's) is a light load: the batch window then
#: runs alongside the coalescing window instead of after it. A steady stream of 100 changes
#: a second keeps about 30 waiting; a burst or a bulk import, hundreds within a fraction of
#: a second, whose values are worth holding until they settle.
LIGHT_LOAD = 200


@dataclass(frozen=True)
class BatchSettings:
    """What the batcher needs to know.

    - ``coalesce_window_ms``: changes of one SKU's stock (or price) staged within this long
      of the first become one change carrying the newest value, ms;
    - ``batch_window_ms``: a command is sent when it is full or when this long has passed
      since its earliest change arrived, alongside that change's coalescing window (a
      change waits the longer of the two), while fewer than :data:`LIGHT_LOAD` changes
      wait; with more, since the coalescing window closed (the sum), ms;
    - ``batch_max_offers``: offers per command (Allegro's maximum: 1,000);
    - ``burst_hold_ms``: while a burst keeps changing SKUs that are already waiting (the
      changes staged in the last batch window land mostly on them), commands are held
      until it passes, at most this long beyond the windows of the oldest change (a full
      command is never held), ms;
    - ``command_poll_interval_ms``: pause between two polls of one command's report, ms;
    - ``currency``: the account's base currency (price commands are sent in it);
    - ``sku_lease_s``: how long the batcher holds a SKU while its change is in flight
      (renewed for commands that take longer), s.
    """

    coalesce_window_ms: float = _default("coalesce_window_ms")
    batch_window_ms: float = _default("batch_window_ms")
    batch_max_offers: int = _default("batch_max_offers")
    burst_hold_ms: float = _default("batch_burst_hold_ms")
    command_poll_interval_ms: float = _default("command_poll_interval_ms")
    currency: str = "PLN"  # the default marketplace's (allegro-pl)
    sku_lease_s: float = _default("sku_lease_s")

    def __post_init__(self) -> None:
        if not 1 <= self.batch_max_offers <= 1000:
            raise ValueError("batch_max_offers must lie in 1..1000 (Allegro's maximum)")
        if self.command_poll_interval_ms <= 0 or self.sku_lease_s <= 0:
            raise ValueError("command_poll_interval_ms and sku_lease_s must be positive")

    @classmethod
    def of(cls, settings: Settings | BatchSettings) -> BatchSettings:
        """``settings`` as is when it is a BatchSettings, else read from it (the settings
        validated the values already)."""
        if isinstance(settings, BatchSettings):
            return settings
        return cls(
            coalesce_window_ms=settings.coalesce_window_ms,
            batch_window_ms=settings.batch_window_ms,
            batch_max_offers=settings.batch_max_offers,
            burst_hold_ms=settings.batch_burst_hold_ms,
            command_poll_interval_ms=settings.command_poll_interval_ms,
            currency=settings.currency.upper(),
            sku_lease_s=settings.sku_lease_s,
        )

    @property
    def coalesce_s(self) -> float:
        return self.coalesce_window_ms / 1000.0

    @property
    def batch_s(self) -> float:
        return self.batch_window_ms / 1000.0

    def send_after_s(self, pending: int) -> float:
        """How long after a change arrived its command is due (unless it fills first or
        a burst holds it), with ``pending`` changes waiting: under a light load
        (:data:`LIGHT_LOAD`) the batch window runs from the change's arrival, alongside its
        coalescing window (a change waits the longer of the two: latency first); under a
        heavier one it runs once the coalescing window closed (the sum: fuller commands,
        and the start of a burst is seen before its first values go out)."""
        if pending < LIGHT_LOAD:
            return max(self.coalesce_s, self.batch_s)
        return self.coalesce_s + self.batch_s

    def batch_after_ready_s(self, pending: int) -> float:
        """What is left of the batch window once a change's coalescing window closed
        (see :meth:`send_after_s`)."""
        return self.send_after_s(pending) - self.coalesce_s

    @property
    def hold_s(self) -> float:
        return self.burst_hold_ms / 1000.0

    @property
    def poll_s(self) -> float:
        return self.command_poll_interval_ms / 1000.0
