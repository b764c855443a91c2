"""The job detail shows the customer's open CRM offers and what the technician answered on site."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from data.db import Database
from data.services.crm_offers import PulledOffer, upsert_offers
from dispatch_tui.screens.job_detail import JobDetailScreen
from tests.console.conftest import make_app, settle
from tests.factories import ADMIN, link_customer


async def test_job_detail_lists_the_customers_open_crm_offers(world_db: Database) -> None:
    link_customer(world_db)
    upsert_offers(
        world_db,
        ADMIN,
        "crm",
        [
            PulledOffer("D1", "deal", "CO1", "Heat pump [service] plan", amount=Decimal("480.00"), currency="EUR"),
            PulledOffer("D2", "deal", "CO1", "Closed already", open=False),
        ],
    )
    app = make_app(world_db, start_view="jobs")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "enter")  # J-HVAC at S1, Kallio Bakery's site
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen) and screen.detail is not None
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(screen.render_detail(screen.detail))
        body = console.export_text()
    assert "CRM offers" in body
    assert "deal in crm: Heat pump [service] plan 480.00 EUR" in body  # brackets are data, not markup
    assert "Closed already" not in body
