"""The FHIR Task state machine of a referral, as a partner's answers meet it (policy)."""

from __future__ import annotations

import itertools

import pytest

from jejaring.referral import policy
from jejaring.referral.errors import IllegalTransition, ReasonRequired
from jejaring.shared.contract.enums import ReferralStatus as S
from jejaring.shared.web.errors import status_of

PARTNER_MOVES = {
    S.REQUESTED: {S.ACCEPTED, S.REJECTED},
    S.ACCEPTED: {S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.FAILED},
    S.IN_PROGRESS: {S.ON_HOLD, S.COMPLETED, S.FAILED},
    S.ON_HOLD: {S.IN_PROGRESS, S.COMPLETED, S.FAILED},
}
ALLOWED = sorted((a, b) for a, nexts in PARTNER_MOVES.items() for b in nexts)
REFUSED = sorted(
    (a, b) for a, b in itertools.product(S, S) if a != b and b not in PARTNER_MOVES.get(a, set())
)


@pytest.mark.parametrize(("current", "answer"), ALLOWED)
def test_every_move_a_partner_may_make(current: S, answer: S) -> None:
    assert policy.partner_moves(current, answer, reason="a reason") is True
    if answer not in policy.REASON_REQUIRED:
        assert policy.partner_moves(current, answer, reason=None) is True


@pytest.mark.parametrize(("current", "answer"), REFUSED)
def test_every_other_move_is_refused_as_a_conflict(current: S, answer: S) -> None:
    with pytest.raises(IllegalTransition) as refused:
        policy.partner_moves(current, answer, reason="a reason")
    assert status_of(refused.value) == 409
    (error,) = refused.value.errors
    assert (error.field, error.code) == ("status", "illegal_transition")
    assert f"from '{current.value}' to '{answer.value}'" in error.message_en


def test_a_sample_of_refused_moves_names_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as skipped:
        policy.partner_moves(S.REQUESTED, S.COMPLETED, reason=None)
    assert skipped.value.errors[0].message_en == (
        "A referral cannot go from 'requested' to 'completed'. Allowed: accepted, rejected."
    )
    assert skipped.value.errors[0].message == (
        "Status rujukan tidak dapat berubah dari 'requested' ke 'completed'. "
        "Yang diizinkan: accepted, rejected."
    )
    with pytest.raises(IllegalTransition):
        policy.partner_moves(S.IN_PROGRESS, S.ACCEPTED, reason=None)  # no way back
    with pytest.raises(IllegalTransition):
        policy.partner_moves(S.ACCEPTED, S.CANCELLED, reason="x")  # only Jejaring withdraws


@pytest.mark.parametrize("final", [S.REJECTED, S.CANCELLED, S.COMPLETED, S.FAILED])
def test_final_states_allow_nothing(final: S) -> None:
    assert final in policy.FINAL
    assert policy.TRANSITIONS[final] == frozenset()
    assert policy.allowed_next(final, by_partner=True) == []
    with pytest.raises(IllegalTransition) as refused:
        policy.partner_moves(final, S.IN_PROGRESS, reason=None)
    assert refused.value.errors[0].message_en.endswith("Allowed: none (final status).")
    assert refused.value.errors[0].message.endswith("Yang diizinkan: tidak ada (status akhir).")


def test_the_final_states_are_exactly_those() -> None:
    assert {S.REJECTED, S.CANCELLED, S.COMPLETED, S.FAILED} == policy.FINAL


@pytest.mark.parametrize("status", list(S))
def test_the_same_answer_again_moves_nothing(status: S) -> None:
    assert policy.partner_moves(status, status, reason=None) is False


def test_reason_required_for_rejected_failed_and_cancelled() -> None:
    assert {S.REJECTED, S.FAILED, S.CANCELLED} == policy.REASON_REQUIRED
    for current, answer in [(S.REQUESTED, S.REJECTED), (S.ACCEPTED, S.FAILED)]:
        for reason in (None, ""):
            with pytest.raises(ReasonRequired) as refused:
                policy.partner_moves(current, answer, reason=reason)
            assert status_of(refused.value) == 422
            (error,) = refused.value.errors
            assert (error.field, error.code) == ("reason", "reason_required")
            assert error.message_en == f"A reason is required for status '{answer.value}'."


def test_jejaring_may_cancel_what_a_partner_may_not() -> None:
    for current in (S.REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD):
        assert S.CANCELLED in policy.allowed_next(current, by_partner=False)
        assert S.CANCELLED not in policy.allowed_next(current, by_partner=True)
    assert all(S.REQUESTED not in policy.allowed_next(s, by_partner=False) for s in S)
