"""Rebuilding the read model from the streams: empty its tables and the report consumers'
inbox, delete their durables and create them again, so that every event still in CASES and
REFERRAL_EVENTS comes through `projection.apply` once more, in stream order.

The operator runs it (`jejaring report-rebuild`, which calls `POST /api/v1/admin/rebuild` with
report's admin token) after a fix to the projection, or to check that the read model is what
the events say. Only what the streams still hold comes back (their max_age).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from jejaring.report.api import Reader, reader
from jejaring.report.models import READ_MODEL
from jejaring.shared.messaging.runtime import ServiceRuntime
from jejaring.shared.web.errors import api_error, forbidden
from jejaring.shared.web.identity import PersonRole

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin")


async def empty_read_model(session: AsyncSession) -> None:
    """Delete every row of the read model's tables (not the tables)."""
    for table in READ_MODEL:
        await session.execute(delete(table))


async def rebuild(runtime: ServiceRuntime) -> list[str]:
    """Empty the read model and replay the report consumers' streams from their first
    message; the durables replayed."""
    await runtime.replay(empty_read_model)
    durables = [sub.spec.durable for sub in runtime.subscriptions]
    log.warning("read model emptied; replaying from the streams", extra={"consumers": durables})
    return durables


@router.post("/rebuild", status_code=202)
async def rebuild_read_model(
    request: Request, who: Annotated[Reader, Depends(reader)]
) -> dict[str, object]:
    """The admin rebuilds the read model from the streams; the report fills again as the
    consumers catch up."""
    if who.role is not PersonRole.ADMIN:
        raise forbidden(
            "Hanya admin yang dapat membangun ulang data laporan.",
            "Only the admin may rebuild the report's read model.",
        )
    runtime: ServiceRuntime = request.app.state.runtime
    if not runtime.provisioned:
        raise _not_ready("report is not connected to NATS yet")
    try:
        return {"replaying": await rebuild(runtime)}
    except RuntimeError as exc:  # messaging stopped in the meantime: nothing was emptied
        raise _not_ready(str(exc)) from None


def _not_ready(why: str) -> Exception:
    return api_error(
        503,
        "nats",
        "not_ready",
        "Layanan laporan belum siap membangun ulang datanya; coba lagi sebentar lagi.",
        f"{why}; try again shortly.",
    )
