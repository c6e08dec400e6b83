"""The settings object: environment variables, defaults, derived URLs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workers.settings import ENVIRONMENT_HOSTS, Environment, Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("ALLEGRO_FEED_"):
            monkeypatch.delenv(name)


def test_defaults_point_at_the_local_sandbox_with_its_app() -> None:
    s = Settings()
    assert s.environment is Environment.LOCAL
    assert s.api_base_url == ENVIRONMENT_HOSTS[Environment.LOCAL][0]
    assert s.require_credentials()[0] == "local-client-id"


def test_allegro_sandbox_environment_uses_allegros_hosts_and_needs_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_ENVIRONMENT", "sandbox")
    s = Settings()
    assert s.api_base_url == "https://api.allegro.pl.allegrosandbox.pl"
    assert s.auth_base_url == "https://allegro.pl.allegrosandbox.pl"
    with pytest.raises(ValueError, match="ALLEGRO_FEED_CLIENT_ID"):
        s.require_credentials()


def test_explicit_urls_override_the_environment_and_lose_trailing_slashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_ENVIRONMENT", "production")
    monkeypatch.setenv("ALLEGRO_FEED_API_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("ALLEGRO_FEED_AUTH_URL", "http://127.0.0.1:9998")
    s = Settings()
    assert s.api_base_url == "http://127.0.0.1:9999"
    assert s.auth_base_url == "http://127.0.0.1:9998"


def test_secret_is_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_CLIENT_SECRET", "s3cr3t-value-xyz")
    s = Settings()
    assert "s3cr3t-value-xyz" not in repr(s)
    assert s.require_credentials()[1] == "s3cr3t-value-xyz"


def test_invalid_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_HTTP_TIMEOUT_S", "-1")
    with pytest.raises(ValidationError, match="http_timeout_s"):
        Settings()
