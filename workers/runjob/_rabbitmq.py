"""A RabbitMQ for ``make run`` (:mod:`workers.runjob`): check that one answers and accepts the
login, start a locally installed ``rabbitmq-server`` when none does, and stop it again."""

from __future__ import annotations

import contextlib
import copy
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

import pika
import pika.exceptions

from ._errors import EXIT_NO_RABBITMQ, RunError

#: Longest wait for a RabbitMQ this command started itself, s.
RABBITMQ_START_TIMEOUT_S = 60.0

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # noqa: S104 - compared, not bound
_NO_RABBITMQ_HELP = """\
Get one of these and run `make run` again:
  - Debian/Ubuntu: sudo apt-get install rabbitmq-server (it starts as a service)
  - Docker: docker run -d --name rabbitmq -p 5672:5672 rabbitmq:3
  - the compose file: docker compose -f deploy/compose.yaml up -d rabbitmq
  - or point ALLEGRO_FEED_AMQP_URL at a RabbitMQ you have (amqp://user:pass@host:5672/%2F)"""


def _amqp_reachable(params: pika.URLParameters, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((params.host, params.port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _amqp_login(params: pika.URLParameters) -> None:
    """Open and close one AMQP connection (one attempt, 5 s socket timeout); RunError
    saying why when that fails."""
    attempt = copy.copy(params)
    attempt.connection_attempts = 1
    attempt.socket_timeout = 5
    try:
        pika.BlockingConnection(attempt).close()
    except pika.exceptions.ProbableAuthenticationError as exc:
        raise RunError(
            f"RabbitMQ at {params.host}:{params.port} refused the login ({exc!r}); set "
            "ALLEGRO_FEED_AMQP_URL with the right user and password",
            EXIT_NO_RABBITMQ,
        ) from None
    except pika.exceptions.AMQPError as exc:
        raise RunError(
            f"RabbitMQ at {params.host}:{params.port} answers but no AMQP connection could be "
            f"opened ({exc!r})",
            EXIT_NO_RABBITMQ,
        ) from None


def ensure_rabbitmq(
    url: str,
    *,
    out: Callable[[str], None] = print,
    which: Callable[[str], str | None] = shutil.which,
    start_command: Sequence[str] = ("rabbitmq-server", "-detached"),
    timeout_s: float = RABBITMQ_START_TIMEOUT_S,
) -> bool:
    """Make sure RabbitMQ answers at ``url``; returns True when this call started it.

    When nothing answers, ``url`` names this machine and ``rabbitmq-server`` is installed,
    ``start_command`` is run and the broker waited for (``timeout_s``). Raises
    :class:`RunError` (exit code 2) saying how to get a RabbitMQ otherwise, or when the
    login fails.
    """
    params = pika.URLParameters(url)
    if _amqp_reachable(params):
        _amqp_login(params)
        return False
    where = f"{params.host}:{params.port}"
    if params.host not in _LOCAL_HOSTS:
        raise RunError(
            f"nothing answers at {where} (ALLEGRO_FEED_AMQP_URL).\n{_NO_RABBITMQ_HELP}",
            EXIT_NO_RABBITMQ,
        )
    if which(start_command[0]) is None:
        raise RunError(
            f"RabbitMQ is not running at {where} and no rabbitmq-server is installed.\n"
            f"{_NO_RABBITMQ_HELP}",
            EXIT_NO_RABBITMQ,
        )
    out(f"RabbitMQ is not running at {where}: starting it ({' '.join(start_command)}) ...")
    try:
        result = subprocess.run(  # noqa: S603 - a fixed command
            list(start_command), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(
            f"could not start RabbitMQ ({exc}).\n{_NO_RABBITMQ_HELP}", EXIT_NO_RABBITMQ
        ) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RunError(
            f"`{' '.join(start_command)}` failed (exit {result.returncode}: {detail[0]}); it "
            f"may need root (sudo systemctl start rabbitmq-server).\n{_NO_RABBITMQ_HELP}",
            EXIT_NO_RABBITMQ,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _amqp_reachable(params):
            with contextlib.suppress(RunError):
                _amqp_login(params)
                out(f"RabbitMQ is up at {where}")
                return True
        time.sleep(0.5)
    raise RunError(
        f"started rabbitmq-server, but nothing answered at {where} within {timeout_s:.0f} s.\n"
        f"{_NO_RABBITMQ_HELP}",
        EXIT_NO_RABBITMQ,
    )


def _stop_rabbitmq(which: Callable[[str], str | None] = shutil.which) -> None:
    if which("rabbitmqctl") is not None:
        command = ["rabbitmqctl", "stop"]
        subprocess.run(command, capture_output=True, timeout=60, check=False)  # noqa: S603
