"""Integration fixtures: every exchange between the client and the sandbox is checked
against Allegro's own OpenAPI spec.

After each test that used a ``sandbox`` fixture, the sandbox's request log is read and every
request the client sent is validated strictly against the request schema of
``../shared/allegro/openapi.yaml`` (unknown properties included), every answer leniently
against the response schema (FACTS.md §14). A test that sends a body Allegro's schema
refuses on purpose (to see Allegro's 422 for it) is marked ``@pytest.mark.sends_invalid``;
its requests are exempt, its responses are still checked.

Without ``../shared`` the check is skipped with a message (it fails in CI, see
``tests/contract/openapi.require_spec``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.openapi import Spec, is_spec_path, require_spec


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sends_invalid: the test sends requests that break Allegro's request schema on purpose",
    )


@pytest.fixture(scope="session")
def _contract_spec() -> Spec:
    # Skips locally without ../shared and fails in CI, naming the reason.
    return require_spec()


@pytest.fixture(autouse=True)
def _exchanges_follow_allegros_spec(
    request: pytest.FixtureRequest, _contract_spec: Spec
) -> Iterator[None]:
    if "sandbox" not in request.fixturenames:
        yield
        return
    handle: Any = request.getfixturevalue("sandbox")
    # The modules reset the sandbox (and so its log numbering) in their own autouse
    # fixture; take the starting point after that.
    for name in request.fixturenames:
        if name.startswith("_fresh"):
            request.getfixturevalue(name)
    start = _last_seq(handle)
    yield
    exempt_requests = request.node.get_closest_marker("sends_invalid") is not None
    problems: list[str] = []
    for entry in handle.requests(since=start):
        if exempt_requests:
            problems += _response_problems(_contract_spec, entry)
        else:
            problems += _contract_spec.check_exchange(entry)
    if problems:
        pytest.fail(
            "exchanges that break Allegro's OpenAPI spec:\n  " + "\n  ".join(problems[:20]),
            pytrace=False,
        )


def _response_problems(spec: Spec, entry: dict[str, Any]) -> list[str]:
    method, path = str(entry["method"]).upper(), str(entry["path"]).split("?", 1)[0]
    if not is_spec_path(path) or entry.get("status") is None:
        return []
    found = spec.validate_response(
        method, path, int(entry["status"]), entry.get("response_body"), lenient=True
    )
    return [f"{method} {path}: {problem}" for problem in found]


def _last_seq(handle: Any) -> int:
    entries = handle.requests()
    return int(entries[-1]["seq"]) if entries else 0
