"""The single-case services (services/cases.py) on real databases, SQLite and PostgreSQL.

Literal portfolios come from tests.builders: a loan of 100,000.00 at 7.2 % disbursed 2008-01-01,
due 2008-06-30, unless a test says otherwise. Its money is round on purpose (ACT/360, DOMAIN.md §5):
- contractual interest 2008-01-01 → 2008-06-30 (181 days): 100,000 × 0.072 × 181 / 360 = 3,620.00
- penalty from 2008-07-01 at 0.072 × 1.5: 30.00 a day, so 300.00 on 2008-07-10
- balance on 2008-07-10: 103,920.00
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from machines.loan_case import CaseRefused
from machines.policy import load_policy
from models.domain.allocation import Balances
from models.domain.errors import BadInput, ConcurrentUpdate, NotFound, RuleViolation
from models.store import UnitOfWork
from models.tables import Action, Collateral, Guarantor, History, Judgment, Loan, Payment, Plan, PlanLine
from flows.present import jsonable
from services import case_view, cases, escalations
from services.case_common import Balance, is_lock_conflict, retry_on_conflict
from services.cases import Allocation, FreezeResult
from services.importing import import_paths
from services.views import balances_as_of
from tests.builders import load, run

D = Decimal
DATA = Path(__file__).with_name("data")
BALANCE_0710 = D("103930.86")  # 100,000 + 3,620 interest + 300 penalty + 10.86 compound
LONG_JOINT = {"guarantee_type": "joint", "guarantee_period_end": "2010-12-31"}  # liable throughout


def show(url: str, loan_id: str) -> dict:
    """The case as the contract prints it (`npl show --json`)."""
    with UnitOfWork(url) as uow:
        return jsonable(case_view.show(uow, loan_id))


def loan_row(url: str, loan_id: str) -> Loan:
    with UnitOfWork(url) as uow:
        return uow.session.get(Loan, loan_id)


def count(url: str, model: type, **where: object) -> int:
    with UnitOfWork(url) as uow:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return uow.session.execute(stmt).scalar_one()


def history(url: str, loan_id: str) -> list[tuple[str, str, str, date, str, str | None]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(History).where(History.loan_id == loan_id).order_by(History.id))
        return [(h.from_state, h.to_state, h.event, h.on, h.by, h.approved_by) for h in rows]


def payments(url: str, loan_id: str) -> list[tuple]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(Payment).where(Payment.loan_id == loan_id).order_by(Payment.id))
        return [(p.paid_on, p.payer, p.guarantor_name, p.amount_fen, p.costs_fen, p.penalty_fen, p.interest_fen,
                 p.principal_fen, p.state_at_payment, p.recorded_by, p.compound_fen, p.delayed_fen) for p in rows]


def pay(url: str, loan_id: str, amount: str, on: date | None, payer: str = "borrower", by: str = "E-01") -> cases.PaymentResult:
    with UnitOfWork(url) as uow:
        return cases.pay(uow, loan_id, D(amount), on=on, payer=payer, by=by)


def balance_on(url: str, loan_id: str, day: date) -> Balances:
    """What the loan owes on ``day`` (as the services compute it)."""
    with UnitOfWork(url) as uow:
        return balances_as_of(uow.session.get(Loan, loan_id), day, load_policy())


# --- payments -------------------------------------------------------------------------------------


def test_payment_is_applied_to_costs_then_penalty_then_interest_then_principal_and_the_parts_add_up(db_url, tmp_path):
    # allocation does not depend on the case's state: no daily run is needed (nor, then, any date limit)
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    with UnitOfWork(db_url) as uow:  # 500.00 of court fees advanced by the bank
        recorded = cases.cost(uow, "L-1", Decimal("500.00"), what="court fee", on=date(2008, 7, 10), by="E-01")
    assert (recorded.cost, recorded.costs_owed) == (D("500.00"), D("500.00"))
    first = pay(db_url, "L-1", "1000.00", date(2008, 7, 10))
    # compound interest on the 3,620.00 of interest due 2008-06-30, for 10 days at 10.8 %: 10.86
    assert first.allocation == Allocation(costs=D("500.00"), penalty=D("300.00"), interest=D("189.14"), principal=D("0.00"),
                                          compound=D("10.86"))
    second = pay(db_url, "L-1", "5000.00", date(2008, 7, 10))
    assert second.allocation == Allocation(costs=D("0.00"), penalty=D("0.00"), interest=D("3430.86"), principal=D("1569.14"))
    assert second.balance_after == Balance(principal=D("98430.86"), interest=D("0"), penalty=D("0"), costs=D("0"), total=D("98430.86"))
    assert jsonable(second)["balance_after"] == {  # the contract prints money with two decimals
        "principal": "98430.86", "interest": "0.00", "penalty": "0.00", "costs": "0.00", "total": "98430.86",
        "compound": "0.00", "delayed": "0.00",
    }
    assert payments(db_url, "L-1") == [
        (date(2008, 7, 10), "borrower", None, 100000, 50000, 30000, 18914, 0, "performing", "E-01", 1086, 0),
        (date(2008, 7, 10), "borrower", None, 500000, 0, 0, 343086, 156914, "performing", "E-01", 0, 0),
    ]
    for p in payments(db_url, "L-1"):
        assert p[3] == sum(p[4:8]) + sum(p[10:12])
    # penalty runs on the principal still unpaid from the day after the payment: 98,420 × 0.072 × 1.5 / 360 a day
    balance = balance_on(db_url, "L-1", date(2008, 7, 20))
    assert (balance.principal, balance.interest, balance.penalty, balance.costs) == (9843086, 0, 29529, 0)


def test_the_closing_reason_follows_who_paid_the_last_amount_and_guarantor_payments_are_attributed(db_url, tmp_path):
    loans = [{"loan_id": i} for i in ("L-BORROWER", "L-GUARANTOR", "L-COURT", "L-MIXED")]
    guarantors = [{"loan_id": i, "guarantor_name": "Zhang", "account_balance": "200000.00", **LONG_JOINT}
                  for i in ("L-GUARANTOR", "L-MIXED")]
    load(db_url, tmp_path, loans, guarantors)
    on = date(2008, 7, 10)

    with pytest.raises(NotFound, match="Li"):
        pay(db_url, "L-GUARANTOR", "1.00", on, payer="guarantor:Li")  # not a guarantor of this loan
    assert pay(db_url, "L-BORROWER", str(BALANCE_0710), on).closed_reason == "repaid"
    by_guarantor = pay(db_url, "L-GUARANTOR", str(BALANCE_0710), on, payer="guarantor:Zhang")
    assert (by_guarantor.state, by_guarantor.closed_reason, by_guarantor.payer) == ("closed", "settled_by_guarantor", "guarantor:Zhang")
    assert pay(db_url, "L-COURT", str(BALANCE_0710), on, payer="court").closed_reason == "recovered_by_court"
    part = pay(db_url, "L-MIXED", "50000.00", on, payer="guarantor:Zhang")
    assert (part.state, part.closed_reason) == ("performing", None)
    assert pay(db_url, "L-MIXED", "53930.86", on).closed_reason == "repaid"  # the borrower paid last

    assert [p[1:3] for p in payments(db_url, "L-GUARANTOR")] == [("guarantor", "Zhang")]
    assert [p[1:3] for p in payments(db_url, "L-COURT")] == [("court", None)]
    assert [p[1:3] for p in payments(db_url, "L-MIXED")] == [("guarantor", "Zhang"), ("borrower", None)]
    with UnitOfWork(db_url) as uow:
        balances = dict(uow.session.execute(select(Guarantor.loan_id, Guarantor.account_balance_fen)).all())
    assert balances == {"L-GUARANTOR": 20000000 - 10393086, "L-MIXED": 20000000 - 5000000}
    for loan_id, reason in (("L-BORROWER", "repaid"), ("L-GUARANTOR", "settled_by_guarantor"),
                            ("L-COURT", "recovered_by_court"), ("L-MIXED", "repaid")):
        doc = show(db_url, loan_id)
        assert (doc["state"], doc["closed_reason"], doc["balance"]["total"]) == ("closed", reason, "0.00")
        assert history(db_url, loan_id) == [("performing", "closed", "settle", on, "E-01", None)]

    with pytest.raises(RuleViolation, match="closed"):
        pay(db_url, "L-BORROWER", "1.00", on)


def test_an_overpayment_is_refused_and_nothing_is_written(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    before = show(db_url, "L-1")
    with pytest.raises(RuleViolation, match="overpayment"):
        pay(db_url, "L-1", str(BALANCE_0710 + D("0.01")), date(2008, 7, 10))
    assert count(db_url, Payment) == 0
    assert count(db_url, History) == 0
    assert show(db_url, "L-1") == before
    assert pay(db_url, "L-1", str(BALANCE_0710), date(2008, 7, 10)).closed_reason == "repaid"  # exactly the balance


# --- event dates ----------------------------------------------------------------------------------


def test_events_dated_after_the_last_daily_run_plus_one_day_are_refused(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Zhang", **LONG_JOINT}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 3))
    future = date(2008, 7, 5)
    attempts = [
        lambda uow: cases.pay(uow, "L-1", D("100"), on=future),
        lambda uow: cases.visit(uow, "L-1", on=future, outcome="contacted"),
        lambda uow: cases.demand(uow, "L-1", on=future),
        lambda uow: cases.plan(uow, "L-1", monthly=D("10000"), first_due=date(2008, 8, 1), on=future),
        lambda uow: cases.escalate(uow, "L-1", to="visit", reason="r", by="E-01", on=future),
        lambda uow: cases.freeze(uow, "L-1", on=future, guarantor="Zhang"),
    ]
    before = show(db_url, "L-1")
    for attempt in attempts:
        with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="future"):
            attempt(uow)
    assert show(db_url, "L-1") == before
    assert count(db_url, Payment) == count(db_url, Action, by="operator") == 0

    # the day after the last run is accepted, and so is a back-dated event
    assert pay(db_url, "L-1", "100.00", date(2008, 7, 4)).paid_on == date(2008, 7, 4)
    with UnitOfWork(db_url) as uow:
        assert cases.visit(uow, "L-1", on=date(2008, 7, 2), outcome="contacted", by="E-01").on == date(2008, 7, 2)
    # without --on the event is dated the last business date run
    assert pay(db_url, "L-1", "100.00", None).paid_on == date(2008, 7, 3)


def test_a_transition_dated_before_the_case_entered_its_current_state_is_refused(db_url, tmp_path):
    # BUG (services/cases.py, event_date / escalate): back-dating is allowed (CONTRACT.md), but a move is
    # accepted even when dated before the case entered the state it moves from. Here the case entered
    # visit on 2008-07-11 and a suit "from visit" dated 2008-07-02 is written: the history is no longer
    # in date order (…, 07-11 internal_review→visit, 07-02 visit→litigation), state_entered_on goes back
    # in time, and loan.sued_on becomes 07-02 — a date that decides whether a general guarantee was
    # preserved (models/domain/deadlines.py guarantee_status).
    # Suggested fix: services that fire a transition (escalate, plan, revitalize, write_off, and pay when it
    # closes) refuse `on < loan.state_entered_on` with a RuleViolation such as
    # "{on} is before the case entered {state} ({state_entered_on})" — e.g. a helper
    # `transition_date(loan, on)` called right after event_date().
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 12))
    before = history(db_url, "L-1")
    assert before[-1][1:4] == ("visit", "dispatch", date(2008, 7, 11))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation):
        cases.escalate(uow, "L-1", to="litigation", reason="sue", by="E-01", approved_by="M-01", on=date(2008, 7, 2))
    assert history(db_url, "L-1") == before
    assert loan_row(db_url, "L-1").sued_on is None


def test_an_event_before_the_loan_was_disbursed_is_refused(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "disbursed_on": "2008-01-01"}])
    with pytest.raises(RuleViolation, match="disbursed"):
        pay(db_url, "L-1", "100.00", date(2007, 12, 31))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="disbursed"):
        cases.demand(uow, "L-1", on=date(2007, 12, 31))
    assert count(db_url, Payment) == count(db_url, Action) == 0
    assert pay(db_url, "L-1", "100.00", date(2008, 1, 1)).paid_on == date(2008, 1, 1)


def test_before_any_daily_run_any_date_from_disbursement_on_is_accepted_but_one_must_be_given(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    with pytest.raises(BadInput, match="^on is required") as missing:
        pay(db_url, "L-1", "100.00", None)
    assert missing.value.fields == ("on",)  # named as a field: each edge words it (--on, the form's `on`)
    assert missing.value.render(lambda field: f"--{field}").startswith("--on is required")
    assert pay(db_url, "L-1", "100.00", date(2009, 5, 1)).paid_on == date(2009, 5, 1)


# --- installment plans --------------------------------------------------------------------------


def test_a_plan_signs_the_balance_into_monthly_lines_and_a_broken_plan_escalates_in_the_daily_run(db_url, tmp_path):
    load(
        db_url, tmp_path,
        [{"loan_id": "L-JOINT"}, {"loan_id": "L-ALONE"}, {"loan_id": "L-SHORT"}],
        [{"loan_id": "L-JOINT", "guarantor_name": "Zhang", **LONG_JOINT},
         {"loan_id": "L-SHORT", "guarantor_name": "Li", "guarantee_type": "joint"}],  # period ends 2008-12-30
    )
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    signed = {}
    for loan_id in ("L-JOINT", "L-ALONE", "L-SHORT"):
        with UnitOfWork(db_url) as uow:
            signed[loan_id] = cases.plan(uow, loan_id, monthly=D("10000"), first_due=date(2008, 8, 15), on=date(2008, 7, 10), by="E-01")

    res = signed["L-JOINT"]
    assert (res.from_state, res.to, res.lines, res.total, res.last_due) == (
        "internal_review", "installment", 11, D("103930.86"), date(2009, 6, 15))
    assert res.warnings == ()
    assert any("Li" in w and "2008-12-30" in w for w in signed["L-SHORT"].warnings)  # the plan outlives the guarantee
    with UnitOfWork(db_url) as uow:
        agreement = uow.session.scalars(select(Plan).where(Plan.loan_id == "L-JOINT")).one()
        lines = list(uow.session.scalars(select(PlanLine).where(PlanLine.plan_id == agreement.id).order_by(PlanLine.seq)))
        assert (agreement.status, agreement.monthly_fen, agreement.total_fen) == ("active", 1000000, 10393086)
        assert [ln.amount_fen for ln in lines] == [1000000] * 10 + [393086]
        assert [ln.due_on for ln in lines] == [date(2008, m, 15) for m in range(8, 13)] + [date(2009, m, 15) for m in range(1, 7)]
        assert sum(ln.amount_fen for ln in lines) == agreement.total_fen
    assert history(db_url, "L-JOINT")[-1] == ("internal_review", "installment", "sign_plan", date(2008, 7, 10), "E-01", None)
    assert show(db_url, "L-JOINT")["balance"]["total"] == "103930.86"  # accrual stops while the plan runs

    # the first installment (due 2008-08-15) stays unpaid: grace ends 2008-08-30, the plan breaks on 08-31
    run(db_url, date(2008, 7, 11), date(2008, 8, 31))
    assert history(db_url, "L-JOINT")[-1] == (
        "installment", "guarantor_pressure", "break_plan", date(2008, 8, 31), "system", None)
    alone = loan_row(db_url, "L-ALONE")
    # issue 15 rule 6: no guarantor liable → back to visit, where litigation awaits approval
    assert (alone.state, alone.awaiting_approval) == ("visit", "sue")
    assert history(db_url, "L-ALONE")[-1] == ("installment", "visit", "plan_lapsed", date(2008, 8, 31), "system", None)
    with UnitOfWork(db_url) as uow:
        status = dict(uow.session.execute(select(Plan.loan_id, Plan.status)).all())
        broken = uow.session.scalars(select(Action).where(Action.kind == "plan_broken").order_by(Action.loan_id)).all()
    assert status["L-JOINT"] == status["L-ALONE"] == "broken"
    assert {(a.loan_id, a.on) for a in broken} >= {("L-JOINT", date(2008, 8, 31)), ("L-ALONE", date(2008, 8, 31))}


# --- decisions that need a second person ---------------------------------------------------------


def test_write_off_needs_a_second_person_and_closes_as_written_off(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    before = show(db_url, "L-1")
    for approver in (None, "", "E-01", "e-01 "):
        with UnitOfWork(db_url) as uow, pytest.raises(CaseRefused):
            cases.write_off(uow, "L-1", reason="borrower vanished", by="E-01", approved_by=approver)
    assert show(db_url, "L-1") == before

    with UnitOfWork(db_url) as uow:
        res = cases.write_off(uow, "L-1", reason="borrower vanished", by="E-01", approved_by="M-01")
    assert (res.from_state, res.to, res.closed_reason, res.approved_by) == ("internal_review", "closed", "written_off", "M-01")
    doc = show(db_url, "L-1")
    assert (doc["state"], doc["closed_reason"]) == ("closed", "written_off")
    assert doc["history"][-1] == {"from": "internal_review", "to": "closed", "event": "write_off", "on": "2008-07-10",
                                  "by": "E-01", "reason": "borrower vanished", "approved_by": "M-01"}


def test_a_written_off_loan_keeps_the_whole_claim_owed_on_the_write_off_date_on_record(db_url, tmp_path):
    # BUG (services/cases.py, write_off): CONTRACT.md says a write-off closes "the claim kept on record",
    # but write_off closes the case without first storing the interest and penalty accrued since
    # loan.accrued_to, and a closed case no longer accrues (services/views.py, balances_as_of), so the
    # record shows 100,000.00 instead of the 103,920.00 owed on the write-off date.
    # Suggested fix: in write_off, before close(), do as plan() does:
    #   owed = balances_as_of(loan, on, policy); loan.interest_fen, loan.penalty_fen = owed.interest, owed.penalty;
    #   loan.accrued_to = max(loan.accrued_to, on)
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    assert show(db_url, "L-1")["balance"]["total"] == "103930.86"
    with UnitOfWork(db_url) as uow:
        cases.write_off(uow, "L-1", reason="borrower vanished", by="E-01", approved_by="M-01")
    assert show(db_url, "L-1")["balance"] == {
        "principal": "100000.00", "interest": "3620.00", "penalty": "300.00", "costs": "0.00", "total": "103930.86",
        "compound": "10.86", "delayed": "0.00",
    }


def test_revitalization_needs_the_rating_threshold_and_a_second_persons_approval(db_url, tmp_path):
    # Zhou's fish farm (aquaculture, rated A) qualifies; a business rated B is below the threshold (BBB)
    load(db_url, tmp_path, [
        {"loan_id": "L-FISH", "borrower_name": "Zhou", "product": "aquaculture", "credit_rating": "A"},
        {"loan_id": "L-B", "product": "business", "credit_rating": "B"},
    ])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    before = {loan_id: show(db_url, loan_id) for loan_id in ("L-FISH", "L-B")}
    assert before["L-FISH"]["state"] == before["L-B"]["state"] == "internal_review"

    with UnitOfWork(db_url) as uow, pytest.raises(CaseRefused, match="rating"):
        cases.revitalize(uow, "L-B", credit=D("20000"), on=date(2008, 7, 5), by="E-01", approved_by="M-01")
    for approver in (None, "E-06"):
        with UnitOfWork(db_url) as uow, pytest.raises(CaseRefused, match="approv"):
            cases.revitalize(uow, "L-FISH", credit=D("20000"), on=date(2008, 7, 5), by="E-06", approved_by=approver)
    assert {loan_id: show(db_url, loan_id) for loan_id in before} == before
    assert count(db_url, Action, kind="revitalization_credit") == 0

    def grant() -> escalations.Revitalized:
        with UnitOfWork(db_url) as uow:
            return cases.revitalize(uow, "L-FISH", credit=D("20000"), on=date(2008, 7, 5), by="E-06", approved_by="M-01",
                                    reason="ponds restocked; viable", key="req-fish-1")

    res = grant()
    assert grant() == res  # the same request again (same key): what was recorded, no second credit
    assert (res.from_state, res.to, res.credit, res.approved_by) == ("internal_review", "revitalization", D("20000.00"), "M-01")
    assert history(db_url, "L-FISH")[-1] == ("internal_review", "revitalization", "revitalize", date(2008, 7, 5), "E-06", "M-01")
    with UnitOfWork(db_url) as uow:
        credit = uow.session.scalars(select(Action).where(Action.kind == "revitalization_credit")).one()
    assert (credit.loan_id, credit.amount_fen, credit.by) == ("L-FISH", 2000000, "E-06")


# --- litigation: judgment and enforcement ----------------------------------------------------------


def test_a_judgment_is_recorded_only_in_litigation_and_enforcement_only_after_a_judgment(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="litigation"):
        cases.judgment(uow, "L-1", on=date(2008, 7, 5), amount=BALANCE_0710, perform_by=date(2008, 8, 5))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="no judgment"):
        cases.enforce(uow, "L-1", on=date(2008, 7, 5))
    assert count(db_url, Judgment) == 0

    with UnitOfWork(db_url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="no prospect of voluntary payment", by="E-01",
                       approved_by="M-01", on=date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        res = cases.judgment(uow, "L-1", on=date(2008, 7, 5), amount=BALANCE_0710, perform_by=date(2008, 8, 5))
    assert res.enforcement_apply_by == date(2010, 8, 5)  # two years from the performance date
    assert show(db_url, "L-1")["deadlines"]["enforcement_apply_by"] == "2010-08-05"
    assert loan_row(db_url, "L-1").sued_on == date(2008, 7, 5)

    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="precede"):
        cases.enforce(uow, "L-1", on=date(2008, 7, 4))
    with UnitOfWork(db_url) as uow:
        applied = cases.enforce(uow, "L-1", on=date(2008, 7, 6), by="E-01")
    assert (applied.applied_on, applied.late) == (date(2008, 7, 6), False)
    assert show(db_url, "L-1")["deadlines"]["enforcement_apply_by"] is None  # nothing left to apply for
    with UnitOfWork(db_url) as uow:
        j = uow.session.scalars(select(Judgment)).one()
        assert j.enforcement_applied_on == date(2008, 7, 6)
        assert uow.session.scalars(select(Action.kind).where(Action.by == "E-01").order_by(Action.id)).all() == [
            "enforcement_application"]
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="no judgment"):
        cases.enforce(uow, "L-1", on=date(2008, 7, 6))  # applied for once


# --- freezing assets --------------------------------------------------------------------------------


def test_freezing_an_asset_marks_it_sealed_through_an_authority_or_frozen(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Zhang", **LONG_JOINT}])
    collateral = shutil.copy(DATA / "collateral_small.csv", tmp_path / "collateral.csv")
    assert import_paths(db_url, [collateral]).collateral == 3
    on = date(2008, 7, 2)
    with UnitOfWork(db_url) as uow:
        cases.freeze(uow, "L-1", on=on, asset="A-SHOP", authority="Xiaoshan County Court", by="E-01")
    with UnitOfWork(db_url) as uow:
        cases.freeze(uow, "L-1", on=on, asset="A-TRUCK", by="E-01")
    with UnitOfWork(db_url) as uow:
        cases.freeze(uow, "L-1", on=on, guarantor="Zhang", authority="Xiaoshan County Court", by="E-01")
    for kwargs, error in (({"asset": "A-LATHE"}, RuleViolation), ({"asset": "A-NONE"}, NotFound),
                          ({"guarantor": "Li"}, NotFound), ({"asset": "A-SHOP", "guarantor": "Zhang"}, BadInput), ({}, BadInput)):
        with UnitOfWork(db_url) as uow, pytest.raises(error):
            cases.freeze(uow, "L-1", on=on, **kwargs)

    with UnitOfWork(db_url) as uow:
        assets = {c.asset_id: (c.status, c.frozen_on, c.authority) for c in uow.session.scalars(select(Collateral))}
        zhang = uow.session.scalars(select(Guarantor)).one()
        requests = uow.session.scalars(select(Action.target).where(Action.kind == "freeze_request").order_by(Action.id)).all()
    assert assets == {
        "A-SHOP": ("sealed", on, "Xiaoshan County Court"),
        "A-TRUCK": ("frozen", on, None),
        "A-LATHE": ("sold", None, None),
    }
    assert zhang.frozen_on == on
    assert requests == ["A-SHOP", "A-TRUCK", "Zhang"]


def test_freezing_the_demo_factory_of_yang_seals_it(db_url, tmp_path):
    demo = Path(__file__).resolve().parents[2] / "demo" / "data"
    paths = [shutil.copy(demo / n, tmp_path / n) for n in ("loans.csv", "guarantors.csv", "collateral.csv")]
    import_paths(db_url, paths)
    with UnitOfWork(db_url) as uow:
        res = cases.freeze(uow, "L-0002", on=date(2008, 7, 1), asset="A-YANG-FACTORY", authority="Xiaoshan County Court")
    assert res == FreezeResult(loan_id="L-0002", on=date(2008, 7, 1), frozen="A-YANG-FACTORY", authority="Xiaoshan County Court")
    with UnitOfWork(db_url) as uow:
        factory = uow.session.scalars(select(Collateral).where(Collateral.asset_id == "A-YANG-FACTORY")).one()
    assert (factory.loan_id, factory.status, factory.frozen_on) == ("L-0002", "sealed", date(2008, 7, 1))


def test_a_cost_is_owed_without_interest_and_a_refused_cost_changes_nothing(db_url, tmp_path):
    from tests.canonical import canonical_dump

    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1))
    before = balance_on(db_url, "L-1", date(2008, 7, 1))
    with UnitOfWork(db_url) as uow:
        cases.cost(uow, "L-1", Decimal("1234.56"), what="preservation fee", by="E-01")
    assert balance_on(db_url, "L-1", date(2008, 7, 1)).costs == before.costs + 123456
    later, then = balance_on(db_url, "L-1", date(2008, 9, 1)), balance_on(db_url, "L-1", date(2008, 7, 1))
    assert later.costs == then.costs  # no interest on costs
    with UnitOfWork(db_url) as uow:
        action = uow.session.scalars(select(Action).where(Action.kind == "cost")).one()
        assert (action.amount_fen, action.detail, action.on, action.by) == (123456, "preservation fee", date(2008, 7, 1), "E-01")
    snapshot = canonical_dump(db_url)
    for kwargs, error, message in (
        ({"amount": Decimal("0"), "what": "fee"}, BadInput, "must be positive"),
        ({"amount": Decimal("10"), "what": "  "}, BadInput, "^what must say"),
        ({"amount": Decimal("10"), "what": "fee", "on": date(2008, 7, 3)}, RuleViolation, "in the future"),
    ):
        with UnitOfWork(db_url) as uow:
            with pytest.raises(error, match=message):
                cases.cost(uow, "L-1", kwargs.pop("amount"), by="E-01", **kwargs)
    assert canonical_dump(db_url) == snapshot


def test_a_demand_on_or_a_payment_by_a_joint_guarantor_restarts_the_guarantee_debts_limitation(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}])
    run(db_url, date(2008, 7, 1), date(2008, 8, 1))

    def limitation() -> list[dict]:
        with UnitOfWork(db_url) as uow:
            return jsonable(case_view.show(uow, "L-1"))["guarantee_limitations"]

    assert limitation() == []  # not yet preserved: the guarantee period runs
    with UnitOfWork(db_url) as uow:
        cases.demand(uow, "L-1", guarantor="Zhang", on=date(2008, 7, 20), by="E-01")
    # signed in 2008: from the demand (SPC 2000 interpretation Art. 34 ¶2), two years under the law
    # in force then (GPCL 1986 Arts. 135, 140; ran out before 2017-10-01: SPC 2018 transition Art. 3)
    assert limitation() == [{"guarantor": "Zhang", "limitation_end": "2010-07-20"}]
    pay(db_url, "L-1", "100.00", date(2008, 8, 1), payer="guarantor:Zhang")  # an acknowledgement (Art. 14)
    assert limitation() == [{"guarantor": "Zhang", "limitation_end": "2010-08-01"}]
    with UnitOfWork(db_url) as uow:  # an earlier demand recorded late does not shorten it
        cases.demand(uow, "L-1", guarantor="Zhang", on=date(2008, 7, 25), by="E-01")
    assert limitation() == [{"guarantor": "Zhang", "limitation_end": "2010-08-01"}]


# --- lock conflicts are told by the driver's error, not by its words --------------------------------


def _sqlite_error(url: str, statement: str, *, hold_write_lock: bool) -> OperationalError:
    """The error SQLAlchemy raises for ``statement`` on the SQLite file at ``url`` (another
    connection holding its write lock when ``hold_write_lock``)."""
    path = url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    engine = create_engine(url, connect_args={"timeout": 0})
    try:
        if hold_write_lock:
            holder.execute("BEGIN IMMEDIATE")
        with engine.begin() as conn, pytest.raises(OperationalError) as raised:
            conn.execute(text(statement))
        return raised.value
    finally:
        holder.close()
        engine.dispose()


def test_a_sqlite_busy_database_is_a_lock_conflict_and_an_error_that_only_mentions_a_lock_is_not(sqlite_db):
    busy = _sqlite_error(sqlite_db, "INSERT INTO marks (name, \"on\") VALUES ('x', '2008-01-01')", hold_write_lock=True)
    assert busy.orig.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    assert is_lock_conflict(busy)
    no_table = _sqlite_error(sqlite_db, "SELECT * FROM deadlock_lock", hold_write_lock=False)
    assert "lock" in str(no_table)  # the old text check took this for a lock conflict
    assert not is_lock_conflict(no_table)


def test_postgresql_lock_timeouts_serialization_failures_and_deadlocks_are_lock_conflicts_other_errors_are_not(pg_url):
    import psycopg
    from psycopg import errors

    engine = create_engine(pg_url)
    try:
        with engine.begin() as holder:
            holder.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int primary key)"))
            holder.execute(text("INSERT INTO lock_probe VALUES (1) ON CONFLICT DO NOTHING"))
        with engine.connect() as holder, engine.connect() as waiter:
            holder.execute(text("SELECT * FROM lock_probe FOR UPDATE"))
            with pytest.raises(OperationalError) as raised:
                waiter.execute(text("SELECT * FROM lock_probe FOR UPDATE NOWAIT"))
        assert isinstance(raised.value.orig, errors.LockNotAvailable) and is_lock_conflict(raised.value)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE lock_probe"))
    finally:
        engine.dispose()
    for orig in (errors.SerializationFailure("could not serialize access"), errors.DeadlockDetected("deadlock detected")):
        assert is_lock_conflict(OperationalError("UPDATE loans …", {}, orig))
    not_a_lock = errors.UndefinedTable('relation "lock" does not exist')
    assert isinstance(not_a_lock, psycopg.Error) and not is_lock_conflict(ProgrammingError("SELECT …", {}, not_a_lock))


class _FakeUnitOfWork:
    def __init__(self) -> None:
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1


def test_a_service_is_run_again_after_a_lock_conflict_and_refused_after_three_but_another_database_error_is_not_retried():
    from psycopg import errors

    conflict = OperationalError("UPDATE loans …", {}, errors.LockNotAvailable("could not obtain lock on row"))
    calls: list[int] = []

    @retry_on_conflict
    def flaky(uow: _FakeUnitOfWork, failures: int) -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise conflict
        return "done"

    uow = _FakeUnitOfWork()
    assert flaky(uow, 2) == "done" and (len(calls), uow.rollbacks) == (3, 2)
    calls.clear()
    with pytest.raises(ConcurrentUpdate, match="nothing was written"):
        flaky(_FakeUnitOfWork(), 3)
    assert len(calls) == 3

    @retry_on_conflict
    def broken(uow: _FakeUnitOfWork) -> None:
        calls.append(1)
        raise OperationalError("SELECT …", {}, errors.UndefinedTable('relation "lock" does not exist'))

    calls.clear()
    with pytest.raises(OperationalError):
        broken(_FakeUnitOfWork())
    assert len(calls) == 1


# --- safe retries: one key, one booking ------------------------------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"


def demo_book(db_url: str, tmp_path: Path) -> None:
    """The demo portfolio, run by the daily service to 2008-07-20."""
    paths = [shutil.copy(DEMO / name, tmp_path / name) for name in ("loans.csv", "guarantors.csv", "collateral.csv")]
    assert not import_paths(db_url, paths).rejected
    run(db_url, date(2008, 7, 1), date(2008, 7, 20))


# every kind of operation, in an order the demo book allows: (operation, call with a key)
KEYED_OPERATIONS = [
    ("payment", lambda u, k: cases.pay(u, "L-0002", D("1000.00"), by="E-02", key=k)),
    ("visit", lambda u, k: cases.visit(u, "L-0001", outcome="promise", promise_amount=D("100"), promise_date=date(2008, 8, 1),
                                       by="E-01", key=k)),
    ("demand", lambda u, k: cases.demand(u, "L-0002", guarantor="Zhang", by="E-02", key=k)),
    ("cost", lambda u, k: cases.cost(u, "L-0003", D("250.50"), what="court fee", by="E-03", key=k)),
    ("plan", lambda u, k: escalations.plan(u, "L-0005", monthly=D("2000"), first_due=date(2008, 8, 15), by="E-05", key=k)),
    ("escalation", lambda u, k: escalations.escalate(u, "L-0002", to="litigation", reason="sue", by="E-02", approved_by="M-01",
                                                     key=k)),
    ("judgment", lambda u, k: cases.judgment(u, "L-0002", amount=D("1000"), perform_by=date(2008, 9, 1), by="E-02", key=k)),
    ("enforcement", lambda u, k: cases.enforce(u, "L-0002", by="E-02", key=k)),
    ("freeze", lambda u, k: cases.freeze(u, "L-0002", asset="A-YANG-FACTORY", authority="court", by="E-02", key=k)),
    ("take_asset", lambda u, k: cases.take_asset(u, "L-0002", asset="A-YANG-FACTORY", value=D("30000"), by="E-02", key=k)),
    ("dispose_asset", lambda u, k: cases.dispose_asset(u, "L-0002", asset="A-YANG-FACTORY", proceeds=D("31000"), by="E-02",
                                                       key=k)),
    ("rejection", lambda u, k: escalations.record_rejection(u, "L-0003", to="litigation", reason="sue", requested_by="E-03",
                                                            rejected_by="M-01", key=k)),
    ("write_off", lambda u, k: escalations.write_off(u, "L-0004", reason="gone", by="E-01", approved_by="M-01", key=k)),
]


def test_every_operation_run_again_with_its_key_returns_what_it_recorded_and_books_nothing(db_url, tmp_path):
    from models.tables import OperationKey
    from tests.canonical import canonical_dump

    demo_book(db_url, tmp_path)
    for operation, call in KEYED_OPERATIONS:
        with UnitOfWork(db_url) as uow:
            first = call(uow, f"run-{operation}")
        after_first = canonical_dump(db_url)
        with UnitOfWork(db_url) as uow:
            again = call(uow, f"run-{operation}")
        assert again == first, operation  # the same typed result, rebuilt from what was recorded
        assert canonical_dump(db_url) == after_first, operation  # nothing booked twice
        with UnitOfWork(db_url) as uow:
            row = uow.session.get(OperationKey, f"run-{operation}")
            assert (row.operation, row.loan_id) == (operation, first.loan_id)
    assert count(db_url, Payment) == 2  # the payment and the asset taken in settlement, once each


def test_a_refused_operation_leaves_its_key_unused_and_a_key_names_one_operation_only(db_url, tmp_path):
    from tests.canonical import canonical_dump

    demo_book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="overpayment"):
        cases.pay(uow, "L-0002", D("9999999.00"), by="E-02", key="teller-7")
    with UnitOfWork(db_url) as uow:  # the key row goes with the operation's transaction: none was written
        paid = cases.pay(uow, "L-0002", D("100.00"), by="E-02", key="teller-7")
    assert paid.amount == D("100.00")
    snapshot = canonical_dump(db_url)
    for call, words in (
        (lambda u: cases.visit(u, "L-0002", outcome="contacted", key="teller-7"), "already used for payment on L-0002"),
        (lambda u: cases.pay(u, "L-0001", D("100.00"), key="teller-7"), "already used for payment on L-0002"),
        (lambda u: cases.pay(u, "L-0002", D("100.00"), key="  "), "key must not be empty"),
    ):
        with UnitOfWork(db_url) as uow, pytest.raises((RuleViolation, BadInput), match=words):
            call(uow)
    assert canonical_dump(db_url) == snapshot


def test_two_tries_racing_with_one_key_book_once_the_later_one_returns_what_the_first_recorded(db_url, tmp_path, monkeypatch):
    from services import operation_keys
    from tests.canonical import canonical_dump

    demo_book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        first = cases.pay(uow, "L-0002", D("100.00"), by="E-02", key="flow-run-1")
    snapshot = canonical_dump(db_url)
    real, looked = operation_keys.recorded, []

    def not_yet_committed(*args, **kwargs):  # the later try looked before the first one committed
        looked.append(1)
        return None if len(looked) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(operation_keys, "recorded", not_yet_committed)
    with UnitOfWork(db_url) as uow:
        assert cases.pay(uow, "L-0002", D("100.00"), by="E-02", key="flow-run-1") == first
    assert len(looked) == 2  # its own insert of the key failed, its booking was rolled back with it
    assert canonical_dump(db_url) == snapshot


def test_the_next_deadline_of_a_closed_case_is_the_disposal_of_an_asset_taken_in_settlement_until_it_is_sold(db_url, tmp_path):
    demo_book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        owed = case_view.show(uow, "L-0002").balance.total
        cases.take_asset(uow, "L-0002", asset="A-YANG-FACTORY", value=owed, by="E-02")
    with UnitOfWork(db_url) as uow:
        closed = case_view.show(uow, "L-0002")
    assert closed.state == "closed"  # the asset settled the whole debt
    # Commercial Bank Law Art. 42: dispose of it within two years of taking it
    assert case_view.next_deadline(closed) == case_view.Deadline(date(2010, 7, 20), "disposal of asset A-YANG-FACTORY")
    with UnitOfWork(db_url) as uow:
        cases.dispose_asset(uow, "L-0002", asset="A-YANG-FACTORY", by="E-02")
        assert case_view.next_deadline(case_view.show(uow, "L-0002")) is None
    with UnitOfWork(db_url) as uow:
        open_case = case_view.show(uow, "L-0001")
    nearest = case_view.next_deadline(open_case)
    assert nearest is not None and nearest.on >= open_case.as_of
    assert nearest.on <= min(d for d in (open_case.deadlines.state_deadline, open_case.deadlines.limitation_end) if d)
