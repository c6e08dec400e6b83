"""``allegro-feed status SKU`` reading the audit trail from a real (SQLite) store."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.status import Status, StatusError, StatusMessage
from workers.ops import EXIT_FAILED, EXIT_OK, register
from workers.store import open_store

pytestmark = pytest.mark.integration


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    result: int = args.handler(args)
    return result


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("ALLEGRO_FEED_DATABASE_URL", url)
    return url


def _status(minute: int, status: Status, **fields: object) -> StatusMessage:
    return StatusMessage.model_validate(
        {
            "event_id": f"ev-{minute}",
            "sku": "S-1",
            "account": "default",
            "version": minute,
            "status": status,
            "at": datetime(2026, 7, 18, 12, minute, tzinfo=UTC),
            **fields,
        }
    )


def test_the_trail_newest_first_with_errors(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(database_url)
    try:
        store.add_status(_status(1, Status.PUBLISHED, offer_id="7700001", trace_id="t-1"))
        store.add_status(
            _status(
                2,
                Status.REJECTED,
                trace_id="t-2",
                errors=[
                    StatusError(
                        code="ParameterCategoryException",
                        message="wrong place",
                        user_message="Parametr Stan jest parametrem oferty",
                    )
                ],
            )
        )
        store.add_status(_status(3, Status.UPDATED, offer_id="7700001"))
    finally:
        store.close()
    capsys.readouterr()  # the store's own log lines

    assert run("status", "S-1") == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "SKU S-1 (account default): 3 status(es), newest first"
    assert [line.split()[2] for line in lines[1:] if line.startswith("2026")] == [
        "UPDATED",
        "REJECTED",
        "PUBLISHED",
    ]
    assert "    ParameterCategoryException: Parametr Stan jest parametrem oferty" in lines

    assert run("status", "S-1", "--limit", "1", "--json") == EXIT_OK
    [latest] = json.loads(capsys.readouterr().out)
    assert latest["status"] == "UPDATED" and latest["event_id"] == "ev-3"


def test_an_unknown_sku_or_missing_store_exits_1(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("status", "S-1") == EXIT_FAILED
    assert "no store at" in capsys.readouterr().err
    open_store(database_url).close()
    capsys.readouterr()
    assert run("status", "S-9", "--account", "shop") == EXIT_FAILED
    assert "no status recorded for SKU 'S-9' of account 'shop'" in capsys.readouterr().out
