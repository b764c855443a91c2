"""Reading a branch's imported map, decoded once per import and kept while the import stays the same."""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.db import Database
from data.maps.addresses import AddressBook, decode_addresses
from data.maps.layer import BaseLayer, decode_layer
from data.models.maps import BranchMap
from data.models.org import Branch
from optimizer.road_travel import RoadGraph

T = TypeVar("T")
_cache: dict[tuple[object, ...], Any] = {}
_lock = Lock()


def _decoded(db: Database, branch_code: str, column: Any, decode: Callable[[bytes], T]) -> T | None:
    """One blob of the branch's map, decoded; cached by the import's time so a new import is read afresh."""
    with db.read() as session:
        return _decoded_in(session, db.url, branch_code, column, decode)


def _decoded_in(session: Session, url: str, branch_code: str, column: Any, decode: Callable[[bytes], T]) -> T | None:
    stamp = session.execute(
        select(BranchMap.branch_id, BranchMap.imported_at)
        .join(Branch, Branch.id == BranchMap.branch_id)
        .where(Branch.code == branch_code)
    ).first()
    if stamp is None:
        return None
    key = (url, branch_code, column.key, stamp[1])
    with _lock:
        if key in _cache:
            return _cache[key]
    blob = session.scalar(select(column).where(BranchMap.branch_id == stamp[0]))
    value = decode(blob) if blob else None
    with _lock:
        _cache[key] = value
    return value


def branch_layer(db: Database, branch_code: str) -> BaseLayer | None:
    """The branch's base layer, or None when no map was imported for it."""
    return _decoded(db, branch_code, BranchMap.layer, lambda b: decode_layer(b, record=f"map of {branch_code}"))


def branch_road_graph(db: Database, branch_code: str) -> RoadGraph | None:
    """The branch's road graph, or None when its map has none (or no map was imported)."""
    return _decoded(db, branch_code, BranchMap.road_graph, RoadGraph.from_bytes)


def branch_addresses_in(session: Session, branch_code: str) -> AddressBook | None:
    """The address points of the branch's map (read inside a change), or None when it has none."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return _decoded_in(
        session,
        url,
        branch_code,
        BranchMap.addresses,
        lambda b: decode_addresses(b, record=f"addresses of {branch_code}"),
    )
