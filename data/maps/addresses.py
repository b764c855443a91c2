"""A branch map's address points, and finding an address among them: an exact match or a refusal, never a guess.

`dispatch map import` keeps every node and building of the extract that carries `addr:street` and
`addr:housenumber` (with `addr:postcode` and `addr:city` when given), a building at its centroid. An address
is looked up by its street and house number after normalising both: case, whitespace and punctuation, the
usual street-type abbreviations ("Main St." is "main street"), and "5 A" is "5a". The number may come before
or after the street, and anything after the first comma may name the postcode and city. Two points of the same
street and number further apart than a building (the same street in two towns) need the postcode or city to
tell them apart; without one the address is refused as ambiguous.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from data.maps.layer import SCALE, pack_json, unpack_json

FORMAT_VERSION = 1
SAME_PLACE_KM = 0.1  # a node and its building, or two entrances: one address

ABBREVIATIONS = {
    "st": "street",
    "str": "strasse",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pkwy": "parkway",
    "ter": "terrace",
    "cres": "crescent",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
_PUNCTUATION = re.compile(r"[.,;:'\"()]+")
_NUMBER = re.compile(r"^\d+[a-z]?(?:[-/]\d+[a-z]?)?$")


def _words(text: str) -> list[str]:
    return _PUNCTUATION.sub(" ", text.casefold()).split()


def normal_street(street: str) -> str:
    return " ".join(ABBREVIATIONS.get(w, w) for w in _words(street))


def normal_number(number: str) -> str:
    """'5 A' and '5a' are one number."""
    return re.sub(r"\s+", "", number.casefold()).replace(".", "")


def normal_place(text: str | None) -> str:
    return " ".join(_words(text or ""))


def _key(street: str, number: str) -> str:
    return f"{normal_street(street)}|{normal_number(number)}"


@dataclass(frozen=True)
class AddressPoint:
    street: str
    housenumber: str
    postcode: str
    city: str
    lat: float
    lon: float

    @property
    def label(self) -> str:
        rest = " ".join(p for p in (self.postcode, self.city) if p)
        return f"{self.street} {self.housenumber}" + (f", {rest}" if rest else "")


def _km(a: AddressPoint, b: AddressPoint) -> float:
    kx = 111.32 * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot((a.lat - b.lat) * 110.57, (a.lon - b.lon) * kx)


@dataclass(frozen=True)
class AddressBook:
    """Every address point of one map, indexed by normalised street and number."""

    points: tuple[AddressPoint, ...]
    index: dict[str, list[AddressPoint]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for point in self.points:
            self.index.setdefault(_key(point.street, point.housenumber), []).append(point)

    def __len__(self) -> int:
        return len(self.points)

    def find(self, address: str, postcode: str | None = None, city: str | None = None) -> AddressPoint | None:
        """The one place `address` names, or None when the map holds no such address.

        Raises ValueError when it names places apart from each other that the postcode or city does not
        tell apart."""
        first, _, rest = address.partition(",")
        words = _words(first)
        if len(words) < 2:
            return None
        keys = []
        if _NUMBER.match(words[-1]):
            keys.append(_key(" ".join(words[:-1]), words[-1]))
        if len(words) >= 3 and re.fullmatch(r"[a-z]", words[-1]) and _NUMBER.match(words[-2]):
            keys.append(_key(" ".join(words[:-2]), words[-2] + words[-1]))  # "Lahdentie 5 A"
        if _NUMBER.match(words[0]):
            keys.append(_key(" ".join(words[1:]), words[0]))  # "5 Main Street"
        found = [p for k in keys for p in self.index.get(k, [])]
        given_postcode, given_city = _place_of(rest)
        given_postcode = normal_place(postcode) or given_postcode
        given_city = normal_place(city) or given_city
        found = [
            p
            for p in found
            if not (given_postcode and p.postcode and normal_place(p.postcode) != given_postcode)
            and not (given_city and p.city and normal_place(p.city) != given_city)
        ]
        if not found:
            return None
        places: list[AddressPoint] = []
        for point in found:
            if all(_km(point, kept) > SAME_PLACE_KM for kept in places):
                places.append(point)
        if len(places) > 1:
            where = "; ".join(p.label for p in places[:4])
            raise ValueError(f"address '{address}' names {len(places)} places in the map ({where}): give the postcode")
        return places[0]


def _place_of(rest: str) -> tuple[str, str]:
    """'00100 Helsinki' after the comma: the postcode (the words with digits) and the city (the others)."""
    words = _words(rest)
    return (
        " ".join(w for w in words if any(c.isdigit() for c in w)),
        " ".join(w for w in words if not any(c.isdigit() for c in w)),
    )


def encode_addresses(points: list[AddressPoint] | tuple[AddressPoint, ...]) -> bytes:
    return pack_json(
        {
            "format": FORMAT_VERSION,
            "points": [
                [p.street, p.housenumber, p.postcode, p.city, round(p.lat * SCALE), round(p.lon * SCALE)]
                for p in points
            ],
        }
    )


def decode_addresses(blob: bytes, *, record: str = "address points") -> AddressBook:
    doc = unpack_json(blob, FORMAT_VERSION, "address points", record)
    return AddressBook(
        tuple(
            AddressPoint(str(s), str(n), str(pc), str(c), lat / SCALE, lon / SCALE)
            for s, n, pc, c, lat, lon in doc["points"]
        )
    )
