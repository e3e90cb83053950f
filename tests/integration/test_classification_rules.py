"""Issue 15: restructured assets, days past due from the oldest unpaid amount, staff judgement,
the NPL ratio on principal and closed cases' classification, end to end on SQLite and PostgreSQL.

Literal loans from tests.builders: 100,000.00 at 7.2 % disbursed 2008-01-01, due 2008-06-30
unless a row says otherwise.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from flows.present import jsonable
from machines.policy import load_policy
from models.domain.errors import ClassificationBetterThanFloor
from models.store import UnitOfWork
from models.tables import Action, Loan, Quarantine
from services import case_view, cases, escalations, judgement, reporting
from services.importing import import_paths
from services.operators import ApprovalRefused
from services.views import balances_as_of
from tests.builders import load, run

D = Decimal
DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"


def show(url: str, loan_id: str) -> dict:
    with UnitOfWork(url) as uow:
        return jsonable(case_view.show(uow, loan_id))


def stored(url: str, loan_id: str) -> Loan:
    with UnitOfWork(url) as uow:
        return uow.session.get(Loan, loan_id)


# --- rule 1: restructured assets ------------------------------------------------------------------


def test_an_installment_agreement_makes_a_restructured_asset_observed_from_its_first_repayment_date_rule_1(db_url, tmp_path):
    # L-NPL fell due 2008-01-31: 161 days past due on 2008-07-10 (substandard); L-SM 10 days (special mention)
    load(db_url, tmp_path, [{"loan_id": "L-NPL", "maturity_on": "2008-01-31"}, {"loan_id": "L-SM"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    assert (stored(db_url, "L-NPL").classification, stored(db_url, "L-SM").classification) == ("substandard", "special_mention")
    for loan_id in ("L-NPL", "L-SM"):
        with UnitOfWork(db_url) as uow:
            cases.plan(uow, loan_id, monthly=D("10000"), first_due=date(2008, 8, 15), on=date(2008, 7, 10), by="E-01")

    # from the first agreed repayment date, for 12 months (longer than its first two periods)
    assert show(db_url, "L-NPL")["restructured"] == {
        "on": "2008-07-10", "observation_from": "2008-08-15", "observation_until": "2009-08-15", "floor": "substandard"}
    assert show(db_url, "L-SM")["restructured"]["floor"] == "special_mention"  # performing before: special mention
    assert show(db_url, "L-SM")["restructured"]["observation_until"] == "2009-08-15"

    run(db_url, date(2008, 7, 11), date(2008, 8, 14))  # nothing due under the plans yet: 0 days past due
    assert show(db_url, "L-NPL")["dpd"] == 0
    assert (show(db_url, "L-NPL")["classification"], show(db_url, "L-SM")["classification"]) == ("substandard", "special_mention")


def test_a_missed_installment_during_observation_restarts_it_one_category_worse_rule_1(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-SM"}], [{"loan_id": "L-SM", "guarantor_name": "Zhang", "guarantee_type": "joint",
                                                   "guarantee_period_end": "2010-12-31"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    with UnitOfWork(db_url) as uow:
        cases.plan(uow, "L-SM", monthly=D("10000"), first_due=date(2008, 8, 15), on=date(2008, 7, 10), by="E-01")
    run(db_url, date(2008, 7, 11), date(2008, 8, 15))
    with UnitOfWork(db_url) as uow:  # the first installment paid, the second (2008-09-15) missed
        cases.pay(uow, "L-SM", D("10000"), on=date(2008, 8, 15), by="E-01")
    run(db_url, date(2008, 8, 16), date(2008, 10, 1))  # grace of 15 days: the plan breaks on 2008-10-01

    case = show(db_url, "L-SM")
    assert case["state"] == "guarantor_pressure"
    # restarted from the missed payment's due date, over the two periods after it and 12 months
    assert case["restructured"] == {
        "on": "2008-07-10", "observation_from": "2008-09-15", "observation_until": "2009-09-15", "floor": "substandard"}
    assert case["classification"] == "substandard"  # the DPD floor alone would be special mention
    assert case["dpd"] == 16  # rule 6: from the first missed installment (2008-09-15), not from maturity (2008-06-30)


def test_plans_broken_on_one_date_each_restart_their_own_observation_and_a_failing_one_is_quarantined_alone_rule_1(
        db_url, tmp_path, monkeypatch):
    # three plans of one chunk break on 2008-10-01 (grace of 15 days after 2008-09-15): L-SM special
    # mention and L-NPL substandard before their plans (L-NPL fell due 2008-01-31), L-BAD as L-SM
    load(db_url, tmp_path, [{"loan_id": "L-BAD"}, {"loan_id": "L-NPL", "maturity_on": "2008-01-31"}, {"loan_id": "L-SM"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    for loan_id in ("L-BAD", "L-NPL", "L-SM"):
        with UnitOfWork(db_url) as uow:
            cases.plan(uow, loan_id, monthly=D("10000"), first_due=date(2008, 9, 15), on=date(2008, 7, 10), by="E-01")
    run(db_url, date(2008, 7, 11), date(2008, 9, 30))
    from services import restructuring

    rule = restructuring.missed_during_observation

    def fails_for_l_bad(loan, *args):
        if loan.loan_id == "L-BAD":
            raise RuntimeError("a rule went wrong")
        return rule(loan, *args)

    monkeypatch.setattr(restructuring, "missed_during_observation", fails_for_l_bad)
    run(db_url, date(2008, 10, 1), date(2008, 10, 1))

    # each restarted from its missed installment (2008-09-15), one category worse than its own floor
    assert show(db_url, "L-SM")["restructured"] == {
        "on": "2008-07-10", "observation_from": "2008-09-15", "observation_until": "2009-09-15", "floor": "substandard"}
    assert show(db_url, "L-NPL")["restructured"] == {
        "on": "2008-07-10", "observation_from": "2008-09-15", "observation_until": "2009-09-15", "floor": "doubtful"}
    assert (stored(db_url, "L-SM").overdue_since, stored(db_url, "L-NPL").overdue_since) == (date(2008, 9, 15), date(2008, 9, 15))
    assert (show(db_url, "L-SM")["classification"], show(db_url, "L-NPL")["classification"]) == ("substandard", "doubtful")
    # the case whose rule raised moved nothing and is left to the next run
    bad = stored(db_url, "L-BAD")
    assert (bad.state, bad.overdue_since, bad.observation_from, bad.restructured_floor) == (
        "installment", None, date(2008, 9, 15), "special_mention")
    with UnitOfWork(db_url) as uow:
        quarantined = uow.session.execute(select(Quarantine.loan_id, Quarantine.error).where(Quarantine.released_on.is_(None))).all()
    assert quarantined == [("L-BAD", "RuntimeError: a rule went wrong")]


def test_the_demo_installment_loan_ends_substandard_and_in_observation_rule_1(db_url, tmp_path):
    """L-0004 (47,000.00, due 2008-01-10) signs 1,500 a month from 2010-01-20 on 2008-12-28 and
    pays twelve installments: on 2010-12-31 it is still observed (to 2011-01-20), so at least
    substandard (it was non-performing before), though nothing is past due."""
    paths = [shutil.copy(DEMO / name, tmp_path / name) for name in ("loans.csv", "guarantors.csv", "collateral.csv")]
    assert not import_paths(db_url, paths).rejected
    run(db_url, date(2008, 12, 1), date(2008, 12, 28))
    with UnitOfWork(db_url) as uow:
        cases.plan(uow, "L-0004", monthly=D("1500"), first_due=date(2010, 1, 20), on=date(2008, 12, 28), by="E-02")
    last = date(2008, 12, 28)
    for month in range(1, 13):
        due = date(2010, month, 20)
        run(db_url, last, due)
        with UnitOfWork(db_url) as uow:
            cases.pay(uow, "L-0004", D("1500"), on=due, by="E-02")
        last = due
    run(db_url, last, date(2010, 12, 31))
    case = show(db_url, "L-0004")
    assert (case["state"], case["dpd"], case["classification"]) == ("installment", 0, "substandard")
    assert case["restructured"] == {
        "on": "2008-12-28", "observation_from": "2010-01-20", "observation_until": "2011-01-20", "floor": "substandard"}


# --- rule 2: days past due from the oldest amount still unpaid ------------------------------------


def test_paying_every_overdue_amount_brings_days_past_due_to_zero_and_the_floor_back_to_normal_rule_2(db_url, tmp_path):
    # due 2009-06-30; 20,000.00 of it overdue since 2008-05-01 (an installment of the core system)
    load(db_url, tmp_path, [{"loan_id": "L-2", "maturity_on": "2009-06-30", "overdue_since": "2008-05-01",
                             "overdue_principal": "20000.00"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    assert (show(db_url, "L-2")["dpd"], stored(db_url, "L-2").classification) == (70, "special_mention")
    with UnitOfWork(db_url) as uow:
        owed = balances_as_of(uow.session.get(Loan, "L-2"), date(2008, 7, 10), load_policy())
    # allocated costs → penalty → compound → interest → principal (the interest on the 20,000.00 due
    # 2008-05-01 compounds from 05-02: PBoC 2003 notice item 三)
    assert owed.compound > 0
    overdue = owed.costs + owed.penalty + owed.compound + owed.interest + 2_000_000
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-2", D(overdue) / 100, on=date(2008, 7, 10), by="E-01")
    assert show(db_url, "L-2")["dpd"] == 0
    run(db_url, date(2008, 7, 11))
    assert stored(db_url, "L-2").classification == "normal"
    assert show(db_url, "L-2")["state"] != "closed"  # 80,000.00 not yet due is still owed


# --- rule 3: staff judgement ----------------------------------------------------------------------


def test_staff_may_classify_worse_than_the_floor_with_a_second_persons_approval_never_better_rule_3(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))  # 10 days past due: special mention
    with UnitOfWork(db_url) as uow, pytest.raises(ClassificationBetterThanFloor, match="special_mention"):
        judgement.classify(uow, "L-1", to="normal", reason="pays soon", by="E-01", approved_by="M-01")
    with UnitOfWork(db_url) as uow, pytest.raises(ApprovalRefused, match="requester"):
        judgement.classify(uow, "L-1", to="doubtful", reason="x", by="E-01", approved_by=" e\u201101 ")  # same id normalized
    assert stored(db_url, "L-1").classification == "special_mention"  # nothing changed

    with UnitOfWork(db_url) as uow:
        done = judgement.classify(uow, "L-1", to="doubtful", reason="business closed down", by="E-01", approved_by="M-01")
    assert (done.from_classification, done.to, done.floor, done.approved_by) == ("special_mention", "doubtful", "special_mention", "M-01")
    run(db_url, date(2008, 7, 11), date(2008, 7, 20))  # the daily classification keeps staff's judgement
    case = show(db_url, "L-1")
    assert case["classification"] == "doubtful"
    recorded = [a for a in case["actions"] if a["kind"] == "classification"]
    assert len(recorded) == 1 and recorded[0]["by"] == "M-01" and "business closed down" in recorded[0]["detail"]


def test_npl_classify_better_than_the_floor_exits_1_naming_the_floor_rule_3(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-01-31"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))  # 161 days past due: substandard
    result = CliRunner().invoke(app, ["classify", "L-1", "--to", "special_mention", "--reason", "x", "--by", "E-01",
                                      "--approved-by", "M-01", "--db", db_url])
    assert result.exit_code == 1
    assert "substandard" in result.stderr
    assert stored(db_url, "L-1").classification == "substandard"


# --- rule 7: the NPL ratio on principal -----------------------------------------------------------


def test_the_report_sums_principal_and_interest_receivable_by_classification_and_the_ratio_on_principal_rule_7(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-BAD", "maturity_on": "2008-01-31"}, {"loan_id": "L-OK", "maturity_on": "2009-06-30"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    with UnitOfWork(db_url) as uow:
        report, _ = reporting.build_report(uow.session, load_policy(), date(2008, 7, 10))
    bad = report["by_classification"]["substandard"]
    assert (bad["count"], bad["principal"]) == (1, "100000.00")
    assert D(bad["interest_receivable"]) > 0 and D(bad["balance"]) > D(bad["principal"])  # interest apart from principal
    assert report["npl_ratio"] == "0.5000"  # 100,000 of 200,000 principal (by balance it would be more)


# --- rule 8: closed cases ---------------------------------------------------------------------------


def test_a_closed_case_has_no_classification_but_the_one_it_had_at_close_rule_8(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-01-31"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    with UnitOfWork(db_url) as uow:
        owed = balances_as_of(uow.session.get(Loan, "L-1"), date(2008, 7, 10), load_policy())
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-1", D(owed.total) / 100, on=date(2008, 7, 10), by="E-01")
    run(db_url, date(2008, 7, 11))
    case = show(db_url, "L-1")
    assert (case["state"], case["classification"], case["classification_at_close"]) == ("closed", None, "substandard")
    assert case["restructured"] is None
    with UnitOfWork(db_url) as uow:
        assert uow.session.scalars(select(Action).where(Action.kind == "classification")).first() is None


# --- the Prefect form classify/ops ------------------------------------------------------------------


def test_the_classify_form_records_a_judgement_once_under_its_key_rule_3(db_url, tmp_path, monkeypatch):
    from flows import operations

    monkeypatch.setenv("NPL_DATABASE_URL", db_url)  # no flow takes a database URL
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    form = dict(loan_id="L-1", to="loss", reason="borrower absconded", by="E-01", approved_by="M-01", key="k-classify-1")
    first = operations.classify_loan.fn(**form)
    again = operations.classify_loan.fn(**form)  # a Retry of the run: the same key
    assert first == again and (first["from"], first["to"]) == ("special_mention", "loss")
    with UnitOfWork(db_url) as uow:
        assert len(uow.session.scalars(select(Action).where(Action.kind == "classification")).all()) == 1
    assert show(db_url, "L-1")["classification"] == "loss"


# --- rule 5: the revitalization credit is a loan ----------------------------------------------------


def test_a_revitalization_credit_is_booked_as_a_restructured_loan_of_its_own_rule_5(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-01-31", "credit_rating": "A"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))  # 161 days past due: substandard, in internal review
    with UnitOfWork(db_url) as uow:
        done = escalations.revitalize(uow, "L-1", credit=D("50000"), on=date(2008, 7, 10), by="E-01", approved_by="M-01")
    # defaults: the old loan's rate, due limits.revitalization_term (365) days after the credit
    assert (done.to, done.credit_loan_id, done.rate, done.maturity_on) == ("revitalization", "L-1-R1", "0.072", date(2009, 7, 10))
    credit = stored(db_url, "L-1-R1")
    assert (credit.parent_loan_id, credit.principal_fen, credit.outstanding_principal_fen, credit.disbursed_on) == (
        "L-1", 5_000_000, 5_000_000, date(2008, 7, 10))
    run(db_url, date(2008, 7, 11))
    case = show(db_url, "L-1-R1")
    assert (case["state"], case["dpd"], case["classification"]) == ("performing", 0, "substandard")  # the old debt is an NPL
    assert case["restructured"] == {"on": "2008-07-10", "observation_from": "2009-07-10", "observation_until": "2010-07-10",
                                    "floor": "substandard"}
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-1-R1", D("1000"), on=date(2008, 7, 11), by="E-01")
        report, _ = reporting.build_report(uow.session, load_policy(), date(2008, 7, 11))
    assert report["revitalization_credit"] == {"loans": 1, "given": "50000.00", "recovered": "1000.00",
                                               "outstanding_principal": "49010.00"}  # 10.00 of a day's interest first

    run(db_url, date(2008, 7, 12), date(2009, 7, 11))  # unpaid at its maturity: the revitalization failed
    assert stored(db_url, "L-1-R1").state == "overdue"  # its own clock
    parent = stored(db_url, "L-1")
    assert (parent.state, parent.awaiting_approval) == ("revitalization", "sue")


def test_revitalize_takes_a_rate_and_a_maturity_and_numbers_each_credit_rule_5(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-01-31", "credit_rating": "A"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    result = CliRunner().invoke(app, ["revitalize", "L-1", "--credit", "20000", "--on", "2008-07-10", "--by", "E-01",
                                      "--approved-by", "M-01", "--rate", "0.0531", "--maturity", "2009-01-10", "--db", db_url])
    assert result.exit_code == 0, result.stderr
    assert "L-1-R1" in result.stdout
    credit = stored(db_url, "L-1-R1")
    assert (credit.rate_ppm, credit.maturity_on) == (53_100, date(2009, 1, 10))


# --- rule 6: a broken plan leaves installment ---------------------------------------------------------


def test_an_officer_may_end_a_plan_back_to_visit_and_a_missed_installment_restarts_the_observation_rule_6(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-01-31"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    with UnitOfWork(db_url) as uow:
        cases.plan(uow, "L-1", monthly=D("10000"), first_due=date(2008, 8, 15), on=date(2008, 7, 10), by="E-01")
    run(db_url, date(2008, 7, 11), date(2008, 8, 20))  # the first installment is 5 days late, inside the grace
    with UnitOfWork(db_url) as uow:
        moved = escalations.escalate(uow, "L-1", to="visit", reason="stopped paying", by="E-01", on=date(2008, 8, 20))
    assert (moved.from_state, moved.to, moved.event) == ("installment", "visit", "plan_lapsed")
    case = show(db_url, "L-1")
    assert case["restructured"] == {"on": "2008-07-10", "observation_from": "2008-08-15", "observation_until": "2009-08-15",
                                    "floor": "doubtful"}  # substandard before, one worse after the miss
    assert case["dpd"] == 5  # from the missed installment of 2008-08-15, not from maturity (2008-01-31)
