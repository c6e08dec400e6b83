"""``python -m workers.batching``: the batcher process of a host.

Reads the settings (``ALLEGRO_FEED_*``), opens the store (migrating it: the batching tables
come with it), a RabbitMQ connection for the status messages (publisher confirms; the
topology is declared first) and the Dramatiq broker that hands changes to the publish
actor, then runs :meth:`~workers.batching.Batcher.run_forever` until SIGTERM or SIGINT.

Run one per host, like the ingest bridge: each account is worked by one batcher at a time
(a store lease); the others stand by and take over within 15 s when it dies.

Exit codes: 0 stopped by a signal; 1 RabbitMQ or the store could not be reached at start.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pika
import pika.exceptions
import structlog

from workers.allegro import AllegroClient
from workers.allegro.account import AccountCurrencies
from workers.broker import connection_parameters, create_broker
from workers.budget import shared_budget
from workers.settings import Settings
from workers.status import ChannelPublisher, Outgoing, StatusReporter
from workers.store import StoreError, open_store
from workers.topology import Names, declare

from .flusher import Batcher
from .handover import publish_handover
from .repo import BatchRepo
from .status_thread import StatusThread

# Named, not __name__: the module runs as __main__.
log = structlog.get_logger("workers.batching")

EXIT_OK = 0
EXIT_FAILED = 1


class StatusChannel:
    """Publishes status messages on a confirmed channel of its own connection, opened on
    first use and re-opened once per publish after a connection failure (the status stays
    in the store's outbox if that fails too: the ingest bridge's sweep publishes it).
    Single thread only."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._connection: pika.BlockingConnection | None = None
        self._publisher: ChannelPublisher | None = None

    def connect(self) -> None:
        if self._publisher is not None:
            return
        params = connection_parameters(self._settings, name="allegro-feed batcher")
        connection = pika.BlockingConnection(params)
        try:
            declare(connection.channel(), self._settings)
            self._publisher = ChannelPublisher(connection.channel())
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _drop(self) -> None:
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except pika.exceptions.AMQPError:
                log.debug("batch.status_channel_close_failed", exc_info=True)

    def _twice(self, send: Callable[[ChannelPublisher], None]) -> None:
        """``send`` on the channel, once more on a fresh connection after a connection
        failure; a message RabbitMQ refused (nack, unroutable) is not sent again."""
        for attempt in (1, 2):
            try:
                self.connect()
                assert self._publisher is not None
                send(self._publisher)
                return
            except (pika.exceptions.NackError, pika.exceptions.UnroutableError):
                raise
            except (pika.exceptions.AMQPError, OSError):
                self._drop()
                if attempt == 2:
                    raise
                log.warning("batch.status_reconnect")

    def publish_batch(self, messages: list[Outgoing]) -> None:
        """:meth:`ChannelPublisher.publish_batch` (a batch sent twice after a failure
        carries the same message ids: consumers deduplicate)."""
        self._twice(lambda publisher: publisher.publish_batch(messages))

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None:
        self._twice(
            lambda publisher: publisher.publish(
                exchange, routing_key, body, properties, mandatory=mandatory
            )
        )

    def idle(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds`` (less when stopped), serving the connection's heartbeats."""
        if self._connection is None or not self._connection.is_open:
            stop.wait(seconds)
            return
        try:
            self._connection.sleep(seconds)
        except pika.exceptions.AMQPError:
            self._drop()

    def close(self) -> None:
        self._drop()


def main(argv: list[str] | None = None) -> int:
    """Run the batcher of this host until SIGTERM/SIGINT (see the module doc)."""
    from workers.logging import configure_logging

    # The handlers first: a stop asked for while the batcher starts is a clean stop too.
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("batch.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = Settings()
    configure_logging(settings, quiet_loggers=("httpx", "httpcore", "pika"))
    channel = StatusChannel(settings)
    try:
        store = open_store(settings.database_url)
    except StoreError as exc:
        log.error("batch.store_unreachable", error=str(exc))
        return EXIT_FAILED
    try:
        channel.connect()
    except (pika.exceptions.AMQPError, OSError) as exc:
        log.error("batch.rabbitmq_unreachable", error=repr(exc))
        store.close()
        return EXIT_FAILED
    repo = BatchRepo(settings.database_url, store=store)
    broker = create_broker(settings)
    clients: dict[str, AllegroClient] = {}

    def client_for(account: str) -> AllegroClient:
        client = clients.get(account)
        if client is None:
            client = clients[account] = AllegroClient(
                settings, store, account=account, budget=shared_budget(settings)
            )
        return client

    # Statuses are published from a thread of their own: the loop does not wait for them.
    status_thread = StatusThread(channel)
    status_thread.start()
    reporter = StatusReporter(
        store, channel, Names.of(settings).status_exchange, runner=status_thread.submit
    )
    # Each account's price currency: its seller's base marketplace's (GET /me, once).
    currencies = AccountCurrencies(settings, client_for)
    batcher = Batcher(
        settings,
        store,
        repo,
        client_for,
        reporter,
        publish_handover(broker, settings, store),
        currency_for=currencies.currency,
    )
    log.info("batch.starting", owner=batcher.owner, **_windows(batcher))
    try:
        batcher.run_forever(stop)
    finally:
        status_thread.close()  # what was settled is published before the channel closes
        for client in clients.values():
            client.close()
        channel.close()
        broker.close()
        repo.close()
        store.close()
    log.info("batch.stopped")
    return EXIT_OK


def _windows(batcher: Batcher) -> dict[str, Any]:
    config = batcher.config
    return {
        "coalesce_window_ms": config.coalesce_window_ms,
        "batch_window_ms": config.batch_window_ms,
        "batch_max_offers": config.batch_max_offers,
        "command_poll_interval_ms": config.command_poll_interval_ms,
    }


if __name__ == "__main__":
    sys.exit(main())
