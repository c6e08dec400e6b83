"""``GET /me`` (meGET) over HTTP: the token's seller and its base marketplace (FACTS §12)."""

from __future__ import annotations

import pytest

from sandbox.testing import SandboxHandle


@pytest.mark.parametrize(
    ("login", "marketplace"), [("seller", "allegro-pl"), ("seller-cz", "allegro-cz")]
)
def test_me_names_the_sellers_base_marketplace(
    sandbox: SandboxHandle, login: str, marketplace: str
) -> None:
    with sandbox.client(sandbox.issue_user_token(login)["access_token"]) as http:
        response = http.get("/me")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["login"] == login and body["id"]
    assert body["baseMarketplace"] == {"id": marketplace}


def test_me_needs_a_token(sandbox: SandboxHandle) -> None:
    with sandbox.client("not-a-token") as http:
        assert http.get("/me").status_code == 401
