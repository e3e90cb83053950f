"""The portfolio report: frames read from the store, pure pandas functions, contract JSON (the
daily run's summary, without pandas, is :mod:`services.daily_summary`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.policy import Policy
from models import portfolio
from models.domain.money import fmt
from models.store import last_run_date
from models.tables import Loan, Officer, Payment, Plan, PlanLine, Snapshot
from services.views import balances_as_of, days_past_due_on
from services import worklist


def loans_frame(session: Session, as_of: date | None, policy: Policy) -> pd.DataFrame:
    """One row per loan with its balances as of ``as_of`` (accrued from the stored base)."""
    rows = session.execute(
        select(
            Loan.loan_id, Loan.state, Loan.closed_reason, Loan.classification, Loan.outstanding_principal_fen,
            Loan.overdue_principal_fen, Loan.interest_fen, Loan.penalty_fen, Loan.costs_fen, Loan.rate_ppm, Loan.maturity_on,
            Loan.overdue_since, Loan.accrued_to, Loan.accrual_stopped, Loan.origin, Loan.assigned_to, Loan.product,
            Loan.restructured_on, Loan.compound_fen, Loan.delayed_fen, Loan.misused_purpose, Loan.judgment_debt_fen,
            Loan.judgment_perform_by,
        )
    ).all()
    oldest_line = dict(session.execute(
        select(Plan.loan_id, func.min(PlanLine.due_on)).join(PlanLine, PlanLine.plan_id == Plan.id)
        .where(Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen).group_by(Plan.loan_id)
    ).all())
    records = []
    for r in rows:
        dpd = days_past_due_on(r, as_of, oldest_line.get(r.loan_id)) if r.state != "closed" else 0  # type: ignore[arg-type]
        # the same balances as `npl show` (services.views.balances_as_of); the frame's penalty
        # column carries every interest beyond the contractual: penalty, compound, delayed
        owed = balances_as_of(r, as_of, policy)  # type: ignore[arg-type]
        interest, penalty = owed.interest, owed.penalty + owed.compound + owed.delayed
        balance = owed.total
        records.append((r.loan_id, r.state, r.closed_reason, r.classification, dpd, balance, r.outstanding_principal_fen,
                        interest, penalty, r.costs_fen, r.origin, r.assigned_to, r.product))
    frame = pd.DataFrame.from_records(records, columns=list(portfolio.LOAN_COLUMNS))
    for c in ("dpd", "balance_fen", "principal_fen", "interest_fen", "penalty_fen", "costs_fen"):
        frame[c] = frame[c].astype("int64")
    return frame


def payments_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Payment.loan_id, Payment.paid_on, Payment.amount_fen, Payment.payer, Payment.state_at_payment)).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(portfolio.PAYMENT_COLUMNS))
    frame["amount_fen"] = frame["amount_fen"].astype("int64")
    return frame


def officers_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Officer.officer_id, Officer.suspended_since)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(portfolio.OFFICER_COLUMNS))


def snapshots_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Snapshot.month_end, Snapshot.loan_id, Snapshot.dpd, Snapshot.principal_fen)).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(portfolio.SNAPSHOT_COLUMNS))
    frame["dpd"] = frame["dpd"].astype("int64")
    frame["balance_fen"] = frame["balance_fen"].astype("int64")
    return frame


def classification_at(session: Session, month_end: date) -> pd.DataFrame:
    rows = session.execute(select(Snapshot.loan_id, Snapshot.classification).where(Snapshot.month_end == month_end)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=["loan_id", "classification"])


def money_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Records with *_fen columns as two-decimal strings (keys without the suffix)."""
    out = []
    for rec in frame.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if k.endswith("_fen"):
                row[k.removesuffix("_fen")] = fmt(int(v))
            elif isinstance(v, (date, pd.Timestamp)):
                row[k] = v.isoformat()[:10]
            elif hasattr(v, "item"):
                row[k] = v.item()
            elif v is None or (isinstance(v, float) and v != v):
                row[k] = None
            else:
                row[k] = v if isinstance(v, (int, str, bool)) else str(v)
        out.append(row)
    return out


