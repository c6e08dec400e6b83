"""The module the ``dramatiq`` CLI loads: the broker of this process with the four actors.

Importing it is process start: the settings are read here, once, from the ``ALLEGRO_FEED_*``
environment (the only module of ``workers`` that reads it at import), logging is configured,
and :func:`workers.services.setup` declares the actors on a new broker, which becomes
Dramatiq's global broker. Nothing connects until the worker boots.

Run the actor pools with the standard CLI::

    dramatiq workers.entrypoint --processes 2 --threads 8
    dramatiq workers.entrypoint --processes 1 --threads 16 --queues publish   # one pool

``--queues`` takes the queue names as RabbitMQ knows them, i.e. with
``ALLEGRO_FEED_NAME_PREFIX`` in front (``staging.publish``). ``allegro-feed worker`` runs
this same command next to the ingest bridge and adds the prefix for you. The worker
declares the whole topology when it boots, and stops gracefully on SIGTERM/SIGINT
(messages in progress finish; prefetched ones return to their queues).
"""

from __future__ import annotations

import dramatiq

from workers.logging import configure_logging
from workers.services import setup
from workers.settings import Settings

__all__ = ["broker", "runtime", "settings"]

settings = Settings()
configure_logging(settings, quiet_loggers=("httpx", "httpcore", "pika"))
runtime = setup(settings)
broker = runtime.broker
dramatiq.set_broker(broker)
