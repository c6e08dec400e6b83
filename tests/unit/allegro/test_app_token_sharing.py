"""One application token for all clients built on one token store (audit #9).

The workers make one client per account and thread; Allegro limits how many tokens it
issues (FACTS §2: reuse a token until it expires).
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from tests.unit.allegro.conftest import FakeAllegro, FakeClock, reply
from workers.allegro import AllegroClient, FileTokenStore
from workers.settings import Settings

CATEGORY = "/sale/categories/165"
TOKEN = "/auth/oauth/token"


def _categories(fake: FakeAllegro, refused: set[str] | None = None) -> list[str]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].split()[-1]
        seen.append(token)
        if refused and token in refused:
            return reply(401, {"error": "invalid_token"})
        return reply(200, {"id": "165", "name": "c"})

    fake.on("GET", CATEGORY, answer)
    return seen


def _client(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock, account: str
) -> AllegroClient:
    return AllegroClient(
        settings, store, account=account, transport=fake.transport(), sleep=clock.sleep,
        clock=clock,
    )  # fmt: skip


def test_clients_on_one_store_share_the_application_token(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    seen = _categories(fake)
    clients = [_client(settings, store, fake, clock, f"shop-{n}") for n in range(8)]

    def read(client: AllegroClient) -> None:
        client.get_category("165")

    threads = [threading.Thread(target=read, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert len(fake.calls("POST", TOKEN)) == 1
    assert seen == ["access-1"] * 8


def test_clients_on_different_stores_do_not_share(
    settings: Settings, fake: FakeAllegro, clock: FakeClock, tmp_path: Path
) -> None:
    _categories(fake)
    for name in ("a.json", "b.json"):
        with _client(settings, FileTokenStore(tmp_path / name), fake, clock, "x") as client:
            client.get_category("165")
    assert len(fake.calls("POST", TOKEN)) == 2


def test_a_refused_application_token_is_renewed_once_for_all_clients(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    seen = _categories(fake, refused={"access-1"})
    first = _client(settings, store, fake, clock, "a")
    second = _client(settings, store, fake, clock, "b")
    with first, second:
        first.get_category("165")  # access-1 refused, renewed: access-2
        second.get_category("165")  # uses access-2 at once
    assert seen == ["access-1", "access-2", "access-2"]
    assert len(fake.calls("POST", TOKEN)) == 2


def test_the_token_is_dropped_when_the_last_client_closes(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _categories(fake)
    first = _client(settings, store, fake, clock, "a")
    second = _client(settings, store, fake, clock, "b")
    first.get_category("165")
    first.close()
    first.close()  # closing twice gives the token back once
    second.get_category("165")  # still shared with the open client
    assert len(fake.calls("POST", TOKEN)) == 1
    second.close()
    with _client(settings, store, fake, clock, "c") as third:
        third.get_category("165")  # a new client after all closed: a new token
    assert len(fake.calls("POST", TOKEN)) == 2
