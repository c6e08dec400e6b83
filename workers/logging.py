"""Structured logging: configured once per process, secrets redacted on the way out.

``configure_logging(settings)`` routes both structlog and the standard library's ``logging``
(httpx, pika, dramatiq, uvicorn) through one chain of processors, so the redaction below sees
every line whoever wrote it. Output is JSON lines when stderr is not a terminal (production,
CI, containers) and a readable console format on a terminal; ``ALLEGRO_FEED_LOG_FORMAT``
forces either.

Redaction works on three levels, because a secret can hide in a key, in a well-known textual
shape, or verbatim inside an exception message:

1. values of keys that name a secret (``client_secret``, ``access_token``, ``Authorization`` …);
2. textual shapes: ``Bearer …``/``Basic …`` credentials, JWTs, ``refresh_token=…`` and
   ``token: …`` pairs, and an opaque token given in free text after the word "token"
   ("Access token expired: 8fK2…", as Allegro's ``error_description`` reads);
3. exact values registered with :func:`register_secret` (the client registers the client
   secret and every token it receives), wherever they appear in a rendered string.

:func:`redact_text` is the same scrubbing for one string; exception texts and status
messages use it too (``workers.allegro.errors``, ``workers.middleware``, ``workers.status``),
so that there is one definition of what a secret looks like.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from workers.settings import Settings

__all__ = ["REDACTED", "configure_logging", "redact_secrets", "redact_text", "register_secret"]

REDACTED = "[REDACTED]"

# Key names whose values are always secret. Matched case-insensitively on the whole key with
# '-' and '_' ignored, so "Authorization", "refresh-token" and "clientSecret" all match.
_SECRET_KEYS = {
    "authorization",
    "proxyauthorization",
    "clientsecret",
    "secret",
    "password",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "devicecode",
    "codeverifier",
    "apikey",
    "cookie",
    "setcookie",
}

#: Shapes of secrets in text; each names the secret part ``secret``.
_TEXT_PATTERNS: tuple[re.Pattern[str], ...] = (
    # HTTP bearer credentials in headers or reprs ("Basic" is in _BASIC: it is a word too).
    re.compile(r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{6,})"),
    # JSON Web Tokens (Allegro's tokens are JWTs).
    re.compile(r"(?P<secret>\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)"),
    # key=value and "key": "value" pairs of form bodies, URLs and JSON text.
    re.compile(
        r"(?i)(?:client_secret|access_token|refresh_token|id_token|device_code|"
        r"code_verifier|password|api_?key|\btoken|\bsecret)[\"']?\s*[=:]\s*[\"']?"
        r"(?P<secret>[^\"'&\s,;)}\[\]]+)"
    ),
)

#: An opaque token given in free text after the word "token": a run of 16 or more token
#: characters at most 40 characters after it, e.g. "Access token expired: 8fK2...",
#: "Invalid refresh token: ...". Replaced when it looks like a token (see _token_like). The
#: gap does not cross brackets, "token" ending a path ("/auth/oauth/token") does not count
#: and the run does not start with "/": the "[HTTP 401, GET /sale/..., Trace-Id ...]"
#: context of an error and API paths stay as they are.
_AFTER_TOKEN = re.compile(
    r"(?i)(?<!/)\btoken\b[^\n\[\]]{0,40}?[\s:=\"'(]"
    r"(?P<secret>[A-Za-z0-9._~+=-][A-Za-z0-9._~+/=-]{15,})"
)


#: HTTP Basic credentials; replaced when they look like base64 (see _base64_like), so
#: that "Basic information ..." in an error text stays readable.
_BASIC = re.compile(r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/=]{6,})")


def _base64_like(run: str) -> bool:
    rest = run[1:]
    return any(c.isdigit() or c in "+/=" for c in run) or (
        any(c.isupper() for c in rest) and any(c.islower() for c in rest)
    )


def _token_like(run: str) -> bool:
    # Words and setting names after "token" stay readable; a run with a digit, or one
    # long enough to be random, is taken for a token (a false positive only hides a word).
    return len(run) >= 32 or any(c.isdigit() for c in run)


def _redact_shape(
    pattern: re.Pattern[str], text: str, found: list[str], *, check: Any = None
) -> str:
    """``text`` with the ``secret`` part of each match of ``pattern`` redacted; the secrets
    are appended to ``found``."""

    def replace(match: re.Match[str]) -> str:
        secret = match.group("secret")
        if secret == REDACTED or (check is not None and not check(secret)):
            return match.group(0)
        found.append(secret)
        whole, start = match.group(0), match.start()
        return (
            whole[: match.start("secret") - start] + REDACTED + whole[match.end("secret") - start :]
        )

    return pattern.sub(replace, text)


_registered: set[str] = set()
#: :data:`_registered` longest first (a secret that contains another is replaced whole),
#: rebuilt on registration so that redacting a line needs neither the lock nor a sort.
_registered_longest_first: tuple[str, ...] = ()
_quietened: set[str] = set()
_registered_lock = threading.Lock()
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is redacted wherever it appears in a log line.

    Called by the Allegro client for the client secret and every token it receives. Values
    shorter than 6 characters are ignored (they would blank out ordinary text).
    """
    global _registered_longest_first
    if value and len(value) >= _MIN_SECRET_LEN:
        with _registered_lock:
            if value not in _registered:
                _registered.add(value)
                _registered_longest_first = tuple(sorted(_registered, key=len, reverse=True))


