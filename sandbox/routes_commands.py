"""Batch commands: quantity, price and publication changes of many offers.

``PUT /sale/<kind>-commands/{commandId}`` registers the command (201, zero counters); its
tasks stay NEW for ``command_delay_s`` of sandbox time and are then applied, each offer on
its own (SUCCESS or FAIL with Allegro's error items). ``GET .../{commandId}`` is the summary
and ``GET .../{commandId}/tasks`` the per-offer report. A ``commandId`` is a client-made UUID
and can be used once per kind (409 after).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import WRITE, Call, endpoint, too_many_requests
from sandbox.clock import iso_millis, parse_timestamp
from sandbox.lifecycle import (
    activate,
    archived,
    check_offer,
    end,
    set_stock_available,
    stock_available,
)
from sandbox.marketplaces import MARKETPLACES
from sandbox.responses import (
    AllegroJSON,
    ApiError,
    bad_request,
    error_item,
    invalid_parameter,
    not_found,
)
from sandbox.rules_offer import PRICE_MAX, PRICE_MIN
from sandbox.state import Command, Offer, SandboxState, Task

__all__ = ["routes"]

_MAX_OFFERS_PER_CRITERION = 1000
_KINDS = {
    "offer-quantity-change-commands": "quantity",
    "offer-price-change-commands": "price",
    "offer-publication-commands": "publication",
}
_PRICE_TYPES = (
    "FIXED_PRICE",
    "INCREASE_PRICE",
    "DECREASE_PRICE",
    "INCREASE_PERCENTAGE",
    "DECREASE_PERCENTAGE",
)


class _TaskFailed(Exception):
    def __init__(self, *errors: dict[str, Any]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = list(errors)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- request checks ----------------------------------------------------------------------------


def _offer_ids(body: dict[str, Any]) -> list[str]:
    criteria = body.get("offerCriteria")
    if not isinstance(criteria, list) or not criteria:
        raise invalid_parameter("offerCriteria", "offerCriteria must list at least one criterion")
    ids: list[str] = []
    for index, criterion in enumerate(criteria):
        path = f"offerCriteria[{index}]"
        if not isinstance(criterion, dict) or criterion.get("type") != "CONTAINS_OFFERS":
            raise invalid_parameter(f"{path}.type", "The criterion type must be CONTAINS_OFFERS")
        offers = criterion.get("offers")
        if not isinstance(offers, list) or not offers:
            raise invalid_parameter(f"{path}.offers", "A criterion must list at least one offer")
        if len(offers) > _MAX_OFFERS_PER_CRITERION:
            raise invalid_parameter(
                f"{path}.offers", f"A criterion may list at most {_MAX_OFFERS_PER_CRITERION} offers"
            )
        for position, item in enumerate(offers):
            offer_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(offer_id, str) or not offer_id:
                raise invalid_parameter(f"{path}.offers[{position}].id", "An offer id is required")
            if offer_id not in ids:
                ids.append(offer_id)
    return ids


def _check_quantity(body: dict[str, Any], market: str) -> None:
    modification = body.get("modification")
    if not isinstance(modification, dict):
        raise invalid_parameter("modification", "modification is required")
    if modification.get("changeType") not in ("FIXED", "GAIN"):
        raise invalid_parameter("modification.changeType", "changeType must be FIXED or GAIN")
    if not _int(modification.get("value")):
        raise invalid_parameter("modification.value", "value must be an integer")


def _check_price(body: dict[str, Any], market: str) -> None:
    modification = body.get("modification")
    if not isinstance(modification, dict):
        raise invalid_parameter("modification", "modification is required")
    kind = modification.get("type")
    if kind not in _PRICE_TYPES:
        raise invalid_parameter(
            "modification.type", f"type must be one of {', '.join(_PRICE_TYPES)}"
        )
    target = modification.get("marketplaceId") or market
    if target not in MARKETPLACES:
        raise invalid_parameter("modification.marketplaceId", f"Unknown marketplace {target}")
    if kind.endswith("PERCENTAGE"):
        if _decimal(modification.get("percentage")) is None:
            raise invalid_parameter(
                "modification.percentage", "percentage must be a decimal string"
            )
        return
    field = "price" if kind == "FIXED_PRICE" else "value"
    money = modification.get(field)
    if not isinstance(money, dict) or _decimal(money.get("amount")) is None:
        raise invalid_parameter(f"modification.{field}.amount", "amount must be a decimal string")
    if money.get("currency") != MARKETPLACES[target].currency:
        raise invalid_parameter(
            f"modification.{field}.currency",
            f"The currency of {target} is {MARKETPLACES[target].currency}",
        )


def _check_publication(body: dict[str, Any], market: str) -> None:
    publication = body.get("publication")
    if not isinstance(publication, dict) or publication.get("action") not in ("ACTIVATE", "END"):
        raise invalid_parameter("publication.action", "action must be ACTIVATE or END")
    scheduled = publication.get("scheduledFor")
    if scheduled is not None and parse_timestamp(scheduled) is None:
        raise invalid_parameter(
            "publication.scheduledFor", "scheduledFor must be an ISO 8601 date-time"
        )


_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "quantity": _check_quantity,
    "price": _check_price,
    "publication": _check_publication,
}


def _decimal(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# -- applying tasks ----------------------------------------------------------------------------


def _set_quantity(state: SandboxState, offer: Offer, command: Command, due: float) -> None:
    modification = command.body["modification"]
    value = modification["value"]
    new = value if modification["changeType"] == "FIXED" else stock_available(offer.body) + value
    if new < 1:
        raise _TaskFailed(
            error_item("INVALID_OFFER_QUANTITY", "The quantity can not be changed to less than 1.")
        )
    set_stock_available(offer, new)


def _set_price(state: SandboxState, offer: Offer, command: Command, due: float) -> None:
    modification = command.body["modification"]
    kind = modification["type"]
    base = state.seller(command.seller).marketplace
    market = modification.get("marketplaceId") or base
    currency = MARKETPLACES[market].currency
    if market == base:
        selling = dict(offer.body.get("sellingMode") or {})
    else:
        extra = dict(offer.body.get("additionalMarketplaces") or {})
        selling = dict((extra.get(market) or {}).get("sellingMode") or {})
    current = _decimal((selling.get("price") or {}).get("amount"))
    if kind == "FIXED_PRICE":
        new = _decimal(modification["price"]["amount"])
    elif current is None:
        raise _TaskFailed(
            error_item(
                "PriceNotFoundException", "The offer has no price to change on this marketplace."
            )
        )
    elif kind.endswith("PERCENTAGE"):
        sign = 1 if kind.startswith("INCREASE") else -1
        factor = 1 + sign * (_decimal(modification["percentage"]) or Decimal(0)) / 100
        new = current * factor
    else:
        sign = 1 if kind.startswith("INCREASE") else -1
        new = current + sign * (_decimal(modification["value"]["amount"]) or Decimal(0))
    assert new is not None
    new = new.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not PRICE_MIN <= new <= PRICE_MAX:
        raise _TaskFailed(
            error_item(
                "ConstraintViolationException.Price",
                f"The price must be between {PRICE_MIN} and {PRICE_MAX}.",
                path="sellingMode.price.amount",
            )
        )
    selling["price"] = {"amount": str(new), "currency": currency}
    if market == base:
        offer.body = {**offer.body, "sellingMode": selling}
    else:
        extra = dict(offer.body.get("additionalMarketplaces") or {})
        extra[market] = {**(extra.get(market) or {}), "sellingMode": selling}
        offer.body = {**offer.body, "additionalMarketplaces": extra}


def _set_publication(state: SandboxState, offer: Offer, command: Command, due: float) -> None:
    publication = command.body["publication"]
    if publication["action"] == "END":
        if offer.status in ("ACTIVE", "ACTIVATING"):
            end(offer, "USER", due)
        elif offer.status == "INACTIVE":
            raise _TaskFailed(
                error_item(
                    "OfferStatusChangeNotAllowedException",
                    "An offer that was never activated cannot be ended.",
                )
            )
        return
    if offer.status in ("ACTIVE", "ACTIVATING"):
        return
    check = check_offer(
        state, offer.body, state.seller(command.seller), status="ACTIVE", activating=True
    )
    if check.errors:
        raise _TaskFailed(*check.errors)
    activate(state, offer, due, parse_timestamp(publication.get("scheduledFor")))


_APPLY: dict[str, Callable[[SandboxState, Offer, Command, float], None]] = {
    "quantity": _set_quantity,
    "price": _set_price,
    "publication": _set_publication,
}


def _run(state: SandboxState, command: Command, due: float) -> None:
    for task in command.tasks:
        offer = state.offers.get(task.offer_id)
        try:
            if offer is None or offer.seller != command.seller or archived(offer, due):
                raise _TaskFailed(
                    error_item(
                        "OfferNotFoundException",
                        "The offer does not exist.",
                        metadata={"offerId": task.offer_id},
                    )
                )
            if offer.operation_id is not None:
                raise _TaskFailed(
                    error_item(
                        "ConflictException",
                        "The previous edition of the offer is still being processed.",
                    )
                )
            _APPLY[command.kind](state, offer, command, due)
        except _TaskFailed as failure:
            task.status, task.message, task.errors = "FAIL", str(failure), failure.errors
            continue
        offer.updated_at = due
        offer.revision += 1
        task.status = "SUCCESS"
    command.completed_at = due


# -- HTTP --------------------------------------------------------------------------------------


def _kind(call: Call) -> str:
    return _KINDS[call.request.url.path.split("/")[2]]


def _report(command: Command, *, registered: bool = False) -> dict[str, Any]:
    done = [task for task in command.tasks if task.status != "NEW"]
    return {
        "id": command.id,
        "createdAt": iso_millis(command.created_at),
        "completedAt": iso_millis(command.completed_at) if command.completed_at else None,
        "taskCount": {
            "total": 0 if registered else len(command.tasks),
            "success": sum(1 for task in done if task.status == "SUCCESS"),
            "failed": sum(1 for task in done if task.status == "FAIL"),
        },
    }


@endpoint(scope=WRITE, body=True)
async def put_command(call: Call) -> Response:
    state, kind = call.state, _kind(call)
    command_id = str(call.request.path_params["command_id"])
    try:
        uuid.UUID(command_id)
    except ValueError:
        raise bad_request(
            400, "IllegalArgumentException", "commandId must be a UUID", path="commandId"
        ) from None
    if (kind, command_id) in state.commands:
        raise ApiError.errors(
            409,
            error_item(
                "CommandIdAlreadyUsedException",
                "Command id was already used",
                user_message="This command has already been sent.",
            ),
        )
    body = call.body
    if not isinstance(body, dict):
        raise invalid_parameter("", "The command must be a JSON object")
    offer_ids = _offer_ids(body)
    _CHECKS[kind](body, call.seller.marketplace)
    if not state.limits.batch_changes_allowed(call.login, len(offer_ids), call.now, state.config):
        raise too_many_requests(state, 60, "Too many offer changes in batch commands.")
    command = Command(
        kind=kind,
        id=command_id,
        seller=call.login,
        created_at=call.now,
        due_at=call.now + state.config.command_delay_s,
        body=body,
        tasks=[Task(offer_id) for offer_id in offer_ids],
    )
    state.commands[(kind, command_id)] = command
    state.scheduler.at(command.due_at, lambda due: _run(state, command, due))
    return AllegroJSON(_report(command, registered=True), status_code=201)


def _own_command(call: Call) -> Command:
    command_id = str(call.request.path_params["command_id"])
    command = call.state.commands.get((_kind(call), command_id))
    if command is None or command.seller != call.login:
        raise not_found(f"Command {command_id} not found")
    return command


@endpoint(scope=WRITE)
async def get_report(call: Call) -> Response:
    command = _own_command(call)
    _count_reads(call, len(command.tasks))  # a report reads every offer change it counts
    return AllegroJSON(_report(command))


def _count_reads(call: Call, changes: int) -> None:
    """Count ``changes`` offer changes read against the seller's minute (FACTS §3:
    270,000 a minute over the reports and tasks of batch commands); 429 when over."""
    state = call.state
    if not state.limits.batch_reads_allowed(call.login, changes, call.now, state.config):
        raise too_many_requests(state, 60, "Too many offer changes read from batch commands.")


@endpoint(scope=WRITE)
async def get_tasks(call: Call) -> Response:
    limit = call.int_param("limit", 100, 1, 1000)
    offset = call.int_param("offset", 0, 0, 999)
    command = _own_command(call)
    _count_reads(call, limit)
    field = command.kind
    tasks = command.tasks[offset : offset + limit]
    return AllegroJSON(
        {
            "tasks": [
                {
                    "offer": {"id": task.offer_id},
                    "field": field,
                    "status": task.status,
                    "message": task.message,
                    "errors": task.errors,
                }
                for task in tasks
            ]
        }
    )


routes = [
    route
    for prefix in _KINDS
    for route in (
        Route(f"/sale/{prefix}/{{command_id}}", put_command, methods=["PUT"]),
        Route(f"/sale/{prefix}/{{command_id}}", get_report, methods=["GET"]),
        Route(f"/sale/{prefix}/{{command_id}}/tasks", get_tasks, methods=["GET"]),
    )
]
