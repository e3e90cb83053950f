"""Portfolio reports: pure pandas, DataFrame in, DataFrame out.

No database, no Prefect, no I/O: the report service reads frames from the store and hands them
here; the caller formats. Money is integer fen in ``*_fen`` int64 columns on the way in and on
the way out (never floats); ratios are ``Decimal`` quantized to 0.0001. Every function accepts
an empty frame (with its columns) and returns its usual shape, with zero rows where the output
has a fixed set of rows (states, categories, buckets, strategies, payers).

Input frames:

- loans: ``loan_id, state, closed_reason, classification, dpd, balance_fen, principal_fen,
  interest_fen, penalty_fen, costs_fen, origin, assigned_to, product`` (``balance_fen`` is the
  total owed).
- snapshots: ``month_end, loan_id, dpd, balance_fen`` (one row per loan per month end).
- payments: ``loan_id, paid_on, amount_fen, payer, state_at_payment`` (``payer`` is
  ``borrower``, ``guarantor`` or ``guarantor:NAME``, or ``court``).
- officers: ``officer_id, suspended_since``.
- deadlines: ``loan_id, clock, date, lead_date``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from models.domain.classification import Category

# --- fixed orders -----------------------------------------------------------------------------

STATES: tuple[str, ...] = (
    "performing",
    "overdue",
    "internal_review",
    "visit",
    "guarantor_pressure",
    "litigation",
    "installment",
    "revitalization",
    "closed",
)
CLOSED = "closed"
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)  # normal ... loss, best first
NON_PERFORMING: tuple[str, ...] = tuple(c.value for c in Category if c.non_performing)

# (bucket label, highest dpd in it); the last bucket is open-ended.
AGING_BUCKETS: tuple[str, ...] = ("0", "1-30", "31-90", "91-180", "181-270", "271-360", ">360")
_AGING_UPPER: tuple[float, ...] = (0, 30, 90, 180, 270, 360, float("inf"))

STRATEGIES: tuple[str, ...] = ("early", "visit", "guarantor", "court", "installment", "revitalization")
STRATEGY_OF_STATE: dict[str, str] = {
    "performing": "early",
    "overdue": "early",
    "internal_review": "early",
    "visit": "visit",
    "guarantor_pressure": "guarantor",
    "litigation": "court",
    "installment": "installment",
    "revitalization": "revitalization",
    "closed": "early",
}
PAYERS: tuple[str, ...] = ("borrower", "guarantor", "court")
INSIDER_ORIGINS: tuple[str, ...] = ("insider", "insider_introduced")

MIGRATION_NEW = "new"  # row: loans in ``after`` but not (open) in ``before``
MIGRATION_EXITED = "exited"  # column: loans open in ``before`` but not (open) in ``after``

LOAN_COLUMNS: tuple[str, ...] = (
    "loan_id",
    "state",
    "closed_reason",
    "classification",
    "dpd",
    "balance_fen",
    "principal_fen",
    "interest_fen",
    "penalty_fen",
    "costs_fen",
    "origin",
    "assigned_to",
    "product",
)
SNAPSHOT_COLUMNS: tuple[str, ...] = ("month_end", "loan_id", "dpd", "balance_fen")
PAYMENT_COLUMNS: tuple[str, ...] = ("loan_id", "paid_on", "amount_fen", "payer", "state_at_payment")
OFFICER_COLUMNS: tuple[str, ...] = ("officer_id", "suspended_since")
DEADLINE_COLUMNS: tuple[str, ...] = ("loan_id", "clock", "date", "lead_date")

RATIO_PLACES = Decimal("0.0001")


# --- helpers ----------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> pd.DataFrame:
    """The frame, checked for the columns a report reads.

    A frame with no rows and no columns at all (``pd.DataFrame()``) is taken as an empty frame of
    the right shape; a frame with rows but missing columns is a caller's bug: ValueError.
    """
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return frame
    if frame.empty and len(frame.columns) == 0:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    raise ValueError(f"{what} frame lacks column(s): {', '.join(missing)}")


def _fen(series: pd.Series) -> pd.Series:
    """Integer fen as int64 (refuses floats with fractions, which would mean money went float)."""
    if series.empty:
        return series.astype("int64")
    if series.isna().any():
        raise ValueError(f"{series.name} has missing amounts")
    if pd.api.types.is_float_dtype(series):
        if not (series == series.round()).all():
            raise ValueError(f"{series.name} holds fractions of a fen; money must be integer fen")
    elif series.dtype == object and not all(int(v) == v for v in series):  # e.g. Decimal, int mix
        raise ValueError(f"{series.name} holds fractions of a fen; money must be integer fen")
    return series.astype("int64")


def _codes(values: pd.Series, known: Sequence[str], what: str) -> np.ndarray:
    """Position of each value in ``known`` (int64); ValueError naming unknown or missing values."""
    codes = pd.Index(list(known), dtype=object).get_indexer(values.to_numpy(dtype=object)).astype("int64")
    bad = codes < 0
    if bad.any():
        strays = values.to_numpy(dtype=object)[bad]
        unknown = sorted({str(v) for v in strays if not pd.isna(v)})
        if unknown:
            raise ValueError(f"unknown {what}: {', '.join(unknown)}")
        raise ValueError(f"{what} is missing on some rows")
    return codes


def _tally_codes(
    codes: np.ndarray,
    amounts: pd.Series,
    order: Sequence[str],
    key_name: str,
    amount_name: str = "balance_fen",
) -> pd.DataFrame:
    """Count and exact integer total per code, one row per entry of ``order`` (zeros included)."""
    size = len(order)
    fen = _fen(amounts).to_numpy(dtype="int64")
    counts = np.bincount(codes, minlength=size)[:size].astype("int64")
    sums = np.zeros(size, dtype="int64")
    if len(codes):
        totals = pd.Series(fen).groupby(codes).sum()  # int64 sums: exact, unlike bincount weights
        sums[totals.index.to_numpy()] = totals.to_numpy(dtype="int64")
    return pd.DataFrame(
        {key_name: pd.Series(list(order), dtype="str"), "count": counts, amount_name: sums}
    )


def _tally(
    keys: pd.Series,
    amounts: pd.Series,
    order: Sequence[str],
    key_name: str,
    amount_name: str = "balance_fen",
) -> pd.DataFrame:
    """Count and total per key, one row per key of ``order`` (zero rows included), in that order."""
    return _tally_codes(_codes(keys, order, key_name), amounts, order, key_name, amount_name)


def _ratio(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0")
    return (Decimal(int(part)) / Decimal(int(whole))).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def _to_timestamps(series: pd.Series) -> pd.Series:
    """Dates (``date``, ISO text, Timestamps) as datetime64, normalized to midnight.

    Distinct values are converted once (a book has far fewer distinct dates than rows).
    """
    if series.empty:
        return pd.Series([], dtype="datetime64[ns]", index=series.index)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.normalize()
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    converted = pd.to_datetime(pd.Series(uniques, dtype=object)).dt.normalize().to_numpy()
    values = np.full(len(codes), np.datetime64("NaT"), dtype=converted.dtype)
    present = codes >= 0
    values[present] = converted[codes[present]]
    return pd.Series(values, index=series.index)


def _to_dates(series: pd.Series) -> pd.Series:
    """datetime64 as an object column of ``datetime.date`` (None where missing)."""
    if series.empty:
        return pd.Series([], dtype="object", index=series.index)
    return pd.Series(
        [None if pd.isna(v) else v.date() for v in series], index=series.index, dtype="object"
    )


def _open_loans(loans: pd.DataFrame) -> pd.DataFrame:
    return loans[loans["state"] != CLOSED]


def _aging_codes(dpd: pd.Series) -> np.ndarray:
    """Index into AGING_BUCKETS of each days-past-due value (negative counts as 0)."""
    if dpd.isna().any():
        raise ValueError("dpd is missing on some rows")
    days = dpd.to_numpy(dtype="int64")
    return np.searchsorted(np.asarray(_AGING_UPPER), days, side="left").astype("int64")


def aging_bucket(dpd: pd.Series) -> pd.Series:
    """The aging bucket label of each days-past-due value (negative counts as 0)."""
    labels = np.asarray(AGING_BUCKETS, dtype=object)[_aging_codes(dpd)]
    return pd.Series(labels, index=dpd.index, dtype="str")


# --- the reports ------------------------------------------------------------------------------


def by_state(loans: pd.DataFrame) -> pd.DataFrame:
    """[state, count, balance_fen] for all nine states in ladder order, empty states as zeros."""
    loans = _require(loans, ("state", "balance_fen"), "loans")
    return _tally(loans["state"], loans["balance_fen"], STATES, "state")


def by_classification(loans: pd.DataFrame) -> pd.DataFrame:
    """[classification, count, balance_fen, principal_fen, interest_fen] over open loans, best
    category first, zeros included. Amounts by classification are principal (issue 15 rule 7);
    interest receivable in its own column; the total balance is kept for the old readers."""
    loans = _require(loans, ("state", "classification", "balance_fen"), "loans")
    open_ = _open_loans(loans)
    table = _tally(open_["classification"], open_["balance_fen"], CATEGORIES, "classification")
    codes = _codes(open_["classification"], CATEGORIES, "classification")
    for column in ("principal_fen", "interest_fen"):
        amounts = open_[column] if column in open_ else pd.Series(0, index=open_.index, dtype="int64")
        table[column] = _tally_codes(codes, amounts, CATEGORIES, "classification", column)[column]
    return table


def npl_ratio(loans: pd.DataFrame) -> Decimal:
    """Principal of substandard + doubtful + loss loans over the principal of all open loans
    (0.0001; issue 15 rule 7: interest receivable counts in neither sum; the 2023 measures Art. 6
    name the three categories together as non-performing).

    ``Decimal("0")`` for an empty book or a book whose open loans owe no principal.
    """
    table = by_classification(loans)
    total = int(table["principal_fen"].sum())
    npl = int(table.loc[table["classification"].isin(NON_PERFORMING), "principal_fen"].sum())
    return _ratio(npl, total)


def aging(loans: pd.DataFrame) -> pd.DataFrame:
    """[bucket, count, balance_fen] of open loans by days past due, buckets in fixed order.

    Buckets: "0", "1-30", "31-90", "91-180", "181-270", "271-360", ">360" (closed loans are
    left out: they no longer age).
    """
    loans = _require(loans, ("state", "dpd", "balance_fen"), "loans")
    open_ = _open_loans(loans)
    return _tally_codes(_aging_codes(open_["dpd"]), open_["balance_fen"], AGING_BUCKETS, "bucket")


def migration_matrix(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Counts of loans moving between the five categories from ``before`` to ``after``.

    One row per category of ``before`` (column ``from``) plus a row ``new`` for loans open in
    ``after`` but not in ``before``; one column per category of ``after`` plus ``exited`` for
    loans open in ``before`` that are closed or gone in ``after``. Only open loans take part
    (when a frame has a ``state`` column, ``closed`` rows count as absent). ``new``/``exited``
    is always 0.
    """
    new_row = exited_column = len(CATEGORIES)
    sides: list[tuple[np.ndarray, np.ndarray]] = []  # (loan ids, category codes), open loans only
    for frame, name in ((before, "before"), (after, "after")):
        frame = _require(frame, ("loan_id", "classification"), name)
        if "state" in frame.columns:
            frame = _open_loans(frame)
        codes = _codes(frame["classification"], CATEGORIES, f"classification in {name}")
        sides.append((frame["loan_id"].to_numpy(dtype=object), codes))
    (old_ids, old_codes), (new_ids, new_codes) = sides
    # One hashing pass over the ids; the rest is integer arithmetic.
    keys, uniques = pd.factorize(np.concatenate([old_ids, new_ids]))
    old_keys, new_keys = keys[: len(old_ids)], keys[len(old_ids) :]
    for side_keys, name in ((old_keys, "before"), (new_keys, "after")):
        if len(side_keys) and np.bincount(side_keys).max() > 1:
            raise ValueError(f"{name} frame lists a loan more than once")
    later = np.full(len(uniques), exited_column, dtype="int64")
    later[new_keys] = new_codes
    was_open = np.zeros(len(uniques), dtype=bool)
    was_open[old_keys] = True
    newcomers = new_codes[~was_open[new_keys]]
    size = len(CATEGORIES) + 1
    pairs = np.concatenate([old_codes * size + later[old_keys], new_row * size + newcomers])
    counts = np.bincount(pairs.astype("int64"), minlength=size * size).reshape(size, size)
    rows = list(CATEGORIES) + [MIGRATION_NEW]
    columns = list(CATEGORIES) + [MIGRATION_EXITED]
    result = pd.DataFrame(counts.astype("int64"), columns=columns)
    result.insert(0, "from", pd.Series(rows, dtype="str"))
    return result


