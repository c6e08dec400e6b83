"""The category-parameter cache, OAuth tokens, and the two named locks."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.store._proc import run_together
from tests.store.conftest import FakeClock
from workers.allegro.tokens import TokenSet
from workers.store import CachedParameters, Store

PARAMETERS = [
    {
        "id": "11323",
        "name": "Stan",
        "type": "dictionary",
        "required": True,
        "dictionary": [{"id": "11323_1", "value": "Nowy"}],
        "restrictions": {"multipleChoices": False},
    }
]


def test_parameter_cache_round_trip(store: Store, clock: FakeClock) -> None:
    assert store.cached_parameters("165") is None
    store.put_parameters("165", PARAMETERS)
    assert store.cached_parameters("165") == CachedParameters("165", PARAMETERS, clock.now)
    clock.advance(3600)
    store.put_parameters("165", [])
    assert store.cached_parameters("165") == CachedParameters("165", [], clock.now)
    assert store.cached_parameters("166") is None


def test_parameters_lock_lets_one_thread_fetch(store: Store) -> None:
    fetched: list[str] = []
    arrived: list[str] = []
    both_arrived = threading.Event()
    guard = threading.Lock()

    def load(name: str) -> None:
        with guard:
            arrived.append(name)
            if len(arrived) == 2:
                both_arrived.set()
        with store.parameters_lock("165"):
            if store.cached_parameters("165") is None:
                fetched.append(name)
                # Hold the lock until the other thread is at the door: without the lock it
                # would now find the cache empty and fetch as well.
                both_arrived.wait(timeout=10)
                store.put_parameters("165", PARAMETERS)

    threads = [threading.Thread(target=load, args=(name,)) for name in ("t1", "t2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(fetched) == 1
    cached = store.cached_parameters("165")
    assert cached is not None and cached.parameters == PARAMETERS


def test_named_locks_are_reentrant_in_one_thread(store: Store) -> None:
    with (
        store.parameters_lock("165"),
        store.parameters_lock("165"),
        store.refresh_lock("default"),
        store.refresh_lock("default"),
    ):
        store.put_parameters("165", [])
    # Released for real: another thread gets both at once.
    done = threading.Event()

    def other() -> None:
        with store.parameters_lock("165"), store.refresh_lock("default"):
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=30)
    assert done.is_set()


def test_named_locks_exclude_other_processes(store: Store, store_url: str) -> None:
    with store.parameters_lock("165"), store.refresh_lock("default"):
        (results,) = run_together(
            [
                "try-locks",
                store_url,
                "0.3",
                "parameters:165",
                "refresh:default",
                "parameters:166",
                "refresh:other",
            ]
        )
    assert results == ["timeout", "timeout", "acquired", "acquired"]


def test_locks_of_different_keys_do_not_wait(make_store: Callable[..., Store]) -> None:
    first, second = make_store(), make_store(lock_timeout_s=0.5)
    with first.parameters_lock("165"), first.refresh_lock("a"):
        with second.parameters_lock("166"), second.refresh_lock("b"):
            pass
        # The parameters lock of 165 and the refresh lock of "165" are different locks.
        with second.refresh_lock("165"):
            pass


def test_tokens_round_trip(store: Store) -> None:
    assert store.get("default") is None
    tokens = TokenSet("access-1", "refresh-1", 1_800_000_000.5, "allegro:api:sale:offers:write")
    store.put("default", tokens)
    assert store.get("default") == tokens
    app = TokenSet("app-token", None, 1_800_000_100.0)
    store.put("default", app)
    assert store.get("default") == app
    assert store.get("other") is None


def test_token_refresh_race_between_processes(store: Store, store_url: str) -> None:
    # Two processes saw the same expired access token; each runs the refresh protocol.
    store.put("default", TokenSet("stale-access", "refresh-0", 1_800_000_000.0))
    results = run_together(
        ["refresh", store_url, "default", "stale-access", "p1"],
        ["refresh", store_url, "default", "stale-access", "p2"],
    )
    assert sorted(result["result"] for result in results) == ["refreshed", "reused"]
    stored = store.get("default")
    assert stored is not None
    assert stored.access_token in {"access-p1", "access-p2"}
    assert [result["token"] for result in results] == [stored.access_token] * 2
