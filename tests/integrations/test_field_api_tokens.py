"""API tokens: only admins issue and revoke them, secrets are shown once and stored hashed, the CLI drives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.errors import NotFound, PermissionDenied
from data.services.api_tokens import Unauthenticated, authenticate, issue_token, list_tokens, revoke_token
from dispatch_tui.cli.main import app
from tests.factories import ADMIN, DISPATCHER, build_world


def test_only_roles_with_the_issue_tokens_permission_issue_and_revoke(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    refusal = r"dana is a dispatcher: cannot issue API tokens \(needs the issue_tokens permission\)"
    with pytest.raises(PermissionDenied, match=refusal):
        issue_token(sqlite_db, DISPATCHER, "T1")
    issued = issue_token(sqlite_db, ADMIN, "T1", "phone")
    with pytest.raises(PermissionDenied):
        revoke_token(sqlite_db, DISPATCHER, issued.token_id)
    with pytest.raises(NotFound, match="API token 999 does not exist"):
        revoke_token(sqlite_db, ADMIN, 999)


def test_authenticate_accepts_the_token_until_revoked(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    issued = issue_token(sqlite_db, ADMIN, "T2")
    assert issued.secret not in repr(issued)
    me = authenticate(sqlite_db, issued.secret)
    assert me.technician_code == "T2" and me.actor.technician_id == me.technician_id
    assert me.actor.role.value == "technician" and me.actor.source == "api"
    tampered = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")
    with pytest.raises(Unauthenticated, match="invalid API token"):
        authenticate(sqlite_db, tampered)
    revoke_token(sqlite_db, ADMIN, issued.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(sqlite_db, issued.secret)
    [info] = list_tokens(sqlite_db, "T2")
    assert info.revoked_at is not None and not info.active
    assert list_tokens(sqlite_db, "T2", include_revoked=False) == []


def test_cli_issue_list_revoke(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    runner = CliRunner()
    base = ["--db", sqlite_db.url, "--as", "ada"]
    issued = runner.invoke(app, [*base, "tokens", "issue", "T1", "--label", "Pixel", "--json"])
    assert issued.exit_code == 0, issued.output
    body = json.loads(issued.stdout)
    assert body["technician"] == "T1" and body["token"].startswith(f"dsp_{body['token_id']}_")
    listed = runner.invoke(app, [*base, "tokens", "list", "--json"])
    assert listed.exit_code == 0 and body["token"] not in listed.stdout
    assert json.loads(listed.stdout)[0]["label"] == "Pixel"
    revoked = runner.invoke(app, [*base, "tokens", "revoke", str(body["token_id"])])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    refused = runner.invoke(app, ["--db", sqlite_db.url, "--as", "dana", "tokens", "issue", "T1"])
    assert refused.exit_code == 2 and "cannot issue API tokens" in refused.output


def test_issue_prints_a_sign_in_link_and_a_qr_code(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    runner = CliRunner()
    base = ["--db", sqlite_db.url, "--as", "ada", "tokens", "issue", "T1"]
    issued = runner.invoke(app, [*base, "--qr", "--app-url", "https://field.example.com/"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.splitlines()[0].strip()
    assert f"https://field.example.com/app/#token={token}" in issued.stdout
    blocks = [line for line in issued.stdout.splitlines() if "█" in line]
    assert len(blocks) > 15 and len({len(line) for line in blocks}) == 1  # a square of half blocks
    as_json = json.loads(runner.invoke(app, [*base, "--json"]).stdout)
    assert as_json["sign_in_link"] == f"http://127.0.0.1:8080/app/#token={as_json['token']}"
    bad = runner.invoke(app, [*base, "--app-url", "field.example.com"])
    assert bad.exit_code == 2 and "app-url" in bad.output