def roll_rates(snapshots: pd.DataFrame) -> pd.DataFrame:
    """[month, from_bucket, to_bucket, count, balance_fen, rate]: balance that rolled worse.

    For each pair of consecutive month ends in ``snapshots`` (consecutive as present in the
    frame), every loan is placed in its aging bucket at the earlier month end and at the later
    one. A row says how many loans (``count``) and how much of their earlier balance
    (``balance_fen``) moved from ``from_bucket`` to the worse ``to_bucket``; ``rate`` is that
    balance over the whole balance of ``from_bucket`` at the earlier month end (Decimal,
    0.0001). ``month`` is the later month end (the month in which the roll happened). Loans that
    improve, stay, or leave the book count in the denominator only. Only non-empty worse moves
    are listed, sorted by month, then bucket order.
    """
    columns = ["month", "from_bucket", "to_bucket", "count", "balance_fen", "rate"]
    snapshots = _require(snapshots, SNAPSHOT_COLUMNS, "snapshots")
    empty = pd.DataFrame(
        {
            "month": pd.Series([], dtype="object"),
            "from_bucket": pd.Series([], dtype="str"),
            "to_bucket": pd.Series([], dtype="str"),
            "count": pd.Series([], dtype="int64"),
            "balance_fen": pd.Series([], dtype="int64"),
            "rate": pd.Series([], dtype="object"),
        }
    )
    if snapshots.empty:
        return empty
    frame = pd.DataFrame(
        {
            "month_end": _to_timestamps(snapshots["month_end"]).to_numpy(),
            "loan_id": snapshots["loan_id"].astype(object).to_numpy(),
            "rank": _aging_codes(snapshots["dpd"]),
            "balance_fen": _fen(snapshots["balance_fen"]).to_numpy(),
        }
    )
    if frame.duplicated(["month_end", "loan_id"]).any():
        raise ValueError("snapshots list a loan more than once in a month")
    months = sorted(frame["month_end"].unique())
    if len(months) < 2:
        return empty
    following = dict(zip(months[:-1], months[1:]))
    earlier = frame[frame["month_end"].isin(following.keys())].copy()
    earlier["month"] = earlier["month_end"].map(following)
    later = frame.rename(columns={"month_end": "month", "rank": "rank_to"})[["month", "loan_id", "rank_to"]]
    pairs = earlier.merge(later, on=["month", "loan_id"], how="left")
    denominators = pairs.groupby(["month", "rank"])["balance_fen"].sum()
    worse = pairs[pairs["rank_to"].notna() & (pairs["rank_to"] > pairs["rank"])].copy()
    if worse.empty:
        return empty
    worse["rank_to"] = worse["rank_to"].astype("int64")
    moved = (
        worse.groupby(["month", "rank", "rank_to"])["balance_fen"]
        .agg(["count", "sum"])
        .reset_index()
        .sort_values(["month", "rank", "rank_to"], kind="stable")
    )
    rates = [
        _ratio(int(s), int(denominators.loc[(m, r)]))
        for m, r, s in zip(moved["month"], moved["rank"], moved["sum"])
    ]
    result = pd.DataFrame(
        {
            "month": _to_dates(moved["month"]).to_numpy(),
            "from_bucket": pd.Series([AGING_BUCKETS[int(r)] for r in moved["rank"]], dtype="str").to_numpy(),
            "to_bucket": pd.Series([AGING_BUCKETS[int(r)] for r in moved["rank_to"]], dtype="str").to_numpy(),
            "count": moved["count"].to_numpy(dtype="int64"),
            "balance_fen": moved["sum"].to_numpy(dtype="int64"),
            "rate": pd.Series(rates, dtype="object").to_numpy(),
        }
    )
    result = result.astype({"month": "object", "from_bucket": "str", "to_bucket": "str", "rate": "object"})
    return result[columns].reset_index(drop=True)


