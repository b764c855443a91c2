"""Photos and signature images uploaded from the field: checked, stored once, shown only to who may see the job.

An upload is checked for what it really is (Pillow reads it; the declared type is not trusted), its
bytes go to the file store under a content-addressed key, then one transaction records the file, and
for a photo the job's photo with its `job.photo_added` event. The phone's `client_file_id` makes a
retried upload answer with the first one. A signature image is linked to the completion report that
names it and travels, as base64, in the `job.completed` event the connectors send.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, NotFound, PermissionDenied
from data.file_store import FileStore, file_store_for
from data.models.field import FieldFile, FileKind, PhotoRef
from data.models.jobs import Job
from data.models.org import Role
from data.services.assigned import job_of_technician
from data.services.jobs import find_job, find_technician
from data.uow import UnitOfWork

# Pillow format -> (content type, file extension). Anything else is refused.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_BYTES = {FileKind.PHOTO: 10 * 1024 * 1024, FileKind.SIGNATURE: 256 * 1024}
MAX_PIXELS = 40_000_000
MAX_CAPTION = 300
OFFICE_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Upload:
    kind: FileKind
    content: bytes
    client_file_id: str | None = None
    caption: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class StoredFile:
    id: int
    job_ref: str
    kind: FileKind
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    photo_id: int | None
    created_at: datetime
    repeated: bool = False


@dataclass(frozen=True)
class ImageFacts:
    content_type: str
    extension: str
    width: int
    height: int


def inspect_image(content: bytes, kind: FileKind, record: str) -> ImageFacts:
    """What the bytes really are; refuses anything but a readable JPEG, PNG or WebP within the limits."""
    limit = MAX_BYTES[kind]
    if not content:
        raise InvalidInput("the file is empty", record=record, field="file")
    if len(content) > limit:
        raise InvalidInput(
            f"{len(content)} bytes is over the {kind.value} limit of {limit}", record=record, field="file"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                fmt, (width, height) = image.format, image.size
                if width * height > MAX_PIXELS:
                    raise InvalidInput(f"{width}x{height} pixels is too large", record=record, field="file")
                image.verify()
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning):
        raise InvalidInput("not a readable JPEG, PNG or WebP image", record=record, field="file") from None
    if fmt not in FORMATS:
        raise InvalidInput(f"{fmt} images are not accepted: send JPEG, PNG or WebP", record=record, field="file")
    content_type, extension = FORMATS[fmt]
    return ImageFacts(content_type, extension, width, height)


def _stored(row: FieldFile, job: Job, photo_id: int | None, repeated: bool = False) -> StoredFile:
    return StoredFile(
        row.id,
        job.ref,
        row.kind,
        row.content_type,
        row.size_bytes,
        row.width,
        row.height,
        row.sha256,
        photo_id,
        row.created_at,
        repeated,
    )


def _previous_upload(session: Session, technician_id: int, client_file_id: str) -> StoredFile | None:
    row = session.scalar(
        select(FieldFile).where(FieldFile.technician_id == technician_id, FieldFile.client_file_id == client_file_id)
    )
    if row is None:
        return None
    job = session.get(Job, row.job_id)
    assert job is not None
    photo_id = session.scalar(select(PhotoRef.id).where(PhotoRef.file_id == row.id))
    return _stored(row, job, photo_id, repeated=True)


def file_uri(file_id: int) -> str:
    """How a stored photo is referred to in photo rows and events: the API path that serves it."""
    return f"/v1/files/{file_id}"


def store_upload(
    db: Database, actor: Actor, technician_id: int, job_ref: str, upload: Upload, store: FileStore | None = None
) -> StoredFile:
    """Store a photo or signature image for one of the technician's jobs, once per `client_file_id`."""
    record = f"{upload.kind.value} for job {job_ref}"
    if upload.caption is not None and len(upload.caption) > MAX_CAPTION:
        raise InvalidInput(f"at most {MAX_CAPTION} characters", record=record, field="caption")
    if upload.taken_at is not None and upload.taken_at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="taken_at")
    actor.require_field(technician_id, f"upload a {upload.kind.value}")
    if upload.client_file_id:
        with db.read() as session:
            previous = _previous_upload(session, technician_id, upload.client_file_id)
        if previous is not None:
            if previous.job_ref != job_ref:
                raise InvalidInput(
                    f"'{upload.client_file_id}' was already uploaded for job {previous.job_ref}",
                    record=record,
                    field="client_file_id",
                )
            return previous
    facts = inspect_image(upload.content, upload.kind, record)
    sha = hashlib.sha256(upload.content).hexdigest()
    store = store or file_store_for(db)
    try:
        with UnitOfWork(db, actor) as uow:
            tech = find_technician(uow.session, technician_id)
            job = job_of_technician(uow.session, job_ref, tech)
            key = f"jobs/{job.id}/{upload.kind.value}-{sha}.{facts.extension}"
            store.put(key, upload.content)  # before the row: a row never points at missing bytes
            row = FieldFile(
                job_id=job.id,
                technician_id=tech.id,
                kind=upload.kind,
                content_type=facts.content_type,
                size_bytes=len(upload.content),
                width=facts.width,
                height=facts.height,
                sha256=sha,
                storage_key=key,
                client_file_id=upload.client_file_id,
                created_by=actor.login,
            )
            uow.session.add(row)
            uow.session.flush()
            photo_id = None
            if upload.kind is FileKind.PHOTO:
                taken_at = upload.taken_at or row.created_at
                photo = PhotoRef(
                    job_id=job.id,
                    uri=file_uri(row.id),
                    caption=upload.caption,
                    taken_at=taken_at,
                    created_by=actor.login,
                    file_id=row.id,
                )
                uow.session.add(photo)
                uow.session.flush()
                photo_id = photo.id
                uow.emit(
                    "job.photo_added",
                    "job",
                    job.id,
                    {
                        "ref": job.ref,
                        "photo_id": photo.id,
                        "uri": photo.uri,
                        "caption": upload.caption,
                        "taken_at": taken_at,
                        "file": file_facts(row),
                    },
                )
            else:
                uow.emit("job.signature_image_added", "job", job.id, {"ref": job.ref, "file": file_facts(row)})
            return _stored(row, job, photo_id)
    except IntegrityError:
        # The same upload, sent twice at once: the first one stands.
        if upload.client_file_id:
            with db.read() as session:
                previous = _previous_upload(session, technician_id, upload.client_file_id)
            if previous is not None:
                return previous
        raise


