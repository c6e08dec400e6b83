"""``params``, ``suggest`` and ``check-mapping --against-allegro`` against the sandbox over
HTTP, run as the CLI runs them (settings from the environment, tokens from the store)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.catalog import Catalog
from sandbox.testing import SandboxHandle, running_sandbox
from schemas.mapping import load_mapping
from workers.allegro import TokenSet
from workers.ops import EXIT_FAILED, EXIT_OK, EXIT_USAGE, register
from workers.store import open_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture
def environment(sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Settings pointing at the sandbox and a fresh store; returns the database URL."""
    database_url = f"sqlite:///{tmp_path / 'store.db'}"
    for name, value in {
        "ENVIRONMENT": "local",
        "API_URL": sandbox.url,
        "AUTH_URL": sandbox.url,
        "CLIENT_ID": sandbox.client_id,
        "CLIENT_SECRET": sandbox.client_secret,
        "DATABASE_URL": database_url,
        "TOKEN_FILE": str(tmp_path / "tokens.json"),
        "RETRY_BACKOFF_INITIAL_S": "0.01",
        "RETRY_BACKOFF_MAX_S": "0.05",
    }.items():
        monkeypatch.setenv(f"ALLEGRO_FEED_{name}", value)
    monkeypatch.delenv("ALLEGRO_FEED_MAPPING_FILE", raising=False)
    return database_url


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    result: int = args.handler(args)
    return result


def test_params_writes_a_template_of_every_parameter(
    environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = Catalog.load_default()
    out = tmp_path / "kettles.yaml"
    assert run("params", "67490", "--out", str(out)) == EXIT_OK
    assert f"wrote {out}:" in capsys.readouterr().out
    mapping = load_mapping(out)
    expected = [p["id"] for p in catalog.parameters("67490")]
    assert [rule.parameter for rule in mapping.attributes] == expected
    text = out.read_text(encoding="utf-8")
    assert 'category 67490 "Czajniki elektryczne"' in text
    assert "REQUIRED in the offer" in text

    # The untouched template passes the check against Allegro.
    assert run("check-mapping", str(out), "--against-allegro") == EXIT_OK
    assert "OK (0 category rules" in capsys.readouterr().out


def test_params_of_a_category_with_subcategories_lists_them(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("params", "4") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "is not a leaf" in err and "165" in err
    assert run("params", "no-such-category") == EXIT_FAILED
    assert "Allegro has no category 'no-such-category'" in capsys.readouterr().err


def test_check_mapping_against_allegro_names_each_problem(
    environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(
        'version: 1\ncategories:\n  exact: {"Telefony": "4", "Czajniki": "67490"}\n'
        "attributes:\n"
        '  - {attribute: kolor, parameter: "999999", categories: ["67490"]}\n',
        encoding="utf-8",
    )
    assert run("check-mapping", str(path), "--against-allegro") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "2 problem(s) found against Allegro" in out
    assert "categories.exact.Telefony: category 4" in out and "is not a leaf" in out
    assert "attributes[0].parameter: parameter '999999' does not exist in category 67490" in out


def test_suggest_prints_leaf_ids_with_their_paths(
    environment: str, sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("suggest", "Czajnik elektryczny") == EXIT_USAGE  # no account connected
    assert "allegro-feed connect --account default" in capsys.readouterr().err

    store = open_store(environment)
    try:
        store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), time.time()))
    finally:
        store.close()
    assert run("suggest", "Czajnik elektryczny") == EXIT_OK
    first = capsys.readouterr().out.splitlines()[0]
    category_id, path = first.split(maxsplit=1)
    assert category_id == "67490"
    assert path.endswith("> Czajniki elektryczne") and path.count(" > ") >= 1

    assert run("suggest", "qqqqzzzz") == EXIT_FAILED
    assert "suggests no category" in capsys.readouterr().out
