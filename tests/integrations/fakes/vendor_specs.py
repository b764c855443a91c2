"""The vendor specifications vendored in `tests/contracts/specs/` (see SOURCE.md there): read from the clone itself."""

from __future__ import annotations

import gzip
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parents[2] / "contracts" / "specs"
QUICKBOOKS_XSDS = ("Finance.xsd", "IntuitBaseTypes.xsd", "IntuitNamesTypes.xsd")


def spec_text(vendor: str, name: str) -> str:
    """One spec file's text, e.g. `spec_text("xero", "xero_accounting.yaml")`."""
    return gzip.decompress((SPECS_DIR / vendor / f"{name}.gz").read_bytes()).decode("utf-8")


def quickbooks_xsd_folder(into: Path) -> Path:
    """Finance.xsd and the two files it includes, written out side by side (includes are relative paths)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in QUICKBOOKS_XSDS:
        (into / name).write_text(spec_text("quickbooks", name), encoding="utf-8")
    return into
