"""Every text a page shows comes from the two-language catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jejaring.web import messages

WEB = Path(messages.__file__).parent
# t("key") in templates and modules, and catalogue keys named in modules as strings
USED = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.]*[a-z0-9_])["']""")
NAMED = re.compile(
    r"""["']((?:case|cases|sign_in|set_password|notice|record|summary|admin)\.[a-z0-9_.]+)["']"""
)


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*WEB.glob("templates/**/*.html"), *WEB.glob("*.py")]:
        if path.name == "messages.py":
            continue
        text = path.read_text()
        keys |= set(USED.findall(text))
        if path.suffix == ".py":
            keys |= {k for k in NAMED.findall(text) if not k.endswith(".")}
    return keys


def test_every_key_a_page_uses_is_in_the_catalogue() -> None:
    keys = used_keys()
    assert len(keys) > 100, "the pattern found too few keys"
    assert not keys - set(messages.CATALOGUE), sorted(keys - set(messages.CATALOGUE))


@pytest.mark.parametrize("key", sorted(messages.CATALOGUE))
def test_each_text_has_both_languages_with_the_same_placeholders(key: str) -> None:
    indonesian, english = messages.CATALOGUE[key]
    assert indonesian.strip() and english.strip()
    placeholders = re.compile(r"\{(\w+)\}")
    assert set(placeholders.findall(indonesian)) == set(placeholders.findall(english))


def test_an_unknown_code_shows_as_itself() -> None:
    t = messages.translator("en")
    assert t("delivery.trigger.something_new") == "something_new"
    assert t("cases.count", total=3) == "3 cases"
    assert messages.translator("id")("cases.count", total=3) == "3 kasus"


def test_every_audit_action_and_erasure_reason_of_intake_has_a_label() -> None:
    """The trail and erasure pages name intake's codes: a code added there needs its label
    here (else the page would show the bare code)."""
    from jejaring.intake.audit import Action
    from jejaring.intake.schemas import ErasureReason
    from jejaring.web.privacy import REASONS

    assert set(REASONS) == {r.value for r in ErasureReason}
    missing = [a.value for a in Action if f"audit.action.{a.value}" not in messages.CATALOGUE]
    missing += [r for r in REASONS if f"erasure.reason.{r}" not in messages.CATALOGUE]
    assert not missing, missing


def test_every_attachment_kind_and_type_of_intake_has_a_label() -> None:
    """The attachment sections name intake's kinds and content types by their label."""
    from jejaring.intake.attachments import CONTENT_TYPES, Kind

    missing = [k.value for k in Kind if f"attachment_kind.{k.value}" not in messages.CATALOGUE]
    missing += [c for c in CONTENT_TYPES if f"attachments.type.{c}" not in messages.CATALOGUE]
    assert not missing, missing
