"""Coordinates for an address given without them: the branch map's address point, exactly, or a refusal.

Sites added by hand or by import with an address but neither lat nor lon are placed here (`data.maps.addresses`
says how an address matches). Nothing is guessed: an address the branch's imported map does not hold, an
ambiguous one, or a branch without an imported map is refused with what to give instead.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from data.queries.branch_maps import branch_addresses_in


def geocode_in(
    session: Session, branch_code: str, address: str, postcode: str | None = None, city: str | None = None
) -> tuple[float, float]:
    """(lat, lon) of `address` in the branch's map; ValueError saying why not (the caller names record and field)."""
    book = branch_addresses_in(session, branch_code)
    if book is None:
        raise ValueError(
            f"the {branch_code} map holds no address points (import one: dispatch map import); give lat/lon"
        )
    point = book.find(address, postcode, city)
    if point is None:
        raise ValueError(f"address '{address}' not found in the {branch_code} map; give lat/lon")
    return point.lat, point.lon


def needs_geocoding(lat: object, lon: object, address: object) -> bool:
    """Neither coordinate given but an address: the one case geocoding fills in."""
    return _blank(lat) and _blank(lon) and not _blank(address)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
