"""The wire under :class:`~workers.allegro._http.HttpCore`: one HTTP exchange and nothing
more (no authentication, retries or budget).

- :class:`Transport` owns the pooled ``httpx.Client`` (no redirect following, the
  configured timeouts, our ``User-Agent``), sends one request, logs its ``Trace-Id``, and
  translates httpx's exceptions once into :mod:`workers.allegro.errors`, saying whether the
  request may have been applied.
- Helpers to build the URL with its query, encode a JSON body (decimals as plain numbers in
  text) and parse a response body leniently.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json as jsonlib
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import structlog

from workers.allegro.errors import ApiTimeout, ConnectionFailed, PermanentError
from workers.metrics import count_call
from workers.settings import Settings

__all__ = ["USER_AGENT", "QueryParams", "Transport", "encode_json", "parse_body", "url_with"]

# The core's log lines keep the logger name they always had.
log = structlog.get_logger("workers.allegro._http")


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("allegro-feed")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return f"allegro-feed/{version}"


USER_AGENT = _user_agent()

QueryParams = Sequence[tuple[str, str | int]] | Mapping[str, str | int] | None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(value: Any) -> bytes:
    """``value`` as the UTF-8 JSON Allegro gets (a Decimal as its plain digits)."""
    return jsonlib.dumps(value, default=_json_default, ensure_ascii=False).encode()


def parse_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it has no body or the body is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def url_with(url: str, params: QueryParams) -> httpx.URL:
    """``url`` with ``params`` as its query, parsed once. The same URL as httpx makes of
    ``build_request(url, params=...)``, which parses the URL a second time to merge the
    query in; a URL without a query is parsed once per distinct text."""
    if not params:
        return _parsed(url)
    pairs = params.items() if isinstance(params, Mapping) else params
    query = httpx.QueryParams([(key, str(value)) for key, value in pairs])
    if "?" in url or "#" in url:
        return httpx.URL(url, params=query)  # as httpx does: params replace the query
    return httpx.URL(f"{url}?{query}")


@functools.lru_cache(maxsize=256)
def _parsed(url: str) -> httpx.URL:
    # httpx.URL is immutable (every change makes a new one): safe to share.
    return httpx.URL(url)


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


class _ResponseCookies(httpx.Cookies):
    """The client's cookie jar. httpx hands it every response; one without ``Set-Cookie``
    (or ``Set-Cookie2``) has nothing to store (the standard library's jar returns at once),
    so it is skipped before httpx builds the urllib request and message copies the jar
    needs. Responses that set cookies are stored exactly as before."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Client(httpx.Client):
    """``httpx.Client`` with :class:`_ResponseCookies` as its cookie jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._response_cookies = _ResponseCookies(kwargs.get("cookies"))

    @property
    def cookies(self) -> httpx.Cookies:
        return self._response_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._response_cookies = _ResponseCookies(cookies)


class Transport:
    """One pooled HTTP client for Allegro's hosts. Thread-safe (httpx.Client is); not
    fork-safe. ``transport`` replaces the network (``httpx.MockTransport`` in tests)."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._client = _Client(
            transport=transport,
            follow_redirects=False,  # the 303 of a finished operation must be seen
            timeout=httpx.Timeout(settings.http_timeout_s, connect=settings.http_connect_timeout_s),
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        url: str,
        path: str,
        *,
        params: QueryParams,
        content: bytes | None,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
        basic: httpx.BasicAuth | None,
    ) -> httpx.Response:
        """Send one request and return its response, whatever its status. Raises
        :class:`ApiTimeout` / :class:`ConnectionFailed` (``maybe_applied`` says whether
        the request may have reached Allegro) or :class:`PermanentError` for a URL that
        cannot be sent."""
        context: dict[str, Any] = {"method": method, "path": path}
        timeout_s = self.settings.http_timeout_s
        started = time.monotonic()
        try:
            request = self._client.build_request(
                method,
                url_with(url, params),
                content=content,
                data=form,
                headers=headers,
            )
            response = self._client.send(request, auth=basic)
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            count_call(method, "timeout")
            raise ApiTimeout(
                f"could not connect to Allegro within {self.settings.http_connect_timeout_s:g} s"
                " (the request was not sent)",
                maybe_applied=False,
                **context,
            ) from None
        except httpx.TimeoutException:
            count_call(method, "timeout")
            raise ApiTimeout(
                f"Allegro did not answer within {timeout_s:g} s; the request may have been applied",
                maybe_applied=True,
                **context,
            ) from None
        except httpx.ConnectError as exc:
            count_call(method, "connection")
            raise ConnectionFailed(
                f"cannot connect to Allegro ({_short(exc)}); the request was not sent",
                maybe_applied=False,
                **context,
            ) from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            raise PermanentError(
                f"cannot send the request ({_short(exc)}); check ALLEGRO_FEED_API_URL and "
                "ALLEGRO_FEED_AUTH_URL",
                **context,
            ) from None
        except httpx.TransportError as exc:
            count_call(method, "connection")
            raise ConnectionFailed(
                f"the connection to Allegro broke before a full answer ({_short(exc)}); "
                "the request may have been applied",
                maybe_applied=True,
                **context,
            ) from None
        elapsed_s = time.monotonic() - started
        count_call(method, response.status_code, elapsed_s)
        log.info(
            "allegro.response",
            method=method,
            path=path,
            status=response.status_code,
            trace_id=response.headers.get("trace-id"),
            elapsed_ms=round(elapsed_s * 1000, 1),
        )
        return response
