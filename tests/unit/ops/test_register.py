"""Every operations command is registered, with examples and exit codes in its help."""

from __future__ import annotations

import argparse

import pytest

from workers.ops import register

COMMANDS = [
    ["deadletters"],
    ["deadletters", "list"],
    ["deadletters", "show"],
    ["deadletters", "replay"],
    ["deadletters", "purge"],
    ["publish"],
    ["params"],
    ["suggest"],
    ["check-mapping"],
    ["status"],
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    return parser


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_examples_and_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text
    assert "allegro-feed " + command[0] in text
    assert "exit codes: 0 ok, 1 failed" in text


def test_every_command_has_a_handler() -> None:
    parser = _parser()
    for argv in (
        ["deadletters", "list"],
        ["deadletters", "show", "enrich", "m-1"],
        ["deadletters", "replay", "enrich", "--all"],
        ["deadletters", "purge", "enrich", "--older-than", "7d", "--yes"],
        ["publish", "feed.csv", "--batch", "10"],
        ["params", "165"],
        ["suggest", "czajnik"],
        ["check-mapping", "mapping.yaml"],
        ["status", "S-1", "--limit", "5"],
    ):
        assert callable(parser.parse_args(argv).handler)


@pytest.mark.parametrize(
    "argv",
    [
        ["publish", "feed.csv", "--batch", "0"],
        ["publish", "feed.csv", "--type", "product.created"],
        ["deadletters", "purge", "enrich", "--older-than", "soon"],
        ["status", "S-1", "--limit", "-1"],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args(argv)
    assert done.value.code == 2
