"""Creation intents in the publish step, with fakes: an intent before every POST; a POST of
an earlier attempt that the search cannot confirm defers the message for the grace period,
then is sent again; refusals clear the intent; a stored but unpublished status is sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas.status import Status
from workers.allegro import (
    ApiTimeout,
    ConnectionFailed,
    InvalidRequest,
    NotConnected,
    OfferListing,
    OperationFailed,
    OperationPending,
    PermanentError,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from workers.broker import Payload, part_digests
from workers.domain.model import ProductState
from workers.middleware import Deferred
from workers.publish import CREATE_RECHECK_MS, PublishStep, nothing_created
from workers.status import status_for

from .conftest import Harness, state

POST = {"method": "POST", "path": "/sale/product-offers"}


def _payload(st: ProductState) -> dict[str, Any]:
    body = {
        "productSet": [{"product": {"id": "p-1"}}],
        "name": st.product["name"],
        "external": {"id": st.sku},
        "stock": {"available": 5, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": dict(st.product["price"])},
    }
    return Payload(
        event_id=f"ev-{st.version}",
        account=st.account,
        sku=st.sku,
        version=st.version,
        changed=("content", "price", "stock"),
        digests=part_digests(st),
        mode="content",
        body=body,
    ).to_dict()


@pytest.fixture
def step(harness: Harness) -> PublishStep:
    # The step's clock is the fake store's: intents are aged by moving harness.store.now.
    return PublishStep(harness.services, clock=lambda: harness.store.now)


def _given(harness: Harness, version: int = 1) -> ProductState:
    st = state(version)
    harness.store.states[(st.account, st.sku)] = st
    return st


def _earlier_post(harness: Harness, age_s: float) -> None:
    harness.store.record_create_intent("default", "SKU-1")
    harness.store.now += timedelta(seconds=age_s)


def test_the_intent_is_recorded_before_the_post_and_cleared_with_the_offer(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)

    step.publish(_payload(st))

    assert harness.store.calls[:2] == ["intent", "save_offer:101"]
    assert harness.client.writes() == ["POST"]
    assert harness.store.intents == {}
    assert harness.statuses() == [Status.PUBLISHED]


def test_an_unconfirmed_earlier_post_defers_instead_of_posting_again(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)
    _earlier_post(harness, age_s=harness.settings.create_grace_s - 1)

    with pytest.raises(Deferred) as deferred:
        step.publish(_payload(st))

    assert 0 < deferred.value.delay <= 1_000  # the rest of the grace, at most
    assert [name for name, _ in harness.client.calls] == ["find"]
    assert harness.store.statuses == [] and harness.store.leases == {}
    intent = harness.store.create_intent("default", "SKU-1")
    assert intent is not None and intent.attempts == 1


def test_a_young_intent_is_looked_at_again_every_recheck(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)
    _earlier_post(harness, age_s=1)

    with pytest.raises(Deferred) as deferred:
        step.publish(_payload(st))

    assert deferred.value.delay == CREATE_RECHECK_MS


def test_the_offer_of_an_earlier_post_is_adopted_once_the_search_lists_it(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)
    _earlier_post(harness, age_s=3)
    harness.client.found = [
        OfferListing.model_validate({"id": "55", "publication": {"status": "ACTIVE"}})
    ]

    step.publish(_payload(st))

    assert harness.client.writes() == ["PATCH"]
    assert harness.store.intents == {}
    [status] = harness.store.statuses
    assert (status.status, status.offer_id) == (Status.PUBLISHED, "55")


def test_after_the_grace_an_earlier_post_created_nothing_and_is_sent_again(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)
    _earlier_post(harness, age_s=harness.settings.create_grace_s)
    recorded: list[int] = []
    record = harness.store.record_create_intent

    def spy(account: str, sku: str) -> Any:
        intent = record(account, sku)
        recorded.append(intent.attempts)
        return intent

    harness.store.record_create_intent = spy  # type: ignore[method-assign]

    step.publish(_payload(st))

    assert recorded == [2]  # the second attempt of this SKU's creation
    assert harness.client.writes() == ["POST"]
    assert harness.store.intents == {}
    assert harness.statuses() == [Status.PUBLISHED]


def test_the_grace_is_the_configured_one(harness: Harness, step: PublishStep) -> None:
    st = _given(harness)
    # ALLEGRO_FEED_CREATE_GRACE_S=10 (the step reads it from its services at run time)
    harness.services.settings = harness.settings.model_copy(update={"create_grace_s": 10.0})
    _earlier_post(harness, age_s=9)

    with pytest.raises(Deferred) as deferred:
        step.publish(_payload(st))
    assert 0 < deferred.value.delay <= 1_000  # the rest of the configured grace
    assert harness.client.writes() == []

    harness.store.now += timedelta(seconds=1)  # 10 s: the grace is over
    step.publish(_payload(st))
    assert harness.client.writes() == ["POST"]
    assert harness.statuses() == [Status.PUBLISHED]


def test_an_uncertain_post_keeps_its_intent(harness: Harness, step: PublishStep) -> None:
    st = _given(harness)
    harness.client.errors.append(ServerError("503", status=503, **POST))

    with pytest.raises(ServerError):
        step.publish(_payload(st))

    assert harness.store.create_intent("default", "SKU-1") is not None
    # The retry: the search does not list an offer, the POST was a moment ago.
    with pytest.raises(Deferred):
        step.publish(_payload(st))
    assert harness.client.writes() == ["POST"]


def test_a_refused_post_clears_its_intent_at_once(harness: Harness, step: PublishStep) -> None:
    st = _given(harness)
    harness.client.errors.append(ValidationFailed("422", status=422, **POST))

    step.publish(_payload(st))

    assert harness.statuses() == [Status.REJECTED]
    assert harness.store.intents == {}


@pytest.mark.parametrize(
    ("error", "created_nothing"),
    [
        (ValidationFailed("422", status=422, **POST), True),
        (RateLimited("429", status=429, **POST), True),
        (ConnectionFailed("refused", maybe_applied=False, **POST), True),
        (InvalidRequest("external.id too long"), True),
        (ServerError("503", status=503, **POST), False),
        (ApiTimeout("slow", maybe_applied=True, **POST), False),
        (ConnectionFailed("broken", maybe_applied=True, **POST), False),
        (OperationPending("running", offer_id="77", operation_url="u", **POST), False),
        (OperationFailed("failed", offer_id="77", method="GET", path="/op"), False),
        (RateLimited("429 while polling", status=429, method="GET", path="/op"), False),
        (PermanentError("202 without Location", status=202, **POST), False),
        (NotConnected("no tokens"), False),
    ],
)
def test_what_certainly_created_nothing(error: Any, created_nothing: bool) -> None:
    assert nothing_created(error) is created_nothing


@pytest.mark.parametrize(
    "error",
    [
        ServerError("token endpoint 503", status=503, **POST),
        ApiTimeout("token endpoint slow", maybe_applied=True, **POST),
        NotConnected("refresh token refused"),
    ],
)
def test_a_failure_to_get_the_token_created_nothing(error: Any) -> None:
    # Raised while getting the POST's token: the POST was never sent, or a 401 refused it.
    assert nothing_created(error) is False
    error.while_authenticating = True
    assert nothing_created(error) is True


def test_a_pending_status_of_a_finished_event_is_published_and_nothing_else_done(
    harness: Harness, step: PublishStep
) -> None:
    # The run that finished the event died between recording and publishing its status.
    st = _given(harness)
    stored = status_for(
        {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 1},
        Status.PUBLISHED,
        offer_id="101",
    )
    harness.store.add_status(stored)

    step.publish(_payload(st))

    assert harness.client.calls == []
    [sent] = harness.publisher.published
    assert (sent.body, sent.properties.message_id) == (stored.to_json(), "ev-1:PUBLISHED")
    assert harness.store.unpublished_statuses() == []


def test_a_replay_of_a_failed_event_publishes_and_reports_its_new_outcome(
    harness: Harness, step: PublishStep
) -> None:
    st = _given(harness)
    failed = status_for(
        {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 1},
        Status.FAILED,
        errors=[{"code": "ServerError", "message": "503"}],
    )
    harness.store.add_status(failed)
    harness.store.published_at[0] = datetime.now(harness.store.now.tzinfo)

    step.publish(_payload(st))

    assert harness.statuses() == [Status.FAILED, Status.PUBLISHED]
    entry = harness.store.terminal_entry("ev-1")
    assert entry is not None and (entry.chain, entry.published) == (1, True)
