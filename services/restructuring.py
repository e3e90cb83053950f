"""A loan's restructured-asset fields (issue 15 rule 1): set when an installment agreement is
signed, restarted when an installment is missed during observation, read by ``npl show``.

The rule is ``models.domain.restructuring`` (2023 measures Arts. 17, 20); this module stores
what it decides on the loan row (``restructured_on``, ``observation_from``,
``observation_until``, ``restructured_floor``: migration 0012), which is what the set-wise
classification (``models.daily_sql.classification_expression``) reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.policy import Policy
from models.domain.classification import Category, dpd_floor, worst
from models.domain.restructuring import observation_floor, observation_until, restructured
from models.tables import Plan, PlanLine


def non_performing_on(loan: Any, dpd: int) -> bool:
    """Whether the loan is non-performing before a restructuring: its stored category or the
    DPD floor on the day (the stored one may lag the last run)."""
    stored = Category(loan.classification) if loan.classification else Category.normal
    return worst(stored, dpd_floor(dpd)).non_performing


def restructure(loan: Any, on: date, repayment_dates: Sequence[date], *, dpd: int, policy: Policy) -> None:
    """Record a restructuring agreed on ``on`` with its agreed ``repayment_dates``: the
    observation runs from the first agreed repayment date (Art. 20) and the floor is
    substandard if the loan was non-performing before, else special mention."""
    was_npl = non_performing_on(loan, dpd)
    r = restructured(on, repayment_dates, as_of=on, non_performing_before=was_npl, dpd=0,
                     min_periods=policy.observation_min_periods, min_months=policy.observation_min_months)
    loan.restructured_on = on
    loan.observation_from, loan.observation_until = r.observation_from, r.observation_until
    loan.restructured_floor = observation_floor(non_performing_before=was_npl).value


def missed_during_observation(loan: Any, missed_on: date, repayment_dates: Sequence[date], policy: Policy) -> bool:
    """An agreed payment due on ``missed_on`` was missed: if it fell inside the observation, the
    observation restarts from that date (Art. 20) and the floor drops one category (CBRC 2007
    guidelines Art. 12, see models.domain.restructuring). Returns whether it restarted."""
    if loan.observation_from is None or loan.observation_until is None:
        return False
    if not loan.observation_from <= missed_on <= loan.observation_until:
        return False
    loan.observation_from = missed_on
    loan.observation_until = observation_until(missed_on, repayment_dates, min_periods=policy.observation_min_periods,
                                               min_months=policy.observation_min_months, after=True)
    current = Category(loan.restructured_floor or Category.substandard.value)
    loan.restructured_floor = list(Category)[min(current.rank + 1, Category.loss.rank)].value
    return True


def restructured_detail(loan: Any, as_of: date | None) -> dict[str, Any] | None:
    """``{on, observation_from, observation_until, floor}`` for ``npl show``; None when the loan
    was never restructured. ``floor`` is the restructured floor (null once the observation has
    ended on ``as_of``)."""
    if loan.restructured_on is None or loan.observation_until is None:
        return None
    running = as_of is None or as_of <= loan.observation_until
    return {"on": loan.restructured_on, "observation_from": loan.observation_from or loan.restructured_on,
            "observation_until": loan.observation_until, "floor": (loan.restructured_floor or "substandard") if running else None}


def record_missed_installment(s: Session, loan: Any, missed_on: date | None, policy: Policy) -> bool:
    """An installment due on ``missed_on`` went unpaid (the plan broke on it): days past due run
    from it, and the observation restarts one category worse if it fell inside it (Art. 20). ``loan`` is an
    ORM ``Loan`` (written by its session) or the daily run's plain row (written back with the run's
    other columns: ``models.daily_sql.MUTABLE``). Returns whether the observation restarted."""
    if missed_on is None:
        return False
    return bool(record_missed_installments(s, [(loan, missed_on)], policy))


def record_missed_installments(
    s: Session, missed: Sequence[tuple[Any, date]], policy: Policy, failed: Callable[[Any, Exception], None] | None = None,
) -> list[Any]:
    """``record_missed_installment`` of several loans at once, each with the due date of its
    installment missed: two queries for their plans' repayment dates (each loan's latest plan,
    the one that broke) rather than queries and updates a loan (1.8 ms a case, six times the
    judging of one, for the daily run's cases whose plan broke on a date). ``failed(loan,
    error)``: a loan whose rule raises is reported there, the others go on (else the error is
    raised). Returns the loans whose observation restarted."""
    if not missed:
        return []
    ids = [loan.loan_id for loan, _ in missed]
    latest = dict(s.execute(select(Plan.loan_id, func.max(Plan.id)).where(Plan.loan_id.in_(ids)).group_by(Plan.loan_id)).all())
    dates: dict[int, list[date]] = defaultdict(list)
    if latest:
        for plan_id, due_on in s.execute(select(PlanLine.plan_id, PlanLine.due_on).where(PlanLine.plan_id.in_(list(latest.values())))):
            dates[plan_id].append(due_on)
    restarted: list[Any] = []
    for loan, missed_on in missed:
        try:
            # days past due run from the first missed installment (issue 15 rule 6): the agreement replaced
            # the due dates before it (views.days_past_due_on, daily_sql.oldest_due_expression)
            loan.overdue_since = missed_on
            if missed_during_observation(loan, missed_on, dates.get(latest.get(loan.loan_id), []) or [missed_on], policy):
                restarted.append(loan)
        except Exception as exc:
            if failed is None:
                raise
            failed(loan, exc)  # the caller judges the loan's chunk again from its row, without it
    return restarted
