"""A refusal is mapped to HTTP in one place, by its kind, subclasses included."""

from __future__ import annotations

import pytest

from jejaring.shared.refusals import Conflict, FieldError, Forbidden, Invalid, NotFound, Refusal
from jejaring.shared.web.errors import status_of


class IllegalTransition(Conflict):
    """A service's own refusal, a kind of Conflict."""


@pytest.mark.parametrize(
    ("kind", "status"),
    [(Invalid, 422), (NotFound, 404), (Forbidden, 403), (Conflict, 409), (IllegalTransition, 409)],
)
def test_each_kind_has_its_status(kind: type[Refusal], status: int) -> None:
    assert status_of(kind.of("status", "code", "Pesan.", "Message.")) == status


def test_a_refusal_names_at_least_one_field() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Invalid()
    two = Invalid(FieldError("a", "x", "A.", "A."), FieldError("b", "y", "B.", "B."))
    assert [e.field for e in two.errors] == ["a", "b"]
    assert str(two) == "A."
