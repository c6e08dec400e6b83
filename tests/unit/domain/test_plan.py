"""Fingerprints, merge patches and the publish decision (FACTS.md §7, §11)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from schemas.status import Status
from workers.domain.plan import (
    ALLEGRO_MANAGED,
    PublishAction,
    fingerprint,
    merge_patch,
    plan_publish,
)

ENDED = {"publication": {"status": "ENDED"}}
ACTIVATE = {"publication": {"status": "ACTIVE"}}


def apply(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(Target, Patch), as the RFC's pseudo-code has it."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = apply(result.get(name), value)
    return result


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "productSet": [{"product": {"id": "53cc0bd3-9fc0-4b31-98f3-87ebb39a4178"}}],
        "name": "Słuchawki bezprzewodowe Acme X200 czarne",
        "category": {"id": "165"},
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "description": {"sections": [{"items": [{"type": "TEXT", "content": "<p>x</p>"}]}]},
        "external": {"id": "AH-129834"},
        "stock": {"available": 12, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "129.99", "currency": "PLN"}},
        "images": ["https://shop.example/1.jpg"],
        "delivery": {"handlingTime": "PT24H", "shippingRates": {"name": "default"}},
    }
    data.update(changes)
    return data


def with_stock(available: int, **changes: Any) -> dict[str, Any]:
    return body(stock={"available": available, "unit": "UNIT"}, **changes)


# --- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_is_sha256_hex() -> None:
    value = fingerprint(body())
    assert len(value) == 64 and int(value, 16) >= 0


def test_fingerprint_ignores_key_order() -> None:
    reordered = dict(reversed(list(body().items())))
    reordered["sellingMode"] = {
        "price": {"currency": "PLN", "amount": "129.99"},
        "format": "BUY_NOW",
    }
    assert fingerprint(reordered) == fingerprint(body())


@pytest.mark.parametrize("amount", ["179", "179.0", "179.00"])
def test_fingerprint_compares_prices_as_decimals(amount: str) -> None:
    price = {"format": "BUY_NOW", "price": {"amount": amount, "currency": "PLN"}}
    reference = {"format": "BUY_NOW", "price": {"amount": "179.00", "currency": "PLN"}}
    assert fingerprint(body(sellingMode=price)) == fingerprint(body(sellingMode=reference))
    other = {"format": "BUY_NOW", "price": {"amount": "179.01", "currency": "PLN"}}
    assert fingerprint(body(sellingMode=price)) != fingerprint(body(sellingMode=other))


def test_fingerprint_ignores_publication_and_nulls() -> None:
    assert fingerprint(body(publication={"status": "INACTIVE"})) == fingerprint(body())
    assert fingerprint(body(language=None)) == fingerprint(body())


def test_fingerprint_sees_content_changes() -> None:
    assert fingerprint(with_stock(3)) != fingerprint(body())
    assert fingerprint(body(images=["https://shop.example/2.jpg"])) != fingerprint(body())
    swapped = body(images=["https://shop.example/2.jpg", "https://shop.example/1.jpg"])
    in_order = body(images=["https://shop.example/1.jpg", "https://shop.example/2.jpg"])
    assert fingerprint(swapped) != fingerprint(in_order)  # the first image is the main one


# --- merge patch ------------------------------------------------------------------------------


def test_merge_patch_sends_changed_keys_only() -> None:
    patch = merge_patch(body(), body(name="Słuchawki bezprzewodowe Acme X200 białe"))
    assert patch == {"name": "Słuchawki bezprzewodowe Acme X200 białe"}


def test_merge_patch_recurses_into_objects() -> None:
    old = {"a": {"b": 1, "c": {"d": 2, "e": 3}}}
    new = {"a": {"b": 1, "c": {"d": 2, "e": 4}}}
    assert merge_patch(old, new) == {"a": {"c": {"e": 4}}}


def test_merge_patch_replaces_arrays_whole() -> None:
    old = body(images=["https://shop.example/1.jpg", "https://shop.example/2.jpg"])
    new = body(images=["https://shop.example/1.jpg", "https://shop.example/3.jpg"])
    assert merge_patch(old, new) == {"images": new["images"]}


def test_merge_patch_nulls_removed_fields() -> None:
    old = body()
    new = body()
    del new["description"]
    del new["parameters"]
    assert merge_patch(old, new) == {"description": None, "parameters": None}


def test_merge_patch_never_nulls_allegro_managed_fields() -> None:
    old = body(afterSalesServices={"returnPolicy": {"name": "30 dni"}}, location={"city": "X"})
    new = body()
    del new["delivery"]
    assert merge_patch(old, new) == {}
    new = body(delivery={"shippingRates": {"name": "default"}})
    assert merge_patch(old, new) == {}  # handlingTime stays as Allegro has it
    new = body(delivery={"handlingTime": "P2D", "shippingRates": {"name": "default"}})
    assert merge_patch(old, new) == {"delivery": {"handlingTime": "P2D"}}
    assert {"delivery", "publication", "afterSalesServices", "location"} <= ALLEGRO_MANAGED


def test_merge_patch_sends_a_changed_price_whole() -> None:
    new = body(sellingMode={"format": "BUY_NOW", "price": {"amount": "119", "currency": "PLN"}})
    assert merge_patch(body(), new) == {
        "sellingMode": {"price": {"amount": "119", "currency": "PLN"}}
    }


def test_merge_patch_ignores_price_formatting() -> None:
    old = body(sellingMode={"format": "BUY_NOW", "price": {"amount": "179.0", "currency": "PLN"}})
    new = body(sellingMode={"format": "BUY_NOW", "price": {"amount": "179.00", "currency": "PLN"}})
    assert merge_patch(old, new) == {}


def test_merge_patch_sends_a_changed_reference_whole() -> None:
    old = body(delivery={"shippingRates": {"name": "default"}})
    new = body(delivery={"shippingRates": {"id": "862347c4-b2b0-42d4-b84a-1db01509a69d"}})
    assert merge_patch(old, new) == {
        "delivery": {"shippingRates": {"id": "862347c4-b2b0-42d4-b84a-1db01509a69d"}}
    }


def test_merge_patch_shares_no_objects() -> None:
    new = body(images=["https://shop.example/9.jpg"])
    patch = merge_patch(body(), new)
    patch["images"].append("https://shop.example/x.jpg")
    assert new["images"] == ["https://shop.example/9.jpg"]


_KEYS = "abcdef"


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth < 3 and kind < 0.35:
        return _random_object(rng, depth + 1)
    if kind < 0.5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice([0, 1, 2, "x", "y", True, False, 1.5, ""])


def _random_object(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    keys = rng.sample(_KEYS, rng.randint(0, len(_KEYS)))
    return {key: _random_value(rng, depth) for key in keys}


def _mutate(rng: random.Random, value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    result = copy.deepcopy(value)
    for key in _KEYS:
        roll = rng.random()
        if roll < 0.15:
            result.pop(key, None)
        elif roll < 0.3:
            result[key] = _random_value(rng, depth)
        elif roll < 0.5 and isinstance(result.get(key), dict):
            result[key] = _mutate(rng, result[key], depth + 1)
    return result


@pytest.mark.parametrize("seed", range(20))
def test_merge_patch_applied_to_old_gives_new(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        old = _random_object(rng)
        new = _mutate(rng, old) if rng.random() < 0.7 else _random_object(rng)
        patch = merge_patch(old, new)
        assert apply(old, patch) == new
        assert merge_patch(old, old) == {}
        assert merge_patch(new, apply(old, patch)) == {}


# --- plan: new offers -------------------------------------------------------------------------


def test_create_when_there_is_no_offer() -> None:
    plan = plan_publish(desired=body(), published=None, offer_status=None, deleted=False)
    assert plan.action is PublishAction.CREATE
    assert plan.status_if_done is Status.PUBLISHED
    assert plan.body == body()
    assert plan.expected == body()
    assert plan.patches == []


def test_create_with_stock_zero_is_a_draft() -> None:
    plan = plan_publish(desired=with_stock(0), published=None, offer_status=None, deleted=False)
    assert plan.action is PublishAction.CREATE
    assert plan.body is not None and plan.body["publication"] == {"status": "INACTIVE"}
    assert plan.expected is not None and "publication" not in plan.expected


def test_deleted_before_any_offer() -> None:
    plan = plan_publish(desired=body(), published=None, offer_status=None, deleted=True)
    assert plan.action is PublishAction.UNCHANGED
    assert plan.status_if_done is Status.UNCHANGED
    assert plan.patches == [] and plan.body is None


# --- plan: live offers ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["ACTIVE", "ACTIVATING", "active", None])
def test_unchanged(status: str | None) -> None:
    published = body(
        sellingMode={"format": "BUY_NOW", "price": {"amount": "129.990", "currency": "PLN"}}
    )
    plan = plan_publish(desired=body(), published=published, offer_status=status, deleted=False)
    assert plan.action is PublishAction.UNCHANGED
    assert plan.status_if_done is Status.UNCHANGED
    assert plan.patches == []


def test_patch_with_the_changes() -> None:
    desired = body(
        name="Słuchawki bezprzewodowe Acme X200 białe", images=["https://s.example/2.jpg"]
    )
    plan = plan_publish(desired=desired, published=body(), offer_status="ACTIVE", deleted=False)
    assert plan.action is PublishAction.PATCH
    assert plan.status_if_done is Status.UPDATED
    assert plan.patch == {"name": desired["name"], "images": desired["images"]}
    assert plan.expected == desired


def test_publication_stays_out_of_ordinary_diffs() -> None:
    published = body(publication={"status": "INACTIVE"})
    plan = plan_publish(
        desired=with_stock(3), published=published, offer_status="ACTIVE", deleted=False
    )
    assert plan.patch == {"stock": {"available": 3, "unit": "UNIT"}}


def test_changed_product_set_carries_what_a_resync_would_overwrite() -> None:
    desired = body(productSet=[{"product": {"id": "0f0e0d0c-0b0a-4909-8807-060504030201"}}])
    plan = plan_publish(desired=desired, published=body(), offer_status="ACTIVE", deleted=False)
    assert plan.patch == {
        "productSet": desired["productSet"],
        "description": desired["description"],
        "images": desired["images"],
        "parameters": desired["parameters"],
    }


def test_offer_without_a_stored_body_gets_the_whole_content() -> None:
    plan = plan_publish(desired=body(), published=None, offer_status="ACTIVE", deleted=False)
    assert plan.action is PublishAction.PATCH
    assert plan.patch == body()


# --- plan: stock 0 and deletion ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["ACTIVE", "ACTIVATING", None])
def test_stock_zero_ends_a_live_offer(status: str | None) -> None:
    desired = with_stock(0, name="Słuchawki bezprzewodowe Acme X200 białe")
    plan = plan_publish(desired=desired, published=body(), offer_status=status, deleted=False)
    assert plan.action is PublishAction.END
    assert plan.status_if_done is Status.ENDED
    assert plan.patch == {**ENDED, "stock": {"available": 0, "unit": "UNIT"}}
    assert plan.activate is None
    # the other changes wait for the re-activation: the recorded content has only the stock
    assert plan.expected == with_stock(0)


def test_stock_already_zero_on_a_live_offer() -> None:
    plan = plan_publish(
        desired=with_stock(0), published=with_stock(0), offer_status="ACTIVE", deleted=False
    )
    assert plan.action is PublishAction.END
    assert plan.patch == ENDED


@pytest.mark.parametrize("status", ["ACTIVE", "ACTIVATING", None])
def test_deleted_ends_the_offer(status: str | None) -> None:
    plan = plan_publish(desired=body(), published=body(), offer_status=status, deleted=True)
    assert plan.action is PublishAction.END
    assert plan.status_if_done is Status.ENDED
    assert plan.patches == [ENDED]


def test_deleted_and_already_ended() -> None:
    plan = plan_publish(desired=body(), published=body(), offer_status="ENDED", deleted=True)
    assert plan.action is PublishAction.NOOP_ENDED
    assert plan.status_if_done is Status.UNCHANGED
    assert plan.patches == []


def test_deleted_draft_is_left_alone() -> None:
    plan = plan_publish(desired=body(), published=body(), offer_status="INACTIVE", deleted=True)
    assert plan.action is PublishAction.UNCHANGED
    assert plan.patches == []


def test_deleted_offer_known_only_by_status() -> None:
    plan = plan_publish(desired=body(), published=None, offer_status="ACTIVE", deleted=True)
    assert plan.action is PublishAction.END


# --- plan: ended offers and drafts -------------------------------------------------------------


def test_reactivate_an_ended_offer() -> None:
    desired = with_stock(4, name="Słuchawki bezprzewodowe Acme X200 białe")
    plan = plan_publish(
        desired=desired, published=with_stock(0), offer_status="ENDED", deleted=False
    )
    assert plan.action is PublishAction.REACTIVATE
    assert plan.status_if_done is Status.UPDATED
    assert plan.patch == {"name": desired["name"], "stock": {"available": 4, "unit": "UNIT"}}
    assert plan.activate == ACTIVATE
    assert plan.patches == [plan.patch, ACTIVATE]
    assert plan.expected == desired


def test_reactivation_always_sends_the_stock() -> None:
    # Sales may have emptied Allegro's stock since our last body: send ours anyway.
    plan = plan_publish(desired=body(), published=body(), offer_status="ENDED", deleted=False)
    assert plan.action is PublishAction.REACTIVATE
    assert plan.patch == {"stock": {"available": 12, "unit": "UNIT"}}


def test_ended_offer_without_stock_stays_ended() -> None:
    desired = with_stock(0, name="Słuchawki bezprzewodowe Acme X200 białe")
    plan = plan_publish(desired=desired, published=body(), offer_status="ENDED", deleted=False)
    assert plan.action is PublishAction.NOOP_ENDED
    assert plan.status_if_done is Status.UNCHANGED
    assert plan.patches == []
    assert plan.expected == body()  # content is sent on re-activation


def test_activate_the_draft_once_stock_arrives() -> None:
    published = with_stock(0, publication={"status": "INACTIVE"})
    plan = plan_publish(
        desired=with_stock(2), published=published, offer_status="INACTIVE", deleted=False
    )
    assert plan.action is PublishAction.REACTIVATE
    assert plan.patches == [{"stock": {"available": 2, "unit": "UNIT"}}, ACTIVATE]


def test_draft_without_stock_is_patched_in_place() -> None:
    published = with_stock(0, publication={"status": "INACTIVE"})
    desired = with_stock(
        0, name="Słuchawki bezprzewodowe Acme X200 białe", publication={"status": "INACTIVE"}
    )
    plan = plan_publish(
        desired=desired, published=published, offer_status="INACTIVE", deleted=False
    )
    assert plan.action is PublishAction.PATCH
    assert plan.patch == {"name": desired["name"]}
    plan = plan_publish(
        desired=published, published=published, offer_status="INACTIVE", deleted=False
    )
    assert plan.action is PublishAction.UNCHANGED


def test_plans_do_not_touch_their_inputs() -> None:
    desired, published = with_stock(4), with_stock(0)
    plan = plan_publish(desired=desired, published=published, offer_status="ENDED", deleted=False)
    assert plan.patch is not None
    plan.patch["stock"]["available"] = 99
    assert desired == with_stock(4) and published == with_stock(0)
