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
from collections.abc import AsyncGenerator, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from integrations.client_assertion import ASSERTION_TYPE, CertificateCredential
from integrations.secrets import CredentialsError, CredentialStore

if TYPE_CHECKING:
    from integrations.token_vault import Held, TokenVault

log = logging.getLogger(__name__)

EXPIRY_LEEWAY_SECONDS = 60
# RFC 6749 section 5.2 errors by which a vendor says this grant or client will never work again.
REFUSALS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


class TokenRefreshError(Exception):
    """A refresh that produced no token: `transient` (outage, garbled answer) or refused for good."""

    def __init__(self, message: str, *, transient: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status_code = status_code


def refresh_failure(connector: str, response: httpx.Response) -> TokenRefreshError:
    """What a token endpoint's non-token answer means: only an explicit refusal (or a 401) is permanent."""
    error = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            error = str(data.get("error") or "")
    except ValueError:
        pass
    if response.status_code == 401 or error in REFUSALS:
        reason = error or f"HTTP {response.status_code}"
        return TokenRefreshError(
            f"authentication refused: the token endpoint of {connector} refused the refresh ({reason}); "
            "authorise the connector again",
            transient=False,
            status_code=response.status_code,
        )
    return TokenRefreshError(
        f"token refresh failed for {connector} (HTTP {response.status_code}"
        + (f", {error}" if error else "")
        + "): will retry",
        transient=True,
        status_code=response.status_code,
    )


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
        # With a vault (the worker attaches one), tokens live in the database, shared by every worker.
        self.vault: TokenVault | None = None

    def __repr__(self) -> str:
        return f"RefreshingOAuth2(connector={self.connector!r}, token_url={self.token_url!r})"

    def _load(self) -> OAuth2Token:
        if self._token is None:
            section = self._shared() if self.vault is not None else None
            if section is None:
                section = self.store.section()
            if not section.get("access_token") and not section.get("refresh_token"):
                raise CredentialsError(
                    f"connector {self.connector}: no access_token or refresh_token in the credentials"
                )
            self._token = _token_of(section)
        return self._token

    def _shared(self, stored: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The tokens in the database, unless the operator re-authorised since (a new configured refresh token)."""
        assert self.vault is not None
        if stored is None:
            stored = self.vault.load(self.connector)
        if not stored:
            return None
        configured = self.store.configured().get("refresh_token")
        if configured and stored.get("seed_refresh_token") != configured:
            return None
        return {**self.store.configured(), **stored}

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

    def _accept(self, response: httpx.Response, held: Held | None = None) -> None:
        """Store a token endpoint's answer; raise TokenRefreshError (the old token kept) when it gave none."""
        if response.status_code != 200:
            log.warning("connector %s: token refresh failed with HTTP %s", self.connector, response.status_code)
            raise refresh_failure(self.connector, response)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not data.get("access_token"):
            log.warning("connector %s: token endpoint answered without an access_token", self.connector)
            raise TokenRefreshError(
                f"token refresh failed for {self.connector}: the answer holds no access_token; will retry",
                transient=True,
                status_code=response.status_code,
            )
        old = self._load()
        params = dict(data)
        params.setdefault("refresh_token", old.get("refresh_token"))
        if "expires_in" in params and "expires_at" not in params:
            params["expires_at"] = int(time.time()) + int(params["expires_in"])
        self._token = OAuth2Token(params)
        stored = {k: params[k] for k in ("access_token", "refresh_token", "expires_at") if params.get(k) is not None}
        if held is not None:
            held.save({**stored, "seed_refresh_token": self.store.configured().get("refresh_token")})
        else:
            self.store.update(stored)
        self.refreshes += 1
        log.info("connector %s: access token refreshed", self.connector)

    def _can_refresh(self) -> bool:
        return bool(self._load().get("refresh_token"))

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RefreshingOAuth2 works with httpx.AsyncClient only")

    async def _begin_refresh(self, stale: str | None) -> tuple[httpx.Request | None, Held | None]:
        """The refresh request for the token `stale` belongs to, or None when another worker already replaced it.

        With a vault this takes the connector's row lock (kept until `_end_refresh`) and reads the
        stored tokens first, so of several workers exactly one spends the (rotating, possibly
        single-use) refresh token and the others take the access token it stored.
        """
        if self.vault is None:
            return self._refresh_request(self._load()), None
        held = await asyncio.to_thread(self.vault.hold, self.connector)
        try:
            # First use: the tokens file's chain (or the configured tokens) moves into the database.
            shared = self._shared(held.current) if held.current else self.store.section()
            if shared is not None:
                newer = _token_of(shared)
                self._token = newer
                fresh = newer.get("access_token") and not self._needs_refresh(newer)
                if fresh and newer.get("access_token") != stale:
                    await self._release(held)
                    return None, None
            return self._refresh_request(self._load()), held
        except BaseException:
            await self._release(held)
            raise

    async def _accept_async(self, response: httpx.Response, held: Held | None) -> None:
        await response.aread()
        await asyncio.to_thread(self._accept, response, held)

    @staticmethod
    async def _release(held: Held | None) -> None:
        if held is not None:
            await asyncio.to_thread(held.close)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            token = self._load()
            if self._needs_refresh(token):
                refresh, held = await self._begin_refresh(token.get("access_token"))
                try:
                    if refresh is not None:
                        await self._accept_async((yield refresh), held)
                except TokenRefreshError:
                    # Within the leeway the old token still works; an expired or missing one is never sent.
                    if not token.get("access_token") or token.is_expired(leeway=0):
                        raise
                finally:
                    await self._release(held)
            sent_with = self._load().get("access_token")
        request.headers["Authorization"] = f"Bearer {sent_with}"
        response = yield request
        await response.aread()
        if response.status_code != 401 or not self._can_refresh():
            return
        async with self._lock:
            # Another request (or worker) may have refreshed while this one was in flight.
            if self._load().get("access_token") == sent_with:
                refresh, held = await self._begin_refresh(sent_with)
                try:
                    if refresh is not None:
                        await self._accept_async((yield refresh), held)
                finally:
                    await self._release(held)
        request.headers["Authorization"] = f"Bearer {self._load().get('access_token')}"
        yield request


def _token_of(section: Mapping[str, Any]) -> OAuth2Token:
    params: dict[str, Any] = {
        "access_token": section.get("access_token", ""),
        "token_type": "Bearer",
        "refresh_token": section.get("refresh_token"),
    }
    if section.get("expires_at") not in (None, ""):
        params["expires_at"] = int(float(section["expires_at"]))
    return OAuth2Token(params)


class ClientCredentialsOAuth2(RefreshingOAuth2):
    """Bearer token from the client credentials grant (Microsoft Entra ID and the like).

    There is no refresh token: a new token is asked for with the client id and secret (or, with a
    `certificate_file` credential, an assertion signed by the certificate's key) when the cached one
    nears expiry, and once more when the API answers 401. The token and its expiry are
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
        client_id = self.store.require("client_id").reveal()
        certificate = self.store.get("certificate_file")
        if certificate is not None:
            # A certificate credential: a signed assertion takes the place of the secret.
            credential = CertificateCredential.from_file(
                Path(certificate.reveal()).expanduser(), self.store.get("certificate_password")
            )
            body = prepare_token_request(
                "client_credentials",
                client_id=client_id,
                client_assertion_type=ASSERTION_TYPE,
                client_assertion=credential.assertion(client_id, self.token_url),
                scope=self.scope,
            )
        else:
            body = prepare_token_request(
                "client_credentials",
                client_id=client_id,
                client_secret=self.store.require("client_secret").reveal(),
                scope=self.scope,
            )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        return httpx.Request("POST", self.token_url, headers=headers, content=body.encode())
