"""``make run``: the main job end to end, on embedded defaults.

``python -m workers.runjob`` needs nothing configured but a RabbitMQ (``ALLEGRO_FEED_AMQP_URL``,
default the local one; a locally installed ``rabbitmq-server`` is started when nothing
answers). It then

1. starts the local Allegro sandbox (``allegro-feed sandbox``) on a free port;
2. opens a fresh SQLite store in a temporary directory and connects the sandbox's seller
   account with the device flow (the sandbox's admin endpoint plays the seller approving
   the code); the tokens go into the store;
3. starts the workers (``allegro-feed worker``: the ingest bridge and the actor pools) on the
   sandbox, that store and the sample shop's mapping file, under a name prefix of its own
   (``run-<pid>.``) so that runs never see each other's queues;
4. publishes the sample shop's events (:mod:`workers.sample`) as upstream would, wave by
   wave, and reads ``<prefix>allegro.status`` until every event has its terminal status;
5. prints a summary (statuses, top rejection reasons with an example SKU, time, events/s)
   and stops everything it started, also on Ctrl-C or an error, deleting its queues.

Exit codes: 0 every event got a status; 1 some did not in time, or a part failed to start;
2 RabbitMQ is not available (the message says how to get one); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from workers.sample import MAPPING_FILE, SampleEvent, sample_events, waves
from workers.sample.report import Progress, StatusBoard, missing_text, summarize
from workers.settings import Environment, Settings
from workers.topology import Names

__all__ = [
    "Progress",
    "RunError",
    "StatusBoard",
    "ensure_rabbitmq",
    "main",
    "publish_events",
    "run",
    "summarize",
]

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_NO_RABBITMQ = 2
EXIT_INTERRUPTED = 130

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
#: Longest wait for all statuses of the whole run (after the workers are up), s.
DEFAULT_TIMEOUT_S = 90.0
#: Longest wait for the sandbox, the workers' topology or the device flow, s.
STARTUP_TIMEOUT_S = 30.0
#: Longest wait for a RabbitMQ this command started itself, s.
RABBITMQ_START_TIMEOUT_S = 60.0
#: How long stopping a child may take before it is killed, s.
STOP_TIMEOUT_S = 20.0

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # noqa: S104 - compared, not bound
_NO_RABBITMQ_HELP = """\
Get one of these and run `make run` again:
  - Debian/Ubuntu: sudo apt-get install rabbitmq-server (it starts as a service)
  - Docker: docker run -d --name rabbitmq -p 5672:5672 rabbitmq:3
  - the compose file: docker compose -f deploy/compose.yaml up -d rabbitmq
  - or point ALLEGRO_FEED_AMQP_URL at a RabbitMQ you have (amqp://user:pass@host:5672/%2F)"""


class RunError(Exception):
    """``make run`` cannot go on; the message says why and what to do. ``exit_code`` is the
    command's exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_INCOMPLETE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Interrupted(Exception):
    """SIGTERM received: stop like on Ctrl-C."""


# --- RabbitMQ -------------------------------------------------------------------------------


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


# --- children -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(command: list[str], log_path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log_path``, in a session of its own
    (see :func:`stop_process`)."""
    with log_path.open("ab") as log:
        # A session of its own: Ctrl-C reaches only this command, which stops the children
        # in order (workers first, so that they finish their messages while Allegro is up).
        return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM ``proc`` and wait up to ``timeout_s``; then SIGKILL its whole process group
    (it was started in a session of its own, so that also ends the children it started)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait(timeout=10)


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, indented (for error messages)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def start_sandbox(
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    timeout_s: float = STARTUP_TIMEOUT_S,
    *,
    log_level: str = "info",
) -> subprocess.Popen[bytes]:
    """``allegro-feed sandbox --port PORT`` as a child, once ``/__sandbox/config`` answers.
    ``log_level``: uvicorn's (``info`` logs a line per request)."""
    command = [sys.executable, "-m", "workers.cli", "sandbox", "--port", str(port)]
    command += ["--log-level", log_level]
    proc = spawn(command, log_path, env)
    url = f"http://127.0.0.1:{port}/__sandbox/config"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(
                f"the sandbox exited at start (code {proc.returncode}):\n{tail(log_path)}"
            )
        try:
            httpx.get(url, timeout=1.0).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_process(proc)
    raise RunError(f"the sandbox did not answer on port {port} within {timeout_s:.0f} s")


def connect_seller(settings: Settings, admin_url: str, out: Callable[[str], None]) -> None:
    """Connect the account ``default`` with the device flow; tokens go into the store."""
    from workers.allegro.device import connect_account
    from workers.allegro.oauth import DeviceAuthorization
    from workers.store import open_store

    def approve(device: DeviceAuthorization) -> None:
        # The sandbox's admin endpoint plays the seller confirming the code in a browser.
        httpx.post(
            f"{admin_url}/__sandbox/device/approve",
            json={"user_code": device.user_code},
            timeout=10.0,
        ).raise_for_status()
        out(f"(the sandbox's seller confirms {device.user_code} for you)")

    store = open_store(settings.database_url)
    try:
        connect_account(settings, store, "default", out=out, on_started=approve)
    finally:
        store.close()


def worker_command(processes: int, threads: int) -> list[str]:
    """``allegro-feed worker`` with the pool sizes of the run."""
    return [
        sys.executable,
        "-m",
        "workers.cli",
        "worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]


def wait_for_topology(
    params: pika.URLParameters,
    names: Names,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> None:
    """Wait until the workers have declared the exchange events go to and the status queue
    (passive declarations); RunError when the workers exit or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(
                f"the workers exited at start (code {proc.returncode}):\n{tail(log_path)}"
            )
        try:
            connection = pika.BlockingConnection(params)
        except pika.exceptions.AMQPError:
            time.sleep(0.3)
            continue
        try:
            channel = connection.channel()
            channel.exchange_declare(names.products_exchange, passive=True)
            channel.queue_declare(names.status_queue, passive=True)
            channel.queue_declare(names.ingest_queue, passive=True)
            return
        except pika.exceptions.ChannelClosedByBroker:
            time.sleep(0.3)
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()
    raise RunError(
        f"the workers did not declare {names.products_exchange} and {names.status_queue} "
        f"within {timeout_s:.0f} s:\n{tail(log_path)}"
    )


def delete_topology(params: pika.URLParameters, names: Names) -> None:
    """Delete every queue and exchange of the run's prefix (missing ones are fine)."""
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        for queue in names.all_queues():
            try:
                channel.queue_delete(queue)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
        for exchange in (names.products_exchange, names.status_exchange):
            try:
                channel.exchange_delete(exchange)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()


# --- publishing and collecting --------------------------------------------------------------


def publish_events(
    channel: BlockingChannel,
    exchange: str,
    events: Sequence[SampleEvent],
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Publish ``events`` as upstream does: persistent JSON, ``message_id`` = ``event_id``,
    the type as routing key, ``mandatory`` and confirmed one by one (``channel`` must be in
    confirm mode). Returns how many were published.

    Raises pika's ``UnroutableError`` when no queue is bound for a routing key, and
    ``NackError`` when RabbitMQ refuses a message.
    """
    for count, event in enumerate(events, start=1):
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            message_id=event.event_id,
        )
        channel.basic_publish(
            exchange=exchange,
            routing_key=event.routing_key,
            body=event.payload(),
            properties=properties,
            mandatory=True,
        )
        if on_progress is not None:
            on_progress(count, len(events))
    return len(events)


def collect_statuses(
    channel: BlockingChannel,
    queue: str,
    board: StatusBoard,
    wanted: Sequence[str],
    deadline: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Consume ``queue`` into ``board`` until every id of ``wanted`` has a status or the
    monotonic ``deadline`` passes; returns the ids still without one."""
    missing = [e for e in wanted if not board.has(e)]
    if not missing:
        return []
    for method, _properties, body in channel.consume(queue, inactivity_timeout=0.2):
        if method is not None:
            board.add(body)
            channel.basic_ack(method.delivery_tag)
        done = sum(1 for e in wanted if board.has(e))
        if on_progress is not None:
            on_progress(done, len(wanted))
        if done == len(wanted) or time.monotonic() > deadline:
            break
    channel.cancel()
    return [e for e in wanted if not board.has(e)]


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """What ``make run`` may be told (``python -m workers.runjob --help``)."""

    amqp_url: str = DEFAULT_AMQP_URL
    timeout_s: float = DEFAULT_TIMEOUT_S
    processes: int = 2
    threads: int = 8
    verbose: bool = False
    keep: bool = False


def _child_env(settings: Settings, *, verbose: bool) -> dict[str, str]:
    """The environment of the workers: this run's settings as ALLEGRO_FEED_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_FEED_")}
    env.update(
        {
            "ALLEGRO_FEED_ENVIRONMENT": "local",
            "ALLEGRO_FEED_API_URL": str(settings.api_url),
            "ALLEGRO_FEED_AUTH_URL": str(settings.auth_url),
            "ALLEGRO_FEED_AMQP_URL": settings.amqp_url,
            "ALLEGRO_FEED_DATABASE_URL": settings.database_url,
            "ALLEGRO_FEED_MAPPING_FILE": str(settings.mapping_file),
            "ALLEGRO_FEED_NAME_PREFIX": settings.name_prefix,
            # A demo should show FAILED within its timeout rather than retry for minutes.
            "ALLEGRO_FEED_ACTOR_MAX_RETRIES": str(settings.actor_max_retries),
            "ALLEGRO_FEED_ACTOR_MIN_BACKOFF_MS": str(settings.actor_min_backoff_ms),
            "ALLEGRO_FEED_ACTOR_MAX_BACKOFF_MS": str(settings.actor_max_backoff_ms),
            "ALLEGRO_FEED_OPERATION_POLL_MAX_S": str(settings.operation_poll_max_s),
            "ALLEGRO_FEED_LOG_FORMAT": "json",
            "ALLEGRO_FEED_LOG_LEVEL": "INFO" if verbose else "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _sandbox_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_SANDBOX_")}
    # The sandbox's seller "confirms" at once; polling every second keeps the start short.
    env["ALLEGRO_SANDBOX_DEVICE_INTERVAL_S"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _Interrupted


@dataclass
class _Started:
    """What this run started, to be stopped in reverse order."""

    rabbitmq: bool = False
    sandbox: subprocess.Popen[bytes] | None = None
    workers: subprocess.Popen[bytes] | None = None
    params: pika.URLParameters | None = None
    names: Names | None = None


def _cleanup(started: _Started, out: Callable[[str], None]) -> None:
    if started.workers is not None and started.workers.poll() is None:
        out("stopping the workers ...")
    stop_process(started.workers)
    if started.params is not None and started.names is not None:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            delete_topology(started.params, started.names)
    stop_process(started.sandbox)
    if started.rabbitmq:
        out("stopping the RabbitMQ this run started ...")
        _stop_rabbitmq()


def _drive(
    options: RunOptions,
    settings: Settings,
    started: _Started,
    workdir: Path,
    progress: Progress,
) -> int:
    """Steps 3-5 of the module docstring, once the sandbox runs and the seller is connected."""
    names = Names.of(settings)
    params = pika.URLParameters(settings.amqp_url)
    worker_log = workdir / "workers.log"
    progress.line(
        f"starting the workers ({options.processes} processes x {options.threads} threads, "
        f"prefix {settings.name_prefix}) ..."
    )
    started.workers = spawn(
        worker_command(options.processes, options.threads),
        worker_log,
        _child_env(settings, verbose=options.verbose),
    )
    started.params, started.names = params, names
    wait_for_topology(params, names, started.workers, worker_log)

    events = sample_events()
    board = StatusBoard()
    connection = pika.BlockingConnection(params)
    begun = time.monotonic()
    deadline = begun + options.timeout_s
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=500)
        grouped = waves(events)
        sent: list[SampleEvent] = []
        for number, wave in enumerate(grouped, start=1):
            label = f"wave {number}/{len(grouped)}"

            def published(n: int, total: int, label: str = label) -> None:
                progress.update(f"{label}: published {n}/{total} events", force=n == total)

            publish_events(channel, names.products_exchange, wave, published)
            sent += wave
            wanted = list(dict.fromkeys(e.event_id for e in wave))

            def show(done: int, total: int, label: str = label, wanted: list[str] = wanted) -> None:
                counts = board.counts([e for e in wanted if board.has(e)])
                shown = " ".join(f"{s.lower()} {n}" for s, n in sorted(counts.items()))
                progress.update(f"{label}: {done}/{total} statuses  ({shown})")

            missing = collect_statuses(channel, names.status_queue, board, wanted, deadline, show)
            show(len(wanted) - len(missing), len(wanted))
            progress.done(
                f"{label}: {len(wanted) - len(missing)}/{len(wanted)} statuses after "
                f"{time.monotonic() - begun:.1f} s"
            )
            if missing:
                progress.line(
                    f"gave up after {options.timeout_s:.0f} s: {len(missing)} events of {label} "
                    f"have no status yet:\n{missing_text(missing, events)}\n"
                    f"the workers' log ({worker_log.name}) ends with:\n{tail(worker_log)}"
                )
                progress.line(summarize(board.first, sent, time.monotonic() - begun))
                return EXIT_INCOMPLETE
            if started.workers.poll() is not None:
                raise RunError(
                    f"the workers exited (code {started.workers.returncode}):\n{tail(worker_log)}"
                )
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()
    progress.line(summarize(board.first, events, time.monotonic() - begun))
    return EXIT_OK


def _start_and_drive(
    options: RunOptions,
    workdir: Path,
    started: _Started,
    progress: Progress,
    say: Callable[[str], None],
) -> int:
    started.rabbitmq = ensure_rabbitmq(options.amqp_url, out=say)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"starting the local Allegro sandbox on {url} ...")
    started.sandbox = start_sandbox(port, workdir / "sandbox.log", _sandbox_env())
    settings = Settings(
        environment=Environment.LOCAL,
        api_url=url,
        auth_url=url,
        amqp_url=options.amqp_url,
        database_url=f"sqlite:///{workdir / 'store.db'}",
        mapping_file=MAPPING_FILE,
        name_prefix=f"run-{os.getpid()}.",
        actor_max_retries=3,
        actor_min_backoff_ms=200,
        actor_max_backoff_ms=2_000,
        operation_poll_max_s=30.0,
        log_level="WARNING",
    )
    from workers.logging import configure_logging

    # This process talks (device flow, setup); its log lines would only clutter the output.
    configure_logging(settings, quiet_loggers=("httpx", "httpcore"))
    # Waiting for the workers' topology probes with passive declarations: their 404s are
    # expected and pika logs each as a warning.
    logging.getLogger("pika").setLevel(logging.ERROR)
    connect_seller(settings, url, say)
    return _drive(options, settings, started, workdir, progress)


def run(options: RunOptions, out: Callable[[str], None] | None = None) -> int:
    """The whole of ``make run`` (module docstring); returns the exit code.

    Whatever happens (an error, Ctrl-C, SIGTERM), what the run started is stopped and its
    queues deleted before this returns.
    """
    progress = Progress()
    say = out or progress.line
    started = _Started()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with contextlib.ExitStack() as stack:
            if options.keep:
                tmp = tempfile.mkdtemp(prefix="allegro-feed-run-")
                say(f"logs and the store are kept in {tmp}")
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="allegro-feed-run-"))
            try:
                return _start_and_drive(options, Path(tmp), started, progress, say)
            except RunError as exc:
                say(f"make run: {exc}")
                return exc.exit_code
            except (KeyboardInterrupt, _Interrupted):
                say("interrupted: stopping what this run started ...")
                return EXIT_INTERRUPTED
            finally:
                # A second Ctrl-C must not leave children behind half-stopped.
                sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
                try:
                    _cleanup(started, say)
                finally:
                    signal.signal(signal.SIGINT, sigint)
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers.runjob",
        description="make run: publish the sample shop through the whole pipeline (RabbitMQ, "
        "the workers, the local Allegro sandbox) and summarise the outcomes.",
        epilog="exit codes: 0 every event got a status; 1 some did not, or a part failed; "
        "2 no RabbitMQ (the message says how to get one); 130 interrupted.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up waiting for statuses after S seconds (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    parser.add_argument("--processes", type=int, default=2, help="actor processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    parser.add_argument("--verbose", action="store_true", help="INFO logs in the workers' log file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's directory (workers.log, sandbox.log, store.db) and print it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make run``."""
    args = build_parser().parse_args(argv)
    options = RunOptions(
        amqp_url=os.environ.get("ALLEGRO_FEED_AMQP_URL") or DEFAULT_AMQP_URL,
        timeout_s=args.timeout,
        processes=args.processes,
        threads=args.threads,
        verbose=args.verbose,
        keep=args.keep,
    )
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
