"""R6 in the templates: a context field outside the allow-list is refused with a named error,
which names the fields but never their values, and holds under `python -O` too."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from jejaring.notify import render
from jejaring.testing import CHILD_NAME


def test_every_allow_listed_field_may_be_given() -> None:
    render.check_context(dict.fromkeys(render.CONTEXT_FIELDS, ""))


def test_fields_outside_the_allow_list_are_named_without_their_values() -> None:
    data = {"reference": "X", "victim_name": CHILD_NAME, "offence": "physical"}
    with pytest.raises(render.TemplateContextNotAllowed) as refused:
        render.render("referral_requested", data, "id")
    assert refused.value.fields == ("offence", "victim_name")
    message = str(refused.value)
    assert message == "fields outside the template allow-list (R6): 'offence', 'victim_name'"
    assert CHILD_NAME not in message
    assert "physical" not in message
    assert not isinstance(refused.value, AssertionError)


def test_the_check_holds_under_python_dash_O() -> None:
    """Asserts are stripped under -O; this check is not an assert, so it still refuses."""
    script = textwrap.dedent(
        """
        import sys
        assert False, "not reached under -O"
        from jejaring.notify import render
        try:
            render.render("referral_requested", {"reference": "X", "victim_name": "A"}, "id")
        except render.TemplateContextNotAllowed as exc:
            print(sys.flags.optimize, exc.fields)
        else:
            print(sys.flags.optimize, "rendered")
        """
    )
    done = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 ('victim_name',)"
