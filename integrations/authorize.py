"""The one-time OAuth2 authorisation-code flow that gives a connector its first refresh token.

An administrator runs `dispatch integrations authorize hubspot`: a callback server listens on
127.0.0.1, the vendor's consent page is opened (or its address printed), the vendor redirects back with a
code, the code is exchanged at the token endpoint, and the tokens are stored in the connector's 0600
token file, where `RefreshingOAuth2` keeps them fresh from then on. authlib builds the consent URL and
the token request; the state parameter is checked so a stray redirect cannot plant someone else's code.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from integrations.config import ConnectorConfig
from integrations.registry import build_connector
from integrations.secrets import CredentialsError, CredentialStore, store_for

# Where each vendor's consent page is, unless the connector sets `authorize_url`.
AUTHORIZE_URLS = {
    "hubspot": "https://app.hubspot.com/oauth/authorize",
    "salesforce": "https://login.salesforce.com/services/oauth2/authorize",
    "quickbooks": "https://appcenter.intuit.com/connect/oauth2",
    "xero": "https://login.xero.com/identity/connect/authorize",
    "xero_payroll": "https://login.xero.com/identity/connect/authorize",
}
DEFAULT_SCOPES = {
    "hubspot": "tickets crm.objects.contacts.read oauth",
    "salesforce": "api refresh_token",
    "quickbooks": "com.intuit.quickbooks.accounting",
    "xero": "offline_access accounting.transactions accounting.contacts",
    "xero_payroll": "offline_access payroll.employees payroll.timesheets",
}


class AuthorizationFailed(Exception):
    """The vendor refused, the state did not match, or the code could not be exchanged."""


@dataclass(frozen=True)
class Authorized:
    connector: str
    scope: str
    expires_at: int | None
    stored_in: str


class _Callback(BaseHTTPRequestHandler):
    received: dict[str, str]
    done: threading.Event

    def do_GET(self) -> None:  # the vendor's redirect
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        type(self).received.update(query)
        type(self).done.set()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"Dispatch: authorisation received. You can close this window.\n")

    def log_message(self, format: str, *args: Any) -> None:  # keep the terminal quiet
        pass


def authorize(
    config: ConnectorConfig,
    *,
    port: int = 8765,
    browse: Callable[[str], None],
    timeout: float = 300.0,
    store: CredentialStore | None = None,
) -> Authorized:
    """Run the flow for one connector; `browse` shows the consent page (a browser, or printing the URL)."""
    store = store or store_for(config)
    client_id = store.require("client_id").reveal()
    client_secret = store.require("client_secret").reveal()
    kind = config.type
    authorize_url = str(config.setting("authorize_url") or AUTHORIZE_URLS.get(kind, ""))
    token_url = str(
        config.setting("token_url") or getattr(getattr(build_connector(config), "auth", None), "token_url", "")
    )
    if not authorize_url or not token_url:
        raise AuthorizationFailed(f"connector {config.name}: set authorize_url and token_url for type {kind}")
    scope = str(config.setting("scopes") or DEFAULT_SCOPES.get(kind, ""))
    state = secrets.token_urlsafe(24)
    handler: type[_Callback] = type("Callback", (_Callback,), {"received": {}, "done": threading.Event()})
    server = HTTPServer(("127.0.0.1", port), handler)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = prepare_grant_uri(
            authorize_url, client_id, "code", redirect_uri=redirect_uri, scope=scope or None, state=state
        )
        browse(url)
        if not handler.done.wait(timeout):
            raise AuthorizationFailed(f"no answer from the consent page within {timeout:.0f} s")
    finally:
        server.shutdown()
        server.server_close()
    answer = handler.received
    if answer.get("state") != state:
        raise AuthorizationFailed("the answer's state does not match this request: ignored")
    if "error" in answer:
        raise AuthorizationFailed(f"the vendor refused: {answer['error']} {answer.get('error_description', '')}")
    body = prepare_token_request(
        "authorization_code",
        code=answer["code"],
        redirect_uri=redirect_uri,
        client_id=client_id,
        client_secret=client_secret,
    )
    try:
        response = httpx.post(
            token_url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30
        )
    except httpx.HTTPError as e:
        raise AuthorizationFailed(f"token endpoint unreachable: {type(e).__name__}") from None
    if response.status_code != 200:
        raise AuthorizationFailed(f"token endpoint answered {response.status_code}: {response.text[:200]}")
    tokens = response.json()
    if not tokens.get("refresh_token"):
        raise AuthorizationFailed("the token endpoint gave no refresh_token (is offline access granted?)")
    expires_at = int(time.time()) + int(tokens["expires_in"]) if tokens.get("expires_in") else None
    values: dict[str, Any] = {"refresh_token": tokens["refresh_token"], "access_token": tokens.get("access_token", "")}
    if expires_at is not None:
        values["expires_at"] = expires_at
    try:
        store.update(values)
    except (OSError, CredentialsError) as e:
        raise AuthorizationFailed(f"could not store the tokens: {e}") from None
    return Authorized(config.name, str(tokens.get("scope", scope)), expires_at, str(store.path))
