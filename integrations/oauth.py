"""OAuth2 bearer authentication that refreshes its token before expiry and once on a 401.

It is an `httpx.Auth`, so it rides on whatever `httpx.AsyncClient` the delivery engine passes to a
connector (authlib's `AsyncOAuth2Client` is a client of its own and cannot be slotted into a shared
one). authlib still does the OAuth2 parts: `OAuth2Token` decides expiry and
`prepare_token_request` builds the refresh_token grant. Refreshed tokens (vendors such as Xero
rotate the refresh token on every use) are written back to the 0600 credentials file.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from integrations.secrets import CredentialsError, CredentialStore

log = logging.getLogger(__name__)

EXPIRY_LEEWAY_SECONDS = 60


class RefreshingOAuth2(httpx.Auth):
    """Bearer token for one connector, kept fresh from the connector's credentials."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        store: CredentialStore,
        *,
        client_auth: str = "basic",
        scope: str | None = None,
    ) -> None:
        if client_auth not in ("basic", "body"):
            raise ValueError(f"client_auth must be 'basic' or 'body', not {client_auth!r}")
        self.connector = store.connector
        self.token_url = token_url
        self.store = store
        self.client_auth = client_auth
        self.scope = scope
        self.refreshes = 0
        self._lock = asyncio.Lock()
        self._token: OAuth2Token | None = None

    def __repr__(self) -> str:
        return f"RefreshingOAuth2(connector={self.connector!r}, token_url={self.token_url!r})"

    def _load(self) -> OAuth2Token:
        if self._token is None:
            section = self.store.section()
            if not section.get("access_token") and not section.get("refresh_token"):
                raise CredentialsError(
                    f"connector {self.connector}: no access_token or refresh_token in the credentials"
                )
            params: dict[str, Any] = {
                "access_token": section.get("access_token", ""),
                "token_type": "Bearer",
                "refresh_token": section.get("refresh_token"),
            }
            if section.get("expires_at") not in (None, ""):
                params["expires_at"] = int(float(section["expires_at"]))
            self._token = OAuth2Token(params)
        return self._token

    def _needs_refresh(self, token: OAuth2Token) -> bool:
        if not token.get("access_token"):
            return True
        return bool(token.get("expires_at")) and bool(token.is_expired(leeway=EXPIRY_LEEWAY_SECONDS))

    def _refresh_request(self, token: OAuth2Token) -> httpx.Request:
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            raise CredentialsError(
                f"connector {self.connector}: the access token expired and no refresh_token is stored"
            )
        client_id = self.store.require("client_id").reveal()
        client_secret = self.store.require("client_secret").reveal()
        extra: dict[str, Any] = {"refresh_token": refresh_token}
        if self.scope:
            extra["scope"] = self.scope
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.client_auth == "basic":
            pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        else:
            extra.update(client_id=client_id, client_secret=client_secret)
        body = prepare_token_request("refresh_token", **extra)
        return httpx.Request("POST", self.token_url, headers=headers, content=body.encode())

    def _accept(self, response: httpx.Response) -> bool:
        """Store a token endpoint's answer; False (and the old token kept) when it refused."""
        if response.status_code != 200:
            log.warning("connector %s: token refresh refused with HTTP %s", self.connector, response.status_code)
            return False
        try:
            data = response.json()
        except ValueError:
            log.warning("connector %s: token endpoint answered with a body that is not JSON", self.connector)
            return False
        if not isinstance(data, dict) or not data.get("access_token"):
            log.warning("connector %s: token endpoint answered without an access_token", self.connector)
            return False
        old = self._load()
        params = dict(data)
        params.setdefault("refresh_token", old.get("refresh_token"))
        if "expires_in" in params and "expires_at" not in params:
            params["expires_at"] = int(time.time()) + int(params["expires_in"])
        self._token = OAuth2Token(params)
        stored = {k: params[k] for k in ("access_token", "refresh_token", "expires_at") if params.get(k) is not None}
        self.store.update(stored)
        self.refreshes += 1
        log.info("connector %s: access token refreshed", self.connector)
        return True

    def _can_refresh(self) -> bool:
        return bool(self._load().get("refresh_token"))

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RefreshingOAuth2 works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            token = self._load()
            if self._needs_refresh(token):
                refreshed = yield self._refresh_request(token)
                await refreshed.aread()
                self._accept(refreshed)
            sent_with = self._load().get("access_token")
        request.headers["Authorization"] = f"Bearer {sent_with}"
        response = yield request
        await response.aread()
        if response.status_code != 401 or not self._can_refresh():
            return
        async with self._lock:
            token = self._load()
            # Another request may have refreshed while this one was in flight.
            if token.get("access_token") == sent_with:
                refreshed = yield self._refresh_request(token)
                await refreshed.aread()
                # Refused: the request is repeated once anyway so its caller sees the vendor's 401,
                # not the token endpoint's answer.
                self._accept(refreshed)
        request.headers["Authorization"] = f"Bearer {self._load().get('access_token')}"
        yield request


class ClientCredentialsOAuth2(RefreshingOAuth2):
    """Bearer token from the client credentials grant (Microsoft Entra ID and the like).

    There is no refresh token: a new token is asked for with the client id and secret when the
    cached one nears expiry, and once more when the API answers 401. The token and its expiry are
    kept in the credentials file like every other connector's token, so a restart reuses it.
    """

    def __init__(self, token_url: str, store: CredentialStore, *, scope: str) -> None:
        super().__init__(token_url, store, client_auth="body", scope=scope)

    def __repr__(self) -> str:
        return f"ClientCredentialsOAuth2(connector={self.connector!r}, token_url={self.token_url!r})"

    def _load(self) -> OAuth2Token:
        if self._token is None:
            section = self.store.section()
            params: dict[str, Any] = {"access_token": section.get("access_token", ""), "token_type": "Bearer"}
            if section.get("expires_at") not in (None, ""):
                params["expires_at"] = int(float(section["expires_at"]))
            self._token = OAuth2Token(params)
        return self._token

    def _can_refresh(self) -> bool:
        return True

    def _refresh_request(self, token: OAuth2Token) -> httpx.Request:
        body = prepare_token_request(
            "client_credentials",
            client_id=self.store.require("client_id").reveal(),
            client_secret=self.store.require("client_secret").reveal(),
            scope=self.scope,
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        return httpx.Request("POST", self.token_url, headers=headers, content=body.encode())
