"""The officer's pages: their kelurahan's cases, one case with its referrals and alerts, and the
changes an officer makes to a case (needs, risk, legal-aid proof, closing)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jejaring.shared.contract.enums import (
    AnswerReason,
    BusinessStatus,
    CaseOutcome,
    ConsentGiver,
    Lang,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    ProofOfInability,
    ReferralStatus,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.web import activities, attachments_view, messages
from jejaring.web import plan as case_plan
from jejaring.web.duplicates import related
from jejaring.web.forms import Form
from jejaring.web.pages import (
    Errors,
    Posted,
    Signed,
    Web,
    WebDep,
    day_formatter,
    formatter,
    language,
    redirect,
    render,
)
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import field_errors

router = APIRouter()
PER_PAGE = 20
SAVED = ("needs", "risk", "proof", "consent", "closed", "override", "assigned")
# Referral statuses after which nothing is cancelled any more.
FINAL = {"rejected", "completed", "failed", "cancelled"}

_VOCABULARY: dict[str, Any] = {
    "place": Place,
    "violence_form": ViolenceForm,
    "risk": RiskLevel,
    "service": Service,
    "sex": Sex,
    "relationship": PerpetratorRelationship,
    "given_by": ConsentGiver,
    "partner_kind": PartnerKind,
    "proof": ProofOfInability,
    "referral_status": ReferralStatus,
    "business_status": BusinessStatus,
    "outcome": CaseOutcome,
    "answer_reason": AnswerReason,
}


class NotAnOfficer(Exception):
    """Officer pages asked for by another role: they see their start page instead."""


class Restricted(Exception):
    """Need to know: a case of the officer's kelurahan they neither recorded nor were assigned
    (intake answers 403 `need_to_know`): a page that says so, not "not found"."""


def require_officer(signed: SignedIn) -> None:
    if signed.person.role != "officer":
        raise NotAnOfficer()


def require_case_role(signed: SignedIn) -> None:
    """The case pages: an officer (their kelurahan's cases) or the coordinator (every case)."""
    if signed.person.role not in ("officer", "coordinator"):
        raise NotAnOfficer()


def labeller(lang: Lang) -> Any:
    """`label("service", "legal_aid")` → "Bantuan Hukum": the shared vocabulary's labels, and
    the catalogue's for what the vocabulary does not hold; an unknown code shows as it is."""
    t = messages.translator(lang)

    def label(kind: str, code: str | None) -> str:
        if code is None or code == "":
            return "–"
        vocabulary = _VOCABULARY.get(kind)
        if vocabulary is not None:
            try:
                return str(vocabulary(code).label(lang))
            except ValueError:
                return code
        return t.get(f"{kind}.{code}", code)

    return label


def erased_because(t: messages.Translator, erased: dict[str, Any]) -> str:
    """Why a case's personal data went: the data protection officer's reason, or the retention period."""
    if erased.get("erased_why") == "retention":
        return t("erasure.why.retention")
    return t.get(f"erasure.reason.{erased.get('erasure_reason')}", t("erasure.why.erasure"))


def _page_context(request: Request, w: Web) -> dict[str, Any]:
    lang = language(request, w)
    label = labeller(lang)
    return {
        "label": label,
        "names": lambda kind, codes: ", ".join(label(kind, c) for c in codes),
        "choices": lambda kind, codes: [(str(c), label(kind, str(c))) for c in codes],
        "when": formatter(lang, w.zone),
        "day": day_formatter(lang),
    }


# --- the list ----------------------------------------------------------------------------------


@router.get("/cases")
async def cases(request: Request, w: WebDep, signed: Signed) -> Response:
    require_case_role(signed)
    q = request.query_params
    filters = {
        "kelurahan": q.get("kelurahan", "") if signed.person.role == "coordinator" else "",
        "status": q.get("status", ""),
        "risk": q.get("risk", ""),
        "from": q.get("from", ""),
        "to": q.get("to", ""),
    }
    page = int(q["page"]) if q.get("page", "").isdigit() and 0 < int(q["page"]) < 10_000 else 1
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    params.update(page=page, per_page=PER_PAGE)
    answer = await signed.call("intake", "GET", "/api/v1/cases", params=params)
    errors = Errors()
    found: dict[str, Any] = {"items": [], "total": 0}
    if answer.status_code == 200:
        found = answer.json()
    else:
        lang = language(request, w)
        for e in field_errors(answer):
            errors.add(f"filter-{e.field}" if e.field in filters else "", e.text(lang))
    pages = max(1, -(-int(found["total"]) // PER_PAGE))
    return render(
        request,
        w,
        "officer/cases.html",
        work=await case_plan.my_work(signed) if signed.person.role == "officer" else [],
        errors=errors,
        signed=signed,
        filters=filters,
        found=found,
        page=page,
        pages=pages,
        query={k: v for k, v in filters.items() if v},
        all_kelurahan=[(k.code, k.name) for k in w.region.kelurahan],
        kelurahan_names={k.code: k.name for k in w.region.kelurahan},
        **_page_context(request, w),
    )


# --- one case ----------------------------------------------------------------------------------


async def _case(signed: SignedIn, case_id: str) -> dict[str, Any]:
    """The case as intake shows it to this person; another kelurahan's is not found."""
    try:
        uuid.UUID(case_id)
    except ValueError:
        raise HTTPException(404) from None
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case_id}")
    if answer.status_code == 403 and any(e.code == "need_to_know" for e in field_errors(answer)):
        raise Restricted()
    if answer.status_code != 200:
        raise HTTPException(404)
    case: dict[str, Any] = answer.json()
    return case


async def _deliveries(signed: SignedIn, reference: str) -> list[dict[str, Any]] | None:
    """Who was alerted, when and how (notify's delivery log), or None when notify does not
    show it to this person."""
    answer = await signed.call(
        "notify", "GET", "/api/v1/deliveries", params={"case_reference": reference}
    )
    if answer.status_code != 200:
        return None
    rows = answer.json()
    return rows if isinstance(rows, list) else None


async def _case_page(
    request: Request,
    w: Web,
    signed: SignedIn,
    case_id: str,
    *,
    errors: Errors | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    case = await _case(signed, case_id)
    deliveries = await _deliveries(signed, case["reference"])
    officers = await _officers(signed, case) if signed.person.role == "coordinator" else []
    names = {o["id"]: o["name"] for o in officers}
    lang = language(request, w)
    saved = request.query_params.get("saved", "")
    now = w.clock()
    return render(
        request,
        w,
        "officer/case.html",
        status=status,
        errors=errors,
        signed=signed,
        here=f"/cases/{case['id']}",
        case=case,
        deliveries=deliveries,
        officers=[o for o in officers if o["id"] not in case["assigned_to"]],
        assigned=[names.get(i, i) for i in case["assigned_to"]],
        erased_because=erased_because(messages.translator(lang), case),
        referral_of={r["referral_id"]: r for r in case["referrals"]},
        plan=await case_plan.case_plan(request, signed, case),
        recorded=request.query_params.get("recorded") == "1",
        saved=saved if saved in SAVED else "",
        typed=typed or {},
        late=[r for r in case["referrals"] if _late(r, now)],
        related=await related(signed, case["id"]),
        services=[s for s in Service if s.value not in case["needs"]],
        risks=list(RiskLevel),
        proofs=list(ProofOfInability),
        outcomes=list(CaseOutcome),
        kinds=list(PartnerKind),
        activity=await activities.section(request, w, signed, case),
        attachments=await attachments_view.section(request, signed, case),
        **_page_context(request, w),
    )


async def _officers(signed: SignedIn, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The officers of the case's kelurahan the coordinator may assign (intake's list)."""
    answer = await signed.call("intake", "GET", f"/api/v1/cases/{case['id']}/officers")
    found = answer.json() if answer.status_code == 200 else []
    return found if isinstance(found, list) else []


def _late(referral: dict[str, Any], now: dt.datetime) -> bool:
    """Not yet accepted and past its acceptance deadline (before referral marks it overdue)."""
    deadline = referral.get("accept_by")
    if referral.get("status") != "requested" or not deadline:
        return False
    return dt.datetime.fromisoformat(deadline) < now


@router.get("/cases/{case_id}")
async def case_page(case_id: str, request: Request, w: WebDep, signed: Signed) -> Response:
    require_case_role(signed)
    return await _case_page(request, w, signed, case_id)


# --- changes to a case ---------------------------------------------------------------------------

# intake's field → the input on the case page
_INPUTS = {
    "add_needs": "add_needs",
    "risk_level": "risk_level",
    "legal_aid_proof": "proof-kind",
    "legal_aid_proof.kind": "proof-kind",
    "legal_aid_proof.number": "proof-number",
    "outcome": "outcome",
    "note": "outcome_note",
    "consent": "consent-scope",
    "consent.scope": "consent-scope",
    "consent.given_by": "consent-scope",
    "consent.override_reason": "consent-scope",
    "officer_id": "officer_id",
}


async def _change(
    request: Request,
    w: Web,
    signed: SignedIn,
    case_id: str,
    *,
    saved: str,
    call: tuple[str, dict[str, Any]],
    local: list[tuple[str, str]],
    typed: dict[str, Any],
) -> Response:
    """Send one change to intake; back to the case page, with the errors beside the fields."""
    require_case_role(signed)
    lang = language(request, w)
    t = messages.translator(lang)
    errors = Errors()
    for input_name, key in local:
        errors.add(input_name, t(key))
    if not errors:
        case = await _case(signed, case_id)
        method, path = ("PATCH", f"/api/v1/cases/{case['id']}")
        if call[0] in ("close", "override/confirm", "assign"):
            method, path = ("POST", f"/api/v1/cases/{case['id']}/{call[0]}")
        answer = await signed.call("intake", method, path, json=call[1] or None)
        if answer.status_code == 200:
            return redirect(f"/cases/{case['id']}?saved={saved}")
        if answer.status_code == 409:
            errors.add("", t("case.closed_already"))
        for e in field_errors(answer) if answer.status_code in (403, 422) else []:
            errors.add(_INPUTS.get(e.field, ""), e.text(lang))
        if not errors:
            errors.add("", t("case.change_refused"))
    return await _case_page(request, w, signed, case_id, errors=errors, typed=typed)


def _chosen(form: Form, name: str) -> list[str]:
    return form.getlist(name)


@router.post("/cases/{case_id}/needs")
async def add_needs(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    needs = _chosen(form, "add_needs")
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="needs",
        call=("patch", {"add_needs": needs}),
        local=[] if needs else [("add_needs", "case.add_needs.missing")],
        typed={"add_needs": needs},
    )


@router.post("/cases/{case_id}/risk")
async def change_risk(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    risk = form.get("risk_level")
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="risk",
        call=("patch", {"risk_level": risk}),
        local=[] if risk else [("risk_level", "case.risk_level.missing")],
        typed={"risk_level": risk},
    )


@router.post("/cases/{case_id}/proof")
async def add_proof(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    kind, number = form.get("proof-kind"), form.get("proof-number")
    proof: dict[str, Any] = {"kind": kind}
    if number:
        proof["number"] = number
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="proof",
        call=("patch", {"legal_aid_proof": proof}),
        local=[] if kind else [("proof-kind", "case.proof.kind.missing")],
        typed={"proof-kind": kind, "proof-number": number},
    )


@router.post("/cases/{case_id}/close")
async def close_case(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    outcome, note = form.get("outcome"), form.get("outcome_note")
    body: dict[str, Any] = {"outcome": outcome}
    if note:
        body["note"] = note
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="closed",
        call=("close", body),
        local=[] if outcome else [("outcome", "case.outcome.missing")],
        typed={"outcome": outcome, "outcome_note": note},
    )


@router.post("/cases/{case_id}/consent")
async def change_consent(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """A narrower consent: first the page that says which referrals referral will cancel,
    then, confirmed, the change. Intake takes no empty scope: withdrawing consent entirely is
    not offered (closing the case cancels every open referral)."""
    require_case_role(signed)
    scope = [k for k in _chosen(form, "consent-scope") if k in {p.value for p in PartnerKind}]
    case = await _case(signed, case_id)
    local: list[tuple[str, str]] = []
    if not scope:
        local.append(("consent-scope", "case.consent.narrow.missing"))
    elif set(scope) == set(case["consent"]["scope"]):
        local.append(("consent-scope", "case.consent.scope.unchanged"))
    if not local and form.get("confirm") != "1":
        removed = [k for k in case["consent"]["scope"] if k not in scope]
        open_referrals = [r for r in case["referrals"] if r["status"] not in FINAL]
        return render(
            request,
            w,
            "officer/consent_confirm.html",
            signed=signed,
            here=f"/cases/{case['id']}",
            case=case,
            scope=scope,
            removed=removed,
            cancelled=[r for r in open_referrals if r.get("partner_kind") in removed],
            unknown=[r for r in open_referrals if not r.get("partner_kind")],
            **_page_context(request, w),
        )
    consent = {
        k: v
        for k, v in case["consent"].items()
        if k in ("given_by", "override_reason", "note") and v is not None
    }
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="consent",
        call=("patch", {"consent": {**consent, "scope": scope}}),
        local=local,
        typed={"consent-scope": scope},
    )


@router.post("/cases/{case_id}/override/confirm")
async def confirm_override(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """The coordinator confirms a waiting consent override (intake refuses their own)."""
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="override",
        call=("override/confirm", {}),
        local=[],
        typed={},
    )


@router.post("/cases/{case_id}/assign")
async def assign(
    case_id: str, request: Request, w: WebDep, signed: Signed, form: Posted
) -> Response:
    """The coordinator assigns an officer of the case's kelurahan, who may then open it."""
    if signed.person.role != "coordinator":
        raise NotAnOfficer()
    officer = form.get("officer_id")
    return await _change(
        request,
        w,
        signed,
        case_id,
        saved="assigned",
        call=("assign", {"officer_id": officer}),
        local=[] if officer else [("officer_id", "case.assign.missing")],
        typed={"officer_id": officer},
    )
