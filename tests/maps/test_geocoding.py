"""Sites given an address but no coordinates are placed at the branch map's address point, or refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.maps.addresses import AddressBook, AddressPoint
from dispatch_tui.cli.main import app
from tests.factories import build_world
from tests.maps.extract import LAHDENTIE_5, PALUUTIE_3, RANTATIE_12A, write_bay_extract

runner = CliRunner()
SITE = ["sites", "add", "--customer", "C1", "--branch", "HEL", "--name", "Boiler room"]


def _cli(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, "--as", "ada", *args])
    return result.exit_code, result.stdout, result.stderr


def _imported(db: Database, tmp_path: Path) -> None:
    build_world(db)
    extract = write_bay_extract(tmp_path / "bay.osm.pbf", addressed=True)
    code, out, err = _cli(db, "map", "import", str(extract))
    assert code == 0, err
    assert "3 address points" in out


def _site_at(db: Database, code: str, address: str) -> tuple[float, float]:
    status, _, err = _cli(db, *SITE[:2], code, *SITE[2:], "--address", address)
    assert status == 0, err
    shown = json.loads(_cli(db, "sites", "show", code, "--json")[1])
    assert shown["address"] == address.strip()
    return shown["lat"], shown["lon"]


def test_a_site_added_by_address_takes_the_buildings_coordinates(sqlite_db: Database, tmp_path: Path) -> None:
    _imported(sqlite_db, tmp_path)
    assert _site_at(sqlite_db, "S10", "Lahdentie 5") == pytest.approx(LAHDENTIE_5, abs=2e-5)
    assert _site_at(sqlite_db, "S11", "  RANTATIE   12a ") == pytest.approx(RANTATIE_12A, abs=2e-5)
    assert _site_at(sqlite_db, "S12", "Lahdentie 5, 00150 Helsinki") == pytest.approx(LAHDENTIE_5, abs=2e-5)
    assert _site_at(sqlite_db, "S13", "Paluutie 3") == pytest.approx(PALUUTIE_3, abs=2e-5)  # an addressed node
    # Coordinates given are kept as given.
    _cli(sqlite_db, *SITE[:2], "S14", *SITE[2:], "--address", "Lahdentie 5", "--lat", "60.2", "--lon", "24.9")
    assert json.loads(_cli(sqlite_db, "sites", "show", "S14", "--json")[1])["lat"] == 60.2


def test_an_address_the_map_does_not_hold_is_refused_naming_record_and_field(
    sqlite_db: Database, tmp_path: Path
) -> None:
    _imported(sqlite_db, tmp_path)
    for address in ("Lahdentie 7", "Lahdentie 5, 00990 Helsinki", "Lahdentie"):
        code, _, err = _cli(sqlite_db, *SITE[:2], "S20", *SITE[2:], "--address", address)
        assert code == 2
        assert f"site S20: address: address '{address}' not found in the HEL map; give lat/lon" in err
    assert _cli(sqlite_db, "sites", "show", "S20")[0] != 0


def test_a_branch_without_an_imported_map_refuses_to_place_an_address(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    code, _, err = _cli(sqlite_db, *SITE[:2], "S20", *SITE[2:], "--address", "Lahdentie 5")
    assert code == 2
    assert "site S20: address: the HEL map holds no address points" in err and "give lat/lon" in err


def test_a_customer_import_places_sites_by_address_and_rejects_the_unknown_row(
    sqlite_db: Database, tmp_path: Path
) -> None:
    _imported(sqlite_db, tmp_path)
    header = "customer_code,customer_name,site_code,site_name,branch,address,city\n"
    good = tmp_path / "good.csv"
    good.write_text(header + "C7,Rannan Kahvila,S30,Cafe,HEL,Rantatie 12 A,Helsinki\n", encoding="utf-8")
    code, _, err = _cli(sqlite_db, "import", "customers", str(good))
    assert code == 0, err
    shown = json.loads(_cli(sqlite_db, "sites", "show", "S30", "--json")[1])
    assert (shown["lat"], shown["lon"]) == pytest.approx(RANTATIE_12A, abs=2e-5)
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "C8,Kauppa,S31,Shop,HEL,Lahdentie 99,Helsinki\n", encoding="utf-8")
    code, _, err = _cli(sqlite_db, "import", "customers", str(bad))
    assert code == 2
    assert "bad.csv row 2, field address: address 'Lahdentie 99' not found in the HEL map; give lat/lon" in err


def test_addresses_match_after_normalising_and_never_guess_between_towns() -> None:
    book = AddressBook(
        (
            AddressPoint("Main Street", "5", "02100", "Espoo", 60.17, 24.80),
            AddressPoint("Main Street", "5", "00100", "Helsinki", 60.17, 24.94),
            AddressPoint("Main Street", "5", "00100", "Helsinki", 60.1701, 24.9401),  # its entrance: one place
            AddressPoint("Kauppakatu", "12-14", "", "", 60.2, 24.9),
        )
    )
    with pytest.raises(ValueError, match="names 2 places"):
        book.find("5 Main St.")
    espoo = book.find("5 Main St.", city="espoo")
    assert espoo is not None and espoo.lon == 24.80
    helsinki = book.find("main street 5, 00100")
    assert helsinki is not None and helsinki.lon == 24.94
    assert book.find("kauppakatu 12-14") is not None
    assert book.find("Main Street 6") is None
