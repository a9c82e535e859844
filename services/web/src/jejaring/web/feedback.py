"""The survivors' scores per partner on the coordinator's board (issue 20): notify's summary
(`GET /api/v1/feedback/summary`), asked with the coordinator's own token."""

from __future__ import annotations

from typing import Any

from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import Unreachable


async def partner_scores(signed: SignedIn) -> list[dict[str, Any]] | None:
    """Each partner's count and mean score, or None when notify does not answer."""
    try:
        answer = await signed.call("notify", "GET", "/api/v1/feedback/summary")
    except Unreachable:
        return None
    rows = answer.json() if answer.status_code == 200 else None
    return rows if isinstance(rows, list) else None
