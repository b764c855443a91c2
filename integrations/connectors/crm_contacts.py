"""Contacts pulled from a CRM, read one way for every vendor: only the field names differ, so they are a table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from data.services.crm_sync import PulledContact


@dataclass(frozen=True)
class ContactFields:
    """Where one vendor keeps a contact's id, its account (company) and the fields we take."""

    id: str
    customer: str
    first_name: str
    last_name: str
    email: str
    phone: str
    role: str
    nested: str | None = None  # the key holding the fields, when they are not at the top (HubSpot)


CONTACT_FIELDS: dict[str, ContactFields] = {
    "salesforce": ContactFields("Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title"),
    "hubspot": ContactFields(
        "id", "associatedcompanyid", "firstname", "lastname", "email", "phone", "jobtitle", nested="properties"
    ),
    "dynamics365": ContactFields(
        "contactid", "_parentcustomerid_value", "firstname", "lastname", "emailaddress1", "telephone1", "jobtitle"
    ),
}


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return str(value) if value not in (None, "") else None


def pulled_contacts(vendor: str, records: Iterable[Mapping[str, Any]]) -> list[PulledContact]:
    """Each record as a PulledContact; a contact with no name is named by its email."""
    table = CONTACT_FIELDS[vendor]
    people = []
    for record in records:
        fields = (record.get(table.nested) or {}) if table.nested else record
        email = _text(fields, table.email)
        name = " ".join(x for x in (_text(fields, table.first_name), _text(fields, table.last_name)) if x)
        people.append(
            PulledContact(
                str(record[table.id]),
                _text(fields, table.customer),
                name or email or "",
                email=email,
                phone=_text(fields, table.phone),
                role=_text(fields, table.role),
            )
        )
    return people
