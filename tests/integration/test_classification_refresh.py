"""The set-wise classification refresh reads only loans that can have crossed a threshold since
its mark, and still agrees with the domain rules (DOMAIN.md §3) for every loan on every date."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select, update

from models.domain.classification import Category, classify, days_past_due, oldest_unpaid_due
from models.store import CLASSIFICATION_MARK, UnitOfWork, mark_on
from models.tables import Loan, Plan, PlanLine
from services.daily import refresh_classification
from tests.builders import load

START = date(2008, 1, 1)


def book(url: str, tmp_path, n: int = 80) -> None:
    """Loans falling due across two years; some overdue on an installment before maturity, some
    under a running installment plan, some restructured (their stored observation floor), some classified
    worse by staff."""
    rnd = random.Random(11)
    loans = []
    for i in range(n):
        maturity = START + timedelta(days=rnd.randrange(0, 700))
        row = {"loan_id": f"L-{i:03d}", "disbursed_on": "2007-01-01", "maturity_on": maturity.isoformat()}
        if i % 5 == 1:
            row["overdue_since"] = (maturity - timedelta(days=rnd.randrange(1, 120))).isoformat()
        loans.append(row)
    load(url, tmp_path, loans)
    with UnitOfWork(url) as uow:
        s = uow.session
        for i in range(0, n, 7):  # an installment plan: monthly lines, the first three paid
            loan_id = f"L-{i:03d}"
            first = START + timedelta(days=rnd.randrange(0, 400))
            plan = Plan(loan_id=loan_id, signed_on=first - timedelta(days=30), monthly_fen=100, first_due=first, total_fen=1200)
            s.add(plan)
            s.flush()
            for k in range(12):
                s.add(PlanLine(plan_id=plan.id, seq=k + 1, due_on=first + timedelta(days=30 * k), amount_fen=100,
                               paid_fen=100 if k < 3 else 0))
            s.execute(update(Loan).where(Loan.loan_id == loan_id).values(accrual_stopped=True, state="installment"))
        floors = [None, "special_mention", "substandard", "doubtful"]  # None: a row from before migration 0012
        for k, i in enumerate(range(3, n, 9)):
            s.execute(update(Loan).where(Loan.loan_id == f"L-{i:03d}").values(
                restructured_on=START, observation_until=START + timedelta(days=rnd.randrange(30, 500)),
                restructured_floor=floors[k % len(floors)]))
        for i in range(4, n, 11):
            s.execute(update(Loan).where(Loan.loan_id == f"L-{i:03d}").values(staff_classification="doubtful"))
        uow.commit()


def expected(url: str, day: date) -> dict[str, str]:
    """Every open loan's classification on ``day`` by the domain functions, loan by loan."""
    out: dict[str, str] = {}
    with UnitOfWork(url) as uow:
        s = uow.session
        lines: dict[str, list[date]] = {}
        for loan_id, due in s.execute(
            select(Plan.loan_id, PlanLine.due_on).join(PlanLine, PlanLine.plan_id == Plan.id)
            .where(Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen)
        ):
            lines.setdefault(loan_id, []).append(due)
        for loan in s.scalars(select(Loan).where(Loan.state != "closed")):
            if loan.accrual_stopped:
                unpaid = sorted(lines.get(loan.loan_id, []))
                oldest = unpaid[0] if unpaid and unpaid[0] < day else None
            else:
                oldest = oldest_unpaid_due(loan.maturity_on, loan.overdue_since, day)
            category = classify(days_past_due(day, oldest), as_of=day,
                                staff=Category(loan.staff_classification) if loan.staff_classification else None)
            if loan.observation_until is not None and loan.observation_until >= day:  # the restructured floor (issue 15 rule 1)
                category = max(category, Category(loan.restructured_floor or "substandard"), key=lambda c: c.rank)
            out[loan.loan_id] = category.value
    return out


def stored(url: str) -> dict[str, str]:
    with UnitOfWork(url) as uow:
        return dict(uow.session.execute(select(Loan.loan_id, Loan.classification).where(Loan.state != "closed")).all())


def test_incremental_refresh_agrees_with_the_domain_rules_on_every_date_whatever_the_gap(db_url, tmp_path):
    book(db_url, tmp_path)
    day, seen = START, set()
    for gap in [0, 1, 1, 2, 5, 30, 1, 60, 89, 1, 1, 120, 7, 181, 3, 270, 1, 90, 365, 2]:
        day += timedelta(days=gap)
        with UnitOfWork(db_url) as uow:
            refresh_classification(uow, day)
        assert stored(db_url) == expected(db_url, day), day
        seen |= set(stored(db_url).values())
        with UnitOfWork(db_url) as uow:
            assert mark_on(uow.session, CLASSIFICATION_MARK) == day
    assert seen == {c.value for c in Category}  # the book passed through every category on the way


def test_incremental_refresh_writes_only_the_loans_that_crossed_a_threshold(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-A", "maturity_on": "2008-06-30"}, {"loan_id": "L-B", "maturity_on": "2008-03-31"}])
    with UnitOfWork(db_url) as uow:
        refresh_classification(uow, date(2008, 6, 30))  # L-B: 91 days past due
    with UnitOfWork(db_url) as uow:
        assert refresh_classification(uow, date(2008, 6, 30)) == 0  # the same date again: nothing read
        assert refresh_classification(uow, date(2008, 7, 1)) == 1  # L-A falls due; L-B stays substandard
    assert stored(db_url) == {"L-A": "special_mention", "L-B": "substandard"}


def test_a_refresh_for_a_date_before_its_mark_reads_the_whole_book(db_url, tmp_path):
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        refresh_classification(uow, date(2009, 6, 1))
    with UnitOfWork(db_url) as uow:
        refresh_classification(uow, date(2008, 9, 1))
    assert stored(db_url) == expected(db_url, date(2008, 9, 1))


def test_importing_new_loans_makes_the_next_refresh_read_the_whole_book(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-A", "maturity_on": "2008-06-30"}])
    with UnitOfWork(db_url) as uow:
        refresh_classification(uow, date(2008, 12, 31))
    # a loan three years past due arrives after the refresh; no threshold falls in the window
    load(db_url, tmp_path, [{"loan_id": "L-OLD", "disbursed_on": "2004-01-01", "maturity_on": "2005-06-30"}])
    with UnitOfWork(db_url) as uow:
        assert mark_on(uow.session, CLASSIFICATION_MARK) is None
        refresh_classification(uow, date(2009, 1, 1))
    assert stored(db_url)["L-OLD"] == "loss"


def test_a_refresh_on_the_same_date_reclassifies_loans_touched_by_events_since(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-A", "maturity_on": "2008-06-30"}])
    with UnitOfWork(db_url) as uow:
        refresh_classification(uow, date(2008, 12, 31))  # 184 days past due: substandard
    with UnitOfWork(db_url) as uow:  # staff's own view, recorded by an event that touches the loan
        uow.session.execute(update(Loan).values(staff_classification="loss", touched=True))
        uow.commit()
    with UnitOfWork(db_url) as uow:
        assert refresh_classification(uow, date(2008, 12, 31)) == 1
    assert stored(db_url) == {"L-A": "loss"}