def file_facts(row: FieldFile) -> dict[str, Any]:
    return {
        "file_id": row.id,
        "kind": row.kind,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
        "width": row.width,
        "height": row.height,
        "sha256": row.sha256,
        "uri": file_uri(row.id),
    }


def may_see_job(actor: Actor, job: Job) -> bool:
    """Office staff see every job; a technician sees the jobs assigned to them."""
    if actor.role in OFFICE_ROLES:
        return True
    return (
        actor.role is Role.TECHNICIAN and actor.technician_id is not None and actor.technician_id == job.technician_id
    )


def open_file(db: Database, actor: Actor, file_id: int, store: FileStore | None = None) -> tuple[StoredFile, bytes]:
    """A stored file's facts and bytes, for someone allowed to see its job (others get PermissionDenied)."""
    with db.read() as session:
        row = session.get(FieldFile, file_id)
        if row is None:
            raise NotFound(f"file {file_id} does not exist")
        job = session.get(Job, row.job_id)
        assert job is not None
        if not may_see_job(actor, job):
            raise PermissionDenied(f"{actor.login} may not see the files of job {job.ref}")
        photo_id = session.scalar(select(PhotoRef.id).where(PhotoRef.file_id == row.id))
        facts, key = _stored(row, job, photo_id), row.storage_key
    content = (store or file_store_for(db)).get(key)
    return facts, content


def files_of_job(db: Database, job_ref: str | int) -> list[StoredFile]:
    with db.read() as session:
        job = find_job(session, job_ref)
        rows = session.scalars(select(FieldFile).where(FieldFile.job_id == job.id).order_by(FieldFile.id)).all()
        photos = dict(session.execute(select(PhotoRef.file_id, PhotoRef.id).where(PhotoRef.job_id == job.id)).all())
        return [_stored(row, job, photos.get(row.id)) for row in rows]


def signature_file(session: Session, technician_id: int, job: Job, client_file_id: str, record: str) -> FieldFile:
    """The signature image a completion report names by the phone's id; it must be uploaded first."""
    row = session.scalar(
        select(FieldFile).where(FieldFile.technician_id == technician_id, FieldFile.client_file_id == client_file_id)
    )
    if row is None or row.job_id != job.id or row.kind is not FileKind.SIGNATURE:
        raise InvalidInput(
            f"no signature image '{client_file_id}' was uploaded for job {job.ref}",
            record=record,
            field="signature.image",
        )
    return row


def signature_image_payload(db: Database, row: FieldFile) -> dict[str, Any]:
    """The signature image as connectors receive it: its facts and the bytes as base64 (at most 256 KB)."""
    content = file_store_for(db).get(row.storage_key)
    return {**file_facts(row), "data_base64": base64.b64encode(content).decode("ascii")}
