"""What came back from the field for one job: the completion report, its signature and the photos, as files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from data.db import Database
from data.file_store import file_store_for
from data.models.field import CompletionReport, FieldFile, FileKind, PhotoRef
from data.services.jobs import find_job


@dataclass(frozen=True)
class FileLine:
    id: int
    kind: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    where: str  # the file's place in the store, for office staff to open it
    caption: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class FieldReport:
    outcome: str | None
    resolution_code: str | None
    labour_minutes: int | None
    actual_end: datetime | None
    signer: str | None
    signed_at: datetime | None
    signature: FileLine | None
    photos: tuple[FileLine, ...]


def field_report(db: Database, job_ref: str) -> FieldReport | None:
    """None while the field has sent nothing about the job."""
    store = file_store_for(db)
    with db.read() as s:
        job = find_job(s, job_ref)
        report = s.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))
        files = {f.id: f for f in s.scalars(select(FieldFile).where(FieldFile.job_id == job.id))}
        photos = s.scalars(select(PhotoRef).where(PhotoRef.job_id == job.id).order_by(PhotoRef.taken_at, PhotoRef.id))

        def line(f: FieldFile, caption: str | None = None, taken_at: datetime | None = None) -> FileLine:
            return FileLine(
                f.id,
                f.kind.value,
                f.content_type,
                f.size_bytes,
                f.width,
                f.height,
                f.sha256,
                store.describe(f.storage_key),
                caption,
                taken_at,
            )

        photo_lines = tuple(
            line(files[p.file_id], p.caption, p.taken_at)
            if p.file_id in files
            else FileLine(0, FileKind.PHOTO.value, "", 0, 0, 0, "", p.uri, p.caption, p.taken_at)
            for p in photos
        )
        if report is None and not photo_lines:
            return None
        signature = files.get(report.signature_file_id) if report and report.signature_file_id else None
        return FieldReport(
            report.outcome.value if report else None,
            report.resolution_code if report else None,
            report.labour_minutes if report else None,
            report.actual_end if report else None,
            report.signer_name if report else None,
            report.signed_at if report else None,
            line(signature) if signature is not None else None,
            photo_lines,
        )
