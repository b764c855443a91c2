"""Every QuickBooks body we send, rebuilt as XML, validates against Intuit's Finance.xsd (with `xmlschema`).

QuickBooks' JSON API uses the XSD's element names; a reference (`{"value": "1", "name": "X"}`) is
the XML element's text plus its `name` attribute. JSON has no order, so the XML is built with
xmlschema's unordered converter, which places children in the order the XSD's sequences ask.
"""

from __future__ import annotations

import asyncio
import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlschema

from data.db import Database
from integrations.connectors.quickbooks import QuickBooksConnector
from tests.integrations.fakes.quickbooks import REALM, QuickBooksState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.vendor_specs import quickbooks_xsd_folder
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver

NS = "http://schema.intuit.com/finance/v3"


@pytest.fixture(scope="module")
def finance(tmp_path_factory: pytest.TempPathFactory) -> xmlschema.XMLSchema:
    """Finance.xsd declares only types: a small wrapper declares the Invoice and Customer elements.

    The XSDs are vendored in `tests/contracts/specs/quickbooks/` (Apache-2.0, see SOURCE.md there)."""
    specs = quickbooks_xsd_folder(tmp_path_factory.mktemp("quickbooks-xsd"))
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="{NS}" targetNamespace="{NS}"
        elementFormDefault="qualified" attributeFormDefault="unqualified">
      <xs:include schemaLocation="{(specs / "Finance.xsd").as_uri()}"/>
      <xs:element name="Invoice" type="Invoice"/>
      <xs:element name="Customer" type="Customer"/>
    </xs:schema>"""
    return xmlschema.XMLSchema(wrapper, validation="skip")


def as_xml_data(value: Any) -> Any:
    """QuickBooks JSON -> xmlschema data: references become text plus a `name` attribute."""
    if isinstance(value, dict):
        if "value" in value and set(value) <= {"value", "name", "type"}:
            return {"$": str(value["value"]), **{f"@{k}": v for k, v in value.items() if k != "value"}}
        return {k: as_xml_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_xml_data(v) for v in value]
    return value


def xsd_errors(schema: xmlschema.XMLSchema, element: str, body: Any) -> list[str]:
    try:
        root, errors = schema.encode(
            as_xml_data(body),
            path=element,
            namespaces={"": NS},
            validation="lax",
            converter=xmlschema.UnorderedConverter,
        )
    except (xmlschema.XMLSchemaValidationError, TypeError, ValueError) as err:
        return [str(err).splitlines()[0]]
    messages = [str(e).split("\n\n")[1] if "\n\n" in str(e) else str(e) for e in errors]
    if not messages and root is not None:
        messages = [str(e.reason) for e in schema.iter_errors(ET.tostring(root).decode())]
    return messages


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[QuickBooksState, str]]:
    state = QuickBooksState()
    with serve(build_app(state)) as url:
        yield state, url


@pytest.fixture
def sent(sqlite_db: Database, fake: tuple[QuickBooksState, str], tmp_path: Path) -> dict[str, Any]:
    state, url = fake
    state.reset()
    connector = QuickBooksConnector(
        connector_config(
            tmp_path,
            "qbo",
            "quickbooks",
            {"base_url": url, "token_url": f"{url}/oauth2/v1/tokens/bearer", "realm_id": REALM},
            {
                "lookups": {
                    "items": {"labour": "1", "callout": "2", "part": "3", "expense": "4"},
                    "tax_codes": {"0.255": "TAX", "0": "NON"},
                }
            },
        )
    )
    job = completed_job(sqlite_db)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await deliver(connector, connector.map(job.drafted, context(sqlite_db, connector.config)), client)

    asyncio.run(run())
    posts = [e for e in state.received if e["method"] == "POST" and "/v3/company/" in e["path"]]
    return {e["path"].rsplit("/", 1)[-1]: e["json"] for e in posts}


def test_invoice_and_customer_validate_against_finance_xsd(finance: xmlschema.XMLSchema, sent: dict[str, Any]) -> None:
    assert set(sent) == {"customer", "invoice"}
    assert xsd_errors(finance, "Invoice", sent["invoice"]) == []
    assert xsd_errors(finance, "Customer", sent["customer"]) == []
    assert len(sent["invoice"]["Line"]) >= 3


def test_the_xsd_rejects_a_misspelt_field_and_a_wrong_type(finance: xmlschema.XMLSchema, sent: dict[str, Any]) -> None:
    misspelt = copy.deepcopy(sent["invoice"])
    misspelt["Line"][0]["SalesItemLineDetail"]["Quantity"] = 1
    assert xsd_errors(finance, "Invoice", misspelt)
    wrong_type = copy.deepcopy(sent["invoice"])
    wrong_type["TxnDate"] = "25.11.2026"
    assert xsd_errors(finance, "Invoice", wrong_type)
    not_a_number = copy.deepcopy(sent["invoice"])
    not_a_number["Line"][0]["Amount"] = "ten euros"
    assert xsd_errors(finance, "Invoice", not_a_number)
