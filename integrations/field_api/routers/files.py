"""Photos and signature images as real files: uploaded as multipart, served back only to who may see the job."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response

from data.models.field import FileKind
from data.services.field_files import StoredFile, Upload, file_uri, files_of_job, open_file, store_upload
from data.services.sync import check_occurred_at
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.routers.jobs import Ref
from integrations.field_api.schemas import CLIENT_ID_PATTERN, FileOut, Moment

router = APIRouter(prefix="/v1", tags=["files"], responses=ERROR_RESPONSES)


def file_out(stored: StoredFile) -> FileOut:
    return FileOut(
        id=stored.id,
        job=stored.job_ref,
        kind=stored.kind.value,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        width=stored.width,
        height=stored.height,
        sha256=stored.sha256,
        uri=file_uri(stored.id),
        photo_id=stored.photo_id,
        created_at=stored.created_at,
        repeated=stored.repeated,
    )


@router.post("/jobs/{ref}/files", summary="Upload a photo or the signature image", response_model=FileOut)
def post_file(
    ref: Ref,
    me: Caller,
    db: Db,
    lock: Writes,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP; photos up to 10 MB, signatures up to 256 KB")],
    kind: Annotated[Literal["photo", "signature"], Form()] = "photo",
    client_file_id: Annotated[str | None, Form(min_length=1, max_length=100, pattern=CLIENT_ID_PATTERN)] = None,
    caption: Annotated[str | None, Form(max_length=300)] = None,
    taken_at: Annotated[Moment | None, Form()] = None,
) -> FileOut:
    """The file's type is read from its bytes, not from what the phone declares. A photo becomes one of the
    job's photos (`job.photo_added`); a signature image waits for the report or signature that names it by
    `client_file_id`. Sending the same `client_file_id` again answers with the first upload (`repeated`)."""
    if taken_at is not None:
        check_occurred_at(taken_at, f"photo for job {ref}")
    content = file.file.read()
    with lock:
        stored = store_upload(
            db,
            me.actor,
            me.technician_id,
            ref,
            Upload(FileKind(kind), content, client_file_id, caption.strip() if caption else None, taken_at),
        )
    return file_out(stored)


@router.get("/jobs/{ref}/files", summary="The files of one of my jobs", response_model=list[FileOut])
def list_files(ref: Ref, me: Caller, db: Db) -> list[FileOut]:
    from data.services.assigned import job_of_technician
    from data.services.jobs import find_technician

    with db.read() as session:
        job_of_technician(session, ref, find_technician(session, me.technician_id))
    return [file_out(f) for f in files_of_job(db, ref)]


@router.get(
    "/files/{file_id}",
    summary="The bytes of a stored photo or signature image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_file(file_id: Annotated[int, Path(ge=1, le=2**62)], me: Caller, db: Db) -> Response:
    """Only the technician the job is assigned to gets it (office staff read files in the console)."""
    stored, content = open_file(db, me.actor, file_id)
    return Response(
        content,
        media_type=stored.content_type,
        headers={
            "Cache-Control": "private, max-age=86400, immutable",
            "ETag": f'"{stored.sha256}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
