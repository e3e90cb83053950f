"""Settlement in kind and the disposal clock of assets the bank takes (Commercial Bank Law
Art. 42: dispose of them within two years; the daily run lists them from 90 days before)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from machines.policy import load_policy
from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork
from models.tables import Action, Collateral, Loan, Payment
from flows.present import jsonable
from services import cases
from services.importing import import_paths
from services.worklist import deadlines_at_risk, worklist
from tests.builders import load, run, write_csv


def book(url: str, tmp_path) -> None:
    """L-1 owes 100,000 (due 2008-06-30), its borrower's flat and a guarantor's shop as collateral."""
    load(url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Li", "guarantee_type": "joint"}])
    collateral = write_csv(tmp_path / "collateral.csv", [
        {"loan_id": "L-1", "owner": "borrower", "description": "flat", "estimated_value": "60000.00", "asset_id": "A-FLAT"},
        {"loan_id": "L-1", "owner": "guarantor", "description": "shop", "estimated_value": "80000.00", "asset_id": "A-SHOP"},
    ])
    assert not import_paths(url, [collateral]).rejected
    run(url, date(2008, 7, 1), date(2008, 7, 10))


def asset(url: str, asset_id: str) -> Collateral:
    with UnitOfWork(url) as uow:
        return uow.session.scalars(select(Collateral).where(Collateral.asset_id == asset_id)).one()


def risks(url: str, on: date) -> list[tuple[str, str, str]]:
    with UnitOfWork(url) as uow:
        return [(r["clock"], r["date"], r["detail"]) for r in deadlines_at_risk(uow.session, on, load_policy())
                if r["clock"] == "foreclosed_asset"]


def test_taking_an_asset_settles_its_agreed_value_as_the_owners_payment_and_starts_the_disposal_clock(db_url, tmp_path):
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        res = jsonable(cases.take_asset(uow, "L-1", asset="A-FLAT", value=Decimal("60000.00"), on=date(2008, 7, 10), by="E-01"))
    assert (res["amount"], res["payer"], res["dispose_by"]) == ("60000.00", "borrower", "2010-07-10")
    taken = asset(db_url, "A-FLAT")
    assert (taken.status, taken.taken_on, taken.disposed_on) == ("taken", date(2008, 7, 10), None)
    with UnitOfWork(db_url) as uow:
        payment = uow.session.scalars(select(Payment)).one()
        assert (payment.amount_fen, payment.payer, payment.paid_on) == (6_000_000, "borrower", date(2008, 7, 10))
        action = uow.session.scalars(select(Action).where(Action.kind == "asset_taken")).one()
        assert (action.target, action.due_on, action.amount_fen) == ("A-FLAT", date(2010, 7, 10), 6_000_000)
        assert uow.session.get(Loan, "L-1").state != "closed"  # 60,000 of about 100,400 owed


def test_a_guarantors_asset_is_settled_as_that_guarantors_payment_and_can_close_the_case(db_url, tmp_path):
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        with pytest.raises(BadInput, match="guarantor's: name the payer"):
            cases.take_asset(uow, "L-1", asset="A-SHOP", value=Decimal("80000.00"), by="E-01")
    with UnitOfWork(db_url) as uow:
        owed = jsonable(cases.show(uow, "L-1"))["balance"]["total"]
    with UnitOfWork(db_url) as uow:
        res = jsonable(cases.take_asset(uow, "L-1", asset="A-SHOP", value=Decimal(owed), payer="guarantor:Li", by="E-01"))
    assert (res["payer"], res["state"], res["closed_reason"]) == ("guarantor:Li", "closed", "settled_by_guarantor")
    with UnitOfWork(db_url) as uow:
        assert jsonable(cases.show(uow, "L-1"))["history"][-1]["reason"] == "settled in kind: asset A-SHOP"


def test_a_taken_asset_is_at_risk_from_ninety_days_before_its_deadline_until_disposed_of_even_after_the_case_closed(db_url, tmp_path):
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        owed = jsonable(cases.show(uow, "L-1"))["balance"]["total"]
    with UnitOfWork(db_url) as uow:
        cases.take_asset(uow, "L-1", asset="A-SHOP", value=Decimal(owed), payer="guarantor:Li", on=date(2008, 7, 10), by="E-01")
    assert risks(db_url, date(2010, 4, 10)) == []  # 91 days before 2010-07-10
    at_risk = [("foreclosed_asset", "2010-07-10", "A-SHOP: dispose of the asset taken in settlement (Commercial Bank Law Art. 42)")]
    assert risks(db_url, date(2010, 4, 11)) == at_risk
    assert risks(db_url, date(2010, 7, 10)) == at_risk
    assert risks(db_url, date(2010, 9, 1)) == [
        ("foreclosed_asset", "2010-07-10", "A-SHOP: disposal deadline passed: dispose of the asset (Commercial Bank Law Art. 42)")]
    with UnitOfWork(db_url) as uow:
        items = [i for i in worklist(uow.session, date(2010, 5, 1), load_policy()) if i["loan_id"] == "L-1"]
    assert [(i["task"], i["urgent"], i["due"]) for i in items] == [("deadline_at_risk", True, "2010-07-10")]

    run(db_url, date(2008, 7, 11), date(2010, 6, 1))  # the run's clock reaches the disposal date
    with UnitOfWork(db_url) as uow:
        res = jsonable(cases.dispose_asset(uow, "L-1", asset="A-SHOP", proceeds=Decimal("85000.00"), by="E-01"))
    assert (res["disposed_on"], res["late"]) == ("2010-06-01", False)
    assert (asset(db_url, "A-SHOP").status, asset(db_url, "A-SHOP").disposed_on) == ("sold", date(2010, 6, 1))
    assert risks(db_url, date(2010, 6, 1)) == []
    with UnitOfWork(db_url) as uow:
        assert jsonable(cases.show(uow, "L-1"))["assets_taken"] == [
            {"asset": "A-SHOP", "taken_on": "2008-07-10", "dispose_by": "2010-07-10", "disposed_on": "2010-06-01"}]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda u: cases.take_asset(u, "L-1", asset="A-FLAT", value=Decimal("500000.00"), by="E-01"), RuleViolation, "overpayment refused"),
        (lambda u: cases.take_asset(u, "L-1", asset="A-FLAT", value=Decimal("0"), by="E-01"), BadInput, "must be positive"),
        (lambda u: cases.take_asset(u, "L-1", asset="A-NONE", value=Decimal("1"), by="E-01"), Exception, "no collateral 'A-NONE'"),
        (lambda u: cases.take_asset(u, "L-1", asset="A-FLAT", value=Decimal("1"), payer="court", by="E-01"), BadInput, "not from a court"),
        (lambda u: cases.dispose_asset(u, "L-1", asset="A-FLAT", by="E-01"), RuleViolation, "was not taken in settlement"),
    ],
    ids=["overpayment", "zero-value", "unknown-asset", "court-payer", "dispose-untaken"],
)
def test_a_refused_asset_operation_changes_nothing(db_url, tmp_path, call, error, message):
    from tests.canonical import canonical_dump

    book(db_url, tmp_path)
    before = canonical_dump(db_url)
    with UnitOfWork(db_url) as uow:
        with pytest.raises(error, match=message):
            call(uow)
    assert canonical_dump(db_url) == before


def test_an_asset_is_taken_once_disposed_of_once_and_never_frozen_after_it_is_the_banks(db_url, tmp_path):
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        cases.take_asset(uow, "L-1", asset="A-FLAT", value=Decimal("1000.00"), on=date(2008, 7, 10), by="E-01")
    with UnitOfWork(db_url) as uow:
        with pytest.raises(RuleViolation, match="already taken in settlement"):
            cases.take_asset(uow, "L-1", asset="A-FLAT", value=Decimal("1000.00"), by="E-01")
    with UnitOfWork(db_url) as uow:
        with pytest.raises(RuleViolation, match="taken in settlement on 2008-07-10: it is the bank's own"):
            cases.freeze(uow, "L-1", asset="A-FLAT", by="E-01")
    with UnitOfWork(db_url) as uow:
        with pytest.raises(RuleViolation, match="before the asset was taken"):
            cases.dispose_asset(uow, "L-1", asset="A-FLAT", on=date(2008, 7, 9), by="E-01")
    with UnitOfWork(db_url) as uow:
        cases.dispose_asset(uow, "L-1", asset="A-FLAT", by="E-01")
    with UnitOfWork(db_url) as uow:
        with pytest.raises(RuleViolation, match="already disposed of on 2008-07-10"):
            cases.dispose_asset(uow, "L-1", asset="A-FLAT", by="E-01")
