"""Photos and signature images are real files: checked, stored once, served only to who may see the job,
and the signature image reaches the `job.completed` event that connectors send."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from data.actor import Actor
from data.db import Database
from data.errors import PermissionDenied
from data.feed import tail
from data.file_store import ENV_FILES_DIR, files_dir_for
from data.models import Role
from data.models.field import CompletionReport, FieldFile, PhotoRef
from data.services.field_files import files_of_job, open_file
from tests.factories import DISPATCHER, SUPERVISOR
from tests.integrations.test_field_api_world import FieldWorld, arrive, at, field_world


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


@pytest.fixture
def world_on_both(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FieldWorld]:
    """Either engine; files in this test's own folder (PostgreSQL would use the user data directory)."""
    monkeypatch.setenv(ENV_FILES_DIR, str(tmp_path / "files"))
    yield from field_world(db)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def upload(world: FieldWorld, ref: str, content: bytes, tech: str = "T1", mime: str = "image/jpeg", **form: str) -> Any:
    return world.client.post(
        f"/v1/jobs/{ref}/files",
        files={"file": ("photo.jpg", content, mime)},
        data=form,
        headers=world.auth(tech),
    )


def test_a_photo_is_stored_and_becomes_one_of_the_jobs_photos(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    content = image_bytes()
    r = upload(world, ref, content, caption="Before", taken_at=at(9, 5).isoformat(), client_file_id="ph-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "photo" and body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (64, 48)
    assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["repeated"] is False
    stored = list(files_dir_for(world.db).rglob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes() == content
    job = world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()
    assert [(p["caption"], p["file_id"], p["uri"]) for p in job["photos"]] == [
        ("Before", body["id"], f"/v1/files/{body['id']}")
    ]
    event = next(e for e in tail(world.db) if e.type == "job.photo_added")
    assert event.payload["file"]["sha256"] == body["sha256"] and event.actor == "T1"


def test_a_retried_upload_stores_nothing_twice(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    first = upload(world, ref, image_bytes(), client_file_id="ph-2").json()
    again = upload(world, ref, image_bytes(), client_file_id="ph-2")
    assert again.status_code == 200 and again.json()["repeated"] is True and again.json()["id"] == first["id"]
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(FieldFile)) == 1
        assert s.scalar(select(func.count()).select_from(PhotoRef)) == 1
    elsewhere = upload(world, world.jobs["t1_noon"], image_bytes(), client_file_id="ph-2")
    assert elsewhere.status_code == 422 and elsewhere.json()["error"]["field"] == "client_file_id"


def test_files_are_served_only_to_who_may_see_the_job(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    content = image_bytes("PNG")
    file_id = upload(world, ref, content, mime="image/png").json()["id"]
    mine = world.client.get(f"/v1/files/{file_id}", headers=world.auth())
    assert mine.status_code == 200 and mine.content == content
    assert mine.headers["content-type"] == "image/png" and "private" in mine.headers["cache-control"]
    other = world.client.get(f"/v1/files/{file_id}", headers=world.auth("T2"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert world.client.get(f"/v1/files/{file_id}").status_code == 401
    assert world.client.get("/v1/files/999", headers=world.auth()).status_code == 404
    for office in (DISPATCHER, SUPERVISOR):
        assert open_file(world.db, office, file_id)[1] == content
    t2 = Actor("T2", Role.TECHNICIAN, "api", technician_id=2)
    with pytest.raises(PermissionDenied):
        open_file(world.db, t2, file_id)
    assert [f.id for f in files_of_job(world.db, ref)] == [file_id]


def test_uploading_to_another_technicians_job_is_refused(world: FieldWorld) -> None:
    r = upload(world, world.jobs["t2_job"], image_bytes())
    assert r.status_code == 403 and r.json()["error"]["code"] == "reassigned"


@pytest.mark.parametrize(
    ("content", "kind", "needle"),
    [
        (b"GIF89a" + b"\x00" * 100, "photo", "not a readable"),
        (b"%PDF-1.4 not an image", "photo", "not a readable"),
        (b"", "photo", "empty"),
        (image_bytes("GIF"), "photo", "GIF images are not accepted"),
        (image_bytes("PNG", (2000, 2000)) + b"\x00" * 300_000, "signature", "over the signature limit"),
    ],
    ids=["fake-gif", "pdf", "empty", "real-gif", "big-signature"],
)
def test_what_is_not_an_accepted_image_is_422(world: FieldWorld, content: bytes, kind: str, needle: str) -> None:
    r = upload(world, world.jobs["t1_morning"], content, kind=kind)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "file" and needle in r.json()["error"]["message"]
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(FieldFile)) == 0
    assert not list(files_dir_for(world.db).rglob("*.*")) if files_dir_for(world.db).exists() else True


def test_a_photo_over_the_upload_limit_is_413(world: FieldWorld) -> None:
    r = upload(world, world.jobs["t1_morning"], b"\xff\xd8" + b"\x00" * (12 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_the_signature_image_travels_in_the_completed_event(world_on_both: FieldWorld) -> None:
    world = world_on_both
    ref = world.jobs["t1_morning"]
    arrive(world, ref)
    photo = upload(world, ref, image_bytes(), caption="After", client_file_id="ph-9").json()
    ink = image_bytes("PNG", (300, 120), "white")
    sig = upload(world, ref, ink, mime="image/png", kind="signature", client_file_id="sig-9").json()
    assert sig["kind"] == "signature" and sig["photo_id"] is None
    report = {
        "actual_start": at(9).isoformat(),
        "actual_end": at(10).isoformat(),
        "labour_minutes": 60,
        "travel_minutes": 15,
        "resolution_code": "FIXED",
        "client_event_id": "done-sig",
        "signature": {
            "signer_name": "Anna Asiakas",
            "signed_at": at(9, 58).isoformat(),
            "summary": "Filter replaced",
            "image": "sig-9",
        },
    }
    r = world.client.post(f"/v1/jobs/{ref}/completion", json=report, headers=world.auth())
    assert r.status_code == 200, r.text
    with world.db.read() as s:
        row = s.scalar(select(CompletionReport))
        assert row is not None and row.signature_file_id == sig["id"]
    event = next(e for e in tail(world.db) if e.type == "job.completed")
    image = event.payload["signature"]["image"]
    assert image["file_id"] == sig["id"] and image["content_type"] == "image/png"
    assert base64.b64decode(image["data_base64"]) == ink
    assert [(p["caption"], p["file"]["file_id"]) for p in event.payload["photos"]] == [("After", photo["id"])]


def test_a_report_naming_a_signature_image_never_uploaded_is_422(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    arrive(world, ref)
    report = {
        "actual_start": at(9).isoformat(),
        "labour_minutes": 60,
        "travel_minutes": 15,
        "resolution_code": "FIXED",
        "signature": {"signer_name": "A", "signed_at": at(9, 58).isoformat(), "summary": "x", "image": "nope"},
    }
    r = world.client.post(f"/v1/jobs/{ref}/completion", json=report, headers=world.auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "signature.image"
