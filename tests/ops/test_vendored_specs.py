"""A clone alone runs every test: the vendor specs the contract tests read are in the repository, with licences."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integrations.fakes.vendor_specs import SPECS_DIR, spec_text

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_reads_a_folder_outside_the_repository() -> None:
    outside = re.compile(r"DISPATCH_SHARED|[\"'/]shared[\"'/]|parents\[[3-9]\]")
    readers = [
        f"{path.relative_to(TESTS)}:{n}"
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if outside.search(line)
    ]
    assert readers == []


def test_every_vendored_spec_has_its_licence_and_source() -> None:
    source = (SPECS_DIR / "SOURCE.md").read_text(encoding="utf-8")
    files = sorted(p for p in SPECS_DIR.rglob("*.gz"))
    assert {p.parent.name for p in files} == {"xero", "quickbooks"}
    for path in files:
        assert path.name in source, f"{path.name} is not listed in SOURCE.md"
        assert any(path.parent.glob("LICENSE*")), f"no licence beside {path.name}"
    assert "MIT License" in (SPECS_DIR / "xero" / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in (SPECS_DIR / "quickbooks" / "LICENSE.txt").read_text(encoding="utf-8")
    assert spec_text("xero", "xero-payroll-uk.yaml").startswith("openapi:")
