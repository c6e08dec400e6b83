"""``allegro-feed worker``: its arguments, the child command lines and the supervision."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

import pytest

from workers import worker
from workers.settings import Settings

# A child that waits for SIGTERM and then exits 0 (no sleeping, no timing).
WAITS_FOR_TERM = [
    sys.executable,
    "-c",
    "import signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]); "
    "print('ready', flush=True); signal.sigwait([signal.SIGTERM]); sys.exit(0)",
]


def _start_waiting(supervisor: worker._Supervisor) -> None:
    child = supervisor.start("waits", WAITS_FOR_TERM, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"  # SIGTERM is blocked from here on
    child.stdout.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    worker.register(parser.add_subparsers(dest="command"))
    return parser


def test_the_worker_command_takes_its_options() -> None:
    args = _parser().parse_args(
        [
            "worker",
            "--processes",
            "3",
            "--threads",
            "4",
            "--no-ingest",
            "--queues",
            "publish",
            "enrich",
        ]
    )

    assert (args.processes, args.threads, args.ingest, args.actors) == (3, 4, False, True)
    assert args.queues == ["publish", "enrich"]
    assert callable(args.handler)
    defaults = _parser().parse_args(["worker"])
    assert (defaults.processes, defaults.ingest, defaults.actors, defaults.queues) == (
        None,
        True,
        True,
        None,
    )


def test_a_process_count_below_one_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["worker", "--processes", "0"])
    assert exited.value.code == 2


def test_the_actor_pools_run_the_standard_dramatiq_cli_with_prefixed_queues() -> None:
    command = worker.actor_command(
        Settings(name_prefix="st."), processes=2, threads=8, queues=["publish", "st.enrich"]
    )

    assert command[:4] == [sys.executable, "-m", "dramatiq", "workers.entrypoint"]
    assert command[4:] == [
        "--processes",
        "2",
        "--threads",
        "8",
        "--queues",
        "st.publish",
        "st.enrich",
    ]
    assert worker.ingest_command() == [sys.executable, "-m", "workers.ingest"]


def test_nothing_to_run_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert worker.run_worker(Settings(), ingest=False, actors=False) == worker.EXIT_USAGE
    assert "nothing to run" in capsys.readouterr().err


def test_a_child_that_dies_stops_the_other_and_fails() -> None:
    supervisor = worker._Supervisor()
    _start_waiting(supervisor)
    supervisor.start("dies", [sys.executable, "-c", "import sys; sys.exit(3)"])

    assert supervisor.run() == worker.EXIT_FAILED
    assert supervisor.children["waits"].returncode == 0  # stopped with SIGTERM, cleanly


def test_a_signal_is_forwarded_and_a_clean_stop_exits_zero() -> None:
    supervisor = worker._Supervisor()
    _start_waiting(supervisor)
    supervisor.on_signal(signal.SIGTERM, None)

    assert supervisor.run() == worker.EXIT_OK
    assert supervisor.children["waits"].returncode == 0


def test_a_child_the_forwarded_signal_ended_before_it_took_it_stopped_as_asked() -> None:
    supervisor = worker._Supervisor()
    # No handler yet (still starting): SIGTERM ends it with -15.
    supervisor.start("starting", [sys.executable, "-c", "import time; time.sleep(60)"])
    supervisor.on_signal(signal.SIGTERM, None)

    assert supervisor.run() == worker.EXIT_OK
    assert supervisor.children["starting"].returncode == -signal.SIGTERM


def test_a_child_ended_by_another_signal_is_a_failure() -> None:
    supervisor = worker._Supervisor()
    supervisor.start(
        "crashes_on_term",
        [
            sys.executable,
            "-c",
            "import os, signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGKILL))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    child = supervisor.children["crashes_on_term"]
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    child.stdout.close()
    supervisor.on_signal(signal.SIGTERM, None)

    assert supervisor.run() == worker.EXIT_FAILED
    assert child.returncode == -signal.SIGKILL
