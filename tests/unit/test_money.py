"""Exact money: Decimal with two places at every boundary, integer fen inside."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.money import fmt, from_fen, money, parse_amount, parse_rate, ppm_to_rate, rate_to_ppm, to_fen


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.5", Decimal("1234.50")),
        (" 0.07 ", Decimal("0.07")),
        ("5", Decimal("5.00")),
    ],
)
def test_parse_amount_accepts_up_to_two_decimals(text, value):
    assert parse_amount(text) == value
    assert parse_amount(text).as_tuple().exponent == -2


def test_parse_amount_rejects_negatives():
    with pytest.raises(ValueError, match="negative"):
        parse_amount("-5.00")


def test_parse_amount_allows_negatives_only_when_asked():
    assert parse_amount("-5.00", allow_negative=True) == Decimal("-5.00")


def test_parse_amount_rejects_more_than_two_decimals():
    with pytest.raises(ValueError, match="at most two decimals"):
        parse_amount("1.234")


@pytest.mark.parametrize("text", ["abc", "1e5", "1.2.3", "¥100", "NaN", "Infinity", "12."])
def test_parse_amount_rejects_non_numeric_text(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["１００", "100.５", "١٠٠"])
def test_parse_amount_takes_ascii_digits_only_as_the_importer_does(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


def test_parse_rate_takes_ascii_digits_only():
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate("０.０５")


@pytest.mark.parametrize("text", ["", "   ", None])
def test_parse_amount_rejects_empty_text(text):
    with pytest.raises(ValueError, match="empty"):
        parse_amount(text)


def test_parse_amount_rejects_implausibly_large_amounts():
    with pytest.raises(ValueError, match="implausibly large"):
        parse_amount("10000000000000")


@pytest.mark.parametrize(
    ("text", "value"), [("0.0747", Decimal("0.0747")), ("1", Decimal("1")), ("0.123456", Decimal("0.123456"))]
)
def test_parse_rate_accepts_fractions_up_to_one_with_six_decimals(text, value):
    assert parse_rate(text) == value


def test_parse_rate_rejects_rates_above_one():
    with pytest.raises(ValueError, match="at most 1"):
        parse_rate("1.5")
    with pytest.raises(ValueError, match="at most 1"):
        parse_rate("7.47")


@pytest.mark.parametrize("text", ["0.1234567", "-0.05", "7.47%", "", "abc"])
def test_parse_rate_rejects_more_than_six_decimals_and_non_fractions(text):
    with pytest.raises(ValueError, match="at most six decimals"):
        parse_rate(text)


def test_rate_round_trips_through_millionths():
    assert rate_to_ppm(Decimal("0.0747")) == 74_700
    assert ppm_to_rate(74_700) == Decimal("0.0747")
    with pytest.raises(ValueError, match="six decimals"):
        rate_to_ppm(Decimal("0.0000001"))


def test_money_rounds_half_up_to_the_fen():
    assert money("1.005") == Decimal("1.01")
    assert money("-1.005") == Decimal("-1.01")
    assert to_fen(Decimal("1083.145")) == 108315


def test_money_never_comes_from_a_float():
    with pytest.raises(TypeError):
        money(0.1)  # type: ignore[arg-type]


def test_fen_print_with_two_decimals():
    assert fmt(108315) == "1083.15"
    assert fmt(5) == "0.05"
    assert fmt(-150_000) == "-1500.00"


@given(fen=st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip_through_decimal_exactly(fen):
    assert to_fen(from_fen(fen)) == fen
    assert from_fen(fen).as_tuple().exponent == -2


@given(amount=st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2))
def test_parsed_amounts_round_trip_through_fen(amount):
    parsed = parse_amount(str(amount))
    assert parsed == amount
    assert from_fen(to_fen(parsed)) == parsed


@pytest.mark.parametrize("text", ["290,000", "12,34", "1,000.00"])
def test_parse_amount_refuses_commas_rather_than_guess_thousands_or_decimals(text):
    with pytest.raises(ValueError, match="without separators"):
        parse_amount(text)
