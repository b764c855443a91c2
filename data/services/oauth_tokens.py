"""Connectors' OAuth2 tokens in the database, so workers that share a rotating refresh token share one chain.

The rows hold ciphertext only (`integrations.token_vault` encrypts). `locked_token` holds the row
lock (SELECT ... FOR UPDATE on PostgreSQL, the write lock on SQLite) while its caller refreshes,
so exactly one worker spends a single-use refresh token and the others read what it stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from data.db import Database
from data.models.base import utcnow
from data.models.deliveries import OAuthToken


def stored_token(db: Database, connector: str) -> str | None:
    with db.read() as session:
        return session.scalar(select(OAuthToken.ciphertext).where(OAuthToken.connector == connector))


class LockedToken:
    """One connector's token row, locked until `close`; `save` stores a new ciphertext and commits."""

    def __init__(self, db: Database, connector: str) -> None:
        self.connector = connector
        self._session: Session = db.write_session()
        try:
            stmt = select(OAuthToken.ciphertext).where(OAuthToken.connector == connector)
            if db.dialect == "postgresql":
                stmt = stmt.with_for_update()
            self.ciphertext: str | None = self._session.scalar(stmt)
            if self.ciphertext is None and db.dialect == "postgresql":
                # No row to lock yet: insert a placeholder (the first worker wins), then lock it.
                self._session.execute(
                    pg_insert(OAuthToken)
                    .values(connector=connector, ciphertext="", updated_at=utcnow())
                    .on_conflict_do_nothing()
                )
                self.ciphertext = self._session.scalar(stmt.with_for_update()) or None
        except BaseException:
            self.close()
            raise

    def save(self, ciphertext: str) -> None:
        row = self._session.get(OAuthToken, self.connector)
        if row is None:
            self._session.add(OAuthToken(connector=self.connector, ciphertext=ciphertext, updated_at=utcnow()))
        else:
            row.ciphertext = ciphertext
            row.updated_at = utcnow()
        self._session.commit()

    def close(self) -> None:
        self._session.rollback()
        self._session.close()
