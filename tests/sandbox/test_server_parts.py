"""The sandbox server's building blocks without a server: knobs, command line, clock,
sliding windows, merge patch, the offer store's index and amount formatting."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sandbox.clock import SandboxClock, iso_millis
from sandbox.config import SandboxConfig, UnknownKnobError
from sandbox.lifecycle import merge_patch
from sandbox.limits import SlidingWindow
from sandbox.offer_fields import listing_amount, offer_amount, resolve_reference
from sandbox.server import add_arguments, config_from_args
from sandbox.state import Offer, OfferStore

# -- knobs ------------------------------------------------------------------------------------


def test_defaults_are_allegros() -> None:
    config = SandboxConfig()
    assert (config.client_limit_per_min, config.client_block_s) == (9000, 60.0)
    assert (config.seller_offer_writes_per_min, config.seller_offer_writes_per_h) == (2490, 74700)
    assert config.seller_batch_changes_per_min == 9000
    assert (config.access_token_ttl_s, config.refresh_grace_s) == (43199, 60.0)
    assert config.retry_after_s == 5
    assert config.clients() == {"local-client-id": "local-client-secret"}


def test_knobs_from_the_environment() -> None:
    config = SandboxConfig.from_env(
        {
            "ALLEGRO_SANDBOX_ASYNC_RATIO": "0.5",
            "ALLEGRO_SANDBOX_SEED": "7",
            "ALLEGRO_SANDBOX_CLIENT_BLOCK_EXTENDS": "true",
            "ALLEGRO_SANDBOX_EXTRA_CLIENTS": "a:b, c:d",
            "UNRELATED": "x",
        }
    )
    assert (config.async_ratio, config.seed, config.client_block_extends) == (0.5, 7, True)
    assert config.clients()["c"] == "d"


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        ({"nope": 1}, UnknownKnobError),
        ({"async_ratio": 1.5}, ValueError),
        ({"seed": "x"}, ValueError),
        ({"seed": 1.5}, ValueError),
        ({"latency_ms": -1}, ValueError),
        ({"client_block_extends": "maybe"}, ValueError),
        ({"extra_clients": "no-secret"}, ValueError),
    ],
)
def test_bad_knobs_are_refused(knobs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        SandboxConfig().with_knobs(knobs)


def test_command_line_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLEGRO_SANDBOX_SEED", "3")
    monkeypatch.setenv("ALLEGRO_SANDBOX_LATENCY_MS", "20")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "9000",
            "--latency-ms",
            "5",
            "--no-rate-limit-retry-after",
            "--client-block-extends",
        ]
    )
    config = config_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 9000)
    assert (config.seed, config.latency_ms) == (3, 5.0)
    assert (config.rate_limit_retry_after, config.client_block_extends) == (False, True)


def test_module_entry_point_has_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--async-ratio" in result.stdout and "--port" in result.stdout


# -- clock and windows ------------------------------------------------------------------------


def test_clock_only_moves_forward() -> None:
    clock = SandboxClock()
    before = clock.now()
    assert clock.advance(3600) >= before + 3600
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.reset()
    assert clock.now() < before + 3600


def test_iso_millis() -> None:
    assert iso_millis(0.5) == "1970-01-01T00:00:00.500Z"


def test_sliding_window_forgets_old_events() -> None:
    window = SlidingWindow(60.0)
    window.add(1000.0)
    window.add(1030.5, 2)
    assert window.count(1059.9) == 3
    assert window.count(1060.0) == 2
    assert window.count(1091.0) == 0


# -- offers -----------------------------------------------------------------------------------


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    patched = merge_patch(target, {"a": {"b": None, "c": [3]}, "e": {"f": None}})
    assert patched == {"a": {"c": [3]}, "d": 1, "e": {}}
    assert target == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def _offer(offer_id: str, seller: str, external: object) -> Offer:
    body = {"external": {"id": external}}
    return Offer(offer_id, seller, body, [], created_at=0, updated_at=0, validated_at=0)


def test_offer_store_indexes_the_external_id_of_every_new_body() -> None:
    store = OfferStore()
    mine, theirs = _offer("1", "seller", "A"), _offer("2", "other", "A")
    store.add(mine)
    store.add(theirs)
    assert store.with_external_ids("seller", ["A", "A", "B"]) == [mine]
    mine.body = {**mine.body, "external": {"id": "B"}}
    assert store.with_external_ids("seller", ["A"]) == []
    assert store.with_external_ids("seller", ["B"]) == [mine]
    mine.body = {"external": {"id": 5}}  # not a string: no query can match it
    assert store.with_external_ids("seller", ["B", "5"]) == []
    mine.body = {"external": {"id": "A"}}
    assert store.with_external_ids("seller", ["A"]) == [mine]
    assert store.with_external_ids("other", ["A"]) == [theirs]
    assert (store.of_seller("seller"), store.get("2"), len(store)) == ([mine], theirs, 2)
    with pytest.raises(ValueError, match="already stored"):
        store.add(_offer("1", "seller", "C"))


@pytest.mark.parametrize(
    ("amount", "offer", "listing"),
    [
        ("179", "179.00", "179.0"),
        ("12.5", "12.50", "12.5"),
        ("10.55", "10.55", "10.55"),
        ("1.005", "1.005", "1.005"),
    ],
)
def test_amount_formats(amount: str, offer: str, listing: str) -> None:
    assert (offer_amount(amount), listing_amount(amount)) == (offer, listing)


def test_references_resolve_like_allegro() -> None:
    options = ({"id": "1", "name": "default"}, {"id": "2", "name": "express"})
    assert resolve_reference(None, options) == {"id": "1"}
    assert resolve_reference({"name": "express"}, options) == {"id": "2"}
    assert resolve_reference({"id": "9"}, options) == {"id": "9"}
    assert resolve_reference(None, ({"id": "3", "name": "only"},)) == {"id": "3"}
    assert resolve_reference(None, ({"id": "3", "name": "a"}, {"id": "4", "name": "b"})) is None
