"""Connector secrets: masked when printed, refused from a file others can read, refreshed tokens kept 0600."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from integrations.oauth import RefreshingOAuth2
from integrations.secrets import CredentialsError, CredentialStore, Secret, store_for
from tests.integrations.fakes.world import connector_config


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2" and secret == Secret("hunter2")


def test_a_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"crm": {"access_token": "a"}}))
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        CredentialStore("crm", path=path, environ={}).section()


def test_environment_overrides_and_missing_key_names_the_fix(tmp_path: Path) -> None:
    store = CredentialStore(
        "crm", base={"client_id": "from-file"}, path=tmp_path / "t.json", environ={"DISPATCH_CRM_CLIENT_ID": "env"}
    )
    assert store.require("client_id").reveal() == "env"
    with pytest.raises(CredentialsError, match="client_secret_env"):
        store.require("client_secret")


def test_refreshed_tokens_are_stored_0600_and_a_new_refresh_token_in_config_wins(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tokens.json"
    store = CredentialStore("crm", base={"refresh_token": "r0", "access_token": "a0"}, path=path, environ={})
    store.update({"access_token": "a1", "refresh_token": "r1"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.section()["refresh_token"] == "r1"
    reauthorised = CredentialStore("crm", base={"refresh_token": "r-new"}, path=path, environ={})
    assert reauthorised.section()["refresh_token"] == "r-new"


def test_store_for_a_config_reads_its_credentials_file(tmp_path: Path) -> None:
    config = connector_config(tmp_path, "crm", "hubspot", {"base_url": "http://127.0.0.1:9"})
    store = store_for(config)
    assert store.require("client_id").reveal() == "dispatch-client" and "s3cret" not in repr(store)


async def test_refresh_never_logs_a_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "fresh-secret-token", "expires_in": 60})
        return httpx.Response(200, json={"auth": request.headers["authorization"]})

    store = CredentialStore(
        "crm",
        base={
            "client_id": "id",
            "client_secret": "very-secret",
            "refresh_token": "r0",
            "expires_at": str(int(time.time()) - 5),
        },
        path=tmp_path / "t.json",
        environ={},
    )
    auth = RefreshingOAuth2("https://vendor.example/token", store)
    caplog.set_level(logging.DEBUG, logger="integrations")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await client.get("https://vendor.example/api", auth=auth)
    assert response.json() == {"auth": "Bearer fresh-secret-token"} and auth.refreshes == 1
    assert "refreshed" in caplog.text
    for secret in ("very-secret", "fresh-secret-token", "r0"):
        assert secret not in caplog.text and secret not in repr(auth)
