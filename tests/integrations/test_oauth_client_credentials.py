"""Client-credentials bearer tokens: fetched on first use, cached until expiry, fetched again once on a 401."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from integrations.oauth import ClientCredentialsOAuth2, TokenRefreshError
from integrations.secrets import CredentialStore

TOKEN_URL = "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token"
SCOPE = "https://contoso.crm.dynamics.com/.default"


class Entra:
    """A token endpoint and an API that accepts only the newest token."""

    def __init__(self) -> None:
        self.issued = 0
        self.forms: list[dict[str, str]] = []
        self.api_calls = 0
        self.current = ""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.forms.append(form)
            if form.get("client_secret") != "s3cret":
                return httpx.Response(401, json={"error": "invalid_client"})
            self.issued += 1
            self.current = f"tok-{self.issued}"
            return httpx.Response(200, json={"access_token": self.current, "expires_in": 3599, "token_type": "Bearer"})
        self.api_calls += 1
        if request.headers.get("authorization") != f"Bearer {self.current}":
            return httpx.Response(401, json={"error": {"code": "0x80072560", "message": "not authorised"}})
        return httpx.Response(200, json={"ok": True})


def store(tmp_path: Path, **extra: str) -> CredentialStore:
    state = tmp_path / "tokens.json"
    return CredentialStore("d365", base={"client_id": "app-id", "client_secret": "s3cret", **extra}, path=state)


async def test_token_fetched_once_cached_and_stored(tmp_path: Path) -> None:
    entra = Entra()
    auth = ClientCredentialsOAuth2(TOKEN_URL, store(tmp_path), scope=SCOPE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(entra)) as client:
        for _ in range(3):
            assert (
                await client.get("https://contoso.crm.dynamics.com/api/data/v9.2/WhoAmI", auth=auth)
            ).status_code == 200
    assert entra.issued == 1 and entra.api_calls == 3
    assert entra.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": "app-id",
        "client_secret": "s3cret",
        "scope": SCOPE,
    }
    # A restarted connector reuses the stored, unexpired token.
    again = ClientCredentialsOAuth2(TOKEN_URL, store(tmp_path), scope=SCOPE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(entra)) as client:
        assert (await client.get("https://contoso.crm.dynamics.com/x", auth=again)).status_code == 200
    assert entra.issued == 1


async def test_expired_token_and_401_fetch_a_new_one_once(tmp_path: Path) -> None:
    entra = Entra()
    entra.current = "old"
    expired = store(tmp_path, access_token="old", expires_at=str(int(time.time()) - 10))
    auth = ClientCredentialsOAuth2(TOKEN_URL, expired, scope=SCOPE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(entra)) as client:
        assert (await client.get("https://contoso.crm.dynamics.com/x", auth=auth)).status_code == 200
        assert entra.issued == 1
        entra.current = "revoked-by-the-tenant"
        assert (await client.get("https://contoso.crm.dynamics.com/x", auth=auth)).status_code == 200
        assert entra.issued == 2
        # A secret that no longer works: one token request, refused for good (the delivery dead-letters
        # as "authentication refused" instead of retrying with a token that cannot come).
        entra.current = "revoked-again"
        auth.store = store(tmp_path, client_secret="wrong")
        with pytest.raises(TokenRefreshError, match="authentication refused") as refused:
            await client.get("https://contoso.crm.dynamics.com/x", auth=auth)
    assert not refused.value.transient and entra.issued == 2 and len(entra.forms) == 3
