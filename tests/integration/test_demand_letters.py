"""Issue 14 part 5 on SQLite and PostgreSQL: demand letters generated for the daily run's
send_demand tasks (amounts as `show` gives them), served as demand acts, and the deliveries file."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.present import jsonable
from models.domain.errors import NotFound, RuleViolation
from models.letters import format_amount
from models.store import UnitOfWork
from models.tables import DemandLetter, LegalAct
from services import cases, letters
from services.importing import import_paths
from tests.builders import load, run, write_csv

GUARANTORS = [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"},
              {"loan_id": "L-1", "guarantor_name": "Li", "guarantee_type": "joint"}]
DAY = date(2008, 11, 30)  # 30 days before the joint guarantees' period ends (2008-12-30): send_demand


def npl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "npl"), *args], capture_output=True, text=True, timeout=180)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def clocks(url: str) -> dict[tuple[str, str], dict]:
    with UnitOfWork(url) as uow:
        return {(c["clock"], c["party"]): c for c in jsonable(cases.show(uow, "L-1"))["clocks"]}


def rows(url: str) -> list[DemandLetter]:
    with UnitOfWork(url) as uow:
        return list(uow.session.scalars(select(DemandLetter).order_by(DemandLetter.letter_no)))


def acts(url: str) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.scalar(select(func.count()).select_from(LegalAct))


@pytest.fixture
def due(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "borrower_name": "王小明"}], GUARANTORS)
    run(db_url, date(2008, 7, 1), DAY)
    return db_url


def test_each_joint_guarantor_due_a_demand_gets_a_letter_with_the_amounts_show_gives_and_a_register(due, tmp_path):
    with UnitOfWork(due) as uow:
        batch = letters.generate(uow, DAY, tmp_path / "out")
    assert batch.letters == ("NPL-20081130-0001", "NPL-20081130-0002")
    got = rows(due)
    assert [(r.party, r.kind, r.issued_on, r.pay_by) for r in got] == [
        ("Li", "guarantor", DAY, date(2008, 12, 15)), ("Zhang", "guarantor", DAY, date(2008, 12, 15))]
    with UnitOfWork(due) as uow:
        owed = jsonable(cases.show(uow, "L-1"))["balance"]
    text = pdf_text(batch.pdfs[0])
    assert "履行保证责任通知书" in text and "NPL-20081130-0001" in text and "王小明" in text
    from decimal import Decimal
    for part in ("principal", "interest", "penalty", "total"):
        assert format_amount(Decimal(owed[part])) in text, part
    assert got[0].total_fen == int(Decimal(owed["total"]) * 100)
    with batch.register_csv.open(encoding="utf-8-sig") as f:
        register = list(csv.DictReader(f))
    assert [(r["letter_no"], r["recipient"], r["amount"]) for r in register] == [
        ("NPL-20081130-0001", "Li", owed["total"]), ("NPL-20081130-0002", "Zhang", owed["total"])]
    assert batch.register_xlsx.exists()


def test_a_second_run_for_the_date_or_the_next_day_generates_no_second_letter_for_the_open_task(due, tmp_path):
    with UnitOfWork(due) as uow:
        letters.generate(uow, DAY, tmp_path / "a")
    with UnitOfWork(due) as uow:
        again = letters.generate(uow, DAY, tmp_path / "b")
    assert again.letters == () and again.register_csv is None and not (tmp_path / "b").exists()
    run(due, date(2008, 12, 1))
    with UnitOfWork(due) as uow:
        assert letters.generate(uow, date(2008, 12, 1), tmp_path / "c").letters == ()
    assert len(rows(due)) == 2


def test_served_records_a_demand_act_that_preserves_the_guarantee(due, tmp_path):
    with UnitOfWork(due) as uow:
        letters.generate(uow, DAY, tmp_path)
    assert clocks(due)[("guarantee_period", "Zhang")]["status"] == "live"
    with UnitOfWork(due) as uow:
        letters.served(uow, "NPL-20081130-0002", on=DAY, method="mail", tracking="EMS 77", by="E-01")
    zhang = clocks(due)[("guarantee_period", "Zhang")]
    assert zhang["status"] == "preserved"
    assert zhang["act"]["evidence"] == "EMS 77; letter NPL-20081130-0002" and zhang["act"]["method"] == "mail"
    assert clocks(due)[("guarantee_period", "Li")]["status"] == "live"
    served = {r.letter_no: (r.served_on, r.served_method, r.tracking, r.served_by) for r in rows(due)}
    assert served["NPL-20081130-0002"] == (DAY, "mail", "EMS 77", "E-01")


def test_served_is_refused_before_the_letter_after_the_last_run_and_twice(due, tmp_path):
    with UnitOfWork(due) as uow:
        letters.generate(uow, DAY, tmp_path)
    for on in (date(2008, 11, 29), date(2008, 12, 1)):
        with UnitOfWork(due) as uow, pytest.raises(RuleViolation):
            letters.served(uow, "NPL-20081130-0001", on=on, method="mail", by="E-01")
    assert acts(due) == 0 and rows(due)[0].served_on is None
    with UnitOfWork(due) as uow:
        letters.served(uow, "NPL-20081130-0001", on=DAY, method="in_person", by="E-01")
    with UnitOfWork(due) as uow, pytest.raises(RuleViolation, match="already served"):
        letters.served(uow, "NPL-20081130-0001", on=DAY, method="mail", by="E-01")
    with UnitOfWork(due) as uow, pytest.raises(NotFound):
        letters.served(uow, "NPL-20081130-0009", on=DAY, method="mail", by="E-01")
    assert acts(due) == 1


def test_a_deliveries_file_marks_letters_served_and_rejects_an_unknown_number(due, tmp_path):
    with UnitOfWork(due) as uow:
        letters.generate(uow, DAY, tmp_path / "out")
    path = write_csv(tmp_path / "deliveries.csv", [
        {"letter_no": "NPL-20081130-0001", "delivered_on": "2008-11-30", "tracking": "EMS 1", "method": "mail"},
        {"letter_no": "NPL-20081130-0099", "delivered_on": "2008-11-30", "tracking": "", "method": ""},
        {"letter_no": "NPL-20081130-0002", "delivered_on": "2008-11-30", "tracking": "", "method": ""},
    ])
    report = import_paths(due, [path])
    assert [(r.line, r.column) for r in report.rejected] == [(3, "letter_no")]
    c = clocks(due)
    assert c[("guarantee_period", "Li")]["status"] == c[("guarantee_period", "Zhang")]["status"] == "preserved"
    assert [(r.served_on, r.served_method, r.tracking) for r in rows(due)] == [(DAY, "mail", "EMS 1"), (DAY, "mail", None)]


def test_cli_letters_and_served(due, tmp_path):
    done = npl("letters", "--as-of", "2008-11-30", "--out", str(tmp_path / "o"), "--db", due)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["NPL-20081130-0001", "NPL-20081130-0002"]
    assert lines[2].startswith("register: ") and lines[2].endswith(".csv")
    again = npl("letters", "--as-of", "2008-11-30", "--out", str(tmp_path / "o"), "--db", due)
    assert again.returncode == 0 and again.stdout.strip() == "2008-11-30: no new demand letter due"
    early = npl("served", "NPL-20081130-0001", "--on", "2008-11-01", "--method", "mail", "--by", "E-01", "--db", due)
    assert early.returncode == 1 and "before letter" in early.stderr
    ok = npl("served", "NPL-20081130-0001", "--on", "2008-11-30", "--method", "mail", "--tracking", "EMS 9", "--by", "E-01", "--db", due)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "NPL-20081130-0001: served on Li of L-1 on 2008-11-30 (mail); demand recorded"
    assert npl("served", "NPL-20081130-0001", "--on", "2008-11-30", "--method", "mail", "--by", "E-01", "--db", due).returncode == 1
    assert acts(due) == 1


def test_cli_import_of_a_deliveries_file_records_the_known_letters_and_exits_2_naming_the_unknown_one(due, tmp_path):
    with UnitOfWork(due) as uow:
        letters.generate(uow, DAY, tmp_path / "out")
    path = write_csv(tmp_path / "deliveries.csv", [
        {"letter_no": "NPL-20081130-0042", "delivered_on": "2008-11-30"},
        {"letter_no": "NPL-20081130-0002", "delivered_on": "2008-11-30"},
    ])
    done = npl("import", str(path), "--db", due)
    assert done.returncode == 2
    assert "imported: 1 deliveries" in done.stdout
    assert f"rejected: {path}:2: column letter_no: no letter numbered 'NPL-20081130-0042'" in done.stderr
    assert [r.served_on for r in rows(due)] == [None, DAY]


def test_the_branch_code_name_and_address_come_from_the_environment(due, tmp_path, monkeypatch):
    monkeypatch.setenv("NPL_BRANCH_CODE", "GZ01")
    monkeypatch.setenv("NPL_BRANCH_NAME", "广州农商银行天河支行")
    monkeypatch.setenv("NPL_BRANCH_ADDRESS", "广州市天河路1号")
    with UnitOfWork(due) as uow:
        batch = letters.generate(uow, DAY, tmp_path)
    assert batch.letters == ("GZ01-20081130-0001", "GZ01-20081130-0002")
    text = pdf_text(batch.pdfs[1]).replace(" ", "")
    assert "广州农商银行天河支行" in text and "广州市天河路1号" in text and "Zhang" in text
