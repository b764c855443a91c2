"""One module per connected system; each implements `integrations.connector.Connector`."""
