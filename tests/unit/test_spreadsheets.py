"""Workbooks (models.spreadsheets) and charts (models.charts), read back with openpyxl."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from flows.i18n import t, t_in
from models import charts as charts_module, portfolio
from models.charts import classification_mix_chart, recoveries_chart
from models.domain.money import from_fen
from models.spreadsheets import (
    MONEY_FORMAT,
    neutralize,
    sheet_title,
    write_report_xlsx,
    write_worklist_xlsx,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def loans_frame() -> pd.DataFrame:
    rows = [
        ("L-1", "performing", "normal", 0, 1_000_000, "external", "E-01"),
        ("L-2", "overdue", "special_mention", 2, 500_012, "insider", "E-02"),
        ("L-3", "visit", "substandard", 120, 2_900_034, "relationship", "E-01"),
        ("L-4", "litigation", "loss", 400, 2_700_099, "external", "E-03"),
        ("L-5", "closed", "normal", 0, 0, "insider", "E-02"),
    ]
    frame = pd.DataFrame(
        rows, columns=["loan_id", "state", "classification", "dpd", "balance_fen", "origin", "assigned_to"]
    )
    frame["closed_reason"] = [None, None, None, None, "repaid"]
    frame["principal_fen"] = frame["balance_fen"]
    for column in ("interest_fen", "penalty_fen", "costs_fen"):
        frame[column] = 0
    frame["product"] = "business"
    return frame[list(portfolio.LOAN_COLUMNS)]


def payments_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("L-1", date(2008, 6, 30), 12_345, "borrower", "overdue"),
            ("L-3", date(2008, 8, 30), 29_000_000, "borrower", "visit"),
            ("L-4", date(2008, 8, 31), 4_900_001, "guarantor:Zhang", "guarantor_pressure"),
            ("L-4", date(2008, 10, 2), 27_000_000, "court", "litigation"),
        ],
        columns=list(portfolio.PAYMENT_COLUMNS),
    )


INJECTIONS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd", "\rcmd"]


def deadlines_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": INJECTIONS + ["王某某-贷款"],
            "clock": ["guarantee_period"] * 7,
            "date": [date(2008, 12, 30)] * 7,
            "lead_date": [date(2008, 11, 30)] * 7,
        }
    )


def header(sheet: Worksheet) -> list[str]:
    return [cell.value for cell in sheet[1]]


def column(sheet: Worksheet, name: str) -> list:
    index = header(sheet).index(name) + 1
    return [sheet.cell(row=r, column=index).value for r in range(2, sheet.max_row + 1)]


def column_cells(sheet: Worksheet, name: str) -> list:
    index = header(sheet).index(name) + 1
    return [sheet.cell(row=r, column=index) for r in range(2, sheet.max_row + 1)]


def yuan_total(values: list) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal("0")).quantize(Decimal("0.01"))


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1024


# --- the report workbook ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One report workbook with its charts, built once and only read by the tests below."""
    tmp_path = tmp_path_factory.mktemp("report")
    loans = loans_frame()
    payments = payments_frame()
    by_class = portfolio.by_classification(loans)
    by_month = portfolio.recoveries_by_month(payments)
    tables = {
        "by_state": portfolio.by_state(loans),
        "by_classification": by_class,
        "aging": portfolio.aging(loans),
        "recovered": portfolio.recoveries(payments),
        "recovered by month": by_month,
        "deadlines_at_risk": portfolio.deadlines_at_risk(deadlines_frame(), date(2008, 12, 1)),
        "officers": portfolio.officer_accountability(
            loans, pd.DataFrame({"officer_id": ["E-02"], "suspended_since": [date(2008, 10, 1)]}), 90
        ),
    }
    charts = {
        "recoveries chart": recoveries_chart(by_month, tmp_path / "charts" / "recoveries.png", t),
        "classification chart": classification_mix_chart(by_class, tmp_path / "charts" / "classification.png", t),
    }
    path = write_report_xlsx(tmp_path / "out" / "report.xlsx", tables, charts=charts)
    return {"path": path, "tables": tables, "charts": charts, "loans": loans, "payments": payments}


EXPECTED_HEADERS = {
    "by_state": ["state", "count", "balance"],
    "by_classification": ["classification", "count", "balance", "principal", "interest"],  # issue 15 rule 7: principal and interest apart
    "aging": ["bucket", "count", "balance"],
    "recovered": ["strategy", "count", "amount", "borrower", "guarantor", "court"],
    "recovered by month": ["month", "count", "amount", "early", "visit", "guarantor", "court", "installment", "revitalization"],
    "deadlines_at_risk": ["loan_id", "clock", "date", "lead_date", "days_left"],
    "officers": ["officer_id", "cases", "balance", "time_limit_days", "suspended_since"],
}


