"""Exit codes of ``make run`` and :class:`RunError`: how :mod:`workers.runjob` and its parts
(:mod:`workers.runjob._procs`, :mod:`workers.runjob._rabbitmq`, :mod:`workers.runjob._amqp`)
say that the run cannot go on."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_NO_RABBITMQ = 2
EXIT_INTERRUPTED = 130


class RunError(Exception):
    """``make run`` cannot go on; the message says why and what to do. ``exit_code`` is the
    command's exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_INCOMPLETE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
