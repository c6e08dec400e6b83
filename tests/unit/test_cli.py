"""The command line: help with examples, exit codes, configuration errors named."""

from __future__ import annotations

import pytest

from workers.cli import EXIT_USAGE, main


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "allegro-feed connect --account" in text
    assert "exit codes" in text


def test_no_command_prints_help_and_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert "COMMAND" in capsys.readouterr().out


def test_sandbox_help_lists_the_knobs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    text = capsys.readouterr().out
    assert "--port" in text
    assert "--async-ratio" in text


def test_connect_without_credentials_names_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_ENVIRONMENT", "sandbox")
    monkeypatch.delenv("ALLEGRO_FEED_CLIENT_ID", raising=False)
    monkeypatch.delenv("ALLEGRO_FEED_CLIENT_SECRET", raising=False)
    assert main(["connect", "--account", "shop"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "ALLEGRO_FEED_CLIENT_ID" in err
    assert "ALLEGRO_FEED_CLIENT_SECRET" in err


def test_invalid_setting_is_named_with_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_ENVIRONMENT", "staging")
    assert main(["connect"]) == EXIT_USAGE
    assert "ALLEGRO_FEED_ENVIRONMENT" in capsys.readouterr().err
