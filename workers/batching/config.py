"""The batcher's settings, read from the one settings object.

``workers.settings.Settings`` does not declare these fields yet: they are read with
``getattr(settings, name, default)``, so adding them there (``ALLEGRO_FEED_<NAME>``) is all
it takes to make them configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BatchSettings"]


def _number(settings: object, name: str, default: float) -> float:
    value: Any = getattr(settings, name, default)
    if value is None:
        return default
    number = float(value)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return number


@dataclass(frozen=True)
class BatchSettings:
    """What the batcher needs to know.

    - ``coalesce_window_ms``: changes of one SKU's stock (or price) staged within this long
      of the first become one change carrying the newest value, ms;
    - ``batch_window_ms``: a command is sent when it is full or when this long has passed
      since its earliest change was ready (its coalescing window closed), ms;
    - ``batch_max_offers``: offers per command (Allegro's maximum: 1,000);
    - ``burst_hold_ms``: while a burst keeps changing SKUs that are already waiting (the
      changes staged in the last batch window land mostly on them), commands are held
      until it passes, at most this long beyond the two windows of the oldest change (a
      full command is never held), ms;
    - ``command_poll_interval_ms``: pause between two polls of one command's report, ms;
    - ``currency``: the account's base currency (price commands are sent in it);
    - ``sku_lease_s``: how long the batcher holds a SKU while its change is in flight
      (renewed for commands that take longer), s.
    """

    coalesce_window_ms: float = 200.0
    batch_window_ms: float = 300.0
    batch_max_offers: int = 1000
    burst_hold_ms: float = 5000.0
    command_poll_interval_ms: float = 250.0
    currency: str = "PLN"
    sku_lease_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_max_offers <= 1000:
            raise ValueError("batch_max_offers must lie in 1..1000 (Allegro's maximum)")
        if self.command_poll_interval_ms <= 0 or self.sku_lease_s <= 0:
            raise ValueError("command_poll_interval_ms and sku_lease_s must be positive")

    @classmethod
    def of(cls, settings: object) -> BatchSettings:
        """``settings`` as is when it is a BatchSettings, else read from it (missing fields
        take the defaults above)."""
        if isinstance(settings, BatchSettings):
            return settings
        currency: Any = getattr(settings, "currency", cls.currency)
        return cls(
            coalesce_window_ms=_number(settings, "coalesce_window_ms", cls.coalesce_window_ms),
            batch_window_ms=_number(settings, "batch_window_ms", cls.batch_window_ms),
            batch_max_offers=int(_number(settings, "batch_max_offers", cls.batch_max_offers)),
            burst_hold_ms=_number(settings, "batch_burst_hold_ms", cls.burst_hold_ms),
            command_poll_interval_ms=_number(
                settings, "command_poll_interval_ms", cls.command_poll_interval_ms
            ),
            currency=str(currency or cls.currency).upper(),
            sku_lease_s=_number(settings, "sku_lease_s", cls.sku_lease_s),
        )

    @property
    def coalesce_s(self) -> float:
        return self.coalesce_window_ms / 1000.0

    @property
    def batch_s(self) -> float:
        return self.batch_window_ms / 1000.0

    @property
    def hold_s(self) -> float:
        return self.burst_hold_ms / 1000.0

    @property
    def poll_s(self) -> float:
        return self.command_poll_interval_ms / 1000.0
