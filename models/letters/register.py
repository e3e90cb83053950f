"""The batch register of demand letters for the mail room, as xlsx and CSV (see :mod:`models.letters`)."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from models.letters.texts import Letter, LetterError, PathArg, format_amount
from models.privacy import neutralize as neutralize_formula
from models.spreadsheets import _display_width, _print_ready, _save, neutralize


REGISTER_COLUMNS = ("letter_no", "loan_id", "kind", "recipient", "address", "amount", "method")
REGISTER_HEADERS_ZH = ("通知书编号", "贷款编号", "类别", "收件人", "地址", "金额（元）", "送达方式")


def register_rows(letters: Iterable[Letter]) -> list[dict[str, object]]:
    """One row per letter, in the order given: the mail room's register."""
    return [
        {
            "letter_no": letter.letter_no,
            "loan_id": letter.loan_id,
            "kind": letter.kind,
            "recipient": letter.recipient_name,
            "address": letter.recipient_address,
            "amount": letter.total,
            "method": letter.method,
        }
        for letter in letters
    ]


def write_register(letters: Sequence[Letter], xlsx_path: PathArg, csv_path: PathArg) -> tuple[Path, Path]:
    """Write the batch register as an xlsx workbook and a CSV file; returns both paths.

    Columns: ``letter_no, loan_id, kind, recipient, address, amount, method`` — ``method`` as
    ``npl served --method`` takes it, so the mail room's confirmations map back. The CSV is
    UTF-8 with a BOM (Excel then reads the Chinese right), the amount plain (``49000.00``); the
    workbook holds the amount as a number shown ``#,##0.00``, with a second header row in
    Chinese. Text that a spreadsheet would run as a formula (starting ``= + - @``, tab or CR)
    gets a leading apostrophe in both files, as in every other export (models/privacy.py).
    """
    numbers = [letter.letter_no for letter in letters]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise LetterError(f"letter numbers repeat in the batch: {', '.join(duplicates)}")
    rows = register_rows(letters)

    csv_target = Path(csv_path)
    csv_target.parent.mkdir(parents=True, exist_ok=True)
    temporary = csv_target.with_name(f".{csv_target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(REGISTER_COLUMNS)
            for row in rows:
                writer.writerow(
                    [f"{row[c]:.2f}" if c == "amount" else neutralize_formula(str(row[c])) for c in REGISTER_COLUMNS]
                )
        os.replace(temporary, csv_target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "register"
    sheet.append(list(REGISTER_COLUMNS))
    sheet.append(list(REGISTER_HEADERS_ZH))
    for cell in (*sheet[1], *sheet[2]):
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(vertical="center")
    widths = [max(_display_width(a), _display_width(b)) for a, b in zip(REGISTER_COLUMNS, REGISTER_HEADERS_ZH)]
    for row in rows:
        values: list[object] = [row[c] if c == "amount" else neutralize(str(row[c])) for c in REGISTER_COLUMNS]
        sheet.append(values)
        sheet.cell(row=sheet.max_row, column=REGISTER_COLUMNS.index("amount") + 1).number_format = "#,##0.00"
        for i, value in enumerate(values):
            shown = format_amount(value) if isinstance(value, Decimal) else str(value)
            widths[i] = max(widths[i], _display_width(shown))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
    sheet.freeze_panes = "A3"
    _print_ready(sheet, "Letter register")
    sheet.print_title_rows = "1:2"
    return _save(workbook, xlsx_path), csv_target
