"""Offline-first upload: a batch of what happened on the phone, applied once each, in the phone's time order."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from data.services.sync import SyncOutcome, apply_batch
from integrations.field_api.actions import client_event
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import SyncIn, SyncItemOut, SyncOut

router = APIRouter(prefix="/v1", tags=["sync"], responses=ERROR_RESPONSES)

log = logging.getLogger("dispatch.field_api.sync")


@router.post("/sync", summary="Upload an offline batch", response_model=SyncOut)
def post_sync(body: SyncIn, me: Caller, db: Db, lock: Writes) -> SyncOut:
    """Apply a batch of client events sorted by `occurred_at`, each in its own transaction.

    Each item is answered `applied`, `duplicate` (its `client_event_id` was seen before: nothing changes) or
    `rejected` with a code and reason (e.g. `reassigned` when the job went to someone else meanwhile,
    `illegal_transition`, `invalid_input`). A rejected item never stops the rest. Arrival (`on_site`) and
    departure (`incomplete`, `completion`) times are taken from the items' `occurred_at`."""
    with lock:
        results = apply_batch(db, me.actor, me.technician_id, [client_event(item) for item in body.events])
    out = [
        SyncItemOut(
            client_event_id=r.client_event_id,
            type=r.type.value,
            outcome=r.outcome.value,
            code=r.code,
            reason=r.reason,
            field=r.field,
            retryable=r.retryable,
        )
        for r in results
    ]
    counts = {o: sum(1 for r in results if r.outcome is o) for o in SyncOutcome}
    log.info(
        "sync batch from %s: %d applied, %d duplicate, %d rejected",
        me.actor.login, counts[SyncOutcome.APPLIED], counts[SyncOutcome.DUPLICATE], counts[SyncOutcome.REJECTED],
        extra={"technician": me.actor.login, **{f"sync_{o.value}": n for o, n in counts.items()}},
    )  # fmt: skip
    return SyncOut(
        applied=counts[SyncOutcome.APPLIED],
        duplicate=counts[SyncOutcome.DUPLICATE],
        rejected=counts[SyncOutcome.REJECTED],
        results=out,
    )
