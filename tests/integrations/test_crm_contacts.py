"""One reading of a pulled contact for every CRM: the same person from each vendor is the same PulledContact."""

from __future__ import annotations

from data.services.crm_sync import PulledContact
from integrations.connectors.crm_contacts import pulled_contacts

ANNA = PulledContact("X1", "A1", "Anna Asiakas", email="anna@example.com", phone="+358 40 1", role="Owner")


def test_each_vendor_field_table_reads_the_same_contact() -> None:
    salesforce = {
        "Id": "X1",
        "AccountId": "A1",
        "FirstName": "Anna",
        "LastName": "Asiakas",
        "Email": "anna@example.com",
        "Phone": "+358 40 1",
        "Title": "Owner",
    }
    hubspot = {
        "id": "X1",
        "properties": {
            "associatedcompanyid": "A1",
            "firstname": "Anna",
            "lastname": "Asiakas",
            "email": "anna@example.com",
            "phone": "+358 40 1",
            "jobtitle": "Owner",
        },
    }
    dynamics = {
        "contactid": "X1",
        "_parentcustomerid_value": "A1",
        "firstname": "Anna",
        "lastname": "Asiakas",
        "emailaddress1": "anna@example.com",
        "telephone1": "+358 40 1",
        "jobtitle": "Owner",
    }
    assert pulled_contacts("salesforce", [salesforce]) == [ANNA]
    assert pulled_contacts("hubspot", [hubspot]) == [ANNA]
    assert pulled_contacts("dynamics365", [dynamics]) == [ANNA]


def test_blank_values_are_none_and_a_nameless_contact_is_named_by_email() -> None:
    row = {"contactid": "X2", "firstname": "", "lastname": None, "emailaddress1": "b@example.com", "telephone1": ""}
    assert pulled_contacts("dynamics365", [row]) == [PulledContact("X2", None, "b@example.com", email="b@example.com")]
