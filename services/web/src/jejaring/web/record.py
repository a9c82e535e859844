"""Record a case: a short sequence of question pages (GOV.UK pattern), a check-your-answers
page that asks intake to check the case, and the submit that records it once, even when it is
pressed again after a dropped connection (the Idempotency-Key made for the check page)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jejaring.shared.contract.enums import (
    ConsentGiver,
    Lang,
    PartnerKind,
    PerpetratorRelationship,
    Place,
    ProofOfInability,
    RiskLevel,
    Service,
    Sex,
    ViolenceForm,
)
from jejaring.web import messages
from jejaring.web.case_form import (
    CHECK,
    INCIDENT,
    LOCAL_TIME,
    MAX_VICTIMS,
    NO_PROOF,
    OVERRIDE_REASONS,
    REPORTER_KINDS,
    STEPS,
    VICTIMS,
    Answers,
    VictimAnswers,
    input_for,
    missing,
    step_of,
)
from jejaring.web.officer import require_officer
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
    set_language,
)
from jejaring.web.sessions import SignedIn
from jejaring.web.upstream import FieldError, Unreachable, field_errors

log = logging.getLogger(__name__)
router = APIRouter()

KEY_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def options(lang: Lang) -> dict[str, list[tuple[str, str]]]:
    """The choices of the form, codes from the shared vocabulary with their labels."""
    t = messages.translator(lang)
    return {
        "place": [(m.value, m.label(lang)) for m in Place],
        "violence_forms": [(m.value, m.label(lang)) for m in ViolenceForm],
        "risk_level": [(m.value, m.label(lang)) for m in RiskLevel],
        "reporter_kind": [(k, t(f"case.reporter.{k}")) for k in REPORTER_KINDS],
        "sex": [(m.value, m.label(lang)) for m in Sex],
        "perpetrator_sex": [
            *((m.value, m.label(lang)) for m in Sex),
            ("unknown", t("case.perpetrator.sex_unknown")),
        ],
        "relationship": [(m.value, m.label(lang)) for m in PerpetratorRelationship],
        "yes_no": [("yes", t("yes")), ("no", t("no"))],
        "needs": [(m.value, m.label(lang)) for m in Service],
        "given_by": [(m.value, m.label(lang)) for m in ConsentGiver],
        "override_reason": [(r, t(f"case.override.{r}")) for r in OVERRIDE_REASONS],
        "scope": [(m.value, m.label(lang)) for m in PartnerKind],
        "proof_kind": [
            *((m.value, m.label(lang)) for m in ProofOfInability),
            (NO_PROOF, t("case.proof.none")),
        ],
    }


def _step_page(
    request: Request,
    w: Web,
    signed: SignedIn,
    answers: Answers,
    step: str,
    *,
    errors: Errors | None = None,
    review: bool = False,
    key: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    lang = language(request, w)
    steps = answers.steps()
    template = "officer/record/check.html" if step == CHECK else f"officer/record/{step}.html"
    if step == CHECK:
        key = key or str(uuid.uuid4())
    return render(
        request,
        w,
        template,
        # A page with errors to fix is still the page asked for (200, as GOV.UK services
        # answer); a browser logs any 4xx page as an error in its console.
        status=status,
        errors=errors,
        signed=signed,
        here="/cases/new",
        answers=answers,
        step=step,
        number=steps.index(step) + 1 if step in steps else len(steps),
        total=len(steps),
        hidden=answers.hidden_for(step) if step != CHECK else answers.fields(),
        review=review,
        key=key,
        notice=notice,
        options=options(lang),
        labels=_labels(options(lang)),
        names=lambda labels, codes: ", ".join(labels.get(c, c) for c in codes),
        when=formatter(lang, w.zone),
        day=day_formatter(lang),
        max_victims=MAX_VICTIMS,
    )


def _labels(opts: dict[str, list[tuple[str, str]]]) -> dict[str, dict[str, str]]:
    return {name: dict(pairs) for name, pairs in opts.items()}


@router.get("/cases/new")
async def new_case(request: Request, w: WebDep, signed: Signed) -> Response:
    require_officer(signed)
    answers = Answers(reported_at=w.now_local().strftime(LOCAL_TIME))
    return _step_page(request, w, signed, answers, INCIDENT)


@router.post("/cases/new")
async def case_step(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    """One press of a button on a question page (or the check page's change buttons)."""
    require_officer(signed)
    answers = Answers.from_form(form)
    step = form.get("step") if form.get("step") in STEPS else INCIDENT
    action = form.get("action") or "continue"
    review = form.get("review") == "1"
    if action.startswith("lang:"):
        chosen = set_language(request, w, action.removeprefix("lang:"))
        response = _step_page(
            request, w, signed, answers, step, review=review, key=_key(form.get("idempotency_key"))
        )
        chosen(response)
        return response
    if action == "back":
        back = answers.steps()[-2] if step == CHECK else answers.previous_step(step)
        return _step_page(request, w, signed, answers, back, review=review)
    if action.startswith("change:") and action.removeprefix("change:") in STEPS:
        return _step_page(request, w, signed, answers, action.removeprefix("change:"), review=True)
    if action == "add-victim" and step == VICTIMS:
        if len(answers.victims) < MAX_VICTIMS:
            answers.victims.append(VictimAnswers())
        return _step_page(request, w, signed, answers, VICTIMS, review=review)
    if action.startswith("remove-victim:") and step == VICTIMS:
        index = action.removeprefix("remove-victim:")
        if index.isdigit() and 0 < int(index) < len(answers.victims):
            del answers.victims[int(index)]
        return _step_page(request, w, signed, answers, VICTIMS, review=review)
    if step != CHECK and (gap := _first_gap(request, w, signed, answers, [step], review=review)):
        return gap
    following = answers.next_step(step)
    if following != CHECK and not review:
        return _step_page(request, w, signed, answers, following)
    return await _check(request, w, signed, answers)


def _first_gap(
    request: Request,
    w: Web,
    signed: SignedIn,
    answers: Answers,
    steps: list[str],
    *,
    review: bool,
) -> Response | None:
    """The first of `steps` the form itself finds incomplete, its errors beside the fields."""
    t = messages.translator(language(request, w))
    for step in steps:
        if gaps := missing(answers, step):
            errors = Errors()
            for input_name, key in gaps:
                errors.add(input_name, t(key))
            return _step_page(request, w, signed, answers, step, errors=errors, review=review)
    return None


async def _check(request: Request, w: Web, signed: SignedIn, answers: Answers) -> Response:
    """The check page, once every step is complete and intake finds nothing to refuse; else
    the first step with something to fix, the errors beside their fields."""
    if gap := _first_gap(request, w, signed, answers, answers.steps()[:-1], review=True):
        return gap
    answer = await signed.call(
        "intake", "POST", "/api/v1/cases/check", json=_body(w, signed, answers)
    )
    if answer.status_code == 204:
        return _step_page(request, w, signed, answers, CHECK, review=True)
    return _refused(request, w, signed, answers, field_errors(answer), key="")


def _refused(
    request: Request,
    w: Web,
    signed: SignedIn,
    answers: Answers,
    refused: list[FieldError],
    *,
    key: str,
) -> Response:
    """Intake's errors beside their fields, on the first step that has one; errors about the
    case as a whole on the check page."""
    lang = language(request, w)
    placed = [(input_for(e.field), e) for e in refused]
    steps = answers.steps()
    on_steps = [s for s in steps if any(i and step_of(i) == s for i, _ in placed)]
    errors = Errors()
    if on_steps:
        first = on_steps[0]
        for input_name, e in placed:
            if input_name is None or step_of(input_name) == first:
                errors.add(input_name or "", e.text(lang))
        return _step_page(request, w, signed, answers, first, errors=errors, review=True)
    for _, e in placed:
        errors.add("", e.text(lang))
    if not errors:
        errors.add("", messages.translator(lang)("case.refused"))
    return _step_page(request, w, signed, answers, CHECK, errors=errors, review=True, key=key)


def _body(w: Web, signed: SignedIn, answers: Answers) -> dict[str, Any]:
    return answers.to_body(kelurahan_code=signed.person.kelurahan_code or "", zone=w.zone)


def _key(raw: str) -> str:
    return raw if KEY_PATTERN.match(raw) else ""


@router.post("/cases/submit")
async def submit_case(request: Request, w: WebDep, signed: Signed, form: Posted) -> Response:
    """Record the case. A dropped connection or a service that does not answer keeps every
    answer on the page; pressed again, the same Idempotency-Key records it once."""
    require_officer(signed)
    answers = Answers.from_form(form)
    key = _key(form.get("idempotency_key")) or str(uuid.uuid4())
    if gap := _first_gap(request, w, signed, answers, answers.steps()[:-1], review=True):
        return gap
    try:
        answer = await signed.call(
            "intake",
            "POST",
            "/api/v1/cases",
            json=_body(w, signed, answers),
            headers={"Idempotency-Key": key},
        )
    except Unreachable:
        return _step_page(
            request,
            w,
            signed,
            answers,
            CHECK,
            review=True,
            key=key,
            notice="case.submit.unavailable",
            status=503,
        )
    if answer.status_code in (200, 201):
        case = answer.json()
        log.info("case recorded", extra={"case_id": case["id"], "reference": case["reference"]})
        return redirect(f"/cases/{case['id']}?recorded=1")
    return _refused(request, w, signed, answers, field_errors(answer), key=key)
