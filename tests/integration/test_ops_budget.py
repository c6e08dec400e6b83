"""The CLI tools (``params``, ``check-mapping --against-allegro``) take from the rate budget
the workers share (audit auth #6): their requests count against the client id, and while the
workers' budget has the client id blocked after a 429 they send nothing to Allegro."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration.test_ops_catalogue import environment, run, sandbox
from workers.budget import BudgetConfig, Kind, budget_url, open_budget
from workers.ops import EXIT_FAILED, EXIT_OK
from workers.settings import Settings

pytestmark = pytest.mark.integration

__all__ = ["environment", "sandbox"]  # the fixtures, shared with test_ops_catalogue


def _budget_url() -> str:
    return budget_url(Settings())  # the environment's settings, as the CLI reads them


def _api_requests(sandbox: SandboxHandle, since: int) -> list[str]:
    return [r["path"] for r in sandbox.requests(since) if r["path"].startswith("/sale/")]


def test_params_counts_its_requests_in_the_shared_budget(
    environment: str, sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("params", "67490") == EXIT_OK
    capsys.readouterr()
    with open_budget(_budget_url(), BudgetConfig(client_key=sandbox.client_id)) as budget:
        used = budget.status(Kind.CLIENT, account="default").used[60.0]
    assert used >= 2  # the category, its parameters (and the path's parents)


def test_tools_send_nothing_while_the_client_id_is_blocked(
    environment: str, sandbox: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_budget(_budget_url(), BudgetConfig(client_key=sandbox.client_id)) as budget:
        budget.penalize(Kind.CLIENT, "default", 60)  # a worker met a client-id block
    since = max((int(r["seq"]) for r in sandbox.requests()), default=0)
    assert run("params", "67490") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "rate budget exhausted (client)" in err and "not sent" in err
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('version: 1\ncategories:\n  exact: {"Czajniki": "67490"}\n', "utf-8")
    assert run("check-mapping", str(mapping), "--against-allegro") == EXIT_FAILED
    assert "rate budget exhausted (client)" in capsys.readouterr().err
    assert _api_requests(sandbox, since) == []
