"""The technician's web app in a real browser (Debian's Chromium driven by Playwright): sign in, work a day,
lose the network, complete a job with a photo and a drawn signature, come back, and see it all in the
database, the console's job detail and the delivery to a connector. Phone-size screenshots are kept."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image
from sqlalchemy import func, select

from data.db import Database
from data.feed import tail
from data.file_store import file_store_for
from data.models import Job, JobStatus
from data.models.field import CompletionReport, FieldFile, PhotoRef, Quote
from data.models.offers import CrmOffer, OfferResponse
from data.services.crm_offers import PulledOffer, upsert_offers
from data.services.jobs import assign_job
from integrations.config import parse_config
from integrations.delivery.worker import Worker
from integrations.field_api import create_app
from tests.factories import ADMIN, DISPATCHER, link_customer
from tests.integrations.test_field_api_world import FieldWorld, at, build_field_world

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("DISPATCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
ARTEFACTS = Path(os.environ.get("DISPATCH_TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "build" / "e2e"))
WAIT_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    world: FieldWorld
    base: str


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[Served]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("DISPATCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required here but missing at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); .ci/run installs it")
    world = build_field_world(sqlite_db)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(sqlite_db), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the field API to start")
    yield Served(world, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=30)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll a condition (the machine is busy: no fixed sleeps, a generous ceiling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (2400, 1800), "#3a7bd5")
    for x in range(0, 2400, 200):
        image.paste("#ffd23f", (x, 0, x + 60, 1800))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def job(db: Database, ref: str) -> Job:
    with db.read() as s:
        row = s.scalar(select(Job).where(Job.ref == ref))
        assert row is not None
        return row


def shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=False)


def draw_signature(page: Any) -> None:
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + 20, box["y"] + box["height"] * 0.6
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 30):
        page.mouse.move(x0 + i * (box["width"] - 40) / 30, y0 - (25 if i % 2 else -15), steps=2)
    page.mouse.up()


@contextmanager
def phone() -> Iterator[tuple[Any, Any, list[str]]]:
    """A phone-sized headless Chromium whose clock is the field day's morning (so what it records is past)."""
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            geolocation={"latitude": 60.1699, "longitude": 24.9384},
            permissions=["geolocation"],
            timezone_id="Europe/Helsinki",
            locale="en-GB",
        )
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.clock.install(time=at(8, 0))
        try:
            yield context, page, errors
        finally:
            browser.close()


