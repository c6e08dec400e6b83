"""delivery.handlingTime: only the spec's list ("must be set to one of: PT0S, PT24H, P2D,
... P60D") and, per FACTS.md §6, the same times in hours; locally, in the mapping file and
in the local rules alike (the sandbox: tests/sandbox/test_validation_handling_time.py)."""

from __future__ import annotations

import pytest

from schemas.mapping import MappingError, parse_mapping
from workers.domain.rules_offer import HANDLING_TIMES, check_delivery

ALLOWED = ["PT0S", "PT24H", "P2D", "P5D", "P7D", "P60D", "PT48H", "PT168H"]
REFUSED = ["P6D", "PT5H", "P1D", "PT0H", "P90D", "PT49H", "2 days"]


@pytest.mark.parametrize("value", ALLOWED)
def test_listed_times_and_their_hour_forms_pass(value: str) -> None:
    assert value in HANDLING_TIMES
    assert check_delivery({"delivery": {"handlingTime": value}}) == []
    parse_mapping(f"version: 1\ndefaults: {{handling_time: {value}}}\n")


@pytest.mark.parametrize("value", REFUSED)
def test_other_durations_are_refused_with_the_list(value: str) -> None:
    [item] = check_delivery({"delivery": {"handlingTime": value}})
    assert item.path == "delivery.handlingTime"
    assert "P60D" in (item.user_message or "") and "defaults.handling_time" in (
        item.user_message or ""
    )
    with pytest.raises(MappingError):
        parse_mapping(f"version: 1\ndefaults: {{handling_time: '{value}'}}\n")
