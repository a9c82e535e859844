"""The possible-duplicates index's name rule and keyed hash (duplicates.py), one function each."""

from __future__ import annotations

import datetime as dt

import pytest

from jejaring.intake.duplicates import IndexKey, fingerprints, normalise_name
from jejaring.shared import crypto


@pytest.mark.parametrize(
    "typed",
    [
        "Siti Aminah",
        "siti aminah",
        "  SITI   AMINAH ",
        "Sití Amïnah",  # accents
        "Ｓｉｔｉ　Ａｍｉｎａｈ",  # full-width letters and space (NFKC)
        "Siti-Aminah",
        "Siti Aminah.",
    ],
)
def test_one_name_however_it_is_typed(typed: str) -> None:
    assert normalise_name(typed) == "siti aminah"


def test_other_names_stay_other() -> None:
    assert normalise_name("Nur'aini") == "nuraini"
    assert normalise_name("Siti Aminah") != normalise_name("Siti Amina")
    assert normalise_name("...") == ""


def test_the_hash_needs_the_same_name_date_and_key() -> None:
    k1 = IndexKey.of(crypto.MasterKeys.parse(crypto.generate_line("k1")))
    k2 = IndexKey.of(crypto.MasterKeys.parse(crypto.generate_line("k2")))
    born = dt.date(2013, 2, 17)
    one = k1.fingerprint("Siti  Aminah", born)
    assert one == k1.fingerprint("siti aminah", "2013-02-17")
    assert one != k1.fingerprint("siti aminah", dt.date(2013, 2, 18))
    assert one != k2.fingerprint("siti aminah", born)  # another master key, another index
    assert one is not None and len(one) == 64 and "aminah" not in one
    assert k1.fingerprint("—", born) is None


def test_only_victims_with_a_name_and_a_birth_date_are_fingerprinted() -> None:
    key = IndexKey.of(crypto.MasterKeys.parse(crypto.generate_line("k1")))
    victims = [
        {"name": "Siti Aminah", "birth_date": "2013-02-17"},
        {"name": "Siti Aminah", "birth_date": None, "age": 13},  # no date: never matched
        {"name": None, "birth_date": "2013-02-17"},  # erased
    ]
    assert fingerprints(key, victims) == {key.fingerprint("Siti Aminah", "2013-02-17")}