def build_report(session: Session, policy: Policy, as_of: date | None = None) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The report as contract JSON and as the frames behind it (for --xlsx and artifacts)."""
    last = last_run_date(session)
    as_of = as_of or last
    loans = loans_frame(session, as_of, policy)
    payments = payments_frame(session)
    if as_of is not None and not payments.empty:
        payments = payments[payments["paid_on"] <= as_of]
    open_loans = loans[loans["state"] != "closed"]
    month_ends = sorted({d for (d,) in session.execute(select(Snapshot.month_end).distinct())})
    tables: dict[str, pd.DataFrame] = {
        "by_state": portfolio.by_state(loans),
        "by_classification": portfolio.by_classification(loans),
        "aging": portfolio.aging(loans),
        "recoveries_by_strategy": portfolio.recoveries_by_strategy(payments),
        "recoveries_by_payer": portfolio.recoveries_by_payer(payments),
        "recoveries_by_month": portfolio.recoveries_by_month(payments),
        "officer_accountability": portfolio.officer_accountability(loans, officers_frame(session), policy.limit("internal_review_insider")),
        "roll_rates": portfolio.roll_rates(snapshots_frame(session)),
    }
    if len(month_ends) >= 2:
        tables["migration"] = portfolio.migration_matrix(classification_at(session, month_ends[-2]), classification_at(session, month_ends[-1]))
    risks = worklist.deadlines_at_risk(session, as_of, policy) if as_of else []
    tables["deadlines_at_risk"] = pd.DataFrame(risks, columns=["loan_id", "clock", "date", "detail", "officer"])
    recovered_total = int(payments["amount_fen"].sum()) if not payments.empty else 0
    suspended = [
        {"officer_id": o, "suspended_since": s.isoformat()}
        for o, s in session.execute(select(Officer.officer_id, Officer.suspended_since).where(Officer.suspended_since.is_not(None)).order_by(Officer.officer_id))
    ]
    report = {
        "as_of": as_of.isoformat() if as_of else None,
        "loans": int(len(open_loans)),
        "by_state": {r["state"]: {"count": int(r["count"]), "balance": fmt(int(r["balance_fen"]))} for r in tables["by_state"].to_dict("records")},
        "by_classification": {r["classification"]: {"count": int(r["count"]), "balance": fmt(int(r["balance_fen"])),
                                                     "principal": fmt(int(r["principal_fen"])),
                                                     "interest_receivable": fmt(int(r["interest_fen"]))}
                              for r in tables["by_classification"].to_dict("records")},
        "npl_ratio": str(portfolio.npl_ratio(loans)),
        "recovered": {
            "total": fmt(recovered_total),
            "by_strategy": {r["strategy"]: fmt(int(r["amount_fen"])) for r in tables["recoveries_by_strategy"].to_dict("records")},
            "by_payer": {r["payer"]: fmt(int(r["amount_fen"])) for r in tables["recoveries_by_payer"].to_dict("records")},
        },
        "revitalization_credit": revitalization_credit(session, as_of),
        "deadlines_at_risk": risks,
        "suspended_officers": suspended,
        "balance_total": fmt(int(open_loans["balance_fen"].sum()) if not open_loans.empty else 0),
        "aging": money_records(tables["aging"]),
        "officer_accountability": money_records(tables["officer_accountability"]),
        "recoveries_by_month": money_records(tables["recoveries_by_month"]),
        "roll_rates": money_records(tables["roll_rates"]),
    }
    if "migration" in tables:
        report["migration"] = {"from": month_ends[-2].isoformat(), "to": month_ends[-1].isoformat(),
                               "matrix": json_safe(tables["migration"])}
    return report, tables


def revitalization_credit(session: Session, as_of: date | None) -> dict[str, Any]:
    """Revitalization credit booked as loans (issue 15 rule 5): how many, how much was given,
    how much recovered on them (payments to ``as_of``) and how much principal is outstanding."""
    credits = session.execute(select(func.count(), func.coalesce(func.sum(Loan.principal_fen), 0),
                                     func.coalesce(func.sum(Loan.outstanding_principal_fen), 0))
                              .where(Loan.parent_loan_id.is_not(None))).one()
    paid = select(func.coalesce(func.sum(Payment.amount_fen), 0)).join(Loan, Loan.loan_id == Payment.loan_id).where(
        Loan.parent_loan_id.is_not(None))
    if as_of is not None:
        paid = paid.where(Payment.paid_on <= as_of)
    return {"loans": int(credits[0]), "given": fmt(int(credits[1])), "recovered": fmt(int(session.execute(paid).scalar_one())),
            "outstanding_principal": fmt(int(credits[2]))}


def json_safe(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return money_records(frame.reset_index())
