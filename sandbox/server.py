"""Serve the sandbox under uvicorn: the ``allegro-feed sandbox`` subcommand and
``python -m sandbox``.

Knobs come from ``ALLEGRO_SANDBOX_<KNOB>`` environment variables, then from command-line
flags (``--async-ratio 0.5`` sets ``async_ratio``), flags winning.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from typing import Any

import uvicorn

from sandbox.app import create_app
from sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ENV_PREFIX,
    KNOB_HELP,
    SandboxConfig,
)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add_arguments", "config_from_args", "run_from_args"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port``, ``--log-level`` and one flag per knob to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for API and OAuth (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default info)",
    )
    knobs = parser.add_argument_group(
        "knobs", f"default: the {ENV_PREFIX}<KNOB> environment variable, else the built-in value"
    )
    defaults = SandboxConfig()
    for field in fields(SandboxConfig):
        default = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        text = f"{KNOB_HELP.get(field.name, field.name)} (built-in: {default!r})"
        if isinstance(default, bool):
            knobs.add_argument(
                flag,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=text,
            )
        else:
            knobs.add_argument(
                flag,
                dest=field.name,
                type=type(default),
                default=None,
                metavar=field.name.upper(),
                help=text,
            )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Environment knobs overridden by the flags that were given."""
    given: dict[str, Any] = {
        field.name: getattr(args, field.name)
        for field in fields(SandboxConfig)
        if getattr(args, field.name, None) is not None
    }
    return SandboxConfig.from_env().with_knobs(given)


def run_from_args(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM."""
    config = config_from_args(args)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=5,
        )
    )
    base = config.base_url or f"http://{args.host}:{args.port}"
    logging.getLogger("uvicorn.error").info(
        "Allegro sandbox: API and OAuth at %s (default app %s / %s; admin under %s/__sandbox)",
        base,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        base,
    )
    server.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local Allegro REST API simulator (OAuth and API on one port).",
        epilog="example: python -m sandbox --port 8765 --async-ratio 0.5 --latency-ms 50",
    )
    add_arguments(parser)
    run_from_args(parser.parse_args(argv))