def test_report_has_a_sheet_per_table_then_the_charts(report: dict) -> None:
    workbook = load_workbook(report["path"])
    assert workbook.sheetnames == list(EXPECTED_HEADERS) + ["recoveries chart", "classification chart"]


@pytest.mark.parametrize(("sheet_name", "expected"), list(EXPECTED_HEADERS.items()))
def test_report_sheet_headers_drop_the_fen_suffix(report: dict, sheet_name: str, expected: list[str]) -> None:
    sheet = load_workbook(report["path"])[sheet_name]
    assert header(sheet) == expected
    assert sheet.max_row == len(report["tables"][sheet_name]) + 1


@pytest.mark.parametrize("sheet_name", list(EXPECTED_HEADERS))
def test_report_sheets_freeze_the_header_row(report: dict, sheet_name: str) -> None:
    sheet = load_workbook(report["path"])[sheet_name]
    assert sheet.freeze_panes == "A2"
    assert sheet.print_title_rows == "$1:$1"


@pytest.mark.parametrize(
    ("sheet_name", "money_column", "source", "source_column"),
    [
        ("by_state", "balance", "loans", "balance_fen"),
        ("recovered", "amount", "payments", "amount_fen"),
        ("recovered by month", "amount", "payments", "amount_fen"),
    ],
)
def test_report_money_totals_reconcile_with_the_input(
    report: dict, sheet_name: str, money_column: str, source: str, source_column: str
) -> None:
    sheet = load_workbook(report["path"])[sheet_name]
    expected = from_fen(int(report[source][source_column].sum()))
    assert yuan_total(column(sheet, money_column)) == expected


def test_report_money_is_yuan_with_two_decimals(report: dict) -> None:
    sheet = load_workbook(report["path"])["by_classification"]
    cells = column_cells(sheet, "balance")
    assert [Decimal(str(c.value)).quantize(Decimal("0.01")) for c in cells] == [
        Decimal("10000.00"),
        Decimal("5000.12"),
        Decimal("29000.34"),
        Decimal("0.00"),
        Decimal("27000.99"),
    ]
    assert all(c.number_format == MONEY_FORMAT and c.data_type == "n" for c in cells)
    # the open book only: the closed loan's (zero) balance is not in it, the rest is
    assert yuan_total([c.value for c in cells]) == Decimal("71001.45")


def test_report_by_strategy_and_payer_crosses_add_up(report: dict) -> None:
    sheet = load_workbook(report["path"])["recovered"]
    amounts = column(sheet, "amount")
    parts = [column(sheet, p) for p in ("borrower", "guarantor", "court")]
    for row, amount in enumerate(amounts):
        assert yuan_total([p[row] for p in parts]) == yuan_total([amount])
    assert yuan_total(column(sheet, "court")) == Decimal("270000.00")


def test_report_dates_are_real_dates(report: dict) -> None:
    sheet = load_workbook(report["path"])["deadlines_at_risk"]
    for name in ("date", "lead_date"):
        cells = column_cells(sheet, name)
        assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in cells)
    assert column(sheet, "date")[0] == datetime(2008, 12, 30)
    suspended = column_cells(load_workbook(report["path"])["officers"], "suspended_since")
    assert [c.value for c in suspended] == [datetime(2008, 10, 1)]


