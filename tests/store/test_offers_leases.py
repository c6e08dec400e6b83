"""The offer registry and the per-SKU publishing lease."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.store.conftest import FakeClock
from workers.store import OfferRecord, Store


def test_offer_round_trip(store: Store, clock: FakeClock) -> None:
    assert store.get_offer("default", "A1") is None
    body = {
        "name": "Słuchawki X200",
        "productSet": [{"product": {"id": "a1b2", "parameters": []}}],
        "sellingMode": {"price": {"amount": "129.99", "currency": "PLN"}},
    }
    record = OfferRecord(
        account="default",
        sku="A1",
        offer_id="7712345678",
        publication_status="ACTIVE",
        fingerprint="sha256:abc",
        published_version=42,
        published_body=body,
    )
    store.save_offer(record)
    got = store.get_offer("default", "A1")
    # Without updated_at, the store's clock stamps the entry (UTC).
    assert got == replace(record, updated_at=clock.now)
    assert got is not None and got.updated_at is not None
    assert got.updated_at.utcoffset() == timedelta(0)


def test_save_offer_replaces_the_entry(store: Store) -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    store.save_offer(OfferRecord("default", "A1", "1", "INACTIVE", "f1", 1, {"a": 1}))
    store.save_offer(OfferRecord("default", "A1", "2", updated_at=stamp))
    assert store.get_offer("default", "A1") == OfferRecord(
        "default", "A1", "2", None, None, None, None, stamp
    )
    assert store.get_offer("other", "A1") is None


def test_lease_is_exclusive_and_reentrant(store: Store) -> None:
    assert store.acquire_lease("default", "A1", "worker-1", 60)
    assert not store.acquire_lease("default", "A1", "worker-2", 60)
    assert store.acquire_lease("default", "A1", "worker-1", 60)  # the owner again
    # Leases are per SKU and per account.
    assert store.acquire_lease("default", "A2", "worker-2", 60)
    assert store.acquire_lease("other", "A1", "worker-2", 60)


def test_lease_expires_and_can_be_taken_over(store: Store, clock: FakeClock) -> None:
    assert store.acquire_lease("default", "A1", "worker-1", 30)
    clock.advance(29.9)
    assert not store.acquire_lease("default", "A1", "worker-2", 30)
    clock.advance(0.1)  # exactly at expiry: free
    assert store.acquire_lease("default", "A1", "worker-2", 30)
    assert not store.acquire_lease("default", "A1", "worker-1", 30)


def test_reacquiring_extends_the_lease(store: Store, clock: FakeClock) -> None:
    assert store.acquire_lease("default", "A1", "worker-1", 30)
    clock.advance(20)
    assert store.acquire_lease("default", "A1", "worker-1", 30)  # now until +50
    clock.advance(20)
    assert not store.acquire_lease("default", "A1", "worker-2", 30)


def test_release_frees_only_the_owners_lease(store: Store) -> None:
    assert store.acquire_lease("default", "A1", "worker-1", 60)
    store.release_lease("default", "A1", "worker-2")  # not the owner: no effect
    assert not store.acquire_lease("default", "A1", "worker-2", 60)
    store.release_lease("default", "A1", "worker-1")
    assert store.acquire_lease("default", "A1", "worker-2", 60)
    store.release_lease("default", "never", "worker-1")  # nothing to release


def test_lease_needs_a_positive_ttl(store: Store) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        store.acquire_lease("default", "A1", "worker-1", 0)


def test_lease_contention_between_store_objects(make_store: Callable[..., Store]) -> None:
    # Two store objects (as two processes would have) on one database and clock.
    first, second = make_store(), make_store()
    winners = [
        owner
        for owner, store in (("w1", first), ("w2", second), ("w1", second), ("w2", first))
        if store.acquire_lease("default", "A1", owner, 60)
    ]
    assert winners == ["w1", "w1"]
