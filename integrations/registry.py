"""Connector types by name: `type = "webhook"` in integrations.toml picks the factory listed here.

A factory takes the connector's validated `ConnectorConfig` and returns an object that implements
`integrations.connector.Connector`. Entries are import paths, loaded only when a connector of that
type is configured, so adding a connector is one module plus one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from integrations.mapping import ConfigError

if TYPE_CHECKING:
    from integrations.config import ConnectorConfig
    from integrations.connector import Connector

CONNECTOR_TYPES: dict[str, str] = {
    "webhook": "integrations.connectors.webhook:WebhookConnector",
    "jsonl": "integrations.connectors.jsonl:JsonlConnector",
    "hubspot": "integrations.connectors.hubspot:HubSpotConnector",
    "salesforce": "integrations.connectors.salesforce:SalesforceConnector",
    "dynamics365": "integrations.connectors.dynamics365:Dynamics365Connector",
    "quickbooks": "integrations.connectors.quickbooks:QuickBooksConnector",
    "xero": "integrations.connectors.xero:XeroConnector",
    "xero_payroll": "integrations.connectors.xero_payroll:XeroPayrollConnector",
}


def factory(kind: str) -> Callable[[ConnectorConfig], Connector]:
    """The factory for a connector type; a ConfigError when the type or its module is unavailable."""
    if kind not in CONNECTOR_TYPES:
        raise ConfigError("type", f"unknown connector type {kind!r} (one of {', '.join(sorted(CONNECTOR_TYPES))})")
    module_name, _, attr = CONNECTOR_TYPES[kind].partition(":")
    try:
        module = importlib.import_module(module_name)
        made: Callable[[ConnectorConfig], Connector] = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError("type", f"connector type {kind!r} is not available: {e}") from None
    return made


def build_connector(config: ConnectorConfig) -> Connector:
    try:
        return factory(config.type)(config)
    except ConfigError as e:
        if e.where == "type":
            raise ConfigError(config.where("type"), e.message.split(": ", 1)[1]) from None
        raise
