"""Issue 15 rule 9: no loan is ever ``performing`` with days past due > 0 — checked after every
business date on random books (seeded, SQLite): import, pay, plan, run dates."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from machines.policy import load_policy
from models.domain.errors import NplError
from models.store import UnitOfWork
from models.tables import Loan, Plan, PlanLine
from services import cases
from services.views import balances_as_of, days_past_due_on
from tests.builders import load, run

START = date(2008, 6, 1)
DAYS = 75


def performing_past_due(url: str, day: date) -> list[tuple[str, int]]:
    """(loan, dpd) of every loan left performing with days past due on ``day``."""
    with UnitOfWork(url) as uow:
        s = uow.session
        lines = dict(s.execute(
            select(Plan.loan_id, func.min(PlanLine.due_on)).join(PlanLine, PlanLine.plan_id == Plan.id)
            .where(Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen).group_by(Plan.loan_id)
        ).all())
        return [(loan.loan_id, dpd) for loan in s.scalars(select(Loan).where(Loan.state == "performing"))
                if (dpd := days_past_due_on(loan, day, lines.get(loan.loan_id))) > 0]


def random_book(rnd: random.Random) -> list[dict[str, str]]:
    loans = []
    for i in range(12):
        maturity = START + timedelta(days=rnd.randrange(-40, DAYS))
        row = {"loan_id": f"L-{i:02d}", "disbursed_on": "2007-06-01", "maturity_on": maturity.isoformat()}
        if rnd.random() < 0.3:  # an installment of the core system overdue before maturity
            row["maturity_on"] = (START + timedelta(days=rnd.randrange(200, 400))).isoformat()
            row["overdue_since"] = (START + timedelta(days=rnd.randrange(-30, DAYS))).isoformat()
            row["overdue_principal"] = "10000.00"
        loans.append(row)
    return loans


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_loan_is_performing_with_days_past_due_after_any_date_rule_9(sqlite_db, tmp_path, seed):
    rnd = random.Random(seed)
    load(sqlite_db, tmp_path, random_book(rnd))
    policy = load_policy()
    day = START
    run(sqlite_db, day)
    assert performing_past_due(sqlite_db, day) == []
    for _ in range(DAYS):
        day += timedelta(days=1)
        run(sqlite_db, day)
        loan_id = f"L-{rnd.randrange(12):02d}"
        with UnitOfWork(sqlite_db) as uow:
            loan = uow.session.get(Loan, loan_id)
            owed = balances_as_of(loan, day, policy).total if loan.state != "closed" else 0
        try:
            with UnitOfWork(sqlite_db) as uow:
                if owed and rnd.random() < 0.15:  # a part payment or all of it
                    part = owed if rnd.random() < 0.3 else rnd.randrange(1, owed)
                    cases.pay(uow, loan_id, Decimal(part) / 100, on=day, by="E-01")
                elif owed and rnd.random() < 0.05:
                    cases.plan(uow, loan_id, monthly=Decimal("20000"), first_due=day + timedelta(days=rnd.randrange(1, 40)),
                               on=day, by="E-01")
        except NplError:
            pass  # refused (e.g. a plan for a loan not yet due): the book is unchanged
        assert performing_past_due(sqlite_db, day) == [], day
