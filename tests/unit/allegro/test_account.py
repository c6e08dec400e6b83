"""``GET /me`` and the price currency of each account (FACTS §12): the base marketplace
read leniently, asked once per account and process, the settings' marketplace as the
fallback when Allegro does not tell, a transient failure raised (and asked again)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from structlog.testing import capture_logs

from workers.allegro import AllegroClient
from workers.allegro.account import AccountCurrencies
from workers.allegro.errors import Forbidden, NotConnected, ServerError
from workers.settings import Settings

from .conftest import FakeAllegro, errors_body, reply


def test_base_marketplace_is_read_from_me_with_the_user_token(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on(
        "GET",
        "/me",
        lambda _r: reply(200, {"id": "46968690", "baseMarketplace": {"id": "allegro-cz"}}),
        lambda _r: reply(200, {"id": "46968690", "baseMarketplace": None}),
        lambda _r: reply(200, {"id": "46968690", "baseMarketplace": []}),
        lambda _r: reply(200, []),
    )
    assert client.base_marketplace() == "allegro-cz"
    assert [client.base_marketplace() for _ in range(3)] == [None, None, None]
    (first, *_) = fake.calls("GET", "/me")
    assert first.headers["authorization"].startswith("Bearer ")


def test_a_refused_me_raises_forbidden(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", "/me", lambda _r: reply(403, errors_body("AccessDenied")))
    with pytest.raises(Forbidden):
        client.base_marketplace()


class Source:
    """A client whose ``base_marketplace`` answers from a script (values or errors)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def base_marketplace(self) -> str | None:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


def _currencies(source: Source, marketplace: str = "allegro-pl") -> AccountCurrencies:
    return AccountCurrencies(Settings(marketplace=marketplace), lambda _account: source)


def test_the_currency_is_the_sellers_marketplaces_asked_once_per_account() -> None:
    sources = {"cz": Source("allegro-cz"), "sk": Source("allegro-sk"), "pl": Source("allegro-pl")}
    currencies = AccountCurrencies(Settings(), sources.__getitem__)
    for _ in range(3):
        assert currencies.currency("cz") == "CZK"
        assert currencies.currency("sk") == "EUR"
        assert currencies.currency("pl") == "PLN"
    assert {account: s.calls for account, s in sources.items()} == {"cz": 1, "sk": 1, "pl": 1}
    currencies.forget()  # the tokens changed: asked again
    sources["cz"].answers.append("allegro-hu")
    assert currencies.currency("cz") == "HUF"
    assert sources["cz"].calls == 2


def test_threads_asking_at_once_make_one_call() -> None:
    release = threading.Event()

    class Slow(Source):
        def base_marketplace(self) -> str | None:
            release.wait(5)
            return super().base_marketplace()

    source = Slow("allegro-cz")
    currencies = _currencies(source)
    found: list[str] = []
    threads = [
        threading.Thread(target=lambda: found.append(currencies.currency("cz"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert found == ["CZK"] * 8 and source.calls == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, "named no baseMarketplace"),
        ("allegro-xx", "'allegro-xx' has no known base currency"),
        (Forbidden("scope missing", status=403), "Forbidden (HTTP 403)"),
    ],
)
def test_without_a_known_marketplace_the_settings_one_is_used_with_one_warning(
    answer: Any, reason: str
) -> None:
    source = Source(answer)
    currencies = _currencies(source, marketplace="allegro-sk")
    with capture_logs() as logs:
        assert [currencies.currency("a") for _ in range(3)] == ["EUR"] * 3
    warnings = [e for e in logs if e["event"] == "account.marketplace_unknown"]
    assert len(warnings) == 1 and source.calls == 1
    assert reason in warnings[0]["reason"]
    assert warnings[0]["fallback"] == "allegro-sk" and warnings[0]["account"] == "a"


def test_a_transient_failure_propagates_and_is_asked_again() -> None:
    source = Source(ServerError("unavailable", status=503), "allegro-cz")
    currencies = _currencies(source)
    with pytest.raises(ServerError):
        currencies.currency("cz")
    assert currencies.currency("cz") == "CZK"
    assert source.calls == 2


def test_an_account_without_tokens_propagates_and_is_asked_again() -> None:
    source = Source(NotConnected("connect the account"), "allegro-cz")
    currencies = _currencies(source)
    with pytest.raises(NotConnected):
        currencies.currency("cz")
    assert currencies.currency("cz") == "CZK"
