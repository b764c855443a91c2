"""`dispatch db upgrade|backup|restore`: schema migrations and whole-database copies.

SQLite uses the online backup API in both directions: a backup is consistent while consoles keep
writing, and a restore copies into the live file in one write transaction, so other connections
simply see the restored data after it commits (no file is swapped under them). Before a restore
the current contents are saved next to the database, so nothing entered is lost. PostgreSQL uses
`pg_dump -Fc` and `pg_restore --clean`; stop workers and consoles first, since `pg_restore`
drops and recreates the tables they are using.

Backups hold customer data and lockbox codes, so every one is written 0600 (read by its owner only).
A backup being restored is opened read-only and immutable: SQLite makes no `-wal`/`-shm` beside it.
`--encrypt` seals a backup with the secret key (`data.sealed_files`); a restore recognises one and
decrypts it into a private temporary file first, so a wrong key is refused before anything changes.
`--schedule` is what the nightly timer runs: a time-stamped file in a directory, older ones pruned.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from data.db import Database
from data.errors import DispatchError, InvalidInput
from data.migrate import current_revision, head_revision, upgrade_to_head
from data.sealed_files import decrypt_file, encrypt_file, is_encrypted
from data.secret_key import Keyring, load_keyring
from dispatch_tui.cli.context import EXIT_ERROR, db, fail, handles_errors, out, print_json

db_app = typer.Typer(help="Database: upgrade, backup, restore.", no_args_is_help=True)


BACKUP_PAGES_PER_STEP = 1024
"""Pages a SQLite backup copies between two progress reports (4 MiB at the default page size)."""


class ToolMissing(DispatchError):
    exit_code = EXIT_ERROR


def _libpq_url(database: Database) -> str:
    """pg_dump and pg_restore take a libpq URL, without SQLAlchemy's driver suffix."""
    url = make_url(database.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"{name} is not installed or not on PATH; install the PostgreSQL client tools "
            f"(e.g. apt-get install postgresql-client) matching the server's major version"
        )
    return path


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DispatchError(f"{Path(cmd[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")


def backup_database(
    database: Database,
    target: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    encrypt_with: Keyring | None = None,
) -> Path:
    """Copy the whole database to `target` (a SQLite file, or a pg_dump custom-format archive), mode 0600.

    `progress`, if given, is called with (pages copied, pages) as a SQLite backup goes (pg_dump reports none).
    With `encrypt_with`, the file written is the copy encrypted with that key; the plain copy never gets a name."""
    target = target.expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    source = database.sqlite_path
    if source is not None and target == source.resolve():
        raise InvalidInput("is the live database itself", record="backup", field="PATH")
    # Written under a temporary name created 0600, so a half-written backup never carries the final name and no
    # moment exists when others can read it; replacing keeps that mode whatever the target's was.
    with _private_temp(target.parent, target.name) as tmp:
        if source is not None:
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(tmp)) as dst:
                if progress is None:
                    src.backup(dst)
                else:
                    report = progress
                    src.backup(
                        dst, pages=BACKUP_PAGES_PER_STEP, progress=lambda _, left, total: report(total - left, total)
                    )
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", _libpq_url(database)])
        tmp.chmod(0o600)
        if encrypt_with is not None:
            with _private_temp(target.parent, target.name) as sealed:
                encrypt_file(tmp, sealed, encrypt_with)
                sealed.replace(target)
        else:
            tmp.replace(target)
    return target


@contextmanager
def _private_temp(folder: Path, name: str) -> Iterator[Path]:
    """A 0600 temporary file beside `name`, removed on the way out whatever happened."""
    fd, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    os.close(fd)
    try:
        yield Path(path)
    finally:
        Path(path).unlink(missing_ok=True)


SCHEDULED_PREFIX = "dispatch-"


def scheduled_backup(
    database: Database, folder: Path, keep_days: int, *, encrypt_with: Keyring | None, now: datetime
) -> tuple[Path, list[Path]]:
    """One time-stamped backup into `folder`, then the scheduled backups older than `keep_days` removed.

    Age is read from the name's UTC stamp, not the file's mtime, so a copied-in file keeps its age."""
    suffix = (".sqlite" if database.is_sqlite else ".dump") + (".enc" if encrypt_with else "")
    target = backup_database(
        database, folder / f"{SCHEDULED_PREFIX}{now:%Y%m%dT%H%M%SZ}{suffix}", encrypt_with=encrypt_with
    )
    removed: list[Path] = []
    for path in sorted(folder.glob(f"{SCHEDULED_PREFIX}*")):
        stamp = path.name.removeprefix(SCHEDULED_PREFIX).split(".", 1)[0]
        try:
            made = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        if path != target and now - made > timedelta(days=keep_days):
            path.unlink()
            removed.append(path)
    return target, removed