_STRATEGY_CODE_OF_STATE = np.array([STRATEGIES.index(STRATEGY_OF_STATE[s]) for s in STATES], dtype="int64")


def _payer_codes(payer: pd.Series) -> np.ndarray:
    """Index into PAYERS of each payer; ``guarantor:NAME`` (the CLI's form) is ``guarantor``."""
    keys, uniques = pd.factorize(payer.to_numpy(dtype=object), use_na_sentinel=True)
    if (keys < 0).any():
        raise ValueError("payer is missing on some rows")
    kinds = pd.Series([str(u).split(":", 1)[0].strip() for u in uniques], dtype=object)
    return _codes(kinds, PAYERS, "payer")[keys] if len(keys) else np.zeros(0, dtype="int64")


def _payments(payments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(strategy codes, payer codes, amounts) of a payments frame, validated."""
    payments = _require(payments, PAYMENT_COLUMNS, "payments")
    states = _codes(payments["state_at_payment"], STATES, "state_at_payment")
    return _STRATEGY_CODE_OF_STATE[states], _payer_codes(payments["payer"]), _fen(payments["amount_fen"])


def recoveries_by_strategy(payments: pd.DataFrame) -> pd.DataFrame:
    """[strategy, count, amount_fen]: money recovered by the strategy (state) it came in under.

    Strategies in fixed order: early (performing, overdue, internal_review, closed), visit,
    guarantor (guarantor_pressure), court (litigation), installment, revitalization.
    """
    strategy, _, amounts = _payments(payments)
    return _tally_codes(strategy, amounts, STRATEGIES, "strategy", "amount_fen")


def recoveries_by_payer(payments: pd.DataFrame) -> pd.DataFrame:
    """[payer, count, amount_fen]: money recovered from the borrower, guarantors and courts."""
    _, payer, amounts = _payments(payments)
    return _tally_codes(payer, amounts, PAYERS, "payer", "amount_fen")


def recoveries(payments: pd.DataFrame) -> pd.DataFrame:
    """Strategy × payer: [strategy, count, amount_fen, borrower_fen, guarantor_fen, court_fen]."""
    strategy, payer, amounts = _payments(payments)
    table = _tally_codes(strategy, amounts, STRATEGIES, "strategy", "amount_fen")
    for code, name in enumerate(PAYERS):
        mine = payer == code
        part = _tally_codes(strategy[mine], amounts[mine], STRATEGIES, "strategy", "amount_fen")
        table[f"{name}_fen"] = part["amount_fen"].to_numpy(dtype="int64")
    return table


def recoveries_by_month(payments: pd.DataFrame) -> pd.DataFrame:
    """[month, count, amount_fen, <strategy>_fen...] per calendar month ("YYYY-MM").

    Months run without gaps from the first payment's month to the last one's (months without
    payments are zero rows); one ``<strategy>_fen`` column per strategy (for a stacked chart).
    """
    strategy, _, amounts = _payments(payments)
    strategy_columns = [f"{s}_fen" for s in STRATEGIES]
    if not len(amounts):
        return pd.DataFrame(
            {"month": pd.Series([], dtype="str"), "count": pd.Series([], dtype="int64"),
             "amount_fen": pd.Series([], dtype="int64")}
            | {c: pd.Series([], dtype="int64") for c in strategy_columns}
        )
    paid_on = _to_timestamps(payments["paid_on"])
    if paid_on.isna().any():
        raise ValueError("paid_on is missing on some rows")
    period = paid_on.dt.to_period("M")
    months = pd.period_range(period.min(), period.max(), freq="M")
    frame = pd.DataFrame(
        {"period": period.to_numpy(), "strategy": strategy, "amount_fen": amounts.to_numpy(dtype="int64")}
    )
    totals = frame.groupby("period")["amount_fen"].agg(["count", "sum"]).reindex(months, fill_value=0)
    by_strategy = (
        frame.groupby(["period", "strategy"])["amount_fen"]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=months, columns=range(len(STRATEGIES)), fill_value=0)
    )
    result = pd.DataFrame(
        {
            "month": pd.Series([str(m) for m in months], dtype="str"),
            "count": totals["count"].to_numpy(dtype="int64"),
            "amount_fen": totals["sum"].to_numpy(dtype="int64"),
        }
    )
    for code, name in enumerate(STRATEGIES):
        result[f"{name}_fen"] = by_strategy[code].to_numpy(dtype="int64")
    return result


def officer_accountability(loans: pd.DataFrame, officers: pd.DataFrame, limit_days: int) -> pd.DataFrame:
    """[officer_id, cases, balance_fen, time_limit_days, suspended_since] (strategy 1).

    Open insider and insider-introduced loans per responsible employee (``assigned_to``), with
    the time limit they were given and the date they were suspended from normal duties (None
    when not suspended). Largest balance first, then officer id. Loans with no one assigned
    are listed under officer_id None.
    """
    loans = _require(loans, ("state", "origin", "assigned_to", "balance_fen"), "loans")
    officers = _require(officers, OFFICER_COLUMNS, "officers")
    mine = _open_loans(loans)
    mine = mine[mine["origin"].isin(INSIDER_ORIGINS)]
    grouped = (
        pd.DataFrame(
            {"officer_id": mine["assigned_to"].astype(object).to_numpy(), "amount": _fen(mine["balance_fen"]).to_numpy()}
        )
        .groupby("officer_id", dropna=False, sort=False)["amount"]
        .agg(["count", "sum"])
        .reset_index()
    )
    suspended = dict(
        zip(officers["officer_id"].astype(object), _to_dates(_to_timestamps(officers["suspended_since"])))
    )
    ids = [None if pd.isna(o) else o for o in grouped["officer_id"]]
    result = pd.DataFrame(
        {
            "officer_id": pd.Series(ids, dtype="str"),
            "cases": grouped["count"].to_numpy(dtype="int64"),
            "balance_fen": grouped["sum"].to_numpy(dtype="int64"),
            "time_limit_days": pd.Series([int(limit_days)] * len(ids), dtype="int64"),
            "suspended_since": pd.Series([suspended.get(o) for o in ids], dtype="object"),
        }
    )
    order = sorted(range(len(result)), key=lambda i: (-int(result["balance_fen"].iat[i]), ids[i] is None, str(ids[i])))
    return result.iloc[order].reset_index(drop=True)


def deadlines_at_risk(deadlines: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """[loan_id, clock, date, lead_date, days_left]: deadlines whose lead date has come.

    Rows with ``lead_date <= as_of`` (lapsed deadlines included: ``days_left`` is then
    negative), soonest first, then loan and clock. Dates come back as ``datetime.date``.
    """
    deadlines = _require(deadlines, DEADLINE_COLUMNS, "deadlines")
    when = _to_timestamps(deadlines["date"])
    lead = _to_timestamps(deadlines["lead_date"])
    at = pd.Timestamp(as_of)
    chosen = lead.notna() & (lead <= at)
    frame = pd.DataFrame(
        {
            "loan_id": deadlines["loan_id"].astype(object),
            "clock": deadlines["clock"].astype(object),
            "when": when,
            "lead": lead,
        }
    )[chosen.to_numpy()]
    frame = frame.sort_values(["when", "loan_id", "clock"], kind="stable")
    days_left = ((frame["when"] - at).dt.days).astype("int64") if len(frame) else pd.Series([], dtype="int64")
    return pd.DataFrame(
        {
            "loan_id": frame["loan_id"].astype(object).to_numpy(),
            "clock": frame["clock"].astype(object).to_numpy(),
            "date": _to_dates(frame["when"]).to_numpy(),
            "lead_date": _to_dates(frame["lead"]).to_numpy(),
            "days_left": pd.Series(days_left).to_numpy(dtype="int64"),
        }
    ).astype({"loan_id": "str", "clock": "str", "date": "object", "lead_date": "object"})