def test_report_text_cannot_run_as_a_formula(report: dict) -> None:
    workbook = load_workbook(report["path"])
    sheet = workbook["deadlines_at_risk"]
    # XML parsers read a carriage return back as a line feed; the apostrophe is what matters
    loan_ids = [text.replace("\n", "\r") for text in column(sheet, "loan_id")]
    assert sorted(loan_ids) == sorted(["'" + text for text in INJECTIONS] + ["王某某-贷款"])
    for each in workbook.worksheets:
        for row in each.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{each.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_report_columns_are_fitted_to_their_content(report: dict) -> None:
    sheet = load_workbook(report["path"])["deadlines_at_risk"]
    widths = {c.value: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    longest = len("'=HYPERLINK(\"http://x\",\"y\")")
    assert widths["loan_id"] >= longest
    assert widths["date"] >= len("yyyy-mm-dd")
    assert widths["clock"] >= len("guarantee_period")


def test_report_embeds_the_charts(report: dict) -> None:
    with zipfile.ZipFile(report["path"]) as archive:
        media = [n for n in archive.namelist() if n.startswith("xl/media/") and n.endswith(".png")]
        assert len(media) == 2
        assert all(archive.read(n)[:8] == PNG_SIGNATURE for n in media)


def test_report_leaves_no_temporary_file(report: dict) -> None:
    assert [p.name for p in report["path"].parent.iterdir()] == ["report.xlsx"]


def test_report_of_an_empty_book_has_headers_and_zero_rows(tmp_path: Path) -> None:
    empty_loans = pd.DataFrame({c: [] for c in portfolio.LOAN_COLUMNS})
    empty_payments = pd.DataFrame({c: [] for c in portfolio.PAYMENT_COLUMNS})
    tables = {
        "by_state": portfolio.by_state(empty_loans),
        "recovered by month": portfolio.recoveries_by_month(empty_payments),
        "deadlines": portfolio.deadlines_at_risk(pd.DataFrame({c: [] for c in portfolio.DEADLINE_COLUMNS}), date(2008, 1, 1)),
    }
    path = write_report_xlsx(tmp_path / "empty.xlsx", tables)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["by_state", "recovered by month", "deadlines"]
    assert header(workbook["by_state"]) == ["state", "count", "balance"]
    assert yuan_total(column(workbook["by_state"], "balance")) == Decimal("0.00")
    assert workbook["recovered by month"].max_row == 1
    assert header(workbook["deadlines"]) == ["loan_id", "clock", "date", "lead_date", "days_left"]


def test_report_treats_named_columns_as_money_and_writes_a_named_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"state": ["visit", "litigation"], "limit": [150_000, 7]}).set_index("state")
    path = write_report_xlsx(tmp_path / "r.xlsx", {"limits": frame}, money_columns=["limit"])
    sheet = load_workbook(path)["limits"]
    assert header(sheet) == ["state", "limit"]
    assert [Decimal(str(v)) for v in column(sheet, "limit")] == [Decimal("1500"), Decimal("0.07")]


def test_report_refuses_fractions_of_a_fen(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="integer fen"):
        write_report_xlsx(tmp_path / "r.xlsx", {"t": pd.DataFrame({"amount_fen": [1.5]})})


def test_report_formats_rates_as_percentages(tmp_path: Path) -> None:
    frame = portfolio.roll_rates(
        pd.DataFrame(
            {
                "month_end": [date(2008, 1, 31), date(2008, 2, 29)],
                "loan_id": ["A", "A"],
                "dpd": [0, 40],
                "balance_fen": [100, 100],
            }
        )
    )
    sheet = load_workbook(write_report_xlsx(tmp_path / "r.xlsx", {"roll": frame}))["roll"]
    (rate,) = column_cells(sheet, "rate")
    assert rate.value == 1 and rate.number_format == "0.00%"


# --- cell and sheet-name rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+8613800000000", "'+8613800000000"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\x00=1", "'=1"),  # XML-illegal characters dropped first, then neutralized
        ("Wang 王", "Wang 王"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize(text: str, expected: str) -> None:
    assert neutralize(text) == expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["E-07"], ["E-07"]),
        (["E/07", "E:07", "e?07"], ["E_07", "E_07~2", "e_07~3"]),
        (["x" * 40, "x" * 35], ["x" * 31, "x" * 29 + "~2"]),
        (["'quoted'", "", None, "History"], ["quoted", "sheet", "sheet~2", "history_"]),
        (["[a]*b\\c"], ["_a__b_c"]),
    ],
)
def test_sheet_titles_are_valid_unique_and_short(names: list, expected: list[str]) -> None:
    taken: set[str] = set()
    assert [sheet_title(n, taken) for n in names] == expected


# --- the worklist workbook --------------------------------------------------------------------


def worklist_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "officer_id": ["E/07", "E-01", "E/07", None, "E-01"],
            "loan_id": ["L-3", "L-1", "L-4", "L-9", "L-2"],
            "action": ["visit the borrower's unit", "demand notice", "=cmd", "review", "demand the guarantor"],
            "due_on": [date(2008, 12, 1)] * 5,
            "balance_fen": [4_900_000, 29_000_001, 100, 5, 77],
        }
    )


