"""``make run``'s demo against the sandbox over HTTP: it lists offers and shows a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox.testing import SandboxHandle, running_sandbox
from workers.demo import SEARCHES, run
from workers.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(command_delay_s=0, device_interval_s=0) as handle:
        yield handle


def test_demo_lists_one_offer_per_search_and_shows_allegros_errors(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = Settings(
        api_url=sandbox.url,
        auth_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=SecretStr(sandbox.client_secret),
        token_file=tmp_path / "tokens.json",
    )
    lines: list[str] = []
    figures = run(settings, sandbox.url, out=lines.append)
    offers = sandbox.offers()
    assert figures["created"] == len(SEARCHES) == len(offers)
    assert sorted(o["external"]["id"] for o in offers) == [
        f"DEMO-{n:03d}" for n in range(1, len(SEARCHES) + 1)
    ]
    assert all(o["stock"]["available"] == 25 for o in offers)  # the batch command applied
    assert figures["refused_errors"] >= 3
    assert any("ConstraintViolationException.Price" in line for line in lines)
