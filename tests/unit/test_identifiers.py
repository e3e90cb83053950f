"""Operator and loan ids: one spelling per identity, from a safe alphabet (issue 16, part 3)."""

from __future__ import annotations

import pytest

from models.domain.errors import BadInput
from models.domain.identifiers import IdentifierError, display_id, normalize_loan_id, normalize_operator_id


@pytest.mark.parametrize(
    "typed",
    [
        "E-01",
        "e-01",
        "\uff25-01",          # full-width Ｅ
        "\uff25\uff0d\uff10\uff11",  # all full-width: Ｅ－０１
        "E\u201001",          # U+2010 hyphen
        "E\u201101",          # U+2011 non-breaking hyphen
        "E\u201301",          # U+2013 en dash
        "E\u221201",          # U+2212 minus sign
        "E\ufe6301",          # U+FE63 small hyphen-minus
        "E\ufe5801",          # U+FE58 small em dash
        "E-01\u200b",         # trailing zero-width space
        "E\u200d-0\u200c1",   # zero-width joiner and non-joiner inside
        "E-\u00ad01",         # soft hyphen
        "\ufeffE-01\u2060",   # byte-order mark and word joiner
        "  E-01\t",           # surrounding whitespace
    ],
)
def test_every_spelling_of_the_same_operator_normalizes_to_one_id(typed):
    assert normalize_operator_id(typed) == "e-01"


def test_letter_l_and_digit_one_stay_distinct_ids_by_design():
    assert normalize_operator_id("E-0l") == "e-0l"
    assert normalize_operator_id("E-0l") != normalize_operator_id("E-01")


@pytest.mark.parametrize(
    ("typed", "culprit"),
    [
        ("\u0421-01", "U+0421 CYRILLIC CAPITAL LETTER ES"),
        ("\u0395-01", "U+0395 GREEK CAPITAL LETTER EPSILON"),
        ("E 01", "U+0020 SPACE"),
        ("E/01", "U+002F SOLIDUS"),
        ("E-01'; --", "U+0027 APOSTROPHE"),
        ("\u00e9-01", "U+00E9 LATIN SMALL LETTER E WITH ACUTE"),
    ],
)
def test_a_look_alike_or_unsafe_character_is_refused_naming_its_code_point(typed, culprit):
    with pytest.raises(IdentifierError) as refused:
        normalize_operator_id(typed)
    assert culprit in str(refused.value)
    assert isinstance(refused.value, BadInput)  # malformed input: the CLI exits 2


@pytest.mark.parametrize("typed", [None, "", "   ", "\u200b", "\u00ad\u2060"])
def test_an_id_with_nothing_visible_is_refused_as_empty(typed):
    with pytest.raises(IdentifierError, match="empty"):
        normalize_operator_id(typed)


def test_an_id_longer_than_the_column_is_refused():
    assert normalize_operator_id("E" * 64) == "e" * 64
    with pytest.raises(IdentifierError, match="longer than 64"):
        normalize_operator_id("E" * 65)


def test_loan_ids_follow_the_same_rule_and_refuse_look_alikes():
    assert normalize_loan_id("\uff2c-0001") == normalize_loan_id("L\u20100001\u200b") == "l-0001"
    with pytest.raises(IdentifierError, match="loan id .*U\\+0421 CYRILLIC CAPITAL LETTER ES"):
        normalize_loan_id("L-\u04210001")  # Cyrillic С inside a loan id


def test_the_display_form_keeps_case_but_drops_width_dashes_and_invisibles():
    assert display_id("\uff25\u201001\u200b") == "E-01"
    assert display_id("L\u2010000\uff11", "loan id") == "L-0001"
    with pytest.raises(IdentifierError, match="^loan id .*U\\+0421"):
        display_id("\u0421-01", "loan id")
