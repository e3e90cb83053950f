"""Import rules of issues 15, 16 and 18: plausibility bounds, look-alike loan ids, overdue_since
with nothing owed, staff_classification, masked rejects, and guarantee terms (signed_on,
unstated, until_repaid) — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from machines.policy import PolicyError, load_policy
from models.store import UnitOfWork
from models.tables import Guarantor, Loan
from services.importing import ImportReport, import_paths

HEADER = (
    "loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal,"
    "overdue_principal,interest_arrears,overdue_since,id_number,phone,staff_classification"
).split(",")
GOOD = dict.fromkeys(HEADER, "") | {
    "borrower_name": "Yang",
    "principal": "49000.00",
    "annual_rate": "0.0657",
    "disbursed_on": "2007-06-30",
    "maturity_on": "2008-06-30",
    "outstanding_principal": "49000.00",
}
G_HEADER = "loan_id,guarantor_name,guarantee_type,guarantee_period_end,signed_on,until_repaid,id_number,account_balance".split(",")


def loans_file(tmp_path: Path, rows: list[dict[str, str]], name: str = "loans.csv") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for n, row in enumerate(rows):
            writer.writerow(GOOD | {"loan_id": f"L-{n:03d}"} | row)
    return path


def guarantors_file(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "guarantors.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, G_HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict.fromkeys(G_HEADER, "") | row)
    return path


def rejected(report: ImportReport) -> dict[int, tuple[str, str]]:
    return {r.line: (r.column, r.reason) for r in report.rejected}


def loan_ids(url: str) -> set[str]:
    with UnitOfWork(url) as uow:
        return set(uow.session.execute(select(Loan.loan_id)).scalars())


# --- plausibility bounds (issue 16 part 2): the day either side of each bound -------------------

BOUND_CASES = [
    # (column changes, accepted?, column named, bound named)
    ({"disbursed_on": "1949-10-01", "maturity_on": "1950-10-01"}, True, "", ""),
    ({"disbursed_on": "1949-09-30", "maturity_on": "1950-10-01"}, False, "disbursed_on", "bounds.earliest_date"),
    ({"disbursed_on": "2000-02-29", "maturity_on": "2050-02-28"}, True, "", ""),  # 50 years (Feb 29 → 28)
    ({"disbursed_on": "2000-02-29", "maturity_on": "2050-03-01"}, False, "maturity_on", "bounds.max_term_years"),
    ({"disbursed_on": "2020-01-01", "maturity_on": "9999-12-31"}, False, "maturity_on", "bounds.max_term_years"),
    ({"disbursed_on": "2020-01-01", "maturity_on": "2020-01-02"}, True, "", ""),
    ({"disbursed_on": "2020-01-01", "maturity_on": "2020-01-01"}, False, "maturity_on", "is not after disbursed_on"),
    ({"principal": "9999999999.99", "outstanding_principal": "1.00"}, True, "", ""),
    ({"principal": "10000000000.00", "outstanding_principal": "1.00"}, False, "principal", "bounds.max_amount"),
    ({"principal": "10000000000.00", "outstanding_principal": "10000000000.00"}, False, "principal", "bounds.max_amount"),
    ({"overdue_principal": "10000000000.00", "overdue_since": "2008-07-01"}, False, "overdue_principal", "bounds.max_amount"),
    ({"interest_arrears": "9999999999.99"}, True, "", ""),
    ({"interest_arrears": "10000000000.00"}, False, "interest_arrears", "bounds.max_amount"),
    ({"annual_rate": "0.36"}, True, "", ""),
    ({"annual_rate": "0.360001"}, False, "annual_rate", "bounds.max_annual_rate"),
]


@pytest.mark.parametrize(("change", "accepted", "column", "bound"), BOUND_CASES)
def test_a_row_outside_a_plausibility_bound_is_rejected_naming_the_bound_and_the_rest_lands(
    db_url: str, tmp_path: Path, change: dict[str, str], accepted: bool, column: str, bound: str
) -> None:
    report = import_paths(db_url, [loans_file(tmp_path, [change, {}])])

    assert loan_ids(db_url) == ({"L-000", "L-001"} if accepted else {"L-001"})
    if accepted:
        assert report.rejected == []
    else:
        (line, (named, reason)), = rejected(report).items()
        assert (line, named) == (2, column)
        assert bound in reason


def test_bounds_come_from_the_policy_file(db_url: str, tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text('[bounds]\nmax_amount = "1000.00"\nmax_annual_rate = "0.05"\n', encoding="utf-8")
    policy = load_policy(override)

    report = import_paths(db_url, [loans_file(tmp_path, [{"principal": "1000.00", "outstanding_principal": "1.00"},
                                                         {"principal": "999.99", "outstanding_principal": "1.00",
                                                          "annual_rate": "0.05"},
                                                         {"principal": "999.99", "outstanding_principal": "1.00"}])],
                          policy=policy)

    assert [(r.line, r.column) for r in report.rejected] == [(2, "principal"), (4, "annual_rate")]
    assert "bounds.max_amount = 1000.00" in report.rejected[0].reason
    assert loan_ids(db_url) == {"L-001"}


def test_collateral_value_and_guarantor_balance_are_bounded(db_url: str, tmp_path: Path) -> None:
    loans = loans_file(tmp_path, [{}])
    collateral = tmp_path / "collateral.csv"
    collateral.write_text("loan_id,owner,description,estimated_value\n"
                          "L-000,borrower,house,10000000000.00\nL-000,borrower,car,9999999999.99\n", encoding="utf-8")
    guarantors = guarantors_file(tmp_path, [{"loan_id": "L-000", "guarantor_name": "Rich", "guarantee_type": "joint",
                                             "account_balance": "10000000000.00"}])

    report = import_paths(db_url, [loans, guarantors, collateral])

    assert [(r.file.rsplit("/", 1)[-1], r.line, r.column) for r in report.rejected] == [
        ("guarantors.csv", 2, "account_balance"), ("collateral.csv", 2, "estimated_value")]
    assert all("bounds.max_amount" in r.reason for r in report.rejected)
    assert report.collateral == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[bounds]\nearliest_date = "1949-13-01"\n', "bounds.earliest_date"),
        ("[bounds]\nmax_term_years = 0\n", "bounds.max_term_years"),
        ('[bounds]\nmax_amount = "-1"\n', "bounds.max_amount"),
        ('[bounds]\nmax_amount = "1.001"\n', "bounds.max_amount"),
        ("[bounds]\nmax_amount = 100\n", "bounds.max_amount"),
        ('[bounds]\nmax_annual_rate = "1.5"\n', "bounds.max_annual_rate"),
        ('[bounds]\nmax_rate = "0.1"\n', "bounds.max_rate"),
    ],
)
def test_an_invalid_bound_in_the_policy_file_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


# --- look-alike loan ids (issue 16 part 8) -------------------------------------------------------


@pytest.mark.parametrize(
    ("loan_id", "code_point"),
    [
        ("L-00\u0421", "U+0421"),  # Cyrillic capital Es, prints as C
        ("L-\uff10\uff10\uff11", "U+FF10"),  # full-width digits
        ("L-0\u200b01", "U+200B"),  # zero-width space
        ("L-0\u00a001", "U+00A0"),  # no-break space
        ("L 001", "U+0020"),
    ],
)
def test_a_look_alike_loan_id_is_refused_naming_the_character(
    db_url: str, tmp_path: Path, loan_id: str, code_point: str
) -> None:
    report = import_paths(db_url, [loans_file(tmp_path, [{"loan_id": "L-001"}, {"loan_id": loan_id}])])

    assert loan_ids(db_url) == {"L-001"}
    (line, (column, reason)), = rejected(report).items()
    assert (line, column) == (3, "loan_id")
    assert code_point in reason


def test_plain_ascii_loan_ids_with_dots_underscores_and_dashes_are_accepted(db_url: str, tmp_path: Path) -> None:
    report = import_paths(db_url, [loans_file(tmp_path, [{"loan_id": "L.2008_01-7"}, {"loan_id": "abcXYZ019"}])])
    assert report.rejected == []
    assert loan_ids(db_url) == {"L.2008_01-7", "abcXYZ019"}


# --- overdue_since with nothing outstanding (issue 15 rule 9) ------------------------------------


def test_overdue_since_with_nothing_outstanding_is_rejected(db_url: str, tmp_path: Path) -> None:
    rows = [
        {"outstanding_principal": "0", "interest_arrears": "0", "overdue_since": "2008-07-01"},
        {"outstanding_principal": "0", "overdue_since": "2008-07-01"},  # blank arrears: none
        {"outstanding_principal": "0", "interest_arrears": "0.01", "overdue_since": "2008-07-01"},
        {"outstanding_principal": "0.01", "overdue_since": "2008-07-01"},
        {"outstanding_principal": "0", "interest_arrears": "0"},
    ]
    report = import_paths(db_url, [loans_file(tmp_path, rows)])

    assert {line: column for line, (column, _) in rejected(report).items()} == {2: "overdue_since", 3: "overdue_since"}
    assert "nothing is outstanding" in report.rejected[0].reason
    assert loan_ids(db_url) == {"L-002", "L-003", "L-004"}


# --- staff_classification (issue 15) -------------------------------------------------------------


def test_staff_classification_is_stored_and_a_value_that_is_no_category_is_rejected(db_url: str, tmp_path: Path) -> None:
    rows = [{"staff_classification": "Substandard"}, {"staff_classification": "loss"}, {},
            {"staff_classification": "bad"}]
    report = import_paths(db_url, [loans_file(tmp_path, rows)])

    (line, (column, reason)), = rejected(report).items()
    assert (line, column) == (5, "staff_classification")
    assert "normal|special_mention|substandard|doubtful|loss" in reason
    with UnitOfWork(db_url) as uow:
        stored = dict(uow.session.execute(select(Loan.loan_id, Loan.staff_classification)).all())
    assert stored == {"L-000": "substandard", "L-001": "loss", "L-002": None}

    import_paths(db_url, [loans_file(tmp_path, [{}, {"staff_classification": "doubtful"}], name="again.csv")])
    with UnitOfWork(db_url) as uow:
        stored = dict(uow.session.execute(select(Loan.loan_id, Loan.staff_classification)).all())
    assert stored == {"L-000": "substandard", "L-001": "doubtful", "L-002": None}  # a blank keeps it


# --- masked rejects (issue 16 part 8) ------------------------------------------------------------


def test_rejects_file_masks_id_numbers_and_phones(db_url: str, tmp_path: Path) -> None:
    path = loans_file(tmp_path, [{"principal": "x", "id_number": "320102199001011234", "phone": "13912345678"}])
    guarantors = guarantors_file(tmp_path, [{"loan_id": "L-NOPE", "guarantor_name": "Zhang", "guarantee_type": "joint",
                                             "id_number": "320102198001011111"}])
    import_paths(db_url, [path, guarantors])

    text = (tmp_path / "loans.rejects.csv").read_text(encoding="utf-8")
    assert "320102199001011234" not in text and "13912345678" not in text
    (row,) = csv.DictReader(text.splitlines())
    assert (row["id_number"], row["phone"]) == ("3201**********1234", "139****5678")
    g_text = (tmp_path / "guarantors.rejects.csv").read_text(encoding="utf-8")
    assert "320102198001011111" not in g_text and "3201**********1111" in g_text


# --- guarantee terms (issue 18 part 2) -----------------------------------------------------------


def guarantors_of(url: str) -> dict[str, Guarantor]:
    with UnitOfWork(url) as uow:
        return {g.name: g for g in uow.session.execute(select(Guarantor)).scalars()}


def test_guarantee_terms_signed_on_unstated_and_until_repaid_are_stored_and_decide_the_period(
    db_url: str, tmp_path: Path
) -> None:
    loans = loans_file(tmp_path, [
        {"disbursed_on": "2007-06-30", "maturity_on": "2008-06-30"},
        {"disbursed_on": "2021-03-01", "maturity_on": "2022-03-01"},
    ])
    guarantors = guarantors_file(tmp_path, [
        # signed before 2021, period agreed "until repaid": two years (SPC 2000 interpretation Art. 32 ¶2)
        {"loan_id": "L-000", "guarantor_name": "Old", "guarantee_type": "unstated", "until_repaid": "yes"},
        # signed_on given: it, not the disbursement, decides the law (Civil Code from 2021: six months)
        {"loan_id": "L-000", "guarantor_name": "Late", "guarantee_type": "joint", "signed_on": "2021-02-01",
         "until_repaid": "TRUE"},
        {"loan_id": "L-001", "guarantor_name": "New", "guarantee_type": "Unstated", "until_repaid": "1"},
        {"loan_id": "L-001", "guarantor_name": "Plain", "guarantee_type": "general", "until_repaid": "no"},
    ])

    report = import_paths(db_url, [loans, guarantors])

    assert report.rejected == []
    got = guarantors_of(db_url)
    assert {name: (g.guarantee_type, g.signed_on, g.until_repaid, g.period_end) for name, g in got.items()} == {
        "Old": ("unstated", date(2007, 6, 30), True, date(2010, 6, 30)),
        "Late": ("joint", date(2021, 2, 1), True, date(2008, 12, 30)),
        "New": ("unstated", date(2021, 3, 1), True, date(2022, 9, 1)),
        "Plain": ("general", date(2021, 3, 1), False, date(2022, 9, 1)),
    }


def test_bad_guarantee_terms_are_rejected_per_row(db_url: str, tmp_path: Path) -> None:
    loans = loans_file(tmp_path, [{}])
    guarantors = guarantors_file(tmp_path, [
        {"loan_id": "L-000", "guarantor_name": "A", "guarantee_type": "joint", "until_repaid": "maybe"},
        {"loan_id": "L-000", "guarantor_name": "B", "guarantee_type": "joint", "until_repaid": "true",
         "guarantee_period_end": "2009-06-30"},
        {"loan_id": "L-000", "guarantor_name": "C", "guarantee_type": "joint", "signed_on": "1949-09-30"},
        {"loan_id": "L-000", "guarantor_name": "D", "guarantee_type": "joint", "signed_on": "1949-10-01"},
    ])

    report = import_paths(db_url, [loans, guarantors])

    assert {line: column for line, (column, _) in rejected(report).items()} == {
        2: "until_repaid", 3: "until_repaid", 4: "signed_on"}
    assert "true|false|1|0|yes|no" in rejected(report)[2][1]
    assert "bounds.earliest_date" in rejected(report)[4][1]
    assert set(guarantors_of(db_url)) == {"D"}


def test_a_reimport_takes_the_export_s_guarantee_terms(db_url: str, tmp_path: Path) -> None:
    loans = loans_file(tmp_path, [{}])
    import_paths(db_url, [loans, guarantors_file(tmp_path, [
        {"loan_id": "L-000", "guarantor_name": "A", "guarantee_type": "unstated", "until_repaid": "true"}])])
    import_paths(db_url, [guarantors_file(tmp_path, [
        {"loan_id": "L-000", "guarantor_name": "A", "guarantee_type": "joint", "signed_on": "2007-07-01"}])])

    a = guarantors_of(db_url)["A"]
    assert (a.guarantee_type, a.signed_on, a.until_repaid, a.period_end) == ("joint", date(2007, 7, 1), False, date(2008, 12, 30))


def test_an_unstated_mode_shows_as_the_mode_of_the_law_in_force_at_signing(db_url: str, tmp_path: Path) -> None:
    from models.domain.deadlines import GuaranteeType
    from services.views import guarantee_of

    loans = loans_file(tmp_path, [{}])
    import_paths(db_url, [loans, guarantors_file(tmp_path, [
        {"loan_id": "L-000", "guarantor_name": "Old", "guarantee_type": "unstated"},
        {"loan_id": "L-000", "guarantor_name": "New", "guarantee_type": "unstated", "signed_on": "2021-01-01"}])])

    with UnitOfWork(db_url) as uow:
        loan = uow.session.execute(select(Loan)).scalar_one()
        guarantors = uow.session.execute(select(Guarantor).order_by(Guarantor.name)).scalars().all()
        modes = {g.name: guarantee_of(g, loan).mode for g in guarantors}
    # Guarantee Law 1995 Art. 19 before 2021; Civil Code Art. 686 ¶2 from 2021
    assert modes == {"New": GuaranteeType.general, "Old": GuaranteeType.joint}
