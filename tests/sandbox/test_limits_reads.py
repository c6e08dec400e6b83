"""The sandbox's per-seller read counters (FACTS §3): GET of one product offer, 3,500 a
minute; offer changes read by batch command report and /tasks GETs, 270,000 a minute."""

from __future__ import annotations

from sandbox.config import SandboxConfig
from sandbox.limits import Limits

NOW = 1_800_000_000.0


def test_the_defaults_are_allegros_figures() -> None:
    config = SandboxConfig()
    assert (config.seller_offer_reads_per_min, config.seller_batch_reads_per_min) == (
        3500,
        270_000,
    )


def test_offer_reads_per_seller_per_sliding_minute() -> None:
    limits, config = Limits(), SandboxConfig(seller_offer_reads_per_min=2)
    assert limits.offer_read_allowed("a", NOW, config)
    assert limits.offer_read_allowed("a", NOW + 1, config)
    assert not limits.offer_read_allowed("a", NOW + 2, config)
    assert limits.offer_read_allowed("b", NOW + 2, config)  # another seller's own
    assert not limits.offer_read_allowed("a", NOW + 60, config)  # the refused one counted
    assert limits.offer_read_allowed("a", NOW + 63, config)


def test_batch_reads_reserve_their_offer_changes_or_nothing() -> None:
    limits, config = Limits(), SandboxConfig(seller_batch_reads_per_min=1500)
    assert limits.batch_reads_allowed("a", 1000, NOW, config)
    assert not limits.batch_reads_allowed("a", 1000, NOW + 1, config)
    assert limits.batch_reads_allowed("a", 500, NOW + 1, config)  # the refusal took nothing
    assert not limits.batch_reads_allowed("a", 1, NOW + 2, config)
    assert limits.batch_reads_allowed("b", 1000, NOW + 2, config)
    assert limits.batch_reads_allowed("a", 1000, NOW + 60, config)
