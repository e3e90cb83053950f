"""Letters as data (models.letters): validation, formatting, legal basis, the mail room's register."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models import letters
from models.letters import (
    REGISTER_COLUMNS,
    TITLES,
    FontNotFound,
    LetterError,
    borrower_legal_basis,
    format_amount,
    font_path,
    format_date,
    guarantor_legal_basis,
    missing_glyphs,
    write_register,
)
from tests.letter_samples import yang_letter, zhang_letter


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("49000"), "49,000.00"),
        (Decimal("49000.00"), "49,000.00"),
        (Decimal("1234567.5"), "1,234,567.50"),
        (Decimal("0"), "0.00"),
        (Decimal("0.07"), "0.07"),
        (Decimal("999.99"), "999.99"),
    ],
)
def test_amounts_show_thousands_separators_and_two_places(amount: Decimal, shown: str) -> None:
    assert format_amount(amount) == shown


def test_an_amount_finer_than_the_fen_is_refused_not_rounded() -> None:
    with pytest.raises(LetterError, match="fen"):
        format_amount(Decimal("1.005"))


def test_dates_are_written_the_chinese_way_without_leading_zeros() -> None:
    assert format_date(date(2008, 6, 30)) == "2008年6月30日"
    assert format_date(date(2008, 12, 1)) == "2008年12月1日"


def test_the_title_follows_the_kind() -> None:
    assert yang_letter().title == TITLES["borrower"] == "逾期贷款催收通知书"
    assert zhang_letter().title == TITLES["guarantor"] == "履行保证责任通知书"


def test_the_debt_is_the_borrowers_on_both_kinds_of_letter() -> None:
    assert yang_letter().debtor_name == yang_letter().recipient_name
    assert zhang_letter().debtor_name == "杨某某 (Yang)" != zhang_letter().recipient_name


def test_amounts_are_owed_as_of_the_issue_date_unless_told() -> None:
    assert yang_letter().as_of == date(2008, 12, 1)
    assert yang_letter(owed_as_of=date(2008, 11, 28)).as_of == date(2008, 11, 28)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total": Decimal("53209.35")}, "total"),
        ({"interest": 1860.65}, "Decimal"),
        ({"penalty": Decimal("2348.691"), "total": Decimal("53209.341")}, "fen"),
        ({"costs": Decimal("-1.00"), "total": Decimal("53208.34")}, "negative"),
        ({"principal": Decimal("NaN")}, "finite"),
        ({"kind": "cosigner"}, "kind"),
        ({"method": "pigeon"}, "method"),
        ({"recipient_name": "  "}, "recipient_name"),
        ({"letter_no": "CS-1\nCS-2"}, "one line"),
        ({"pay_by": date(2008, 11, 30)}, "pay_by"),
        ({"maturity_on": date(2007, 6, 29)}, "maturity_on"),
        ({"owed_as_of": date(2008, 12, 2)}, "owed_as_of"),
        ({"guarantee_type": "joint"}, "borrower letter"),
    ],
)
def test_a_letter_with_bad_data_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(LetterError, match=message):
        yang_letter(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"guarantee_type": None}, "guarantee_type"),
        ({"guarantee_type": "several"}, "guarantee_type"),
        ({"guarantee_period_end": None}, "guarantee_period_end"),
        ({"borrower_name": None}, "borrower_name"),
    ],
)
def test_a_guarantor_letter_needs_the_guarantee_and_the_debtor(changes: dict[str, object], message: str) -> None:
    with pytest.raises(LetterError, match=message):
        zhang_letter(**changes)


def test_the_borrower_legal_basis_cites_the_loan_articles_and_the_limitation_interruption() -> None:
    text = borrower_legal_basis()
    for article in ("第六百六十七条", "第六百七十四条", "第六百七十五条", "第六百七十六条", "第一百八十八条",
                    "第一百九十五条第（一）项"):
        assert article in text, article


@pytest.mark.parametrize(
    ("guarantee_type", "cited", "not_cited"),
    [
        ("joint", ("第六百八十一条", "第六百八十八条", "第六百九十三条第二款"), ("第六百八十七条",)),
        ("general", ("第六百八十一条", "第六百八十七条", "第六百九十三条第一款"), ("第六百八十八条", "第六百八十六条")),
        ("unstated", ("第六百八十一条", "第六百八十六条第二款", "第六百八十七条"), ("第六百八十八条",)),
    ],
)
def test_the_guarantor_legal_basis_follows_the_guarantee_mode(
    guarantee_type: str, cited: tuple[str, ...], not_cited: tuple[str, ...]
) -> None:
    text = guarantor_legal_basis(guarantee_type)
    for article in cited:
        assert article in text, article
    for article in not_cited:
        assert article not in text, article


def test_an_unknown_guarantee_mode_has_no_legal_basis() -> None:
    with pytest.raises(LetterError, match="guarantee type"):
        guarantor_legal_basis("several")


# --- the register -------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_register_has_one_row_per_letter_in_order_in_csv_and_xlsx(tmp_path: Path) -> None:
    letters = [yang_letter(), zhang_letter()]
    xlsx, csv_file = write_register(letters, tmp_path / "out" / "register.xlsx", tmp_path / "out" / "register.csv")

    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    rows = read_csv(csv_file)
    assert rows[0] == ["\ufeff" + REGISTER_COLUMNS[0], *REGISTER_COLUMNS[1:]]
    assert rows[1:] == [
        ["CS-20081201-0002", "L-0002", "borrower", "杨某某 (Yang)",
         "萧山村杨家厂房（2亩） Yang's factory (2 mu) Xiaoshan village", "53209.34", "mail"],
        ["BZ-20081201-0003", "L-0002", "guarantor", "张某某 (Zhang)", "城东区和平路12号", "53529.34", "in_person"],
    ]

    sheet = load_workbook(xlsx).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == list(REGISTER_COLUMNS)
    assert values[1][0] == "通知书编号"  # a second header row in Chinese for the mail room
    assert [row[0] for row in values[2:]] == ["CS-20081201-0002", "BZ-20081201-0003"]
    assert [row[5] for row in values[2:]] == [53209.34, 53529.34]
    assert all(sheet.cell(row=r, column=6).number_format == "#,##0.00" for r in (3, 4))
    assert values[2][3] == "杨某某 (Yang)"


def test_register_amounts_are_exact_decimals_not_float_text(tmp_path: Path) -> None:
    letter = yang_letter(principal=Decimal("0.10"), interest=Decimal("0.20"), penalty=Decimal("0.00"),
                         total=Decimal("0.30"))
    _, csv_file = write_register([letter], tmp_path / "r.xlsx", tmp_path / "r.csv")
    assert read_csv(csv_file)[1][5] == "0.30"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_register_cells_never_start_a_formula(tmp_path: Path, start: str) -> None:
    number = f"{start}CS-1" if start.isprintable() else "CS-1"  # a letter number is one line
    letter = yang_letter(
        letter_no=number,
        recipient_name=f'{start}HYPERLINK("http://x.invalid","pay")',
        recipient_address=f"{start}1+2",
    )
    xlsx, csv_file = write_register([letter], tmp_path / "r.xlsx", tmp_path / "r.csv")

    row = read_csv(csv_file)[1]
    sheet = load_workbook(xlsx).active
    cells = [sheet.cell(row=3, column=c).value for c in range(1, len(REGISTER_COLUMNS) + 1)]
    for text in (*row, *(str(c) for c in cells)):
        assert not text.startswith(("=", "+", "-", "@", "\t", "\r")), text
    if start.isprintable():
        assert row[0] == f"'{start}CS-1" and cells[0] == f"'{start}CS-1"
    assert row[3] == "'" + letter.recipient_name and row[4] == "'" + letter.recipient_address
    assert cells[3].startswith("'") and cells[4].startswith("'")  # (XML reads a CR back as LF)
    assert all(sheet.cell(row=3, column=c).data_type != "f" for c in range(1, len(REGISTER_COLUMNS) + 1))


def test_register_refuses_a_letter_number_twice_and_writes_nothing(tmp_path: Path) -> None:
    letters = [yang_letter(), replace(zhang_letter(), letter_no=yang_letter().letter_no)]
    with pytest.raises(LetterError, match="CS-20081201-0002"):
        write_register(letters, tmp_path / "r.xlsx", tmp_path / "r.csv")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_batch_gives_registers_with_headers_only(tmp_path: Path) -> None:
    xlsx, csv_file = write_register([], tmp_path / "r.xlsx", tmp_path / "r.csv")
    assert len(read_csv(csv_file)) == 1
    assert load_workbook(xlsx).active.max_row == 2


# --- the font -----------------------------------------------------------------------------------


def test_no_cjk_font_names_the_debian_package_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(letters.FONT_ENV, raising=False)
    monkeypatch.setattr("models.letters.render.FONT_CANDIDATES", (str(tmp_path / "absent.ttc"),))  # where font_path reads it
    with pytest.raises(FontNotFound, match="fonts-wqy-zenhei"):
        font_path()


def test_the_font_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(letters.FONT_ENV, str(tmp_path / "absent.ttf"))
    with pytest.raises(FontNotFound, match="absent.ttf"):
        font_path()


def test_the_font_override_wins_over_the_debian_fonts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chosen = tmp_path / "branch.ttf"
    chosen.write_bytes(b"")
    monkeypatch.setenv(letters.FONT_ENV, str(chosen))
    assert font_path() == chosen


def test_missing_glyphs_lists_each_uncovered_character_once_in_order() -> None:
    covered = frozenset(map(ord, "杨某"))
    assert missing_glyphs("杨某𠀀 某x𠀀", covered) == ["𠀀", "x"]


def test_compound_and_delayed_interest_are_parts_of_a_letters_total() -> None:
    base = yang_letter()
    with_both = replace(base, compound=Decimal("10.86"), delayed=Decimal("18.19"), total=base.total + Decimal("29.05"))
    assert with_both.total - base.total == with_both.compound + with_both.delayed
    with pytest.raises(LetterError, match="compound"):
        replace(base, compound=Decimal("10.86"))  # the total no longer adds up


def test_letters_are_laid_out_with_reportlabs_c_accelerators_installed() -> None:
    """rl_accel is a dependency: without it reportlab measures every string in Python (about a
    quarter more CPU a letter, and the first date after an import prints thousands)."""
    import types

    from reportlab.lib import rl_accel

    assert isinstance(rl_accel.instanceStringWidthTTF, types.BuiltinFunctionType)
    assert isinstance(rl_accel.fp_str, types.BuiltinFunctionType)


def test_a_large_batch_laid_out_on_two_processes_gives_the_same_files_as_one_process(tmp_path: Path) -> None:
    jobs = [(yang_letter(letter_no=f"CS-20081201-{i:04d}") if i % 2 else zhang_letter(letter_no=f"CS-20081201-{i:04d}"), f"{i:04d}.pdf")
            for i in range(letters.render.PARALLEL_FROM)]
    one = letters.render_letters([(letter, tmp_path / "one" / name) for letter, name in jobs], workers=1)
    two = letters.render_letters([(letter, tmp_path / "two" / name) for letter, name in jobs], workers=2)
    assert [p.name for p in two] == [name for _, name in jobs]
    assert [p.read_bytes() for p in two] == [p.read_bytes() for p in one]


def test_a_large_batch_is_laid_out_while_the_caller_is_still_handing_letters_in(tmp_path: Path) -> None:
    import time

    size = letters.render.PARALLEL_FROM
    jobs = [(yang_letter(letter_no=f"CS-20081201-{i:04d}"), tmp_path / f"{i:04d}.pdf") for i in range(size)]
    with letters.LetterPress(size, workers=2) as press:
        for letter, path in jobs[: size // 2]:
            press.put(letter, path)
        deadline = time.monotonic() + 60
        while not jobs[0][1].exists() and time.monotonic() < deadline:  # the rest not yet handed in
            time.sleep(0.05)
        assert jobs[0][1].exists(), "no letter was laid out before the whole batch was handed in"
        for letter, path in jobs[size // 2 :]:
            press.put(letter, path)
        assert press.paths() == [path for _, path in jobs]
    assert all(path.read_bytes().startswith(b"%PDF") for _, path in jobs)


def test_a_letter_the_font_cannot_print_fails_a_batch_laid_out_on_two_processes(tmp_path: Path) -> None:
    jobs = [(yang_letter(letter_no=f"CS-20081201-{i:04d}"), tmp_path / f"{i:04d}.pdf") for i in range(letters.render.PARALLEL_FROM)]
    jobs[7] = (yang_letter(letter_no="CS-20081201-0007", recipient_name="杨𠀀"), tmp_path / "0007.pdf")
    with pytest.raises(LetterError, match="CS-20081201-0007: the font cannot draw"):
        letters.render_letters(jobs, workers=2)
