"""What referral keeps of a closed case (retention.loop_view): codes, dates and counts only."""

from __future__ import annotations

import datetime as dt
import json

from jejaring.referral.retention import loop_view
from jejaring.shared.contract import events as ev
from jejaring.testing import CHILD_NAME, case_snapshot_fields


def test_a_closed_case_keeps_codes_dates_and_counts_and_no_person() -> None:
    case = ev.CaseCreated(**case_snapshot_fields())  # type: ignore[arg-type]
    victim = case.victims[0].model_copy(
        update={
            "birth_date": dt.date(2015, 3, 4),
            "phone": "081299990000",
            "address": "Jl. Melati 3",
            "disability": "tuna rungu",
        }
    )
    case = case.model_copy(update={"victims": (victim, victim), "description": "Dipukul ayah"})
    snapshot = case.model_dump(mode="json")
    kept = loop_view(snapshot)
    text = json.dumps(kept)
    for personal in (CHILD_NAME, "2015-03-04", "081299990000", "Jl. Melati 3", "tuna rungu"):
        assert personal not in text, personal
    assert "Dipukul" not in text and "description" not in kept
    assert (
        kept["victims"]
        == [{"sex": victim.sex, "age_group": victim.age_group, "is_child": True}] * 2
    )
    for field in ("case_id", "reference", "kelurahan_code", "reported_at", "risk_level", "needs"):
        assert kept[field] == snapshot[field], field
    assert kept["consent"]["scope"] == snapshot["consent"]["scope"]
    if snapshot.get("legal_aid_proof"):
        assert kept["legal_aid_proof"] == {"kind": snapshot["legal_aid_proof"]["kind"]}
    assert loop_view(kept) == kept  # applied twice, the same
