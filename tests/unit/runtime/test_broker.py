"""The broker's construction, and the payload between the steps (shape and superseding)."""

from __future__ import annotations

import json

import pytest
from dramatiq.brokers import rabbitmq
from dramatiq.middleware import CurrentMessage

from workers.broker import (
    Payload,
    connection_parameters,
    create_broker,
    is_superseded,
    part_digests,
    step_message,
)
from workers.middleware import LogContext, PipelineRetries, StatusOnFailure
from workers.settings import Settings
from workers.topology import Step

from .conftest import product, state


def test_connection_parameters_come_from_the_settings() -> None:
    settings = Settings(
        amqp_url="amqp://u:p@rabbit:5673/vh?heartbeat=5",
        amqp_heartbeat_s=17,
        amqp_blocked_timeout_s=42.0,
    )

    params = connection_parameters(settings, name="test")

    assert (params.host, params.port, params.virtual_host) == ("rabbit", 5673, "vh")
    assert params.heartbeat == 17  # the settings win over the URL
    assert params.blocked_connection_timeout == 42.0
    assert params.connection_attempts > 1
    assert params.client_properties == {"connection_name": "test"}


def test_create_broker_confirms_retries_and_keeps_dead_letters_as_configured() -> None:
    settings = Settings(
        dead_letter_ttl_ms=1234,
        actor_max_retries=5,
        actor_min_backoff_ms=10,
        actor_max_backoff_ms=20,
    )
    status = StatusOnFailure(lambda: None)  # type: ignore[arg-type, return-value]

    broker = create_broker(settings, extra_middleware=[status])

    assert broker.confirm_delivery is True
    assert rabbitmq.DEAD_MESSAGE_TTL == 1234
    assert broker.parameters.heartbeat == settings.amqp_heartbeat_s
    kinds = [type(m) for m in broker.middleware]
    # after_* hooks run in reverse: Retries decides, then the status, then the log context.
    assert kinds.index(LogContext) < kinds.index(StatusOnFailure) < kinds.index(PipelineRetries)
    assert CurrentMessage in kinds
    retries = next(m for m in broker.middleware if isinstance(m, PipelineRetries))
    assert (retries.max_retries, retries.min_backoff, retries.max_backoff) == (5, 10, 20)
    assert not any("Prometheus" in type(m).__name__ for m in broker.middleware)


def test_metrics_middleware_only_with_a_port() -> None:
    broker = create_broker(Settings(metrics_port=9300))
    assert any("Prometheus" in type(m).__name__ for m in broker.middleware)


def test_a_payload_survives_json_and_ignores_unknown_keys() -> None:
    payload = Payload(
        event_id="e1",
        account="default",
        sku="S1",
        version=7,
        changed=("content", "stock"),
        digests={"content": "a"},
        category_id="165",
    )

    data = json.loads(json.dumps(payload.to_dict()))

    assert data == {
        "event_id": "e1",
        "account": "default",
        "sku": "S1",
        "version": 7,
        "changed": ["content", "stock"],
        "digests": {"content": "a"},
        "mode": "content",
        "category_id": "165",
    }
    assert Payload.from_dict({**data, "added_by_a_newer_sender": 1}) == payload
    with pytest.raises(ValueError, match="mode"):
        Payload.from_dict({**data, "mode": "sideways"})


def test_a_step_message_goes_to_the_prefixed_queue_of_its_actor() -> None:
    payload = Payload("e1", "default", "S1", 1, ("stock",))

    message = step_message(Settings(name_prefix="x."), Step.PUBLISH, payload)

    assert (message.queue_name, message.actor_name) == ("x.publish", "publish")
    assert message.args == (payload.to_dict(),)


def test_part_digests_change_only_with_their_part() -> None:
    base = part_digests(state())
    restocked = part_digests(state(product=product(stock={"available": 1, "unit": "UNIT"})))
    renamed = part_digests(state(product=product(name="Another name for these headphones")))

    assert base == part_digests(state(version=9))  # the version is no part
    assert {k for k in base if base[k] != restocked[k]} == {"stock"}
    assert {k for k in base if base[k] != renamed[k]} == {"content"}
    assert part_digests(state(deleted=True))["deleted"] == "1"


def _payload(version: int, changed: tuple[str, ...], mode: str = "content") -> Payload:
    return Payload(
        "e", "default", "SKU-1", version, changed, digests=part_digests(state()), mode=mode
    )


def test_only_an_older_event_can_be_superseded() -> None:
    newer_state = state(version=5, product=product(name="A completely new product name"))
    assert not is_superseded(newer_state, _payload(5, ("content",)), content_path=True)
    assert is_superseded(newer_state, _payload(4, ("content",)), content_path=True)


def test_a_stock_event_is_superseded_when_newer_stock_replaced_it() -> None:
    newer_stock = state(version=5, product=product(stock={"available": 9, "unit": "UNIT"}))
    newer_price = state(version=5, product=product(price={"amount": "1.00", "currency": "PLN"}))

    assert is_superseded(newer_stock, _payload(4, ("stock",), "fast"), content_path=False)
    # A newer price does not replace this stock change: it is still to be published.
    assert not is_superseded(newer_price, _payload(4, ("stock",), "fast"), content_path=False)


def test_the_content_path_gives_way_to_newer_content_and_to_a_delete() -> None:
    newer_content = state(version=5, product=product(name="A completely new product name"))
    newer_stock = state(version=5, product=product(stock={"available": 9, "unit": "UNIT"}))
    deleted = state(version=5, deleted=True)

    stock_event = _payload(4, ("stock",))
    assert is_superseded(newer_content, stock_event, content_path=True)
    assert not is_superseded(newer_content, stock_event, content_path=False)
    assert not is_superseded(newer_stock, _payload(4, ("content", "stock")), content_path=True)
    assert is_superseded(deleted, _payload(4, ("content",)), content_path=True)
    # An older delete is not superseded by a newer one (both end the offer), but by an
    # upsert that brought the product back.
    older_delete = Payload(
        "e", "default", "SKU-1", 4, ("deleted",), part_digests(state(deleted=True)), "delete"
    )
    assert not is_superseded(deleted, older_delete, content_path=False)
    assert is_superseded(state(version=5), older_delete, content_path=False)
