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

It also holds the fixtures the client modules share: one ``sandbox`` a module, ``_fresh``
(a module that wants the sandbox reset before each test names it in
``pytest.mark.usefixtures``), ``clocks``, ``settings`` and ``make_client``/``client``. A
module whose needs differ overrides the fixture of that name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.contract.openapi import Spec, is_spec_path, require_spec
from tests.integration._support import Clocks, MakeBudgeted, sandbox_settings
from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.budget import BudgetConfig, RateBudget, open_budget
from workers.settings import Settings

if TYPE_CHECKING:
    from sandbox.testing import SandboxHandle


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
    # The modules that use ``_fresh`` reset the sandbox (and so its log numbering) with it;
    # take the starting point after that.
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


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    # Imported here: the modules that need the sandbox skip themselves without it.
    from sandbox.testing import running_sandbox

    with running_sandbox() as handle:
        yield handle


@pytest.fixture
def _fresh(sandbox: SandboxHandle) -> None:
    sandbox.reset()


@pytest.fixture
def clocks(sandbox: SandboxHandle) -> Clocks:
    return Clocks(sandbox)


@pytest.fixture
def settings(sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    return sandbox_settings(sandbox, tmp_path / "tokens.json")


@pytest.fixture
def make_client(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> Iterator[Callable[..., AllegroClient]]:
    """Clients on a store holding a user token; keyword arguments change their settings."""
    store = FileTokenStore(settings.token_file)
    store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), clocks.now()))
    made: list[AllegroClient] = []

    def make(**changes: Any) -> AllegroClient:
        client = AllegroClient(
            settings.model_copy(update=changes), store, sleep=clocks.sleep, clock=clocks.now
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., AllegroClient]) -> AllegroClient:
    return make_client()


@pytest.fixture
def make_budgeted(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks, tmp_path: Path
) -> Iterator[MakeBudgeted]:
    """Clients of the sandbox's seller, each with a rate budget of the keyword arguments'
    limits (one SQLite file, sandbox time)."""
    store = FileTokenStore(settings.token_file)
    store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), clocks.now()))
    made: list[tuple[AllegroClient, RateBudget]] = []

    def make(**limits: Any) -> tuple[AllegroClient, RateBudget]:
        config = BudgetConfig(client_key=sandbox.client_id, **limits)
        budget = open_budget(f"sqlite:///{tmp_path / 'budget.db'}", config, clock=clocks.now)
        client = AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now, budget=budget)
        made.append((client, budget))
        return client, budget

    yield make
    for client, budget in made:
        client.close()
        budget.close()


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