def test_a_day_on_the_phone_with_the_network_dropping(served: Served, tmp_path: Path) -> None:
    world, db = served.world, served.world.db
    first, second = world.jobs["t1_morning"], world.jobs["t1_noon"]
    with phone() as (context, page, errors):
        # Sign in through the link `dispatch tokens issue --qr` prints.
        page.goto(f"{served.base}/app/")
        page.get_by_role("heading", name="Sign in").wait_for()
        shot(page, "1-sign-in")
        page.goto(f"{served.base}/app/#token={world.tokens['T1']}")
        cards = page.get_by_test_id("job-card")
        cards.first.wait_for()
        assert cards.count() == 3
        assert "Back door, key box code 1234" in cards.first.inner_text()
        assert "#token" not in page.url
        page.wait_for_function("navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready")

        page.get_by_role("button", name="Clock in").click()
        wait_for(lambda: any(e.type == "technician.clocked_in" for e in tail(db)), "the clock-in")
        page.get_by_role("button", name="Start break").wait_for()
        shot(page, "2-my-day")

        # Online: on the way, then on site; each change carries a position.
        cards.first.get_by_role("link").first.click()
        page.get_by_test_id("status-buttons").wait_for()
        shot(page, "3-job")
        page.get_by_role("button", name="En route").click()
        page.get_by_role("button", name="On site").click()
        wait_for(lambda: job(db, first).status is JobStatus.ON_SITE, "the arrival")
        assert sum(1 for e in tail(db) if e.type == "technician.position") >= 2

        # The network goes away.
        context.set_offline(True)
        page.get_by_test_id("sync-state").filter(has_text="offline").wait_for()
        page.get_by_label("Add a note").fill("Filter was clogged with dust")
        page.evaluate("window.dispatchEvent(new Event('offline'))")  # the page redraws, as a sync answer makes it
        assert page.get_by_label("Add a note").input_value() == "Filter was clogged with dust"
        page.get_by_role("button", name="Add note").click()
        page.get_by_role("link", name="Complete").click()
        form = page.locator("form[data-form=complete]")
        form.wait_for()
        form.locator("[name=resolution_code]").fill("REPLACED_PART")
        form.locator("[name=labour_minutes]").fill("55")
        form.locator("select[name=sku]").select_option("FLT-01")
        form.locator(".expense [name=description]").fill("Street parking")
        form.locator(".expense [name=amount]").fill("4,50")
        form.locator("[name=notes]").fill("Replaced the filter; runs quietly")
        page.get_by_test_id("photo-input").set_input_files(
            files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]
        )
        form.locator("[data-list=photo-previews] img").wait_for()
        form.locator("[name=signer_name]").fill("Anna Asiakas")
        draw_signature(page)
        shot(page, "4-completion")
        form.get_by_role("button", name="Send report").click()
        page.get_by_test_id("job-status").filter(has_text="completed").wait_for()

        # Still offline: a second job gets going; the outbox shows what waits.
        page.goto(f"{served.base}/app/#/")
        page.get_by_test_id("job-card").nth(1).get_by_role("link").first.click()
        page.get_by_role("button", name="En route").click()
        page.get_by_test_id("job-status").filter(has_text="en route").wait_for()
        page.goto(f"{served.base}/app/#/queue")
        waiting = page.get_by_test_id("waiting-list").locator("li")
        waiting.first.wait_for()
        listed = page.get_by_test_id("waiting-list").inner_text()
        for wanted in ("note", "photo upload", "signature upload", "completion", f"status {second}"):
            assert wanted in listed  # positions ride along when the phone has a fix
        shot(page, "5-outbox-offline")
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(CompletionReport)) == 0
        assert job(db, second).status is JobStatus.DISPATCHED

        # A reload with no network: the service worker serves the app, the outbox is still there.
        for asset in ("/app/", "/app/app.js", "/app/outbox.js", "/app/store.js", "/app/app.css"):
            assert page.evaluate("async (url) => (await caches.match(url)) !== undefined", asset), asset
        page.reload()
        page.get_by_test_id("waiting-list").locator("li").first.wait_for()
        assert page.get_by_test_id("waiting-list").locator("li").count() == waiting.count()

        # The network is back: everything goes, in order, once.
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.get_by_test_id("waiting-count").filter(has_text="all sent").wait_for()
        wait_for(lambda: job(db, second).status is JobStatus.EN_ROUTE, "the second job's status")
        page.goto(f"{served.base}/app/#/")
        cards.first.wait_for()
        shot(page, "6-my-day-synced")
        page.goto(f"{served.base}/app/#/van")
        page.get_by_role("heading", name="VAN-T1").wait_for()
        shot(page, "7-van")
        assert errors == []

    # The database has the report, the photo and the signature as files.
    with db.read() as s:
        report = s.scalar(select(CompletionReport))
        assert report is not None and report.signer_name == "Anna Asiakas"
        assert report.resolution_code == "REPLACED_PART" and report.labour_minutes == 55
        assert [e.amount for e in report.expenses] == [Decimal("4.50")]
        files = {f.kind.value: f for f in s.scalars(select(FieldFile))}
        assert set(files) == {"photo", "signature"} and report.signature_file_id == files["signature"].id
        photo = s.scalar(select(PhotoRef))
        assert photo is not None and photo.file_id == files["photo"].id
    assert job(db, first).status is JobStatus.COMPLETED
    store = file_store_for(db)
    with Image.open(io.BytesIO(store.get(files["photo"].storage_key))) as img:
        assert max(img.size) == 1600  # resized on the phone
    ink = Image.open(io.BytesIO(store.get(files["signature"].storage_key))).convert("L")
    assert ink.getextrema()[0] < 64, "the signature image has no ink"
    types = [e.type for e in tail(db)]
    assert types.count("job.completed") == 1 and types.count("job.photo_added") == 1
    assert "job.note_added" in types
    completed = next(e for e in tail(db) if e.type == "job.completed")
    assert base64.b64decode(completed.payload["signature"]["image"]["data_base64"]) == store.get(
        files["signature"].storage_key
    )

    # The console's job detail shows it.
    body = asyncio.run(console_job_detail(db, first))
    assert "From the field" in body and "Signed by Anna Asiakas" in body
    assert "signature image/png" in body and "Photo" in body and "image/jpeg 1600x1200" in body

    # The connector receives the signature image.
    sink = tmp_path / "crm.jsonl"
    config = parse_config({"connectors": {"crm": {"type": "jsonl", "path": str(sink), "events": ["job.completed"]}}})
    asyncio.run(Worker(db, config, worker_id="e2e").run(once=True))
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["job.completed"]
    sent = lines[0]["data"]["payload"]["signature"]
    assert sent["signer"] == "Anna Asiakas" and sent["image"]["content_type"] == "image/png"
    assert base64.b64decode(sent["image"]["data_base64"]) == store.get(files["signature"].storage_key)
    keep_screenshots("2-my-day", "3-job", "4-completion", "5-outbox-offline")


async def console_job_detail(db: Database, ref: str) -> str:
    from rich.console import Console

    from dispatch_tui.screens.job_detail import JobDetailScreen
    from tests.console.conftest import make_app, make_context, settle

    app = make_app(db, start_view="jobs")
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        screen = JobDetailScreen(make_context(db), ref)
        await app.push_screen(screen)
        await asyncio.wait_for(screen.loaded.wait(), 30)
        assert screen.detail is not None
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(screen.render_detail(screen.detail))
        return console.export_text()