#: Every match of :data:`_TEXT_PATTERNS` contains one of these (lower case): text without
#: any of them skips the regular expressions (most log values: ids, SKUs, codes).
_TRIGGERS = (
    "token",
    "secret",
    "apikey",
    "api_key",
    "bearer",
    "basic",
    "eyj",
    "device_code",
    "code_verifier",
    "password",
)


def redact_text(text: str) -> str:
    """``text`` with every secret it shows replaced by :data:`REDACTED`: credential and
    token shapes, ``key=value`` pairs of secret keys, opaque tokens named in free text, and
    the values registered with :func:`register_secret`. Use it on any text taken from an
    exception or from Allegro's answers before it leaves the process (a log line, a status
    message, a database column)."""
    lowered = text.lower()
    if any(trigger in lowered for trigger in _TRIGGERS):
        found: list[str] = []
        for pattern in _TEXT_PATTERNS:
            text = _redact_shape(pattern, text, found)
        if "basic" in lowered:
            text = _redact_shape(_BASIC, text, found, check=_base64_like)
        if "token" in lowered:
            text = _redact_shape(_AFTER_TOKEN, text, found, check=_token_like)
        # A secret recognised by its shape once is hidden wherever else the text repeats it.
        for secret in sorted(set(found), key=len, reverse=True):
            if len(secret) >= _MIN_SECRET_LEN and secret in text:
                text = text.replace(secret, REDACTED)
    for secret in _registered_longest_first:  # one read of the tuple: no lock needed
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("_", "").replace("-", "") in _SECRET_KEYS


def _redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping | dict):
        return {
            k: (REDACTED if _is_secret_key(k) and v is not None else _redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else is rendered by the renderer with str()/repr(); render it here so that a
    # secret inside an object's repr cannot slip past.
    return redact_text(str(value))


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace secrets in every key and value of the event."""
    for key in list(event_dict):
        value = event_dict[key]
        if _is_secret_key(key) and value is not None:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Exceptions become text before redaction, so secrets in their messages are caught.
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def _use_json(settings: Settings, stream: Any) -> bool:
    if settings.log_format == "json":
        return True
    if settings.log_format == "console":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def configure_logging(
    settings: Settings, *, stream: Any = None, quiet_loggers: Iterable[str] = ("httpx", "httpcore")
) -> None:
    """Configure structlog and the standard library's logging for this process.

    Safe to call more than once (the last call wins). ``stream`` defaults to stderr.
    Loggers in ``quiet_loggers`` are raised to WARNING: the Allegro client logs each call
    itself, with its Trace-Id, so httpx's own request lines would only repeat it.
    """
    stream = stream if stream is not None else sys.stderr
    shared = _shared_processors()
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if _use_json(settings, stream)
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # A later call replaces an earlier one entirely: loggers quietened before are given back
    # to the root level unless this call quietens them again.
    for name in _quietened - set(quiet_loggers):
        logging.getLogger(name).setLevel(logging.NOTSET)
    _quietened.clear()
    for name in quiet_loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
        _quietened.add(name)

    structlog.configure(
        # Events below the logger's level are dropped first, before any other work.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
