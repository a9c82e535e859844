"""WhatsApp and the SMS gateway's body format in the settings, the routing, and the template
parameters: each refused setting names its variable; WhatsApp goes ahead of SMS only when on;
a template's parameters are exactly the allow-listed fields its SMS text shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta
from pydantic import ValidationError

from jejaring.notify import render
from jejaring.notify.registry import CHANNELS, Route
from jejaring.notify.settings import NotifySettings
from jejaring.shared.contract import events as ev
from jejaring.testing import CHILD_NAME

PHONE, EMAIL = "+62 811 0000 301", "p@example.org"
TOKEN = "EAAG" + "x7Qk2mWv9Rt4Lp8Zs3Nd6Hy1Bc5Fj0" * 2
ON: dict[str, Any] = dict(
    whatsapp_channel="cloud",
    whatsapp_phone_number_id="106540352242922",
    whatsapp_access_token=TOKEN,
)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"whatsapp_channel": "cloud", "whatsapp_access_token": TOKEN},
            "NOTIFY_WHATSAPP_PHONE_NUMBER_ID is required when NOTIFY_WHATSAPP_CHANNEL=cloud",
        ),
        (
            {"whatsapp_channel": "cloud", "whatsapp_phone_number_id": "1065"},
            "NOTIFY_WHATSAPP_ACCESS_TOKEN is required when NOTIFY_WHATSAPP_CHANNEL=cloud",
        ),
        ({**ON, "whatsapp_phone_number_id": "+62811"}, "whatsapp_phone_number_id"),
        ({**ON, "whatsapp_template": "Jejaring Alert"}, "NOTIFY_WHATSAPP_TEMPLATE: 'Jejaring"),
        ({**ON, "whatsapp_language": "Bahasa"}, "whatsapp_language"),
        ({**ON, "whatsapp_api_version": "21"}, "whatsapp_api_version"),
        ({"whatsapp_channel": "sms"}, "whatsapp_channel"),
        ({"sms_gateway_body_format": "xml"}, "sms_gateway_body_format"),
        ({"sms_gateway_form_to_field": ""}, "sms_gateway_form_to_field"),
        (
            {"sms_gateway_form_extra": "userkey"},
            "NOTIFY_SMS_GATEWAY_FORM_EXTRA: not URL-encoded fields",
        ),
    ],
)
def test_a_bad_setting_is_named(tmp_path: Path, fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        NotifySettings(data_dir=tmp_path, **fields)


def test_production_refuses_plain_http_to_another_machine(tmp_path: Path) -> None:
    with pytest.raises(
        ValidationError, match=r"NOTIFY_WHATSAPP_BASE_URL: http://graph\.example\.org .*https://"
    ):
        NotifySettings(
            data_dir=tmp_path,
            environment="production",
            whatsapp_base_url="http://graph.example.org",
            **ON,
        )
    # production needs SMS and email that reach people too (NOTIFY_ALLOW_DEV_CHANNELS)
    real = {
        "sms_channel": "gateway",
        "sms_gateway_url": "https://sms.example.org/send",
        "email_channel": "smtp",
        "smtp_host": "mail.example.org",
    }
    for base in ("http://127.0.0.1:8080", "https://graph.facebook.com"):
        settings = NotifySettings(
            data_dir=tmp_path, environment="production", whatsapp_base_url=base, **ON, **real
        )
        assert settings.whatsapp_base_url == base


def test_production_refuses_a_placeholder_access_token(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="NOTIFY_WHATSAPP_ACCESS_TOKEN is a placeholder"):
        NotifySettings(
            data_dir=tmp_path,
            environment="production",
            **{**ON, "whatsapp_access_token": "change-me-whatsapp-token-0123456789"},
        )


def test_whatsapp_goes_ahead_of_sms_only_when_on(tmp_path: Path) -> None:
    off = NotifySettings(data_dir=tmp_path)
    on = NotifySettings(data_dir=tmp_path, **ON)
    both = ev.Contact(name="x", phone=PHONE, email=EMAIL)
    prefers_email = ev.Contact(name="x", phone=PHONE, email=EMAIL, preferred_channel="email")
    phone_only = ev.Contact(name="x", phone=PHONE)
    assert CHANNELS.route(both, urgent=False, settings=off) == Route("sms", PHONE, EMAIL)
    # WhatsApp keeps SMS's own fallback address: the SMS after it may still fall back to email.
    assert CHANNELS.route(both, urgent=False, settings=on) == Route("whatsapp", PHONE, EMAIL)
    assert CHANNELS.route(both, urgent=True, settings=on) == Route("whatsapp", PHONE, EMAIL)
    assert CHANNELS.route(phone_only, urgent=False, settings=on) == Route("whatsapp", PHONE, None)
    assert CHANNELS.route(prefers_email, urgent=False, settings=on) == Route("email", EMAIL, PHONE)
    assert CHANNELS.route(ev.Contact(name="x", email=EMAIL), urgent=True, settings=on) == Route(
        "email", EMAIL, None
    )


@pytest.mark.parametrize("kind", render.TEMPLATES)
def test_a_template_s_parameters_are_the_fields_its_sms_shows(kind: str) -> None:
    source = render._env.loader.get_source(render._env, f"id/{kind}.j2")[0]  # type: ignore[union-attr]
    shown = meta.find_undeclared_variables(render._env.parse(source)) - {"urgent"}
    assert set(render.TEMPLATE_PARAMETERS[kind]) == shown
    assert len(render.TEMPLATE_PARAMETERS[kind]) == len(shown)


def test_template_parameters_refuse_fields_outside_the_allow_list() -> None:
    data = dict.fromkeys(render.CONTEXT_FIELDS, "x") | {"victim_name": CHILD_NAME}
    with pytest.raises(render.TemplateContextNotAllowed, match="'victim_name'"):
        render.template_parameters("referral_requested", data)


def test_template_parameters_are_one_line_each_and_never_empty() -> None:
    data: dict[str, Any] = dict.fromkeys(render.CONTEXT_FIELDS, "")
    data |= {"reference": "BPT-2026-000123", "partner": "Pos\nBantuan   Hukum", "link": "https://x"}
    assert render.template_parameters("referral_escalated", data) == [
        "BPT-2026-000123",
        "-",
        "Pos Bantuan Hukum",
        "-",
        "https://x",
    ]
