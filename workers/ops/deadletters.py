"""``allegro-feed deadletters``: list, show, replay and purge dead letters.

Two kinds of dead letter:

- **Dramatiq's** ``<step>.XQ`` queues (``categorize``, ``enrich``, ``validate``,
  ``publish``): a message whose retries ran out (status ``FAILED``). Its body is Dramatiq's
  JSON message: ``actor_name``, ``args``, ``kwargs``, ``options`` (``retries``, and the
  last ``traceback``); RabbitMQ adds the ``x-death`` header when dead-lettering it.
- **Parked raw events** in ``allegro.ingest.rejected``: the bytes of an upstream event the
  ingest bridge refused (status ``REJECTED``), with the reason in ``x-rejected-reason``.

How messages are read without losing them (``list``, ``show``, ``--dry-run``, and the
messages a ``replay`` or ``purge`` leaves alone): each is taken with ``basic.get`` and *not
acknowledged*; when the command is done, all of them are given back at once
(``basic.nack`` with ``requeue``). RabbitMQ puts requeued messages back at their original
places, so the order is kept, and a crash of the command gives them back the same way (an
unacknowledged message returns when its channel closes). The only trace is the
``redelivered`` flag; the dead-letter TTL still counts from when the message was
dead-lettered. Nothing consumes dead-letter queues, so no one else sees the gap meanwhile.

How ``replay`` moves a message without losing it: the new message is published with
publisher confirms and ``mandatory`` (a missing target queue is an error, not a silent
drop), and only after the broker confirmed it is the dead letter acknowledged (removed). A
crash in between leaves the message in both places, never in neither; the pipeline is
idempotent per event (event id and version), so a duplicate costs one extra run.

- A Dramatiq message goes back to its step's queue with its retries reset (``retries``,
  ``deferrals``, ``traceback``, ``eta`` and ``requeue_timestamp`` removed from its
  options; ``replays`` counts the replays) and a fresh ``message_timestamp`` (the first
  one kept in the option ``first_timestamp``), so that an age limit counts from the replay.
- A parked event goes back to ``allegro.products`` with its original routing key. It was
  refused for its content, so replaying the same bytes only helps once the reason is gone
  on our side (a fixed bug, a mapping or account added). Events that still fail the
  contract check are skipped unless ``--force``: the upstream must fix and re-publish them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TextIO

import pika.exceptions

from workers.ops import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OpsError,
    add_command,
    load_ops_settings,
    positive_int,
    report_error,
)
from workers.ops._amqp import blocking_connection, queue_depth, require_depth
from workers.ops._deadletter_actions import RESET_OPTIONS as RESET_OPTIONS
from workers.ops._deadletter_actions import (
    XQ_SUFFIX,
    NotReplayable,
    ReplayTarget,
    dead_letter_queues,
    find,
    peek,
    plan_replay,
    purge,
    replay,
    resolve_queue,
)
from workers.ops._deadletter_actions import PurgeReport as PurgeReport
from workers.ops._deadletter_actions import ReplayReport as ReplayReport
from workers.ops._deadletter_format import REJECTED_AT_HEADER as REJECTED_AT_HEADER
from workers.ops._deadletter_format import REJECTED_REASON_HEADER as REJECTED_REASON_HEADER
from workers.ops._deadletter_format import ROUTING_KEY_HEADERS as ROUTING_KEY_HEADERS
from workers.ops._deadletter_format import (
    DeadLetter,
    describe,
    format_details,
    format_letter,
    full_json,
)
from workers.ops._deadletter_format import Kind as Kind
from workers.settings import Settings

__all__ = [
    "DeadLetter",
    "NotReplayable",
    "ReplayTarget",
    "dead_letter_queues",
    "describe",
    "parse_duration",
    "peek",
    "plan_replay",
    "purge",
    "register",
    "replay",
    "resolve_queue",
]

_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNIT_S = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``12h``, ``7d``, ``2w`` or a sum such as ``1d12h``."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write e.g. 30m, 12h, 7d or 1d12h"
        )
    return timedelta(seconds=sum(int(n) * _UNIT_S[u.lower()] for n, u in parts))


# --- commands ------------------------------------------------------------------------------

_DESCRIPTION = """\
Dead letters are of two kinds: Dramatiq messages whose retries ran out (status FAILED), in
the .XQ queue of their step, and the raw bytes of upstream events the ingest bridge
refused (status REJECTED), parked in allegro.ingest.rejected with the reason in the header
x-rejected-reason.

Reading never loses a message: list, show and --dry-run take messages without
acknowledging them and give them all back at the end, at their original places (a crash
gives them back too). replay publishes each message with publisher confirms before it
removes it from the dead-letter queue: a crash in between leaves a duplicate, never a loss.

