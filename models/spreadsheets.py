"""Excel workbooks for the report and the worklist (openpyxl), from the portfolio's frames.

Conventions, whatever the table:

- money columns (``*_fen``, plus any named by the caller) hold integer fen; they are written as
  yuan ``Decimal`` with two places, number format ``#,##0.00``, the header without ``_fen``;
- dates are real date cells (``yyyy-mm-dd``), not text;
- ratio columns (``rate``, ``ratio``, ``share`` or ``*_rate``/``*_ratio``/``*_share``) are
  formatted as percentages;
- every text cell is neutralized against formula injection: text beginning with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with ``'``; characters XML cannot hold
  are dropped;
- the header row is bold and frozen, columns are fitted to their content, sheets are set up
  to print (landscape, one page wide, header row repeated on every page).

Workbooks are written to a temporary file beside the target and moved into place, so a reader
never sees half a workbook.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from models.privacy import FORMULA_STARTS
from models.privacy import neutralize as neutralize_formula
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.domain.money import from_fen

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.00%"
FORMULA_TRIGGERS = FORMULA_STARTS
MAX_SHEET_TITLE = 31
MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 6
UNASSIGNED = "unassigned"

_BAD_TITLE_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RATIO_NAMES = {"rate", "ratio", "share"}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_HEADER_BORDER = Border(bottom=Side(style="thin"))
_HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=False)

PathArg = str | PathLike[str]


# --- cell values ------------------------------------------------------------------------------


def neutralize(text: str) -> str:
    """Text safe to put in a cell: no XML-illegal characters, and no formula trigger in front."""
    return str(neutralize_formula(ILLEGAL_CHARACTERS_RE.sub("", text)))


def is_money_column(name: str, money_columns: Iterable[str] = ()) -> bool:
    return name.endswith("_fen") or name in set(money_columns)


def money_header(name: str) -> str:
    """The header of a money column: its name without the ``_fen`` suffix."""
    return name[: -len("_fen")] if name.endswith("_fen") else name


def _is_ratio_column(name: str) -> bool:
    return name in _RATIO_NAMES or any(name.endswith(f"_{n}") for n in _RATIO_NAMES)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return False


def _yuan(value: Any, column: str) -> Decimal:
    """Integer fen (int, numpy int, integral Decimal/float) as yuan with two places."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"money column {column!r} holds a boolean")
    if isinstance(value, (int, np.integer)):
        return from_fen(int(value))
    if isinstance(value, (Decimal, float, np.floating)) and Decimal(str(value)) == int(value):
        return from_fen(int(value))
    raise ValueError(f"money column {column!r} must hold integer fen, got {value!r}")


def cell_value(value: Any, column: str, money: bool) -> tuple[Any, str | None]:
    """The value to put in a cell and its number format (None: leave openpyxl's default)."""
    if _missing(value):
        return None, None
    if money:
        return _yuan(value, column), MONEY_FORMAT
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (bool, np.bool_)):
        return bool(value), None
    if isinstance(value, (int, np.integer)):
        return int(value), None
    if isinstance(value, (Decimal, float, np.floating)):
        number = value if isinstance(value, Decimal) else float(value)
        return number, PERCENT_FORMAT if _is_ratio_column(column) else None
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        moment = pd.Timestamp(value)
        if moment.tzinfo is not None:
            moment = moment.tz_localize(None)
        if moment == moment.normalize():
            return moment.date(), DATE_FORMAT
        return moment.to_pydatetime(), DATETIME_FORMAT
    if isinstance(value, date):
        return value, DATE_FORMAT
    return neutralize(str(value)), None