def _read_only(path: Path) -> sqlite3.Connection:
    """A backup opened for reading only and as immutable: SQLite creates no -wal/-shm files beside it.

    A copy that came with its own `-wal` (a live database copied by hand) is read with that log, not as immutable,
    which would ignore what the log holds."""
    has_log = path.with_name(path.name + "-wal").exists()
    return sqlite3.connect(f"{path.as_uri()}?mode=ro{'' if has_log else '&immutable=1'}", uri=True)


def _check_sqlite_backup(path: Path) -> None:
    try:
        with closing(_read_only(path)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise InvalidInput(f"{path} is not a SQLite database ({e})", record="restore", field="PATH") from None
    if not {"jobs", "events", "alembic_version"} <= tables:
        raise InvalidInput(f"{path} is not a Dispatch backup (no jobs/events tables)", record="restore", field="PATH")


def restore_database(database: Database, source: Path, keyring: Keyring | None = None) -> Path | None:
    """Replace the database's contents with a backup; returns where the previous SQLite contents were saved.

    An encrypted backup is decrypted (with `keyring`, else the configured key) into a 0600 temporary file that is
    removed afterwards; one the key cannot open is refused before anything is touched."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise InvalidInput(f"{source} does not exist", record="restore", field="PATH")
    if is_encrypted(source):
        with tempfile.TemporaryDirectory(prefix="dispatch-restore-") as folder:
            plain = Path(folder) / source.name.removesuffix(".enc")
            decrypt_file(source, plain, keyring or load_keyring())
            return _restore_plain(database, plain)
    return _restore_plain(database, source)


def _restore_plain(database: Database, source: Path) -> Path | None:
    saved: Path | None = None
    if database.is_sqlite:
        _check_sqlite_backup(source)
        live = database.sqlite_path
        assert live is not None
        if live.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            saved = backup_database(database, live.with_name(f"{live.stem}.before-restore-{stamp}{live.suffix}"))
        database.dispose()
        with closing(_read_only(source)) as src, closing(sqlite3.connect(live, timeout=30)) as dst:
            src.backup(dst)  # one step: all pages copied inside one write transaction
    else:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(database)}",
                str(source),
            ]
        )
    upgrade_to_head(database)  # an older backup is brought to the current schema
    return saved


@db_app.command("upgrade")
@handles_errors
def upgrade_command(
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Apply pending migrations (a new database is migrated on first use anyway)."""
    database = db()
    applied = upgrade_to_head(database)
    if as_json:
        print_json({"upgraded": bool(applied), "revision": current_revision(database), "head": head_revision(database)})
        return
    state = "upgraded to" if applied else "already at"
    out.print(f"{database.url}: {state} revision {current_revision(database)} (head {head_revision(database)})")


@db_app.command("backup")
@handles_errors
def backup_command(
    path: Path = typer.Argument(..., help="Where to write the backup (with --schedule: the folder of backups)."),
    encrypt: bool = typer.Option(
        False, "--encrypt", help="Encrypt the backup with the secret key (DISPATCH_SECRET_KEY or secret.key)."
    ),
    schedule: bool = typer.Option(
        False, "--schedule", help="What a timer runs: PATH is a folder; write dispatch-STAMP there, prune old ones."
    ),
    keep_days: int = typer.Option(14, "--keep-days", min=1, help="With --schedule: days of backups to keep."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Back the database up while it is in use (see deploy/systemd/dispatch-backup.timer for a nightly one)."""
    from dispatch_tui.cli.progress import progress_bar

    keyring = load_keyring() if encrypt else None
    removed: list[Path] = []
    if schedule:
        path.mkdir(parents=True, exist_ok=True)
        target, removed = scheduled_backup(db(), path, keep_days, encrypt_with=keyring, now=datetime.now(UTC))
    else:
        with progress_bar(f"backing up to {path}") as bar:
            target = backup_database(db(), path, progress=bar.advance_to, encrypt_with=keyring)
    if as_json:
        print_json({"backup": str(target), "bytes": target.stat().st_size, "encrypted": encrypt,
                    "removed": [str(p) for p in removed]})  # fmt: skip
        return
    sealed = " encrypted" if encrypt else ""
    out.print(f"backed up{sealed} to {target} ({target.stat().st_size:,} bytes)", highlight=False)
    for old in removed:
        out.print(f"removed {old} (older than {keep_days} days)", highlight=False)


@db_app.command("restore")
@handles_errors
def restore_command(
    path: Path = typer.Argument(..., help="A backup made by `dispatch db backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Replace the database's contents with a backup (the current contents are kept aside on SQLite)."""
    database = db()
    if not yes and not typer.confirm(f"Replace everything in {database.url} with {path}?"):
        raise fail("restore cancelled", 1)
    saved = restore_database(database, path)
    if as_json:
        print_json({"restored_from": str(path), "previous_contents": None if saved is None else str(saved)})
        return
    out.print(f"restored {database.url} from {path}", highlight=False)
    if saved is not None:
        out.print(f"previous contents saved to {saved}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