def keep_screenshots(*names: str) -> None:
    """With DISPATCH_UPDATE_DOCS_SCREENSHOTS=1 the run refreshes the pictures in docs/field-app/."""
    if os.environ.get("DISPATCH_UPDATE_DOCS_SCREENSHOTS") != "1":
        return
    docs = Path(__file__).resolve().parents[2] / "docs" / "field-app"
    docs.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(ARTEFACTS / f"{name}.png", docs / f"{name}.png")


def test_a_job_moved_by_the_office_while_offline_is_shown_not_dropped(served: Served) -> None:
    world, db = served.world, served.world.db
    ref = world.jobs["t1_afternoon"]
    with phone() as (context, page, errors):
        page.goto(f"{served.base}/app/#token={world.tokens['T1']}")
        page.get_by_test_id("job-card").first.wait_for()
        context.set_offline(True)
        page.get_by_test_id("sync-state").filter(has_text="offline").wait_for()
        page.locator(f"[data-ref='{ref}'] a").first.click()
        page.get_by_role("button", name="En route").click()
        page.get_by_test_id("waiting-count").filter(has_text="waiting").wait_for()
        assign_job(db, DISPATCHER, ref, "T2", at(13), reassign=True)  # meanwhile, in the office
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.get_by_test_id("refused-count").filter(has_text="1 refused").wait_for()
        banner = page.get_by_test_id("refusal").first
        banner.wait_for()
        assert f"job {ref} is assigned to T2, not T1" in banner.inner_text()
        shot(page, "8-conflict")
        keep_screenshots("8-conflict")
        page.goto(f"{served.base}/app/#/queue")
        refused = page.get_by_test_id("refused-list").locator("li")
        assert "reassigned" in refused.first.inner_text()
        refused.first.get_by_role("button", name="Dismiss").click()
        page.get_by_test_id("refused-list").locator("li").first.wait_for(state="detached")
        assert errors == []
    moved = job(db, ref)
    assert moved.status is not JobStatus.EN_ROUTE and moved.technician_id != 1


def test_the_app_shell_is_an_installable_pwa(served: Served) -> None:
    import httpx

    with httpx.Client(base_url=served.base) as http:
        index = http.get("/app/")
        assert index.status_code == 200 and "default-src 'self'" in index.headers["content-security-policy"]
        manifest = http.get("/app/manifest.webmanifest").json()
        assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
        worker = http.get("/app/sw.js")
        assert worker.headers["service-worker-allowed"] == "/app/" and "__VERSION__" not in worker.text
        assert http.get("/app/../pyproject.toml").status_code == 404
        assert http.get("/", follow_redirects=False).headers["location"] == "/app/"


def test_a_crm_offer_is_answered_on_the_phone_and_becomes_a_quote(served: Served) -> None:
    """The Offers card: the customer's open CRM offer is shown on the job; interest recorded offline waits and
    then arrives; accepting it on site with a price proposes a quote, whose ref the card then shows."""
    world, db = served.world, served.world.db
    ref = world.jobs["t1_morning"]
    link_customer(db)
    upsert_offers(
        db,
        ADMIN,
        "crm",
        [PulledOffer("D1", "deal", "CO1", "Heat pump service plan", amount=Decimal("480.00"), currency="EUR")],
    )

    def offer() -> CrmOffer:
        with db.read() as s:
            row = s.scalar(select(CrmOffer).where(CrmOffer.external_id == "D1"))
            assert row is not None
            return row

    with phone() as (context, page, errors):
        page.goto(f"{served.base}/app/#token={world.tokens['T1']}")
        page.get_by_test_id("job-card").first.wait_for()
        page.locator(f"[data-ref='{ref}'] a").first.click()
        card = page.get_by_test_id("offers")
        card.wait_for()
        assert "Heat pump service plan" in card.inner_text() and "480.00 EUR" in card.inner_text()

        context.set_offline(True)  # interest recorded in a cellar waits on the phone
        page.get_by_test_id("sync-state").filter(has_text="offline").wait_for()
        card.get_by_role("button", name="Interested").click()
        card.get_by_text("Interested (waiting)").wait_for()
        assert offer().response is OfferResponse.NONE
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        wait_for(lambda: offer().response is OfferResponse.INTERESTED, "the interest to arrive")
        card.locator(".badge").filter(has_text="Interested").wait_for()
        card.get_by_role("button", name="Interested").wait_for(state="detached")  # asked once, not again
        assert "waiting" not in card.locator(".badge").inner_text()

        page.get_by_role("button", name="En route").click()
        page.get_by_role("button", name="On site").click()
        wait_for(lambda: job(db, ref).status is JobStatus.ON_SITE, "the arrival")
        card.get_by_role("button", name="Accepted").click()
        wait_for(lambda: offer().quote_id is not None, "the acceptance to become a quote")
        with db.read() as s:
            quote = s.get(Quote, offer().quote_id)
            assert quote is not None
            quote_ref = quote.ref
        card.get_by_text(f"quote {quote_ref}").wait_for()
        assert not card.get_by_role("button", name="Accepted").is_visible()
        shot(page, "9-offer-accepted")
        assert errors == []
    responded = [e.payload["response"] for e in tail(db) if e.type == "offer.responded"]
    assert responded == ["interested", "accepted"]
