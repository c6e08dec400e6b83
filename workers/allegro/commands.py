"""Batch commands: quantity, price and publication of up to 1,000 offers (FACTS §10).

Each command is ``PUT /sale/<kind>/{commandId}`` with a UUID made by the client, which makes
it idempotent: a PUT re-sent after a lost answer gets 409 ("already used"), which here means
"accepted earlier": the result says so (``already_accepted``) with an empty report instead
of raising. The report is not read then: Allegro does not promise that a command's report
can be read as soon as its PUT has answered (``GET`` may answer 404 for a while), and a 404
there must not read as "refused". Processing is asynchronous; read progress with
:meth:`get_command_report` and :meth:`get_command_tasks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from workers.allegro._base import ClientBase, segment, unique_offer_ids
from workers.allegro._http import Retry
from workers.allegro.errors import InvalidRequest
from workers.allegro.models import CommandTask, GeneralReport, TaskReport, parse_model
from workers.allegro.results import CommandKind, CommandResult

__all__ = ["MAX_OFFERS_PER_COMMAND", "CommandsMixin"]

log = structlog.get_logger(__name__)

MAX_OFFERS_PER_COMMAND = 1000
TASKS_PAGE_LIMIT = 1000
TASKS_MAX_OFFSET = 999  # Allegro's limit for /tasks


def _offer_criteria(offer_ids: Iterable[str]) -> list[dict[str, Any]]:
    if isinstance(offer_ids, str):
        raise InvalidRequest("offer_ids must be a list of ids, not one string")
    ids = unique_offer_ids(offer_ids)
    if not ids:
        raise InvalidRequest("a command needs at least one offer id")
    if len(ids) > MAX_OFFERS_PER_COMMAND:
        raise InvalidRequest(
            f"{len(ids)} offers in one command; Allegro allows {MAX_OFFERS_PER_COMMAND}: "
            "split them into several commands"
        )
    return [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in ids]}]


def _command_id(command_id: str | None) -> str:
    if command_id is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(command_id)))
    except ValueError:
        raise InvalidRequest(f"command id {command_id!r} is not a UUID") from None


def _amount(amount: Decimal | str) -> str:
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise InvalidRequest(f"price amount {amount!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise InvalidRequest(f"price amount {amount!r} must be a positive number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidRequest(f"price amount {amount!r} has more than 2 decimal places")
    return format(value.quantize(Decimal("0.01")), "f")


class CommandsMixin(ClientBase):
    """Quantity, price and publication batch commands (seller's token)."""

    def change_quantity(
        self, offer_ids: Iterable[str], quantity: int, *, command_id: str | None = None
    ) -> CommandResult:
        """Set the available stock of the offers to ``quantity`` (FIXED, at least 1).

        Allegro cannot set 0 with this command; end the offers with
        ``change_publication(ids, "END")`` instead.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidRequest(f"quantity must be an integer, not {quantity!r}")
        if quantity < 1:
            raise InvalidRequest(
                "quantity must be at least 1 (Allegro rejects 0); to stop selling use "
                'change_publication(offer_ids, "END")'
            )
        body = {
            "modification": {"changeType": "FIXED", "value": quantity},
            "offerCriteria": _offer_criteria(offer_ids),
        }
        return self._put_command(CommandKind.QUANTITY, command_id, body)

    def change_price(
        self,
        offer_ids: Iterable[str],
        amount: Decimal | str,
        currency: str,
        *,
        marketplace_id: str | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Set a fixed buy-now price (on the base marketplace unless ``marketplace_id``)."""
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise InvalidRequest(f"currency {currency!r} is not an ISO 4217 code")
        modification: dict[str, Any] = {
            "type": "FIXED_PRICE",
            "price": {"amount": _amount(amount), "currency": code},
        }
        if marketplace_id:
            modification["marketplaceId"] = marketplace_id
        body = {"modification": modification, "offerCriteria": _offer_criteria(offer_ids)}
        return self._put_command(CommandKind.PRICE, command_id, body)

    def change_publication(
        self,
        offer_ids: Iterable[str],
        action: str,
        *,
        scheduled_for: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """``ACTIVATE`` or ``END`` the offers (now, or at ``scheduled_for`` in the future)."""
        verb = str(action).strip().upper()
        if verb not in ("ACTIVATE", "END"):
            raise InvalidRequest(f"publication action must be ACTIVATE or END, not {action!r}")
        publication: dict[str, Any] = {"action": verb}
        if scheduled_for is not None:
            if scheduled_for.tzinfo is None:
                raise InvalidRequest("scheduled_for must be timezone-aware")
            when = scheduled_for.astimezone(UTC)
            publication["scheduledFor"] = when.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            )
        body = {"publication": publication, "offerCriteria": _offer_criteria(offer_ids)}
        return self._put_command(CommandKind.PUBLICATION, command_id, body)

    def _put_command(
        self, kind: CommandKind, command_id: str | None, body: Mapping[str, Any]
    ) -> CommandResult:
        cid = _command_id(command_id)
        # Same id on every retry: a re-sent PUT is recognised by Allegro (409).
        response = self._http.request(
            "PUT",
            f"/sale/{kind.value}/{segment(cid)}",
            json=body,
            ok=(200, 201, 409),
            retry=Retry.SAFE,
        )
        if response.status == 409:
            log.info(
                "allegro.command_already_accepted",
                kind=kind.value,
                command_id=cid,
                trace_id=response.trace_id,
            )
            # No report read here: it may not be visible yet (404), which says nothing
            # about the command; the caller polls it.
            return CommandResult(
                command_id=cid,
                kind=kind,
                report=GeneralReport(id=cid),
                status=409,
                trace_id=response.trace_id,
                already_accepted=True,
            )
        report = parse_model(GeneralReport, response.body, response.trace_id)
        return CommandResult(
            command_id=cid,
            kind=kind,
            report=report,
            status=response.status,
            trace_id=response.trace_id,
        )

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport:
        """The command's summary (``completed_at`` set when it has finished)."""
        member = CommandKind.of(kind)
        response = self._http.request("GET", f"/sale/{member.value}/{segment(command_id)}")
        return parse_model(GeneralReport, response.body, response.trace_id)

    def get_command_tasks(
        self, kind: CommandKind | str, command_id: str, limit: int = 100, offset: int = 0
    ) -> TaskReport:
        """One page of per-offer results (``limit`` 1..1000, ``offset`` 0..999)."""
        if not 1 <= limit <= TASKS_PAGE_LIMIT:
            raise InvalidRequest(f"limit must be 1..{TASKS_PAGE_LIMIT}, not {limit}")
        if not 0 <= offset <= TASKS_MAX_OFFSET:
            raise InvalidRequest(f"offset must be 0..{TASKS_MAX_OFFSET}, not {offset}")
        member = CommandKind.of(kind)
        response = self._http.request(
            "GET",
            f"/sale/{member.value}/{segment(command_id)}/tasks",
            params={"limit": limit, "offset": offset},
        )
        return parse_model(TaskReport, response.body, response.trace_id)

    def get_all_command_tasks(
        self, kind: CommandKind | str, command_id: str, *, page_size: int = 500
    ) -> list[CommandTask]:
        """Every per-offer result of a command, page by page.

        Allegro caps ``offset`` at 999, so with the default page size the first 1,000 tasks
        are reachable: all of them, since a command holds at most 1,000 offers.
        """
        tasks: list[CommandTask] = []
        offset = 0
        while offset <= TASKS_MAX_OFFSET:
            page = self.get_command_tasks(kind, command_id, page_size, offset).tasks or []
            tasks.extend(page)
            if len(page) < page_size:
                break
            offset += len(page)
        return tasks

    def wait_command(
        self,
        kind: CommandKind | str,
        command_id: str,
        *,
        max_wait_s: float = 60.0,
        interval_s: float = 0.5,
    ) -> GeneralReport:
        """Poll the report until ``completed_at`` is set or ``max_wait_s`` has passed;
        returns the last report (check ``report.completed``)."""
        deadline = self._clock() + max_wait_s
        while True:
            report = self.get_command_report(kind, command_id)
            if report.completed or self._clock() + interval_s > deadline:
                return report
            self._sleep(interval_s)