def _display_width(text: str) -> int:
    """Columns a text takes on screen: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _shown(value: Any, number_format: str | None) -> str:
    if value is None:
        return ""
    if number_format == MONEY_FORMAT:
        return f"{value:,.2f}"
    if number_format == PERCENT_FORMAT:
        return f"{float(value) * 100:.2f}%"
    if number_format == DATE_FORMAT:
        return "yyyy-mm-dd"
    if number_format == DATETIME_FORMAT:
        return "yyyy-mm-dd hh:mm"
    return str(value)


# --- sheets -----------------------------------------------------------------------------------


def sheet_title(name: Any, taken: set[str] | None = None) -> str:
    """A valid, unique (case-insensitively, within ``taken``) sheet title of at most 31 chars.

    Characters Excel refuses (``[]:*?/\\`` and control characters) become ``_``; leading and
    trailing apostrophes are dropped; ``History`` (reserved by Excel) gets a suffix. The title
    is added to ``taken``.
    """
    taken = taken if taken is not None else set()
    text = "" if _missing(name) else str(name.value if isinstance(name, Enum) else name)
    text = _BAD_TITLE_CHARS.sub("_", text).strip().strip("'").strip()
    if not text:
        text = "sheet"
    if text.lower() == "history":
        text = "history_"
    text = text[:MAX_SHEET_TITLE]
    candidate, n = text, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"~{n}"
        candidate = text[: MAX_SHEET_TITLE - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """A named index becomes columns; MultiIndex columns are joined with ``_``."""
    if any(n is not None for n in frame.index.names):
        frame = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.copy()
        frame.columns = ["_".join(str(p) for p in parts if str(p)) for parts in frame.columns]
    return frame


def _print_ready(sheet: Worksheet, title: str | None = None) -> None:
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True
    if title:
        sheet.oddHeader.center.text = title.replace("&", "&&")
    sheet.oddFooter.right.text = "&P / &N"


def header_of(name: str, money: bool, labels: Mapping[str, str]) -> str:
    """A column's header: its label (``labels``, by the column's name or, for a money column, by
    its name without ``_fen``), else the name itself (money columns without ``_fen``)."""
    shown = money_header(name) if money else name
    return labels.get(name) or labels.get(shown) or shown


def write_table(sheet: Worksheet, frame: pd.DataFrame, money_columns: Iterable[str] = (),
                headers: Mapping[str, str] | None = None) -> None:
    """Fill a sheet from a frame: header row, typed cells, frozen header, fitted widths.
    ``headers`` maps column names to the words shown in the header row (the caller's language);
    the cells' formats still follow the column names."""
    frame = _flat(frame)
    money_columns = set(money_columns)
    names = [str(c) for c in frame.columns]
    money = [is_money_column(n, money_columns) for n in names]
    labels = headers or {}
    row_one = [neutralize(header_of(n, m, labels)) for n, m in zip(names, money)]
    widths = [_display_width(h) for h in row_one]

    sheet.append(row_one)
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _HEADER_BORDER
        cell.alignment = _HEADER_ALIGNMENT

    for row_number, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for column_number, (value, name, is_money) in enumerate(zip(row, names, money), start=1):
            written, number_format = cell_value(value, name, is_money)
            cell = sheet.cell(row=row_number, column=column_number, value=written)
            if number_format:
                cell.number_format = number_format
            widths[column_number - 1] = max(widths[column_number - 1], _display_width(_shown(written, number_format)))

    for column_number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column_number)].width = min(
            MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, width + 2)
        )
    sheet.freeze_panes = "A2"
    if len(frame) and names:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(frame) + 1}"


def _pillow_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return False
    return True


def _save(workbook: Workbook, path: PathArg) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would stick to the workbook; a plain open honours the umask.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        workbook.save(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


# --- workbooks --------------------------------------------------------------------------------


def write_report_xlsx(
    path: PathArg,
    tables: Mapping[str, pd.DataFrame],
    money_columns: Iterable[str] = (),
    charts: Mapping[str, PathArg] | None = None,
    sheet_names: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Path:
    """Write the portfolio report: one sheet per table (in the mapping's order), then charts.

    ``money_columns`` names integer-fen columns beyond the ``*_fen`` ones. ``charts`` maps a
    sheet name to a PNG file; each is embedded on its own sheet (when Pillow is missing, the
    PNGs are copied beside the workbook instead). ``sheet_names`` maps a table's key to its
    sheet's name and ``headers`` a column's name to its header (the caller's language; the key
    and the name themselves when absent). Returns the workbook's path.
    """
    money_columns = tuple(money_columns)
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for name, frame in tables.items():
        shown = (sheet_names or {}).get(name, name)
        sheet = workbook.create_sheet(sheet_title(shown, taken))
        write_table(sheet, frame, money_columns, headers)
        _print_ready(sheet, str(shown))

    target = Path(path)
    if charts:
        embed = _pillow_available()
        for name, png in charts.items():
            png = Path(png)
            if not png.is_file():
                raise FileNotFoundError(f"chart {name!r}: no such PNG {png}")
            if embed:
                from openpyxl.drawing.image import Image

                sheet = workbook.create_sheet(sheet_title(name, taken))
                sheet.add_image(Image(str(png)), "A1")
                _print_ready(sheet, str(name))
            else:  # pragma: no cover - Pillow comes with matplotlib
                beside = target.parent / png.name
                if beside.resolve() != png.resolve():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(png, beside)

    if not workbook.worksheets:
        workbook.create_sheet("report")
    return _save(workbook, target)


def write_worklist_xlsx(
    path: PathArg,
    items: pd.DataFrame,
    officer_column: str = "officer_id",
    money_columns: Iterable[str] = (),
    title: str = "Worklist",
) -> Path:
    """Write the worklist: one print-ready sheet per officer, officers in id order.

    Rows without an officer go to a sheet named ``unassigned`` (last). Sheet names are
    sanitized and kept unique within 31 characters; the page header names the officer. An
    empty worklist gives one sheet with the header row only. Returns the workbook's path.
    """
    items = _flat(items)
    if len(items) and officer_column not in items.columns:
        raise ValueError(f"worklist items lack the officer column {officer_column!r}")
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    if items.empty:
        sheet = workbook.create_sheet(sheet_title(title.lower(), taken))
        write_table(sheet, items, money_columns)
        _print_ready(sheet, title)
        return _save(workbook, path)

    officers = items[officer_column]
    keys = [o for o in pd.unique(officers.dropna())]
    groups: list[tuple[str, pd.DataFrame]] = [
        (str(o), items[(officers == o).to_numpy()]) for o in sorted(keys, key=str)
    ]
    if officers.isna().any():
        groups.append((UNASSIGNED, items[officers.isna().to_numpy()]))
    for officer, rows in groups:
        sheet = workbook.create_sheet(sheet_title(officer, taken))
        write_table(sheet, rows.reset_index(drop=True), money_columns)
        _print_ready(sheet, f"{title} - {officer}")
    return _save(workbook, path)
