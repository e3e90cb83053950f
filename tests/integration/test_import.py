"""Importing the core-banking export (CONTRACT.md "Import files"), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from models.importing import upsert
from models.domain.errors import BadInput
from models.store import UnitOfWork
from models.tables import Borrower, Collateral, Guarantor, Loan, Officer
from services.importing import ImportReport, Rejected, import_paths

DATA = Path(__file__).parent / "data" / "import"
BAD_INPUTS = Path(__file__).parents[1] / "data" / "bad_inputs"

LOAN_HEADER = (
    "loan_id,borrower_name,borrower_id,id_number,phone,address,employer,employer_type,origin,"
    "officer_id,introduced_by,product,principal,annual_rate,disbursed_on,maturity_on,"
    "outstanding_principal,interest_arrears,last_payment_on,credit_rating,overdue_since,"
    "overdue_principal,accrued_to"
).split(",")
GOOD_LOAN = dict.fromkeys(LOAN_HEADER, "") | {
    "borrower_name": "Yang",
    "principal": "49000.00",
    "annual_rate": "0.0657",
    "disbursed_on": "2007-06-30",
    "maturity_on": "2008-06-30",
    "outstanding_principal": "49000.00",
}


def copied(tmp_path: Path, *names: str, source: Path = DATA) -> list[Path]:
    """Copies of data files in a scratch directory (rejects files are written beside them)."""
    paths = []
    for name in names:
        shutil.copy(source / name, tmp_path / name)
        paths.append(tmp_path / name)
    return paths


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def loans_file(tmp_path: Path, name: str, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, LOAN_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(db_url: str, *paths: Path) -> ImportReport:
    return import_paths(db_url, list(paths))


def loan_row(db_url: str, loan_id: str) -> Loan:
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        return uow.session.execute(select(Loan).where(Loan.loan_id == loan_id)).scalar_one()


def count(db_url: str, table: type) -> int:
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        return uow.session.execute(select(func.count()).select_from(table)).scalar_one()


def where(report: ImportReport) -> dict[int, tuple[str, str]]:
    return {r.line: (r.column, r.reason) for r in report.rejected}


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- a mixed file -------------------------------------------------------------------------------


def test_mixed_file_lands_every_good_row_and_reports_each_bad_row(db_url: str, tmp_path: Path) -> None:
    (path,) = copied(tmp_path, "loans_mixed.csv")

    report = run_import(db_url, path)

    assert (report.loans, report.loans_created, report.loans_updated) == (3, 3, 0)
    assert count(db_url, Loan) == 3
    assert {r.file for r in report.rejected} == {str(path)}
    lines = where(report)
    assert sorted(lines) == [5, 6, 7, 8, 9, 11, 12]  # physical lines: L-0001 spans lines 2-3
    assert lines[5][0] == "principal" and "thousands separators" in lines[5][1]
    assert lines[6][0] == "annual_rate" and "at most 1" in lines[6][1]
    assert lines[7][0] == "disbursed_on" and "ISO date" in lines[7][1]
    assert lines[8] == ("loan_id", "duplicate loan_id 'L-0002': first on line 4")
    assert lines[9][0] == "maturity_on" and "not after disbursed_on" in lines[9][1]
    assert lines[11] == ("borrower_name", "looks like spreadsheet formula text")
    assert lines[12] == ("outstanding_principal", "outstanding_principal exceeds principal")


def test_rejects_file_beside_the_input_has_the_original_columns_and_line_column_reason(
    db_url: str, tmp_path: Path
) -> None:
    (path,) = copied(tmp_path, "loans_mixed.csv")

    report = run_import(db_url, path)

    rejects = tmp_path / "loans_mixed.rejects.csv"
    assert report.rejects_files == [str(rejects)]
    rows = read_rejects(rejects)
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert list(rows[0]) == [*header, "line", "column", "reason"]
    assert [(row["loan_id"], row["line"], row["column"]) for row in rows] == [
        ("L-0003", "5", "principal"),
        ("L-0004", "6", "annual_rate"),
        ("L-0005", "7", "disbursed_on"),
        ("L-0002", "8", "loan_id"),
        ("L-0006", "9", "maturity_on"),
        ("L-0008", "11", "borrower_name"),
        ("L-0009", "12", "outstanding_principal"),
    ]
    assert rows[0]["principal"] == "1,000.00" and rows[0]["note"] == "thousands separator"
    # echoed formula text is defused for whoever opens the rejects file in a spreadsheet
    assert rows[5]["borrower_name"] == "'=cmd|' /C calc'!A0"
    assert [r.reason for r in report.rejected] == [row["reason"] for row in rows]


def test_clean_import_removes_a_stale_rejects_file(db_url: str, tmp_path: Path) -> None:
    (path,) = copied(tmp_path, "loans.csv")
    stale = written(tmp_path, "loans.rejects.csv", "loan_id,line,column,reason\nL-1,2,x,old\n")

    report = run_import(db_url, path)

    assert report.rejected == [] and report.rejects_files == []
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["loans.csv"]  # no temporary files left


# --- loans --------------------------------------------------------------------------------------


def test_new_loan_is_a_performing_case_due_the_day_after_it_falls_due(db_url: str, tmp_path: Path) -> None:
    run_import(db_url, *copied(tmp_path, "loans_mixed.csv"))

    yang = loan_row(db_url, "L-0001")
    assert (yang.principal_fen, yang.rate_ppm, yang.outstanding_principal_fen) == (4_900_000, 65_700, 4_900_000)
    assert (yang.interest_fen, yang.penalty_fen, yang.costs_fen, yang.overdue_principal_fen) == (123_456, 0, 0, 0)
    assert (yang.state, yang.classification, yang.touched, yang.version) == (
        "performing",
        "normal",
        False,
        1,
    )
    assert (yang.product, yang.origin, yang.assigned_to) == ("business", "external", "E-01")
    assert yang.accrued_to == date(2007, 6, 30)  # no last payment: interest accrues from disbursement
    assert yang.next_event_on == date(2008, 7, 1)  # the first day past maturity
    assert yang.borrower_id == "110101196501010011"  # keyed by id_number when no borrower_id

    xu = loan_row(db_url, "L-0002")
    assert xu.borrower_id == "B-L-0002"
    assert xu.overdue_since == date(2006, 9, 13) and xu.next_event_on == date(2006, 9, 14)
    assert xu.overdue_principal_fen == xu.outstanding_principal_fen == 27_000_000  # default: all of it

    wang = loan_row(db_url, "L-0007")
    assert (wang.officer_id, wang.introduced_by, wang.assigned_to) == ("E-03", "E-09", "E-09")
    assert wang.next_event_on == date(2008, 5, 2)

    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        officers = set(uow.session.execute(select(Officer.officer_id)).scalars())
        borrower = uow.session.get(Borrower, "110101196501010011")
    assert officers == {"E-01", "E-02", "E-03", "E-09"}
    assert borrower is not None
    assert (borrower.name, borrower.address, borrower.employer_type) == ("Yang", "Lot 7\nEast Road", "none")


def test_loan_with_nothing_owed_is_due_on_its_accrual_date(db_url: str, tmp_path: Path) -> None:
    paid = GOOD_LOAN | {
        "loan_id": "L-PAID",
        "outstanding_principal": "0",
        "interest_arrears": "0.00",
        "last_payment_on": "2008-05-20",
    }
    run_import(db_url, loans_file(tmp_path, "loans.csv", [paid]))

    loan = loan_row(db_url, "L-PAID")
    assert loan.accrued_to == date(2008, 5, 20) and loan.next_event_on == date(2008, 5, 20)


def test_accrued_to_column_sets_the_date_interest_arrears_run_to(db_url: str, tmp_path: Path) -> None:
    row = GOOD_LOAN | {"loan_id": "L-1", "last_payment_on": "2008-01-31", "accrued_to": "2008-03-31"}
    run_import(db_url, loans_file(tmp_path, "loans.csv", [row]))

    assert loan_row(db_url, "L-1").accrued_to == date(2008, 3, 31)


def test_reimport_updates_the_loan_without_duplicating_it(db_url: str, tmp_path: Path) -> None:
    first, again = copied(tmp_path, "loans.csv", "loans_update.csv")
    run_import(db_url, first)
    with UnitOfWork(db_url) as uow:  # the daily run has since worked the case
        assert uow.session is not None
        uow.session.execute(
            update(Loan)
            .where(Loan.loan_id == "L-0001")
            .values(state="overdue", penalty_fen=500, costs_fen=200, assigned_to="E-01")
        )
        uow.commit()
    before = loan_row(db_url, "L-0001")

    report = run_import(db_url, again)

    assert (report.loans, report.loans_created, report.loans_updated) == (1, 0, 1)
    assert count(db_url, Loan) == 2 and count(db_url, Borrower) == 2
    after = loan_row(db_url, "L-0001")
    assert after.outstanding_principal_fen == 4_500_000  # the export's balances
    assert (after.interest_fen, after.accrued_to) == (10_000, date(2008, 3, 31))
    assert after.overdue_since == date(2008, 4, 30) and after.overdue_principal_fen == 4_500_000
    assert after.officer_id == "E-05"
    assert (after.state, after.penalty_fen, after.costs_fen) == ("overdue", 500, 200)  # the case is kept
    assert after.assigned_to == "E-01"  # a case in collection keeps its assignee
    assert after.touched is True
    assert after.version == before.version + 1
    assert after.next_event_on == date(2008, 5, 1)  # moved earlier: the new first day past due


def test_reimport_never_moves_the_next_event_later(db_url: str, tmp_path: Path) -> None:
    first, again = copied(tmp_path, "loans.csv", "loans_update.csv")
    run_import(db_url, first)
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        uow.session.execute(update(Loan).where(Loan.loan_id == "L-0001").values(next_event_on=date(2008, 3, 1)))
        uow.commit()

    run_import(db_url, again)

    loan = loan_row(db_url, "L-0001")
    assert loan.next_event_on == date(2008, 3, 1)
    assert loan.assigned_to == "E-05"  # not yet in collection: follows the export's officer


def test_reimport_moves_the_loan_to_the_borrower_the_export_names(db_url: str, tmp_path: Path) -> None:
    run_import(db_url, loans_file(tmp_path, "first.csv", [GOOD_LOAN | {"loan_id": "L-1"}]))
    moved = GOOD_LOAN | {"loan_id": "L-1", "borrower_id": "C-9", "officer_id": "E-02"}

    run_import(db_url, loans_file(tmp_path, "second.csv", [moved]))

    loan = loan_row(db_url, "L-1")
    assert (loan.borrower_id, loan.officer_id, loan.assigned_to) == ("C-9", "E-02", "E-02")
    assert count(db_url, Loan) == 1 and count(db_url, Borrower) == 2


def test_blank_contact_details_in_a_reimport_do_not_erase_the_borrower_s(db_url: str, tmp_path: Path) -> None:
    full = GOOD_LOAN | {"loan_id": "L-1", "borrower_id": "C-1", "phone": "+86 138 0000 0000"}
    full["employer_type"] = "government"
    run_import(db_url, loans_file(tmp_path, "first.csv", [full]))
    sparse = GOOD_LOAN | {"loan_id": "L-1", "borrower_id": "C-1", "borrower_name": "Yang Moumou"}

    run_import(db_url, loans_file(tmp_path, "second.csv", [sparse]))

    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        borrower = uow.session.get(Borrower, "C-1")
    assert borrower is not None
    assert (borrower.name, borrower.phone, borrower.employer_type) == ("Yang Moumou", "+86 138 0000 0000", "government")


def test_duplicate_loan_id_in_one_file_rejects_the_later_row_naming_the_first(db_url: str, tmp_path: Path) -> None:
    rows = [
        GOOD_LOAN | {"loan_id": "L-1"},
        GOOD_LOAN | {"loan_id": "L-2"},
        GOOD_LOAN | {"loan_id": "L-1", "principal": "1.00", "outstanding_principal": "1.00"},
    ]

    report = run_import(db_url, loans_file(tmp_path, "loans.csv", rows))

    assert report.loans == 2
    assert where(report) == {4: ("loan_id", "duplicate loan_id 'L-1': first on line 2")}
    assert loan_row(db_url, "L-1").principal_fen == 4_900_000  # the first row stands


def test_each_invalid_loan_cell_is_rejected_with_its_column_and_reason(db_url: str, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"loan_id": ""}, "loan_id", "required value is blank"),
        ({"borrower_name": "  "}, "borrower_name", "required value is blank"),
        (
            {"principal": "1,000.00", "outstanding_principal": "1000.00"},
            "principal",
            "thousands separators are not accepted: write 1000.00",
        ),
        ({"principal": "49000.001"}, "principal", "more than two decimals"),
        ({"principal": "-5"}, "principal", "must not be negative"),
        ({"principal": "0", "outstanding_principal": "0"}, "principal", "must be positive"),
        ({"principal": "49000 yuan"}, "principal", "not a plain decimal amount"),
        ({"annual_rate": "1.5"}, "annual_rate", "must be at most 1"),
        ({"annual_rate": "6.57%"}, "annual_rate", "not a percentage"),
        ({"annual_rate": "0.0657001"}, "annual_rate", "more than six decimals"),
        ({"disbursed_on": "30/06/2007"}, "disbursed_on", "not an ISO date (YYYY-MM-DD)"),
        ({"maturity_on": "2008-02-30"}, "maturity_on", "not a valid calendar date"),
        ({"maturity_on": "2007-06-30"}, "maturity_on", "is not after disbursed_on"),
        ({"outstanding_principal": "49000.01"}, "outstanding_principal", "exceeds principal"),
        (
            {"overdue_since": "2008-06-30", "overdue_principal": "49000.01"},
            "overdue_principal",
            "exceeds outstanding_principal",
        ),
        ({"overdue_principal": "100.00"}, "overdue_principal", "overdue_since is blank"),
        ({"overdue_since": "2007-06-29"}, "overdue_since", "before disbursed_on"),
        ({"accrued_to": "2007-01-01"}, "accrued_to", "before disbursed_on"),
        ({"employer_type": "army"}, "employer_type", "one of government|institution|state_enterprise|private|none"),
        ({"origin": "internal"}, "origin", "must be one of insider|insider_introduced|relationship|external"),
        ({"product": "car"}, "product", "must be one of business|consumer|mortgage"),
        ({"credit_rating": "AAAA"}, "credit_rating", "must be one of AAA|AA|A|BBB|BB|B|C"),
        ({"borrower_name": "Y" * 201}, "borrower_name", "longer than 200 characters (has 201)"),
        ({"address": "A" * 301}, "address", "longer than 300 characters"),
        ({"loan_id": "L" * 65}, "loan_id", "longer than 64 characters"),
        ({"borrower_name": "=1+2"}, "borrower_name", "looks like spreadsheet formula text"),
        ({"borrower_name": "+Yang"}, "borrower_name", "looks like spreadsheet formula text"),
        ({"address": "-1 Road"}, "address", "looks like spreadsheet formula text"),
        ({"employer": "@SUM(A1)"}, "employer", "looks like spreadsheet formula text"),
        ({"borrower_name": "\tYang"}, "borrower_name", "looks like spreadsheet formula text"),
        ({"borrower_name": "Ya\x00ng"}, "borrower_name", "contains a control character"),
        ({"phone": "=2+5"}, "phone", "looks like spreadsheet formula text"),
        # last: a carriage return inside a quoted cell ends a physical line, shifting those after
        ({"employer": "\rAcme"}, "employer", "looks like spreadsheet formula text"),
    ]
    rows = [GOOD_LOAN | {"loan_id": f"L-{n}"} | overrides for n, (overrides, _, _) in enumerate(cases)]
    rows.append(GOOD_LOAN | {"loan_id": "L-GOOD", "phone": "+86 138 0000 0000", "credit_rating": "bbb"})

    report = run_import(db_url, loans_file(tmp_path, "loans.csv", rows))

    got = where(report)
    for line, (_, column, fragment) in enumerate(cases, start=2):
        assert line in got, f"line {line} not rejected: expected {column}: {fragment}"
        assert got[line][0] == column and fragment in got[line][1], (line, got[line], column, fragment)
    assert len(got) == len(cases)
    assert report.loans == 1 and loan_row(db_url, "L-GOOD").borrower_id == "B-L-GOOD"


def test_all_problems_of_a_row_are_named_in_its_reason(db_url: str, tmp_path: Path) -> None:
    row = GOOD_LOAN | {"loan_id": "L-1", "principal": "lots", "disbursed_on": "yesterday"}

    report = run_import(db_url, loans_file(tmp_path, "loans.csv", [row]))

    (rejected,) = report.rejected
    assert rejected.column == "principal"
    assert "also disbursed_on: not an ISO date" in rejected.reason


def test_row_with_more_fields_than_the_header_is_rejected(db_url: str, tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "loans.csv",
        "loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\n"
        "L-1,Yang,49,000.00,0.0657,2007-06-30,2008-06-30,49000.00\n"
        "L-2,Xu,1000,0.05,2007-06-30,2008-06-30,1000,,\n",  # blank trailing cells are tolerated
    )

    report = run_import(db_url, path)

    assert report.loans == 1
    (rejected,) = report.rejected
    assert (rejected.line, rejected.column) == (2, "(row)")
    assert "row has 8 fields, the header has 7" in rejected.reason and "unquoted comma" in rejected.reason


def test_header_names_are_trimmed_and_case_blind_and_a_bom_is_accepted(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_bytes(
        "\ufeff Loan_ID ,Borrower_Name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\r\n"
        "L-1,杨,49000.00,0.0657,2007-06-30,2008-06-30,49000.00\r\n".encode()
    )

    report = run_import(db_url, path)

    assert report.loans == 1 and report.files[0].kind == "loans"
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        assert uow.session.get(Borrower, "B-L-1").name == "杨"  # type: ignore[union-attr]


# --- guarantors ---------------------------------------------------------------------------------


def test_guarantor_mode_defaults_to_general_and_the_period_to_six_months_after_maturity(
    db_url: str, tmp_path: Path
) -> None:
    run_import(db_url, *copied(tmp_path, "loans.csv", "guarantors.csv"))

    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        rows = {g.name: g for g in uow.session.execute(select(Guarantor)).scalars()}
    zhang, li, wu = rows["Zhang"], rows["Li Si"], rows["Wu"]
    assert (zhang.guarantee_type, zhang.period_end) == ("joint", date(2008, 12, 30))
    assert zhang.account_balance_fen == 3_000_000
    assert zhang.phone == "13900000000"
    assert li.guarantee_type == "general"  # Art. 686: an unstated mode is general
    assert li.agreed_period_end == date(2008, 5, 31)
    assert li.period_end == date(2008, 12, 30)  # agreed end before maturity: the legal default
    assert (wu.guarantee_type, wu.period_end) == ("general", date(2007, 12, 31))  # agreed end stands


def test_guarantor_for_an_unknown_loan_is_rejected(db_url: str, tmp_path: Path) -> None:
    report = run_import(db_url, *copied(tmp_path, "loans.csv", "guarantors.csv"))

    assert report.guarantors == 3
    (rejected,) = report.rejected
    assert rejected == Rejected(str(tmp_path / "guarantors.csv"), 5, "loan_id", rejected.reason)
    assert rejected.reason.startswith("unknown loan_id 'L-0404'")
    assert read_rejects(tmp_path / "guarantors.rejects.csv")[0]["guarantor_name"] == "Nobody"


def test_guarantors_may_name_loans_from_a_loans_file_of_the_same_call(db_url: str, tmp_path: Path) -> None:
    guarantors, loans = copied(tmp_path, "guarantors.csv", "loans.csv")

    report = run_import(db_url, guarantors, loans)  # loans files are loaded first whatever the order

    assert (report.loans, report.guarantors) == (2, 3)
    assert [f.kind for f in report.files] == ["guarantors", "loans"]


def test_guarantor_of_a_rejected_loan_row_says_so(db_url: str, tmp_path: Path) -> None:
    loans = written(
        tmp_path,
        "loans.csv",
        "loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\n"
        "L-1,Yang,49000.00,6.57,2007-06-30,2008-06-30,49000.00\n",
    )
    guarantors = written(tmp_path, "g.csv", "loan_id,guarantor_name,guarantee_type\nL-1,Zhang,joint\n")

    report = run_import(db_url, loans, guarantors)

    assert [r.column for r in report.rejected] == ["annual_rate", "loan_id"]
    assert "its loans row was rejected" in report.rejected[1].reason


def test_reimported_guarantor_keeps_its_demand_and_touches_the_loan_in_collection_not_a_performing_one(db_url: str, tmp_path: Path) -> None:
    loans, guarantors = copied(tmp_path, "loans.csv", "guarantors.csv")
    run_import(db_url, loans, guarantors)
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        uow.session.execute(update(Guarantor).where(Guarantor.name == "Zhang").values(demanded_on=date(2008, 11, 30)))
        uow.session.execute(update(Loan).values(touched=False, clocks_ahead_on=date(2011, 6, 30)))
        uow.session.execute(update(Loan).where(Loan.loan_id == "L-0001").values(state="visit"))
        uow.commit()
    before, performing = loan_row(db_url, "L-0001"), loan_row(db_url, "L-0002")
    assert performing.state == "performing"
    again = written(
        tmp_path,
        "g2.csv",
        "loan_id,guarantor_name,guarantee_type,account_balance\nL-0001,Zhang,joint,25000.00\nL-0002,Late,joint,\n",
    )

    run_import(db_url, again)

    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        zhang = uow.session.execute(select(Guarantor).where(Guarantor.name == "Zhang")).scalar_one()
    assert (zhang.demanded_on, zhang.account_balance_fen, zhang.phone) == (date(2008, 11, 30), 2_500_000, "13900000000")
    assert count(db_url, Guarantor) == 4
    after = loan_row(db_url, "L-0001")
    assert after.touched is True and after.version == before.version + 1
    # performing: nothing for the run to judge before it falls due (the fall-due rule alone), but
    # its version moves and where its clocks end comes down to the new guarantee's period end
    late = loan_row(db_url, "L-0002")
    assert late.touched is False and late.version == performing.version + 1
    with UnitOfWork(db_url) as uow:
        period_end = uow.session.execute(select(Guarantor.period_end).where(Guarantor.name == "Late")).scalar_one()
    assert late.clocks_ahead_on == period_end < date(2011, 6, 30)


def test_invalid_guarantor_rows_are_rejected(db_url: str, tmp_path: Path) -> None:
    (loans,) = copied(tmp_path, "loans.csv")
    path = written(
        tmp_path,
        "g.csv",
        "loan_id,guarantor_name,guarantee_type,guarantee_period_end,account_balance\n"
        "L-0001,Zhang,joint,,\n"
        "L-0001,Zhang,general,,\n"
        "L-0001,Li,several,,\n"
        "L-0001,Wu,joint,31.12.2008,\n"
        "L-0001,Zhao,joint,,\"30,000.00\"\n"
        "L-0001,=Zhou,joint,,\n"
        "L-0001,,joint,,\n",
    )

    report = run_import(db_url, loans, path)

    assert report.guarantors == 1
    got = where(report)
    assert got[3] == ("guarantor_name", "duplicate guarantor 'Zhang' for loan 'L-0001': first on line 2")
    assert got[4][0] == "guarantee_type" and "joint|general" in got[4][1]
    assert got[5][0] == "guarantee_period_end" and "ISO date" in got[5][1]
    assert got[6][0] == "account_balance" and "thousands separators" in got[6][1]
    assert got[7] == ("guarantor_name", "looks like spreadsheet formula text")
    assert got[8] == ("guarantor_name", "required value is blank")


# --- collateral ---------------------------------------------------------------------------------


def test_collateral_without_asset_id_is_numbered_by_its_row_for_the_loan(db_url: str, tmp_path: Path) -> None:
    report = run_import(db_url, *copied(tmp_path, "loans.csv", "collateral.csv"))

    assert report.collateral == 3
    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        rows = uow.session.execute(select(Collateral)).scalars()
        assets = {c.asset_id: (c.owner, c.status, c.estimated_value_fen) for c in rows}
    assert assets == {
        "L-0001-1": ("borrower", "free", 15_000_000),
        "ACC-ZHANG": ("guarantor", "frozen", 3_000_000),
        "L-0001-3": ("borrower", "free", 1_200_000),
    }


def test_reimported_collateral_keeps_its_status_unless_the_export_states_one(db_url: str, tmp_path: Path) -> None:
    run_import(db_url, *copied(tmp_path, "loans.csv", "collateral.csv"))
    again = written(
        tmp_path,
        "c2.csv",
        "loan_id,owner,description,estimated_value,asset_id,status\n"
        "L-0001,guarantor,Settlement account of Zhang,25000.00,ACC-ZHANG,\n"
        "L-0001,borrower,\"Factory land, about 2 mu\",150000.00,L-0001-1,sold\n",
    )

    run_import(db_url, again)

    with UnitOfWork(db_url) as uow:
        assert uow.session is not None
        rows = uow.session.execute(select(Collateral)).scalars()
        assets = {c.asset_id: (c.status, c.estimated_value_fen) for c in rows}
    assert assets["ACC-ZHANG"] == ("frozen", 2_500_000)
    assert assets["L-0001-1"] == ("sold", 15_000_000)
    assert len(assets) == 3


def test_invalid_collateral_rows_are_rejected(db_url: str, tmp_path: Path) -> None:
    (loans,) = copied(tmp_path, "loans.csv")
    path = written(
        tmp_path,
        "c.csv",
        "loan_id,owner,description,estimated_value,asset_id,status\n"
        "L-0001,borrower,Land,100.00,A-1,\n"
        "L-0001,borrower,Land again,100.00,A-1,\n"
        "L-0001,bank,Car,100.00,,\n"
        "L-0001,borrower,+Car,100.00,,\n"
        f"L-0001,borrower,{'D' * 301},100.00,,\n"
        "L-0001,borrower,Boat,100.00,,pawned\n"
        "L-0404,borrower,Boat,100.00,,\n",
    )

    report = run_import(db_url, loans, path)

    assert report.collateral == 1
    got = where(report)
    assert got[3] == ("asset_id", "duplicate asset 'A-1' for loan 'L-0001': first on line 2")
    assert got[4][0] == "owner" and "borrower|guarantor" in got[4][1]
    assert got[5] == ("description", "looks like spreadsheet formula text")
    assert got[6] == ("description", "longer than 300 characters (has 301)")
    assert got[7][0] == "status" and "free|frozen|sealed|sold" in got[7][1]
    assert got[8][0] == "loan_id" and "unknown loan_id 'L-0404'" in got[8][1]


# --- one transaction ----------------------------------------------------------------------------


def test_a_failure_part_way_writes_nothing_and_leaves_no_rejects_file(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loans, guarantors = copied(tmp_path, "loans_mixed.csv", "guarantors.csv")

    def broken(self: object, rows: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(upsert.Store, "guarantors", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(db_url, loans, guarantors)

    assert count(db_url, Loan) == 0 and count(db_url, Borrower) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guarantors.csv", "loans_mixed.csv"]


# --- files that cannot be read at all -----------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_file", "message"),
    [
        ("not_utf8_loans.csv", "not_utf8_loans.csv: not valid UTF-8 at byte offset 98 (line 2)"),
        ("empty.csv", "empty.csv: empty file"),
        ("header_only_loans.csv", "header_only_loans.csv: no data rows"),
        ("unknown_header.csv", "unknown_header.csv: header matches no import file kind"),
    ],
)
def test_unreadable_file_refuses_the_whole_call_and_writes_nothing(
    db_url: str, tmp_path: Path, bad_file: str, message: str
) -> None:
    (good,) = copied(tmp_path, "loans_mixed.csv")
    (bad,) = copied(tmp_path, bad_file, source=BAD_INPUTS)

    with pytest.raises(BadInput) as refused:
        run_import(db_url, good, bad)

    assert message in str(refused.value)
    assert count(db_url, Loan) == 0 and count(db_url, Borrower) == 0 and count(db_url, Officer) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([good.name, bad.name])  # no rejects file


def test_unknown_header_names_the_missing_columns_of_every_kind(tmp_path: Path, sqlite_db: str) -> None:
    (bad,) = copied(tmp_path, "unknown_header.csv", source=BAD_INPUTS)

    with pytest.raises(BadInput) as refused:
        run_import(sqlite_db, bad)

    text = str(refused.value)
    assert "loans: loan_id, borrower_name, principal" in text
    assert "guarantors: loan_id, guarantor_name, guarantee_type" in text
    assert "collateral: loan_id, owner, description, estimated_value" in text


def test_blank_lines_only_is_an_empty_file(tmp_path: Path, sqlite_db: str) -> None:
    with pytest.raises(BadInput, match="empty file"):
        run_import(sqlite_db, written(tmp_path, "blank.csv", "\n \n\n"))


def test_missing_file_is_bad_input(tmp_path: Path, sqlite_db: str) -> None:
    with pytest.raises(BadInput, match="no such file"):
        run_import(sqlite_db, tmp_path / "nowhere.csv")


def test_file_the_csv_reader_cannot_parse_refuses_the_call(tmp_path: Path, sqlite_db: str) -> None:
    path = written(
        tmp_path,
        "loans.csv",
        "loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\n"
        "L-1,Yang,49000.00,0.0657,2007-06-30,2008-06-30,49000.00\n"
        'L-2,"Xu,1.00,0.05,2007-06-30,2008-06-30,1.00\n' + "x" * 140_000 + "\n",  # an unclosed quote
    )

    with pytest.raises(BadInput, match="loans.csv: the record starting on line 3 is not readable as CSV"):
        run_import(sqlite_db, path)
    assert count(sqlite_db, Loan) == 0


def test_unclosed_quote_within_the_reader_s_limit_rejects_the_row_it_swallows(db_url: str, tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "loans.csv",
        "loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\n"
        "L-1,Yang,49000.00,0.0657,2007-06-30,2008-06-30,49000.00\n"
        'L-2,"Xu,1.00,0.05,2007-06-30,2008-06-30,1.00\n'
        "L-3,Li,1.00,0.05,2007-06-30,2008-06-30,1.00\n",
    )

    report = run_import(db_url, path)

    assert report.loans == 1
    (rejected,) = report.rejected
    assert (rejected.line, rejected.column) == (3, "(row)")
    assert "spans lines 3-5 (an unclosed quote?)" in rejected.reason


def test_multibyte_character_across_a_read_chunk_is_valid_utf8(tmp_path: Path, sqlite_db: str) -> None:
    data = bytearray(b"loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal\n")
    n = 0
    while len(data) < (1 << 20) - 150:
        n += 1
        data += f"L-{n},Yang,1.00,0.05,2007-06-30,2008-06-30,1.00\n".encode()
    prefix = f"L-{n + 1},".encode()
    pad = (1 << 20) - 1 - len(data) - len(prefix)  # '杨' (3 bytes) starts one byte before 1 MiB
    data += prefix + ("x" * pad + "杨").encode() + b",1.00,0.05,2007-06-30,2008-06-30,1.00\n"
    path = tmp_path / "loans.csv"
    path.write_bytes(bytes(data))

    report = run_import(sqlite_db, path)

    assert report.loans == n + 1 and report.rejected == []


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("loan_id,guarantor_name,guarantee_type,owner,description,estimated_value", "guarantors and collateral"),
        ("loan_id,guarantor_name,guarantee_type,Loan_ID", "column 'loan_id' appears twice"),
    ],
)
def test_ambiguous_header_is_bad_input(tmp_path: Path, sqlite_db: str, header: str, message: str) -> None:
    path = written(tmp_path, "x.csv", f"{header}\n" + ",".join(["L-1"] * len(header.split(","))) + "\n")

    with pytest.raises(BadInput, match=message):
        run_import(sqlite_db, path)