A Dramatiq message is replayed to its step's queue with its retries reset. A parked event
is replayed to allegro.products with its original routing key; it was refused for its
content, so replay it only once the cause is fixed on our side (a bug, the mapping, an
account). Events that still fail the contract check are skipped: the upstream must fix
and re-publish them (--force replays them anyway).
"""

_EPILOG = """\
queues: categorize.XQ, enrich.XQ, validate.XQ, publish.XQ (failed after retries) and
allegro.ingest.rejected (parked raw events); each with ALLEGRO_FEED_NAME_PREFIX in front.
QUEUE may be given as the full name, a step (enrich) or "rejected".

examples:
  allegro-feed deadletters list                         message count of every queue
  allegro-feed deadletters list --queue enrich          the messages, with their reasons
  allegro-feed deadletters show enrich.XQ 7f0c5e0e-...  one message in full
  allegro-feed deadletters replay enrich --all --dry-run
  allegro-feed deadletters replay enrich 7f0c5e0e-... 91aa02b1-...
  allegro-feed deadletters replay rejected --all        after the cause was fixed here
  allegro-feed deadletters purge publish --older-than 3d --yes
"""


def register(subparsers: Any) -> None:
    """Add ``deadletters`` and its subcommands."""
    parser = add_command(
        subparsers,
        "deadletters",
        help="list, show, replay and purge dead letters",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="deadletters_command", metavar="ACTION", required=True)

    p_list = add_command(
        sub,
        "list",
        help="message counts of every dead-letter queue, or one queue's messages",
        description="Without --queue: each dead-letter queue and its message count. With "
        "--queue: its messages, oldest first (read without removing them: taken, then "
        "given back in place).",
        epilog="examples:\n  allegro-feed deadletters list\n"
        "  allegro-feed deadletters list --queue rejected --limit 20 --json",
    )
    p_list.add_argument("--queue", "-q", metavar="QUEUE", help="list this queue's messages")
    p_list.add_argument(
        "--limit", type=positive_int, default=100, metavar="N", help="at most N (default 100)"
    )
    p_list.add_argument("--json", action="store_true", help="JSON instead of text")
    p_list.set_defaults(handler=_cmd_list)

    p_show = add_command(
        sub,
        "show",
        help="one dead letter in full: headers, arguments, traceback or rejection reason",
        description="Show one message of a dead-letter queue, found by the id `list` shows. "
        "Nothing is removed.",
        epilog="example:\n  allegro-feed deadletters show enrich.XQ 7f0c5e0e-5d1c-4c43-9c55-1b2a",
    )
    _add_queue_argument(p_show)
    p_show.add_argument("message_id", metavar="MESSAGE_ID", help="as `list --queue` shows it")
    p_show.add_argument("--json", action="store_true", help="JSON instead of text")
    p_show.set_defaults(handler=_cmd_show)

    p_replay = add_command(
        sub,
        "replay",
        help="send dead letters back: to their step (retries reset) or to allegro.products",
        description="Replay dead letters. A Dramatiq message goes back to its step's queue "
        "with its retries reset. A parked event goes back to allegro.products with its "
        "original routing key: it was refused for its content, so replay it only after the "
        "cause was fixed on our side (a bug, the mapping, an account); events that still "
        "fail the contract check are skipped (the upstream must fix and re-publish them) "
        "unless --force. Each message is published with confirms before it is removed from "
        "the dead-letter queue, so a crash never loses one.",
        epilog="examples:\n  allegro-feed deadletters replay publish --all\n"
        "  allegro-feed deadletters replay enrich.XQ 7f0c5e0e-... --dry-run",
    )
    _add_queue_argument(p_replay)
    p_replay.add_argument(
        "message_ids", nargs="*", metavar="MESSAGE_ID", help="the messages to replay"
    )
    p_replay.add_argument("--all", action="store_true", help="every message of the queue")
    p_replay.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    p_replay.add_argument(
        "--force", action="store_true", help="replay parked events that still fail the check"
    )
    p_replay.add_argument(
        "--progress-every",
        type=positive_int,
        default=100,
        metavar="N",
        help="a progress line every N messages (default 100)",
    )
    p_replay.set_defaults(handler=_cmd_replay)

    p_purge = add_command(
        sub,
        "purge",
        help="delete dead letters for good (all, or those older than a duration)",
        description="Delete the messages of a dead-letter queue: all of them, or with "
        "--older-than those dead-lettered longer ago (messages of unknown age are kept). "
        "Needs --yes; without it, says what would be deleted.",
        epilog="examples:\n  allegro-feed deadletters purge enrich --older-than 7d --yes\n"
        "  allegro-feed deadletters purge rejected --yes",
    )
    _add_queue_argument(p_purge)
    p_purge.add_argument(
        "--older-than",
        type=parse_duration,
        metavar="DURATION",
        help="only messages dead for longer than this: 30m, 12h, 7d, 1d12h",
    )
    p_purge.add_argument("--yes", action="store_true", help="really delete")
    p_purge.set_defaults(handler=_cmd_purge)


def _add_queue_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "queue", metavar="QUEUE", help="dead-letter queue: full name, a step (enrich) or rejected"
    )


def _run(command: str, body: Callable[[Settings], int]) -> int:
    try:
        return body(load_ops_settings())
    except OpsError as exc:
        report_error(f"deadletters {command}", exc)
        return exc.exit_code
    except pika.exceptions.AMQPError as exc:
        report_error(f"deadletters {command}", OpsError(f"RabbitMQ: {exc!r}"))
        return EXIT_FAILED


def _cmd_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    def body(settings: Settings) -> int:
        with blocking_connection(settings.amqp_url) as connection:
            if args.queue:
                queue = resolve_queue(settings, args.queue)
                depth, letters = peek(connection, queue, args.limit)
                if args.json:
                    print(json.dumps([x.summary() for x in letters], indent=2), file=stream)
                    return EXIT_OK
                shown = f" (the first {len(letters)})" if len(letters) < depth else ""
                print(f"{queue}: {depth} message{'s' if depth != 1 else ''}{shown}", file=stream)
                for number, letter in enumerate(letters, start=1):
                    print(format_letter(number, letter), file=stream)
                return EXIT_OK
            depths = {q: queue_depth(connection, q) for q in dead_letter_queues(settings)}
            if args.json:
                print(json.dumps(depths, indent=2), file=stream)
                return EXIT_OK
            width = max(len(q) for q in depths)
            print(f"{'QUEUE':<{width}}  MESSAGES", file=stream)
            for name, count in depths.items():
                shown_count = str(count) if count is not None else "- (not declared)"
                print(f"{name:<{width}}  {shown_count}", file=stream)
            return EXIT_OK

    return _run("list", body)


def _cmd_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    def body(settings: Settings) -> int:
        queue = resolve_queue(settings, args.queue)
        with blocking_connection(settings.amqp_url) as connection:
            letter = find(connection, queue, args.message_id)
        if letter is None:
            raise OpsError(f"no message {args.message_id!r} in {queue} (see: deadletters list)")
        text = (
            json.dumps(full_json(letter), indent=2, ensure_ascii=False)
            if args.json
            else format_details(letter)
        )
        print(text, file=stream)
        return EXIT_OK

    return _run("show", body)


def _cmd_replay(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    if args.all == bool(args.message_ids):
        print(
            "allegro-feed deadletters replay: give --all or one or more MESSAGE_IDs (not both)",
            file=sys.stderr,
        )
        return EXIT_USAGE

    def progress(done: int, seen: int) -> None:
        print(f"replayed {done} (of {seen} looked at)", file=sys.stderr)

    def body(settings: Settings) -> int:
        queue = resolve_queue(settings, args.queue)
        with blocking_connection(settings.amqp_url) as connection:
            report = replay(
                connection,
                settings,
                queue,
                None if args.all else args.message_ids,
                dry_run=args.dry_run,
                force=args.force,
                progress=progress,
                progress_every=args.progress_every,
            )
        verb = "would replay" if args.dry_run else "replayed"
        for letter in report.replayed if args.dry_run else []:
            target = (
                letter.routing_key if letter.kind == "parked" else queue.removesuffix(XQ_SUFFIX)
            )
            print(f"{verb} {letter.message_id} -> {target}", file=stream)
        for letter, why in report.skipped:
            print(f"skipped {letter.message_id}: {why}", file=stream)
        for message_id in report.missing:
            print(f"not found: {message_id} (not in {queue})", file=stream)
        print(
            f"{queue}: {verb} {len(report.replayed)}, skipped {len(report.skipped)}, "
            f"not found {len(report.missing)} (the queue held {report.total})",
            file=stream,
        )
        return EXIT_FAILED if report.skipped or report.missing else EXIT_OK

    return _run("replay", body)


def _cmd_purge(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    def body(settings: Settings) -> int:
        queue = resolve_queue(settings, args.queue)
        with blocking_connection(settings.amqp_url) as connection:
            if not args.yes:
                depth = require_depth(connection, queue)
                which = f"older than {args.older_than}" if args.older_than else "all"
                print(
                    f"{queue} holds {depth} messages; purging deletes {which} of them for "
                    "good. Add --yes to do it.",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            report = purge(connection, queue, args.older_than)
        extra = ""
        if args.older_than is not None:
            extra = f"; kept {report.kept} younger"
            if report.undated:
                extra += f" and {report.undated} of unknown age"
        print(f"{queue}: deleted {report.deleted}{extra}", file=stream)
        return EXIT_OK

    return _run("purge", body)
