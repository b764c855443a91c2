"""Public holidays per branch: the `holidays` package's calendar for a country, plus the company's own dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import holidays


def split_country(code: str) -> tuple[str, str | None]:
    """'FI' -> ('FI', None); 'DE-BY' -> ('DE', 'BY')."""
    country, _, subdivision = code.strip().upper().partition("-")
    return country, subdivision or None


def check_country(code: str) -> str:
    """The code as stored ('FI', 'DE-BY'), or ValueError saying which countries and subdivisions exist."""
    country, subdivision = split_country(code)
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"'{code}' is not a country the holiday calendar knows (ISO 3166 code, e.g. FI, GB, DE-BY)")
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12]) or "none"
        raise ValueError(f"'{code}': {country} has no subdivision {subdivision} (known: {known})")
    return f"{country}-{subdivision}" if subdivision else country


@lru_cache(maxsize=64)
def _calendar(code: str, year: int) -> dict[date, str]:
    country, subdivision = split_country(code)
    return dict(holidays.country_holidays(country, subdiv=subdivision, years=year, language="en_US").items())


def holiday_name(country: str | None, own_dates: Sequence[str], day: date) -> str | None:
    """The holiday's name when `day` is a public holiday for the branch, else None."""
    if day.isoformat() in own_dates:
        return "company holiday"
    if country:
        return _calendar(country, day.year).get(day)
    return None
