"""Portfolio reports (models.portfolio): literal frames in, exact frames out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from models import portfolio
from models.portfolio import (
    aging,
    by_classification,
    by_state,
    deadlines_at_risk,
    migration_matrix,
    npl_ratio,
    officer_accountability,
    recoveries,
    recoveries_by_month,
    recoveries_by_payer,
    recoveries_by_strategy,
    roll_rates,
)

# --- literal frames ---------------------------------------------------------------------------

LOAN_FIELDS = ("loan_id", "state", "classification", "dpd", "balance_fen", "origin", "assigned_to")


def loans(*rows: tuple) -> pd.DataFrame:
    """A loans frame from (loan_id, state, classification, dpd, balance_fen, origin, assigned_to).

    The balance is all principal; the other columns carry fixed values.
    """
    frame = pd.DataFrame(list(rows), columns=list(LOAN_FIELDS)).astype({"dpd": "int64", "balance_fen": "int64"})
    frame["closed_reason"] = ["repaid" if s == "closed" else None for s in frame["state"]]
    frame["principal_fen"] = frame["balance_fen"]
    for column in ("interest_fen", "penalty_fen", "costs_fen"):
        frame[column] = pd.Series([0] * len(frame), dtype="int64")
    frame["product"] = "business"
    return frame[list(portfolio.LOAN_COLUMNS)]


EMPTY = loans()
# The seed's Yang case: 49,000 yuan, guarantor pressure, substandard at 153 days past due.
SINGLE = loans(("L-0001", "guarantor_pressure", "substandard", 153, 4_900_000, "external", "E-07"))
BOOK = loans(
    ("L-1", "performing", "normal", 0, 1_000_000, "external", "E-01"),
    ("L-2", "overdue", "special_mention", 2, 500_000, "insider", "E-02"),
    ("L-3", "visit", "substandard", 120, 2_900_000, "relationship", "E-01"),
    ("L-4", "litigation", "loss", 400, 2_700_000, "external", "E-03"),
    ("L-5", "installment", "substandard", 31, 2_900_000, "insider_introduced", "E-02"),
    ("L-6", "closed", "normal", 0, 0, "insider", "E-02"),
    ("L-7", "internal_review", "doubtful", 300, 4_000_000, "insider", "E-04"),
)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return list(frame.itertuples(index=False, name=None))


def zeros(keys: tuple[str, ...], **given: tuple[int, int]) -> list[tuple]:
    """Rows (key, count, amount) for every key, zero unless given."""
    return [(key, *given.get(key, (0, 0))) for key in keys]


# --- by_state ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("book", "expected"),
    [
        pytest.param(EMPTY, zeros(portfolio.STATES), id="empty"),
        pytest.param(SINGLE, zeros(portfolio.STATES, guarantor_pressure=(1, 4_900_000)), id="single"),
        pytest.param(
            BOOK,
            [
                ("performing", 1, 1_000_000),
                ("overdue", 1, 500_000),
                ("internal_review", 1, 4_000_000),
                ("visit", 1, 2_900_000),
                ("guarantor_pressure", 0, 0),
                ("litigation", 1, 2_700_000),
                ("installment", 1, 2_900_000),
                ("revitalization", 0, 0),
                ("closed", 1, 0),
            ],
            id="book",
        ),
    ],
)
def test_by_state_lists_all_nine_states_in_ladder_order(book: pd.DataFrame, expected: list[tuple]) -> None:
    result = by_state(book)
    assert list(result.columns) == ["state", "count", "balance_fen"]
    assert rows(result) == expected


def test_by_state_refuses_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="unknown state: sued"):
        by_state(loans(("L-1", "sued", "loss", 400, 1, "external", "E-01")))


# --- by_classification and npl_ratio ------------------------------------------------------------


@pytest.mark.parametrize(
    ("book", "expected"),
    [
        pytest.param(EMPTY, zeros(portfolio.CATEGORIES), id="empty"),
        pytest.param(SINGLE, zeros(portfolio.CATEGORIES, substandard=(1, 4_900_000)), id="single"),
        pytest.param(
            BOOK,
            [
                ("normal", 1, 1_000_000),  # the closed L-6 is not counted
                ("special_mention", 1, 500_000),
                ("substandard", 2, 5_800_000),
                ("doubtful", 1, 4_000_000),
                ("loss", 1, 2_700_000),
            ],
            id="book",
        ),
        pytest.param(
            loans(("L-1", "closed", "loss", 0, 0, "external", None)), zeros(portfolio.CATEGORIES), id="closed-only"
        ),
    ],
)
def test_by_classification_counts_open_loans_best_category_first(book: pd.DataFrame, expected: list[tuple]) -> None:
    result = by_classification(book)
    assert list(result.columns) == ["classification", "count", "balance_fen", "principal_fen", "interest_fen"]
    assert rows(result[["classification", "count", "balance_fen"]]) == expected


def test_by_classification_sums_principal_and_interest_receivable_apart_rule_7() -> None:
    book = loans(("L-1", "visit", "doubtful", 300, 0, "external", None), ("L-2", "overdue", "normal", 0, 0, "external", None))
    book["principal_fen"] = [1_000, 3_000]
    book["interest_fen"] = [700, 20]
    book["balance_fen"] = [1_700, 3_020]
    result = by_classification(book).set_index("classification")
    assert (int(result.loc["doubtful", "principal_fen"]), int(result.loc["doubtful", "interest_fen"])) == (1_000, 700)
    assert (int(result.loc["normal", "principal_fen"]), int(result.loc["normal", "interest_fen"])) == (3_000, 20)


def test_npl_ratio_counts_principal_only_not_interest_receivable_rule_7() -> None:
    book = loans(("L-1", "visit", "doubtful", 300, 0, "external", None), ("L-2", "overdue", "normal", 0, 0, "external", None))
    book["principal_fen"] = [1_000, 3_000]
    book["interest_fen"] = [3_000, 0]
    book["balance_fen"] = [4_000, 3_000]  # by balance the ratio would be 4/7
    assert npl_ratio(book) == Decimal("0.2500")


@pytest.mark.parametrize(
    ("book", "expected"),
    [
        pytest.param(EMPTY, Decimal("0"), id="empty"),
        pytest.param(SINGLE, Decimal("1.0000"), id="single-npl"),
        pytest.param(loans(("L-1", "overdue", "special_mention", 5, 123, "external", None)), Decimal("0.0000"), id="single-performing"),
        # (5,800,000 + 4,000,000 + 2,700,000) / 14,000,000 = 0.892857...
        pytest.param(BOOK, Decimal("0.8929"), id="book"),
        pytest.param(
            loans(
                ("L-1", "visit", "substandard", 100, 1, "external", None),
                ("L-2", "overdue", "normal", 0, 2, "external", None),
            ),
            Decimal("0.3333"),
            id="one-third",
        ),
        pytest.param(
            loans(
                ("L-1", "visit", "doubtful", 300, 2, "external", None),
                ("L-2", "overdue", "normal", 0, 1, "external", None),
            ),
            Decimal("0.6667"),
            id="two-thirds-rounds-half-up",
        ),
        pytest.param(
            loans(
                ("L-1", "visit", "loss", 400, 1, "external", None),
                ("L-2", "overdue", "normal", 0, 19_999, "external", None),
            ),
            Decimal("0.0001"),  # 0.00005 exactly: half up
            id="half-rounds-up",
        ),
        pytest.param(
            loans(
                ("L-1", "closed", "loss", 0, 500, "external", None),
                ("L-2", "overdue", "normal", 0, 500, "external", None),
            ),
            Decimal("0.0000"),
            id="closed-loan-ignored",
        ),
        pytest.param(loans(("L-1", "visit", "loss", 400, 0, "external", None)), Decimal("0"), id="zero-balance"),
    ],
)
def test_npl_ratio_is_npl_principal_over_open_principal(book: pd.DataFrame, expected: Decimal) -> None:
    result = npl_ratio(book)
    assert isinstance(result, Decimal)
    assert result == expected
    assert str(result) == str(expected)


# --- aging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "0"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-90"),
        (90, "31-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "181-270"),
        (270, "181-270"),
        (271, "271-360"),
        (360, "271-360"),
        (361, ">360"),
        (5000, ">360"),
    ],
)
def test_aging_bucket_bounds(dpd: int, bucket: str) -> None:
    result = aging(loans(("L-1", "visit", "normal", dpd, 700, "external", None)))
    assert rows(result) == zeros(portfolio.AGING_BUCKETS, **{bucket: (1, 700)})


@pytest.mark.parametrize(
    ("book", "expected"),
    [
        pytest.param(EMPTY, zeros(portfolio.AGING_BUCKETS), id="empty"),
        pytest.param(SINGLE, zeros(portfolio.AGING_BUCKETS, **{"91-180": (1, 4_900_000)}), id="single"),
        pytest.param(
            BOOK,
            [
                ("0", 1, 1_000_000),  # L-1; the closed L-6 does not age
                ("1-30", 1, 500_000),
                ("31-90", 1, 2_900_000),
                ("91-180", 1, 2_900_000),
                ("181-270", 0, 0),
                ("271-360", 1, 4_000_000),
                (">360", 1, 2_700_000),
            ],
            id="book",
        ),
    ],
)
def test_aging_buckets_open_loans_by_days_past_due(book: pd.DataFrame, expected: list[tuple]) -> None:
    result = aging(book)
    assert list(result.columns) == ["bucket", "count", "balance_fen"]
    assert rows(result) == expected


# --- migration_matrix -------------------------------------------------------------------------

MATRIX_COLUMNS = ["from", "normal", "special_mention", "substandard", "doubtful", "loss", "exited"]
MATRIX_ROWS = ["normal", "special_mention", "substandard", "doubtful", "loss", "new"]


def matrix(**cells: int) -> list[tuple]:
    """Expected matrix rows; cells named ``from__to``."""
    out = []
    for row in MATRIX_ROWS:
        out.append((row, *(cells.get(f"{row}__{column}", 0) for column in MATRIX_COLUMNS[1:])))
    return out


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(EMPTY, EMPTY, matrix(), id="empty"),
        pytest.param(SINGLE, SINGLE, matrix(substandard__substandard=1), id="single-stays"),
        pytest.param(EMPTY, SINGLE, matrix(new__substandard=1), id="single-new"),
        pytest.param(SINGLE, EMPTY, matrix(substandard__exited=1), id="single-gone"),
        pytest.param(
            SINGLE,
            loans(("L-0001", "closed", "substandard", 0, 0, "external", "E-07")),
            matrix(substandard__exited=1),
            id="single-closed",
        ),
        pytest.param(
            BOOK,
            loans(
                ("L-1", "overdue", "special_mention", 3, 1_000_000, "external", "E-01"),
                ("L-2", "overdue", "special_mention", 32, 500_000, "insider", "E-02"),
                ("L-3", "visit", "doubtful", 280, 2_900_000, "relationship", "E-01"),
                ("L-4", "closed", "loss", 0, 0, "external", "E-03"),
                ("L-5", "installment", "substandard", 0, 2_600_000, "insider_introduced", "E-02"),
                ("L-6", "closed", "normal", 0, 0, "insider", "E-02"),
                ("L-7", "internal_review", "loss", 365, 4_000_000, "insider", "E-04"),
                ("L-8", "overdue", "special_mention", 1, 800_000, "external", "E-01"),
            ),
            matrix(
                normal__special_mention=1,
                special_mention__special_mention=1,
                substandard__doubtful=1,
                substandard__substandard=1,
                loss__exited=1,
                doubtful__loss=1,
                new__special_mention=1,
            ),
            id="book",
        ),
    ],
)
def test_migration_matrix_counts_moves_new_and_exited(
    before: pd.DataFrame, after: pd.DataFrame, expected: list[tuple]
) -> None:
    result = migration_matrix(before, after)
    assert list(result.columns) == MATRIX_COLUMNS
    assert rows(result) == expected
    assert all(result[c].dtype == "int64" for c in MATRIX_COLUMNS[1:])


# --- roll_rates -------------------------------------------------------------------------------

JAN, FEB, MAR, APR = date(2008, 1, 31), date(2008, 2, 29), date(2008, 3, 31), date(2008, 4, 30)


def snapshots(*rows_: tuple) -> pd.DataFrame:
    """(month_end, loan_id, dpd, balance_fen) rows."""
    return pd.DataFrame(list(rows_), columns=list(portfolio.SNAPSHOT_COLUMNS)).astype(
        {"dpd": "int64", "balance_fen": "int64"}
    )


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(snapshots(), [], id="empty"),
        pytest.param(snapshots((JAN, "A", 0, 1000)), [], id="single-one-month"),
        pytest.param(
            snapshots((JAN, "A", 0, 1000), (FEB, "A", 29, 1000)),
            [(FEB, "0", "1-30", 1, 1000, Decimal("1.0000"))],
            id="single-rolls",
        ),
        pytest.param(snapshots((JAN, "A", 45, 1000), (FEB, "A", 0, 1000)), [], id="single-cures"),
        pytest.param(
            snapshots(
                (JAN, "A", 0, 1000),
                (JAN, "B", 0, 3000),  # paid off: leaves the book, stays in the denominator
                (JAN, "C", 20, 500),
                (JAN, "D", 25, 1500),
                (JAN, "E", 10, 2000),
                (FEB, "A", 31, 1100),  # rolls two buckets; counted at January's balance
                (FEB, "C", 50, 500),
                (FEB, "D", 5, 1500),  # stays in 1-30
                (FEB, "E", 0, 0),  # cured
                (MAR, "A", 60, 1100),
                (MAR, "C", 95, 500),
            ),
            [
                (FEB, "0", "31-90", 1, 1000, Decimal("0.2500")),
                (FEB, "1-30", "31-90", 1, 500, Decimal("0.1250")),
                (MAR, "31-90", "91-180", 1, 500, Decimal("0.3125")),
            ],
            id="book",
        ),
        pytest.param(
            snapshots((JAN, "A", 0, 300), (JAN, "B", 0, 600), (APR, "A", 100, 300), (APR, "B", 200, 600)),
            [
                (APR, "0", "91-180", 1, 300, Decimal("0.3333")),
                (APR, "0", "181-270", 1, 600, Decimal("0.6667")),
            ],
            id="gap-pairs-the-months-present",
        ),
    ],
)
def test_roll_rates_share_of_bucket_balance_rolling_worse(frame: pd.DataFrame, expected: list[tuple]) -> None:
    result = roll_rates(frame)
    assert list(result.columns) == ["month", "from_bucket", "to_bucket", "count", "balance_fen", "rate"]
    assert rows(result) == expected
    assert result["balance_fen"].dtype == "int64"


def test_roll_rates_accepts_timestamps_for_month_ends() -> None:
    frame = snapshots((pd.Timestamp(JAN), "A", 0, 10), (pd.Timestamp(FEB), "A", 400, 10))
    assert rows(roll_rates(frame)) == [(FEB, "0", ">360", 1, 10, Decimal("1.0000"))]


# --- recoveries -------------------------------------------------------------------------------


def payments(*rows_: tuple) -> pd.DataFrame:
    """(loan_id, paid_on, amount_fen, payer, state_at_payment) rows."""
    return pd.DataFrame(list(rows_), columns=list(portfolio.PAYMENT_COLUMNS)).astype({"amount_fen": "int64"})


NO_PAYMENTS = payments()
# The seed's Wang case: 290,000 yuan paid off by the borrower after the home visit.
ONE_PAYMENT = payments(("L-W", date(2008, 8, 30), 29_000_000, "borrower", "visit"))
PAYMENTS = payments(
    ("L-1", date(2008, 1, 5), 10_000, "borrower", "overdue"),
    ("L-2", date(2008, 1, 20), 20_000, "borrower", "internal_review"),
    ("L-3", date(2008, 3, 1), 4_900_000, "guarantor:Zhang", "guarantor_pressure"),
    ("L-4", date(2008, 3, 15), 27_000_000, "court", "litigation"),
    ("L-5", date(2008, 3, 16), 150_000, "borrower", "installment"),
    ("L-5", date(2008, 4, 16), 150_000, "guarantor:Li", "installment"),
    ("L-6", date(2008, 4, 30), 88, "borrower", "revitalization"),
    ("L-7", date(2008, 4, 30), 1, "borrower", "performing"),
    ("L-8", date(2008, 4, 30), 2, "court", "closed"),
)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(NO_PAYMENTS, zeros(portfolio.STRATEGIES), id="empty"),
        pytest.param(ONE_PAYMENT, zeros(portfolio.STRATEGIES, visit=(1, 29_000_000)), id="single"),
        pytest.param(
            PAYMENTS,
            [
                ("early", 4, 30_003),
                ("visit", 0, 0),
                ("guarantor", 1, 4_900_000),
                ("court", 1, 27_000_000),
                ("installment", 2, 300_000),
                ("revitalization", 1, 88),
            ],
            id="book",
        ),
    ],
)
def test_recoveries_by_strategy_follow_the_state_the_money_came_in_under(
    frame: pd.DataFrame, expected: list[tuple]
) -> None:
    result = recoveries_by_strategy(frame)
    assert list(result.columns) == ["strategy", "count", "amount_fen"]
    assert rows(result) == expected


@pytest.mark.parametrize(
    ("state", "strategy"),
    [
        ("performing", "early"),
        ("overdue", "early"),
        ("internal_review", "early"),
        ("visit", "visit"),
        ("guarantor_pressure", "guarantor"),
        ("litigation", "court"),
        ("installment", "installment"),
        ("revitalization", "revitalization"),
        ("closed", "early"),
    ],
)
def test_each_state_maps_to_its_strategy(state: str, strategy: str) -> None:
    frame = payments(("L-1", date(2008, 1, 1), 5, "borrower", state))
    assert rows(recoveries_by_strategy(frame)) == zeros(portfolio.STRATEGIES, **{strategy: (1, 5)})


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(NO_PAYMENTS, zeros(portfolio.PAYERS), id="empty"),
        pytest.param(ONE_PAYMENT, zeros(portfolio.PAYERS, borrower=(1, 29_000_000)), id="single"),
        pytest.param(
            PAYMENTS,
            [("borrower", 5, 180_089), ("guarantor", 2, 5_050_000), ("court", 2, 27_000_002)],
            id="book",
        ),
    ],
)
def test_recoveries_by_payer_groups_guarantors_together(frame: pd.DataFrame, expected: list[tuple]) -> None:
    result = recoveries_by_payer(frame)
    assert list(result.columns) == ["payer", "count", "amount_fen"]
    assert rows(result) == expected


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(NO_PAYMENTS, [(s, 0, 0, 0, 0, 0) for s in portfolio.STRATEGIES], id="empty"),
        pytest.param(
            PAYMENTS,
            [
                ("early", 4, 30_003, 30_001, 0, 2),
                ("visit", 0, 0, 0, 0, 0),
                ("guarantor", 1, 4_900_000, 0, 4_900_000, 0),
                ("court", 1, 27_000_000, 0, 0, 27_000_000),
                ("installment", 2, 300_000, 150_000, 150_000, 0),
                ("revitalization", 1, 88, 88, 0, 0),
            ],
            id="book",
        ),
    ],
)
def test_recoveries_cross_strategy_and_payer(frame: pd.DataFrame, expected: list[tuple]) -> None:
    result = recoveries(frame)
    assert list(result.columns) == ["strategy", "count", "amount_fen", "borrower_fen", "guarantor_fen", "court_fen"]
    assert rows(result) == expected


MONTH_COLUMNS = ["month", "count", "amount_fen"] + [f"{s}_fen" for s in portfolio.STRATEGIES]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(NO_PAYMENTS, [], id="empty"),
        pytest.param(ONE_PAYMENT, [("2008-08", 1, 29_000_000, 0, 29_000_000, 0, 0, 0, 0)], id="single"),
        pytest.param(
            PAYMENTS,
            [
                ("2008-01", 2, 30_000, 30_000, 0, 0, 0, 0, 0),
                ("2008-02", 0, 0, 0, 0, 0, 0, 0, 0),  # no payments: the month is still there
                ("2008-03", 3, 32_050_000, 0, 0, 4_900_000, 27_000_000, 150_000, 0),
                ("2008-04", 4, 150_091, 3, 0, 0, 0, 150_000, 88),
            ],
            id="book",
        ),
    ],
)
def test_recoveries_by_month_without_gaps(frame: pd.DataFrame, expected: list[tuple]) -> None:
    result = recoveries_by_month(frame)
    assert list(result.columns) == MONTH_COLUMNS
    assert rows(result) == expected
    assert all(result[c].dtype == "int64" for c in MONTH_COLUMNS[1:])


def test_recoveries_refuse_an_unknown_payer() -> None:
    with pytest.raises(ValueError, match="unknown payer: bank"):
        recoveries_by_payer(payments(("L-1", date(2008, 1, 1), 5, "bank", "visit")))


# --- officer_accountability -------------------------------------------------------------------


def officers(*rows_: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows_), columns=list(portfolio.OFFICER_COLUMNS))


NO_OFFICERS = officers()
OFFICERS = officers(("E-01", None), ("E-02", date(2008, 10, 1)), ("E-04", None))


@pytest.mark.parametrize(
    ("book", "staff", "expected"),
    [
        pytest.param(EMPTY, NO_OFFICERS, [], id="empty"),
        pytest.param(SINGLE, OFFICERS, [], id="single-external"),
        pytest.param(
            loans(("L-1", "visit", "substandard", 100, 4_700_000, "insider", "E-02")),
            OFFICERS,
            [("E-02", 1, 4_700_000, 90, date(2008, 10, 1))],
            id="single-insider-suspended",
        ),
        pytest.param(
            BOOK,
            OFFICERS,
            [
                ("E-04", 1, 4_000_000, 90, None),
                ("E-02", 2, 3_400_000, 90, date(2008, 10, 1)),  # L-2 and L-5; the closed L-6 is not
            ],
            id="book",
        ),
    ],
)
def test_officer_accountability_lists_open_insider_loans_per_employee(
    book: pd.DataFrame, staff: pd.DataFrame, expected: list[tuple]
) -> None:
    result = officer_accountability(book, staff, 90)
    assert list(result.columns) == ["officer_id", "cases", "balance_fen", "time_limit_days", "suspended_since"]
    assert rows(result) == expected


def test_officer_accountability_reads_suspension_timestamps_as_dates() -> None:
    staff = pd.DataFrame({"officer_id": ["E-02"], "suspended_since": pd.to_datetime(["2008-10-01"])})
    result = officer_accountability(loans(("L-1", "visit", "normal", 0, 1, "insider", "E-02")), staff, 30)
    assert rows(result) == [("E-02", 1, 1, 30, date(2008, 10, 1))]


# --- deadlines_at_risk ------------------------------------------------------------------------


def deadlines(*rows_: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows_), columns=list(portfolio.DEADLINE_COLUMNS))


AS_OF = date(2008, 12, 1)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(deadlines(), [], id="empty"),
        pytest.param(
            deadlines(("L-Y", "guarantee_period", date(2008, 12, 30), date(2008, 11, 30))),
            [("L-Y", "guarantee_period", date(2008, 12, 30), date(2008, 11, 30), 29)],
            id="single-inside-lead",
        ),
        pytest.param(
            deadlines(("L-Y", "guarantee_period", date(2008, 12, 31), date(2008, 12, 1))),
            [("L-Y", "guarantee_period", date(2008, 12, 31), date(2008, 12, 1), 30)],
            id="single-on-lead-date",
        ),
        pytest.param(
            deadlines(("L-Y", "guarantee_period", date(2009, 1, 1), date(2008, 12, 2))), [], id="single-before-lead"
        ),
        pytest.param(
            deadlines(
                ("L-3", "limitation", date(2011, 6, 30), date(2011, 5, 1)),
                ("L-2", "enforcement_application", date(2009, 1, 20), date(2008, 11, 21)),
                ("L-1", "guarantee_period", date(2008, 12, 30), date(2008, 11, 30)),
                ("L-9", "guarantee_period", date(2008, 11, 20), date(2008, 10, 21)),
                ("L-0", "limitation", date(2008, 12, 30), date(2008, 10, 31)),
            ),
            [
                ("L-9", "guarantee_period", date(2008, 11, 20), date(2008, 10, 21), -11),  # lapsed: kept
                ("L-0", "limitation", date(2008, 12, 30), date(2008, 10, 31), 29),
                ("L-1", "guarantee_period", date(2008, 12, 30), date(2008, 11, 30), 29),
                ("L-2", "enforcement_application", date(2009, 1, 20), date(2008, 11, 21), 50),
            ],
            id="book",
        ),
    ],
)
def test_deadlines_at_risk_are_those_whose_lead_date_has_come(frame: pd.DataFrame, expected: list[tuple]) -> None:
    result = deadlines_at_risk(frame, AS_OF)
    assert list(result.columns) == ["loan_id", "clock", "date", "lead_date", "days_left"]
    assert rows(result) == expected


# --- shared conventions -----------------------------------------------------------------------


@pytest.mark.parametrize("book", [EMPTY, SINGLE, BOOK], ids=["empty", "single", "book"])
@pytest.mark.parametrize("report", [by_state, by_classification, aging])
def test_money_stays_integer_fen(report, book: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    result = report(book)
    assert result["balance_fen"].dtype == "int64"
    assert result["count"].dtype == "int64"


@pytest.mark.parametrize("book", [EMPTY, SINGLE, BOOK], ids=["empty", "single", "book"])
def test_by_state_total_reconciles_with_the_book(book: pd.DataFrame) -> None:
    result = by_state(book)
    assert int(result["balance_fen"].sum()) == int(book["balance_fen"].sum())
    assert int(result["count"].sum()) == len(book)


def test_a_frame_without_columns_counts_as_an_empty_book() -> None:
    assert rows(by_state(pd.DataFrame())) == zeros(portfolio.STATES)
    assert npl_ratio(pd.DataFrame()) == Decimal("0")


def test_a_frame_with_rows_but_missing_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        by_state(pd.DataFrame({"state": ["visit"]}))


def test_money_with_fractions_of_a_fen_is_refused() -> None:
    book = SINGLE.astype({"balance_fen": "float64"})
    book.loc[0, "balance_fen"] = 0.5
    with pytest.raises(ValueError, match="fractions of a fen"):
        by_state(book)


def test_reports_do_not_modify_their_input() -> None:
    before = BOOK.copy(deep=True)
    for report in (by_state, by_classification, aging, npl_ratio):
        report(BOOK)
    migration_matrix(BOOK, BOOK)
    officer_accountability(BOOK, OFFICERS, 90)
    pd.testing.assert_frame_equal(BOOK, before)


def test_migration_matrix_refuses_a_loan_listed_twice() -> None:
    with pytest.raises(ValueError, match="before frame lists a loan more than once"):
        migration_matrix(pd.concat([SINGLE, SINGLE]), SINGLE)


def test_migration_matrix_without_state_column_takes_every_row_as_open() -> None:
    before = pd.DataFrame({"loan_id": ["A", "B"], "classification": ["normal", "loss"]})
    after = pd.DataFrame({"loan_id": ["B", "C"], "classification": ["loss", "doubtful"]})
    assert rows(migration_matrix(before, after)) == matrix(normal__exited=1, loss__loss=1, new__doubtful=1)


def test_money_as_decimal_objects_must_be_whole_fen() -> None:
    book = SINGLE.astype({"balance_fen": "object"})
    book.loc[0, "balance_fen"] = Decimal("4900000")
    assert rows(by_state(book))[4] == ("guarantor_pressure", 1, 4_900_000)
    book.loc[0, "balance_fen"] = Decimal("4900000.5")
    with pytest.raises(ValueError, match="fractions of a fen"):
        by_state(book)
