"""The admin's forms turned into the services' bodies."""

from __future__ import annotations

from jejaring.web.admin import hours, person_body
from jejaring.web.admin_partners import partner_body
from jejaring.web.forms import Form


def test_a_kelurahan_goes_with_an_officer_and_a_partner_with_partner_staff_only() -> None:
    typed = {"name": "Ibu Sari", "kelurahan": "64.71.04.1003", "partner": "posbakum-aisyiyah"}
    officer, missing = person_body(Form([*typed.items(), ("role", "officer"), ("login", "sari")]))
    assert officer == {"name": "Ibu Sari", "role": "officer", "kelurahan_code": "64.71.04.1003",
                       "login": "sari"}  # fmt: skip
    assert missing == []
    staff, _ = person_body(Form([*typed.items(), ("role", "partner_staff"), ("phone", "0813")]))
    assert staff["partner_slug"] == "posbakum-aisyiyah" and "kelurahan_code" not in staff
    coordinator, _ = person_body(Form([*typed.items(), ("role", "coordinator"), ("login", "k")]))
    assert "kelurahan_code" not in coordinator and "partner_slug" not in coordinator
    _, missing = person_body(Form([("role", "officer")]))
    assert [m[0] for m in missing] == ["name", "kelurahan", "login"]


def test_a_partner_form_becomes_referrals_body() -> None:
    form = Form(
        [("slug", "uptd-ppa"), ("name", "UPTD PPA"), ("kind", "government"),
         ("services", "shelter"), ("services", "counselling"), ("contact-name", "Ibu Ratna"),
         ("contact-phone", "0542000000"), ("contact-channel", "sms"),
         ("contact-quiet-start", "21:00"), ("deadline-high", "1,5"), ("deadline-medium", ""),
         ("deadline-low", "72")]
    )  # fmt: skip
    body, missing = partner_body(form)
    assert missing == []
    assert body["kelurahan"] == []  # none chosen: all six
    assert body["services"] == ["shelter", "counselling"]
    # half a quiet-hours pair is sent as it is, for referral to refuse beside the missing half
    # not marked public: the partner directory (HSDS) does not publish it
    assert body["contacts"] == [{"name": "Ibu Ratna", "phone": "0542000000",
                                 "preferred_channel": "sms", "quiet_hours": {"start": "21:00"},
                                 "public": False}]  # fmt: skip
    assert body["deadlines"] == {"high": 1.5, "medium": 6.0, "low": 72.0}
    body, missing = partner_body(Form([("deadline-low", "tiga")]))
    assert "contacts" not in body
    assert [m[0] for m in missing] == ["slug", "name", "kind", "services", "deadline-low"]


def test_hours_read_as_people_write_them() -> None:
    assert hours(6.0, "id") == "6"
    assert hours(1.5, "id") == "1,5"
    assert hours("72", "en") == "72"
    assert hours(1.5, "en") == "1.5"
