"""Validate requests the Xero fake received against Xero's published OpenAPI specifications (openapi-core).

The specs are vendored in `tests/contracts/specs/xero/` (MIT, see SOURCE.md there). Two
fixes make the published accounting spec usable for request validation: its string boolean
defaults ("false") become booleans, and defaults on readOnly properties are dropped. Requests are
re-addressed to the spec's server URL. Unknown properties are forbidden, so a misspelt field fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.integrations.fakes.vendor_specs import spec_text

SPECS = {
    "accounting": ("xero_accounting.yaml", "/api.xro/2.0"),
    "payroll": ("xero-payroll-uk.yaml", "/payroll.xro/2.0"),
}


def _fixed(node: Any) -> Any:
    """String boolean defaults to booleans; no defaults on readOnly properties."""
    if isinstance(node, dict):
        out = {k: _fixed(v) for k, v in node.items()}
        if out.get("type") == "boolean" and out.get("default") in ("true", "false"):
            out["default"] = out["default"] == "true"
        if out.get("readOnly") and "default" in out:
            del out["default"]
        return out
    if isinstance(node, list):
        return [_fixed(v) for v in node]
    return node


@cache
def spec(kind: str) -> tuple[OpenAPI, str]:
    name, _ = SPECS[kind]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the accounting spec is 1 MB of YAML
    data = _fixed(yaml.load(spec_text("xero", name), Loader=loader))
    server = data["servers"][0]["url"]
    config = Config(spec_validator_cls=None, additional_properties_default_policy="forbid")
    return OpenAPI.from_dict(data, config=config), server


@dataclass
class SpecRequest:
    """openapi-core's Request protocol for one request as the fake received it."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


def as_spec_request(entry: Mapping[str, Any], kind: str) -> SpecRequest:
    _, server = spec(kind)
    _, prefix = SPECS[kind]
    parts = urlsplit(server)
    assert str(entry["path"]).startswith(prefix), f"{entry['path']} is not a {kind} path"
    path = parts.path + str(entry["path"])[len(prefix) :]
    headers = {k: v for k, v in entry["headers"].items() if k.lower() not in ("host", "content-length")}
    return SpecRequest(
        host_url=f"{parts.scheme}://{parts.netloc}",
        path=path,
        method=str(entry["method"]).lower(),
        body=entry.get("raw") or None,
        content_type=headers.get("content-type", "application/json"),
        parameters=RequestParameters(
            query=ImmutableMultiDict(list(entry["query"].items())), header=Headers(list(headers.items()))
        ),
    )


def contract_errors(entry: Mapping[str, Any], kind: str) -> list[str]:
    """What the Xero spec says is wrong with one received request ([] when it conforms)."""
    api, _ = spec(kind)
    result = api.unmarshal_request(as_spec_request(entry, kind))
    messages = []
    for err in result.errors:
        detail = "; ".join(str(e.message) for e in getattr(err, "schema_errors", []) or [])
        cause = err.__cause__
        if not detail and cause is not None:
            detail = "; ".join(str(e.message) for e in getattr(cause, "schema_errors", []) or []) or str(cause)
        messages.append(f"{entry['method']} {entry['path']}: {err}: {detail}")
    return messages


# What we always send, stricter than Xero's spec (whose Invoice requires nothing at all).
LINE_ITEM = {
    "type": "object",
    "required": ["Description", "Quantity", "UnitAmount", "LineAmount", "AccountCode"],
    "properties": {
        "Description": {"type": "string", "minLength": 1, "maxLength": 4000},
        "Quantity": {"type": "number", "exclusiveMinimum": 0},
        "UnitAmount": {"type": "number", "minimum": 0},
        "LineAmount": {"type": "number", "minimum": 0},
        "AccountCode": {"type": "string", "minLength": 1},
        "ItemCode": {"type": "string", "minLength": 1},
        "TaxType": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}
OUR_INVOICE = {
    "type": "object",
    "required": ["Invoices"],
    "additionalProperties": False,
    "properties": {
        "Invoices": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": [
                    "Type",
                    "Contact",
                    "InvoiceNumber",
                    "Reference",
                    "Date",
                    "DueDate",
                    "CurrencyCode",
                    "LineAmountTypes",
                    "Status",
                    "LineItems",
                ],
                "properties": {
                    "Type": {"const": "ACCREC"},
                    "Contact": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["ContactID"],
                                "additionalProperties": False,
                                "properties": {"ContactID": {"type": "string", "format": "uuid"}},
                            },
                            {
                                "type": "object",
                                "required": ["Name"],
                                "additionalProperties": False,
                                "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 255}},
                            },
                        ]
                    },
                    "InvoiceNumber": {"type": "string", "minLength": 1, "maxLength": 255},
                    "Date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "DueDate": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "CurrencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "LineAmountTypes": {"enum": ["Exclusive", "Inclusive", "NoTax"]},
                    "Status": {"enum": ["DRAFT", "SUBMITTED", "AUTHORISED"]},
                    "LineItems": {"type": "array", "minItems": 1, "items": LINE_ITEM},
                },
            },
        }
    },
}
OUR_TIMESHEET = {
    "type": "object",
    "required": ["payrollCalendarID", "employeeID", "startDate", "endDate", "timesheetLines"],
    "additionalProperties": False,
    "properties": {
        "payrollCalendarID": {"type": "string", "format": "uuid"},
        "employeeID": {"type": "string", "format": "uuid"},
        "startDate": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "endDate": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "timesheetLines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["date", "earningsRateID", "numberOfUnits"],
                "additionalProperties": False,
                "properties": {
                    "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "earningsRateID": {"type": "string", "format": "uuid"},
                    "numberOfUnits": {"type": "number", "exclusiveMinimum": 0, "maximum": 24},
                },
            },
        },
    },
}


def strict_errors(body: Any, schema: Mapping[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
