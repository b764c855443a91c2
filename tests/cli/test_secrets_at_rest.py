"""Data protected at rest: secrets sealed with the key, the key rotated atomically, backups encrypted on request."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from data.db import Database
from data.models import Technician
from data.models.deliveries import OAuthToken
from data.models.sealed import SealedSecret
from data.secret_key import KEY_ENV, load_keyring
from data.services.sealed_secrets import seal, unseal
from dispatch_tui.cli.commands.db import scheduled_backup
from dispatch_tui.cli.main import app
from integrations.config import ConnectorConfig
from integrations.token_vault import sealed_lookup
from tests.factories import ADMIN, build_world

runner = CliRunner()
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def run(database: Database, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, ["--db", database.url, "--as", "ada", *args], input=stdin)


def technicians(database: Database) -> int:
    with database.read() as s:
        return int(s.scalar(select(func.count()).select_from(Technician)) or 0)


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The key lives in the data directory's 0600 secret.key, not in the environment."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "dispatch" / "secret.key"


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_an_encrypted_backup_holds_no_plain_data_and_restores_with_its_key(
    sqlite_db: Database, tmp_path: Path, private_tmp: Path
) -> None:
    build_world(sqlite_db)
    before = technicians(sqlite_db)
    backup = tmp_path / "backups" / "nightly.sqlite.enc"
    made = run(sqlite_db, "db", "backup", str(backup), "--encrypt")
    assert made.exit_code == 0, made.output
    raw = backup.read_bytes()
    assert raw.startswith(b"DISPATCH-ENCRYPTED 1\n") and b"SQLite format 3" not in raw
    assert sorted(p.name for p in backup.parent.iterdir()) == [backup.name]  # no plain copy left beside it
    seal(sqlite_db, ADMIN, load_keyring(), "made.after.backup", "x")
    restored = run(sqlite_db, "db", "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert technicians(sqlite_db) == before and unseal(sqlite_db, load_keyring(), "made.after.backup") is None
    assert list(private_tmp.iterdir()) == []


def test_a_backup_cannot_be_restored_without_its_key(
    sqlite_db: Database, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(sqlite_db)
    backup = tmp_path / "backups" / "nightly.sqlite.enc"
    assert run(sqlite_db, "db", "backup", str(backup), "--encrypt").exit_code == 0
    live = sqlite_db.sqlite_path
    assert live is not None
    around = sorted(p.name for p in live.parent.iterdir())
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())  # another installation's key
    refused = run(sqlite_db, "db", "restore", str(backup), "--yes")
    assert refused.exit_code == 2, refused.output
    message = refused.stderr.strip()
    assert "\n" not in message and "cannot be decrypted" in message and str(backup) in message
    assert "Traceback" not in refused.output
    assert sorted(p.name for p in live.parent.iterdir()) == around  # no before-restore copy, no partial file
    assert list(private_tmp.iterdir()) == []
    assert technicians(sqlite_db) > 0


def test_scheduled_backups_are_stamped_encrypted_and_pruned(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "dispatch-20261101T023000Z.sqlite.enc"
    recent = folder / "dispatch-20261201T023000Z.sqlite.enc"
    theirs = folder / "notes.txt"
    for path in (old, recent, theirs):
        path.write_text("x")
    now = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    made, removed = scheduled_backup(sqlite_db, folder, 14, encrypt_with=load_keyring(), now=now)
    assert made.name == "dispatch-20261204T023000Z.sqlite.enc" and made.read_bytes().startswith(b"DISPATCH-ENCRYPTED")
    assert removed == [old] and recent.exists() and theirs.exists()
    assert run(sqlite_db, "db", "backup", str(folder), "--schedule", "--encrypt", "--keep-days", "30").exit_code == 0


def test_a_webhook_secret_is_sealed_in_the_database_and_read_by_its_connector(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    stored = run(sqlite_db, "secrets", "set", "webhook.acme", "--stdin", stdin=WEBHOOK_SECRET)
    assert stored.exit_code == 0, stored.output
    with sqlite_db.read() as s:
        row = s.get(SealedSecret, "webhook.acme")
        assert row is not None and WEBHOOK_SECRET not in row.ciphertext
    settings = {"url": "https://example.com/h", "secret_sealed": "webhook.acme"}
    config = ConnectorConfig("acme", "webhook", settings=settings)
    assert replace(config, sealed=sealed_lookup(sqlite_db)).secret("secret") == WEBHOOK_SECRET
    listed = run(sqlite_db, "secrets", "list", "--json")
    assert "webhook.acme" in listed.stdout and WEBHOOK_SECRET not in listed.stdout
    assert run(sqlite_db, "--as", "dana", "secrets", "set", "x", "--stdin", stdin="v").exit_code == 2


def test_rotate_re_encrypts_every_secret_and_keeps_old_backups_restorable(
    sqlite_db: Database, tmp_path: Path, key_file: Path, private_tmp: Path
) -> None:
    build_world(sqlite_db)
    old_ring = load_keyring()
    seal(sqlite_db, ADMIN, old_ring, "webhook.acme", WEBHOOK_SECRET)
    with sqlite_db.write_session() as s, s.begin():
        s.add(OAuthToken(connector="hubspot", ciphertext=old_ring.encrypt(b'{"refresh_token": "r1"}').decode()))
    backup = tmp_path / "before.sqlite.enc"
    assert run(sqlite_db, "db", "backup", str(backup), "--encrypt").exit_code == 0

    rotated = run(sqlite_db, "secrets", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    assert '"oauth_tokens": 1' in rotated.stdout and '"secrets": 1' in rotated.stdout
    new_ring = load_keyring()
    assert len(new_ring.keys) == 2 and new_ring.keys[1] == old_ring.keys[0]
    only_new = MultiFernet([Fernet(new_ring.keys[0])])
    with sqlite_db.read() as s:
        token = s.get(OAuthToken, "hubspot")
        assert token is not None and only_new.decrypt(token.ciphertext.encode()) == b'{"refresh_token": "r1"}'
    assert unseal(sqlite_db, new_ring, "webhook.acme") == WEBHOOK_SECRET
    assert run(sqlite_db, "db", "restore", str(backup), "--yes").exit_code == 0  # the retired key still opens it

    assert run(sqlite_db, "secrets", "rotate", "--forget-old").exit_code == 0
    assert len(key_file.read_text().split()) == 1 and key_file.stat().st_mode & 0o077 == 0


def test_a_rotation_that_meets_an_unreadable_secret_changes_nothing(sqlite_db: Database, key_file: Path) -> None:
    build_world(sqlite_db)
    ring = load_keyring()
    seal(sqlite_db, ADMIN, ring, "webhook.acme", WEBHOOK_SECRET)
    with sqlite_db.write_session() as s, s.begin():
        s.add(OAuthToken(connector="xero", ciphertext=Fernet(Fernet.generate_key()).encrypt(b"{}").decode()))
    with sqlite_db.read() as s:
        before = s.get(SealedSecret, "webhook.acme")
    refused = run(sqlite_db, "secrets", "rotate")
    assert refused.exit_code == 2 and "OAuth tokens of connector xero" in refused.stderr, refused.output
    with sqlite_db.read() as s:
        after = s.get(SealedSecret, "webhook.acme")
    assert before is not None and after is not None and after.ciphertext == before.ciphertext
    assert unseal(sqlite_db, load_keyring(), "webhook.acme") == WEBHOOK_SECRET


def test_rotating_a_key_from_the_environment_needs_a_place_for_the_new_one(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    refused = run(sqlite_db, "secrets", "rotate")
    assert refused.exit_code == 2 and "--new-key-file" in refused.stderr
    target = tmp_path / "new.key"
    assert run(sqlite_db, "secrets", "rotate", "--new-key-file", str(target)).exit_code == 0
    assert target.stat().st_mode & 0o077 == 0 and len(target.read_text().split()) == 2
