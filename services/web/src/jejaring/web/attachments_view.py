"""What the attachment sections show (templates/attachments/): the case page's "Lampiran" and
the documents on a partner's referral page, each one call to intake with the person's token."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from jejaring.shared.web.uploads import size_text
from jejaring.web.sessions import SignedIn


async def section(request: Request, signed: SignedIn, case: dict[str, Any]) -> dict[str, Any]:
    """What the case page's "Lampiran" section shows: intake's list (None if intake does not
    give it), the limit in words, and whether an attachment was just added or deleted."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case['id']}/attachments")
    listed = answer.json() if answer.status_code == 200 else None
    return {
        "listed": listed,
        "limit": size_text(listed["max_bytes"]) if listed else "",
        "open": case["status"] == "open" and not case.get("erased_at"),
        "done": request.query_params.get("attachment", ""),
        "size": size_text,
    }


async def documents(signed: SignedIn, referral_id: str) -> list[dict[str, Any]]:
    """The documents R6 gives the person's partner through this referral (intake's answer)."""
    answer = await signed.call("intake", "GET", f"/api/v1/referrals/{referral_id}/attachments")
    items = answer.json().get("items") if answer.status_code == 200 else None
    return items if isinstance(items, list) else []
