"""Log configuration and secret redaction."""

from __future__ import annotations

import io
import json
import logging

import structlog

from workers.logging import REDACTED, configure_logging, register_secret
from workers.settings import Settings


def _configure(fmt: str = "json") -> io.StringIO:
    buf = io.StringIO()
    configure_logging(Settings(log_format=fmt), stream=buf)
    return buf


def _lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_bound_context() -> None:
    buf = _configure()
    structlog.get_logger("t").bind(event_id="e-1", sku="SKU-1").info("published", offer_id="77")
    (line,) = _lines(buf)
    assert line["event"] == "published"
    assert line["event_id"] == "e-1"
    assert line["sku"] == "SKU-1"
    assert line["level"] == "info"


def test_console_format_is_not_json() -> None:
    buf = _configure("console")
    structlog.get_logger("t").info("hello", sku="A")
    text = buf.getvalue()
    assert "hello" in text
    assert not text.lstrip().startswith("{")


def test_secret_keys_are_redacted_at_any_depth() -> None:
    buf = _configure()
    structlog.get_logger("t").info(
        "call",
        client_secret="cs-123456",
        request={"headers": {"Authorization": "Bearer abcdefgh12345"}, "refresh_token": "rt-9"},
    )
    text = buf.getvalue()
    for secret in ("cs-123456", "abcdefgh12345", "rt-9"):
        assert secret not in text
    assert REDACTED in text


def test_registered_values_and_shapes_are_redacted_in_free_text_and_tracebacks() -> None:
    buf = _configure()
    register_secret("registered-secret-value-42")
    log = structlog.get_logger("t")
    try:
        raise RuntimeError("token registered-secret-value-42 refused; refresh_token=abcdef987")
    except RuntimeError:
        log.exception("failed")
    log.info("header was Basic dXNlcjpwYXNzd29yZA== and eyJhbGciOi.eyJzdWIiOjEy.c2lnbmF0dXJl")
    text = buf.getvalue()
    for secret in ("registered-secret-value-42", "abcdef987", "dXNlcjpwYXNzd29yZA", "eyJzdWIiOjEy"):
        assert secret not in text


def test_standard_library_loggers_go_through_the_same_redaction() -> None:
    buf = _configure()
    register_secret("stdlib-secret-777")
    logging.getLogger("some.library").warning("sending stdlib-secret-777")
    (line,) = _lines(buf)
    assert line["event"] == f"sending {REDACTED}"
    assert line["logger"] == "some.library"


def test_error_codes_are_not_mistaken_for_secrets() -> None:
    buf = _configure()
    structlog.get_logger("t").warning("rejected", code="ParameterIdNotFoundException")
    (line,) = _lines(buf)
    assert line["code"] == "ParameterIdNotFoundException"


def test_a_later_configuration_replaces_the_quietened_loggers() -> None:
    buf = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=buf, quiet_loggers=("noisy.lib",))
    logging.getLogger("noisy.lib").info("hidden")
    configure_logging(Settings(log_format="json"), stream=buf, quiet_loggers=())
    logging.getLogger("noisy.lib").info("shown")
    assert [line["event"] for line in _lines(buf)] == ["shown"]
