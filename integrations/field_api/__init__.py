"""The field API for technicians' phone apps: `create_app(db)` builds the ASGI application."""

from integrations.field_api.app import create_app

__all__ = ["create_app"]
