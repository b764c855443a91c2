"""The calling technician's messages with the office: read them, write one (offline: a `message` sync item)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from data.services.messages import MessageView, mark_all_read, technician_messages, unread_counts
from data.services.sync import ClientEventType, apply_now
from integrations.field_api.actions import message_action
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import MessageIn, MessageOut, MessagesOut

router = APIRouter(prefix="/v1/me/messages", tags=["messages"], responses=ERROR_RESPONSES)


def message_out(view: MessageView) -> MessageOut:
    return MessageOut(
        id=view.id,
        thread=view.thread,
        job_ref=view.job_ref,
        author=view.author,
        author_kind=view.author_kind,
        body=view.body,
        created_at=view.created_at,
    )


@router.get("", summary="My messages", response_model=MessagesOut)
def get_messages(me: Caller, db: Db, since: Annotated[int, Query(ge=0)] = 0) -> MessagesOut:
    """My own thread and my jobs' threads, oldest first, after message `since` (internal messages only)."""
    views = technician_messages(db, me.actor, me.technician_id, since)
    return MessagesOut(messages=[message_out(v) for v in views], unread=sum(unread_counts(db, me.actor).values()))


@router.post("", summary="Write to the office", response_model=MessageOut)
def post_message(body: MessageIn, me: Caller, db: Db, lock: Writes) -> MessageOut:
    """On a job's thread (`job_ref`, a job assigned to me) or on my own; recorded as a `message.internal` event."""
    with lock:
        row = apply_now(
            db, me.actor, me.technician_id, ClientEventType.MESSAGE, message_action(body),
            job_ref=body.job_ref, occurred_at=body.at,
        )  # fmt: skip
    views = technician_messages(db, me.actor, me.technician_id, row.id - 1)
    return message_out(views[0])


@router.post("/read", summary="Mark my messages read", response_model=MessagesOut)
def post_read(me: Caller, db: Db, lock: Writes) -> MessagesOut:
    with lock:
        mark_all_read(db, me.actor, me.technician_id)
    return MessagesOut(messages=[], unread=0)