def test_worklist_has_one_print_ready_sheet_per_officer(tmp_path: Path) -> None:
    items = worklist_items()
    path = write_worklist_xlsx(tmp_path / "worklist.xlsx", items)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["E-01", "E_07", "unassigned"]
    for sheet, officer in zip(workbook.worksheets, ["E-01", "E/07", None]):
        mine = items[items["officer_id"].isna()] if officer is None else items[items["officer_id"] == officer]
        assert header(sheet) == ["officer_id", "loan_id", "action", "due_on", "balance"]
        assert column(sheet, "loan_id") == list(mine["loan_id"])
        assert yuan_total(column(sheet, "balance")) == from_fen(int(mine["balance_fen"].sum()))
        assert sheet.freeze_panes == "A2"
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1
        assert sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == "$1:$1"
    assert column(workbook["E_07"], "action") == ["visit the borrower's unit", "'=cmd"]


def test_worklist_sheet_names_stay_within_31_characters(tmp_path: Path) -> None:
    items = pd.DataFrame({"officer_id": ["O" * 40, "O" * 33], "loan_id": ["L-1", "L-2"]})
    workbook = load_workbook(write_worklist_xlsx(tmp_path / "w.xlsx", items))
    assert workbook.sheetnames == ["O" * 31, "O" * 29 + "~2"]


def test_an_empty_worklist_still_prints_its_header(tmp_path: Path) -> None:
    items = worklist_items().iloc[0:0]
    workbook = load_workbook(write_worklist_xlsx(tmp_path / "w.xlsx", items))
    assert workbook.sheetnames == ["worklist"]
    assert header(workbook["worklist"]) == ["officer_id", "loan_id", "action", "due_on", "balance"]


def test_worklist_needs_the_officer_column(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="officer column"):
        write_worklist_xlsx(tmp_path / "w.xlsx", pd.DataFrame({"loan_id": ["L-1"]}))


# --- charts -----------------------------------------------------------------------------------


def test_charts_are_non_empty_pngs(report: dict) -> None:
    for path in report["charts"].values():
        assert_png(path)


@pytest.mark.parametrize(
    "by_month",
    [
        pytest.param(portfolio.recoveries_by_month(pd.DataFrame({c: [] for c in portfolio.PAYMENT_COLUMNS})), id="empty"),
        pytest.param(pd.DataFrame({"month": ["2008-08"], "amount_fen": [29_000_000]}), id="totals-only"),
        pytest.param(portfolio.recoveries_by_month(payments_frame()), id="by-strategy"),
    ],
)
def test_recoveries_chart_renders(tmp_path: Path, by_month: pd.DataFrame) -> None:
    path = recoveries_chart(by_month, tmp_path / "recoveries.png", t)
    assert path == tmp_path / "recoveries.png"
    assert_png(path)


@pytest.mark.parametrize(
    "book",
    [
        pytest.param(pd.DataFrame({c: [] for c in portfolio.LOAN_COLUMNS}), id="empty"),
        pytest.param(loans_frame().iloc[[2]], id="single"),
        pytest.param(loans_frame(), id="book"),
    ],
)
def test_classification_mix_chart_renders(tmp_path: Path, book: pd.DataFrame) -> None:
    path = classification_mix_chart(portfolio.by_classification(book), tmp_path / "mix.png", t)
    assert_png(path)


def test_the_report_workbook_names_its_sheets_and_headers_as_the_caller_labels_them_and_keeps_the_formats(tmp_path: Path) -> None:
    frame = portfolio.by_state(loans_frame())
    path = write_report_xlsx(tmp_path / "r.xlsx", {"by_state": frame}, sheet_names={"by_state": "按状态"},
                             headers={"state": "状态", "count": "笔数", "balance": "余额合计"})
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["按状态"]
    sheet = workbook["按状态"]
    assert [c.value for c in sheet[1]] == ["状态", "笔数", "余额合计"]
    assert sheet.cell(row=2, column=3).number_format == MONEY_FORMAT  # still money: the format follows the column's name


def test_a_chinese_chart_is_drawn_in_the_cjk_font_setup_test_env_installs_with_no_missing_glyph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setenv("NPL_LANG", "zh")
    assert charts_module.cjk_font() == "WenQuanYi Zen Hei"  # fonts-wqy-zenhei (scripts/setup-test-env)
    assert_png(recoveries_chart(portfolio.recoveries_by_month(payments_frame()), tmp_path / "r.png", t))
    assert_png(classification_mix_chart(portfolio.by_classification(loans_frame()), tmp_path / "c.png", t))
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_without_a_cjk_font_the_charts_fall_back_to_english_words(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import reports

    monkeypatch.setenv("NPL_LANG", "zh")
    assert reports.chart_label()("chart.yuan") == "元"
    monkeypatch.setattr(charts_module, "cjk_font", lambda: None)
    assert reports.chart_label()("chart.yuan") == t_in("en", "chart.yuan") == "yuan"
