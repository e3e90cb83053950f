"""The repayments file (CONTRACT.md, "The nightly feed"): each row booked through the payment
service `npl pay` uses, exactly once per reference; bad rows rejected with file, line, column
and reason (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from models.store import UnitOfWork
from models.tables import Guarantor, History, Loan, Payment
from services import cases
from services.importing import import_paths
from tests.builders import load, run, write_csv

RUN_TO = date(2008, 7, 10)
TWINS = [{"loan_id": "L-1"}, {"loan_id": "L-2"}, {"loan_id": "L-3", "principal": "5000.00", "outstanding_principal": "5000.00"}]
GUARANTORS = [
    {"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"},
    {"loan_id": "L-2", "guarantor_name": "Zhang", "guarantee_type": "joint"},
]


def book(db_url: str, tmp_path: Path) -> None:
    """Three overdue loans, run to RUN_TO; L-1 and L-2 are twins."""
    load(db_url, tmp_path, TWINS, GUARANTORS)
    run(db_url, date(2008, 7, 1), RUN_TO)


def repayments(path: Path, rows: list[dict[str, Any]]) -> Path:
    return write_csv(path, rows)


def payments(db_url: str, loan_id: str | None = None) -> list[Payment]:
    with UnitOfWork(db_url) as uow:
        stmt = select(Payment).order_by(Payment.id)
        if loan_id is not None:
            stmt = stmt.where(Payment.loan_id == loan_id)
        return list(uow.session.scalars(stmt))


def loan(db_url: str, loan_id: str) -> Loan:
    with UnitOfWork(db_url) as uow:
        return uow.session.get(Loan, loan_id)


def allocation(p: Payment) -> tuple:
    return (p.paid_on, p.amount_fen, p.payer, p.guarantor_name, p.costs_fen, p.penalty_fen, p.interest_fen,
            p.principal_fen, p.state_at_payment)


def balances(row: Loan) -> tuple:
    return (row.outstanding_principal_fen, row.overdue_principal_fen, row.interest_fen, row.penalty_fen, row.costs_fen,
            row.accrued_to, row.last_payment_on, row.limitation_start, row.state)


def test_a_repayments_row_books_what_npl_pay_books_and_keeps_its_reference(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    file = repayments(tmp_path / "repayments.csv", [
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "1500.00", "reference": "TX-1"},
        {"loan_id": "L-1", "paid_on": "2008-07-11", "amount": "200.50", "reference": "TX-2", "payer": "guarantor:Zhang"},
    ])
    report = import_paths(db_url, [file])
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-2", Decimal("1500.00"), on=date(2008, 7, 10))
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-2", Decimal("200.50"), on=date(2008, 7, 11), payer="guarantor:Zhang")

    assert (report.repayments, report.rejected, report.already_booked) == (2, [], 0)
    assert [f.kind for f in report.files] == ["repayments"]
    imported, typed = payments(db_url, "L-1"), payments(db_url, "L-2")
    assert [allocation(p) for p in imported] == [allocation(p) for p in typed]
    assert [p.reference for p in imported] == ["TX-1", "TX-2"] and [p.reference for p in typed] == [None, None]
    assert {p.recorded_by for p in imported} == {"core-banking"}
    assert balances(loan(db_url, "L-1")) == balances(loan(db_url, "L-2"))
    with UnitOfWork(db_url) as uow:
        zhang = [uow.session.scalars(select(Guarantor).where(Guarantor.loan_id == lid)).one() for lid in ("L-1", "L-2")]
    assert zhang[0].limitation_interrupted_on == zhang[1].limitation_interrupted_on == date(2008, 7, 11)


def test_a_repayments_file_delivered_twice_books_nothing_twice(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    rows = [
        {"loan_id": "L-1", "paid_on": "2008-07-09", "amount": "1000.00", "reference": "TX-1"},
        {"loan_id": "L-2", "paid_on": "2008-07-10", "amount": "300.00", "reference": "TX-2"},
    ]
    first = import_paths(db_url, [repayments(tmp_path / "night1.csv", rows)])
    after_first = [allocation(p) for p in payments(db_url)], balances(loan(db_url, "L-1")), balances(loan(db_url, "L-2"))
    again = import_paths(db_url, [repayments(tmp_path / "night1-again.csv", rows)])

    assert (first.repayments, first.already_booked) == (2, 0)
    assert (again.repayments, again.already_booked, again.rejected) == (0, 2, [])
    assert again.files[0].already_booked == 2
    assert ([allocation(p) for p in payments(db_url)], balances(loan(db_url, "L-1")), balances(loan(db_url, "L-2"))) == after_first


def test_a_reference_booked_for_another_payment_is_rejected_not_booked(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    import_paths(db_url, [repayments(tmp_path / "a.csv", [
        {"loan_id": "L-1", "paid_on": "2008-07-09", "amount": "1000.00", "reference": "TX-1"},
    ])])
    report = import_paths(db_url, [repayments(tmp_path / "b.csv", [
        {"loan_id": "L-2", "paid_on": "2008-07-09", "amount": "1000.00", "reference": "TX-1"},
    ])])

    assert report.repayments == 0
    assert [(r.line, r.column) for r in report.rejected] == [(2, "reference")]
    assert "already booked for another payment (loan L-1, 1000.00 paid on 2008-07-09)" in report.rejected[0].reason
    assert payments(db_url, "L-2") == []


def test_bad_repayment_rows_are_rejected_with_line_column_and_reason_and_the_good_rows_are_booked(
    db_url: str, tmp_path: Path
) -> None:
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        owed_l3 = str(cases.show(uow, "L-3").balance.total)
    file = repayments(tmp_path / "repayments.csv", [
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "100.00", "reference": "OK-1", "payer": ""},       # 2
        {"loan_id": "L-9", "paid_on": "2008-07-10", "amount": "100.00", "reference": "R-2", "payer": ""},        # 3
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "0", "reference": "R-3", "payer": ""},             # 4
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "1,000.00", "reference": "R-4", "payer": ""},      # 5
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "100.00", "reference": "", "payer": ""},           # 6
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "100.00", "reference": "OK-1", "payer": ""},       # 7
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "100.00", "reference": "R-8", "payer": "friend"},  # 8
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "100.00", "reference": "R-9", "payer": "guarantor:Li"},  # 9
        {"loan_id": "L-1", "paid_on": "2008-07-15", "amount": "100.00", "reference": "R-10", "payer": ""},      # 10
        {"loan_id": "L-3", "paid_on": "2008-07-10", "amount": "999999.00", "reference": "R-11", "payer": ""},   # 11
        {"loan_id": "L-3", "paid_on": "2008-07-10", "amount": owed_l3, "reference": "OK-12", "payer": "court"},  # 12
        {"loan_id": "L-3", "paid_on": "2008-07-10", "amount": "1.00", "reference": "R-13", "payer": ""},        # 13
    ])
    report = import_paths(db_url, [file])

    got = {r.line: (r.column, r.reason) for r in report.rejected}
    assert sorted(got) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    assert got[3] == ("loan_id", "unknown loan_id 'L-9' (not on file)")
    assert got[4] == ("amount", "a payment must be positive")
    assert got[5][0] == "amount" and "thousands separators" in got[5][1]
    assert got[6] == ("reference", "required value is blank")
    assert got[7] == ("reference", "duplicate reference 'OK-1': first on line 2")
    assert got[8][0] == "payer" and "guarantor:NAME" in got[8][1]
    assert got[9] == ("payer", "loan L-1 has no guarantor named 'Li'")
    assert got[10][0] == "paid_on" and "in the future" in got[10][1]
    assert got[11][0] == "amount" and "overpayment refused" in got[11][1]
    assert got[13][0] == "loan_id" and "is closed" in got[13][1]  # paid off by line 12, booked first (same date)
    assert report.repayments == 2
    assert [(p.loan_id, p.reference) for p in payments(db_url)] == [("L-1", "OK-1"), ("L-3", "OK-12")]
    assert (loan(db_url, "L-3").state, loan(db_url, "L-3").closed_reason) == ("closed", "recovered_by_court")
    with (tmp_path / "repayments.rejects.csv").open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [(int(r["line"]), r["column"], r["reason"]) for r in written] == [
        (r.line, r.column, r.reason) for r in report.rejected
    ]


def test_a_deduction_is_booked_as_the_borrowers_money_and_interrupts_limitation(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    before = loan(db_url, "L-1").limitation_start
    report = import_paths(db_url, [repayments(tmp_path / "r.csv", [
        {"loan_id": "L-1", "paid_on": "2008-07-08", "amount": "50.00", "reference": "D-1", "payer": "Deduction"},
    ])])

    assert (report.repayments, report.rejected) == (1, [])
    (payment,) = payments(db_url, "L-1")
    assert (payment.payer, payment.reference) == ("borrower", "D-1")
    assert before != date(2008, 7, 8) and loan(db_url, "L-1").limitation_start == date(2008, 7, 8)


def test_a_payment_that_pays_a_case_off_closes_it_in_the_history(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    with UnitOfWork(db_url) as uow:
        owed = str(cases.show(uow, "L-3").balance.total)
    import_paths(db_url, [repayments(tmp_path / "r.csv", [
        {"loan_id": "L-3", "paid_on": "2008-07-10", "amount": owed, "reference": "X-1"},
    ])])
    with UnitOfWork(db_url) as uow:
        last = uow.session.scalars(select(History).where(History.loan_id == "L-3").order_by(History.id.desc())).first()
    assert (last.to_state, last.by) == ("closed", "core-banking")


def test_npl_import_books_a_repayments_file_and_exits_2_on_rejected_rows(db_url: str, tmp_path: Path) -> None:
    book(db_url, tmp_path)
    file = repayments(tmp_path / "r.csv", [
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "10.00", "reference": "C-1"},
        {"loan_id": "L-1", "paid_on": "2008-07-10", "amount": "-5", "reference": "C-2"},
    ])
    result = CliRunner().invoke(app, ["import", str(file), "--db", db_url])
    again = CliRunner().invoke(app, ["import", str(file), "--db", db_url])

    assert result.exit_code == 2
    assert "imported: 1 repayments (0 already booked, skipped)" in result.stdout
    assert f"rejected: {file}:3: column amount: amount must not be negative: '-5'" in result.stderr
    assert "imported: 0 repayments (1 already booked, skipped)" in again.stdout
    assert len(payments(db_url)) == 1
