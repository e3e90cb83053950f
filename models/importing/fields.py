"""Field rules: one parser per cell kind, and the row parser that applies them to a file.

Each known column has a cell parser: a plain function of the raw text that returns the value
(None when blank) or raises Bad with the reason. A RowParser applies them to one file's
columns; cross-column rules then run on the parsed values (in each kind's module). Plain
functions and tuples (no Decimal, no per-row objects) keep a row at a few microseconds, which
is what makes a million-row export practical. Amounts follow models.domain.money's rules
except that thousands separators and signs are refused rather than stripped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from operator import call, itemgetter
from typing import TYPE_CHECKING, Any

from models.domain.dates import parse_date
from models.domain.vocabulary import RATE_SCALE
from models.tables import Borrower, Collateral, Guarantor, Loan, Officer

if TYPE_CHECKING:
    from models.importing.files import Source

MAX_AMOUNT_FEN = 10**15  # 1e13 yuan, as models.domain.money.parse_amount
ROW = "(row)"  # the column named when the row as a whole is malformed
FORMULA = "looks like spreadsheet formula text"
BLANK = "required value is blank"


def column_length(column: Any) -> int:
    return int(column.type.length)


# Text limits follow the schema, so a valid row always fits its column on every backend.
LIMITS = {
    "loan_id": column_length(Loan.__table__.c.loan_id),
    "borrower_id": column_length(Borrower.__table__.c.borrower_id),
    "borrower_name": column_length(Borrower.__table__.c.name),
    "id_number": column_length(Borrower.__table__.c.id_number),
    "phone": column_length(Borrower.__table__.c.phone),
    "address": column_length(Borrower.__table__.c.address),
    "employer": column_length(Borrower.__table__.c.employer),
    "officer_id": column_length(Officer.__table__.c.officer_id),
    "introduced_by": column_length(Loan.__table__.c.introduced_by),
    "guarantor_name": column_length(Guarantor.__table__.c.name),
    "guarantor_id": column_length(Guarantor.__table__.c.guarantor_id),
    "asset_id": column_length(Collateral.__table__.c.asset_id),
    "description": column_length(Collateral.__table__.c.description),
}


class Bad(ValueError):
    """One cell's problem; the message is the reason reported."""


_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9,]+(?:\.[0-9]+)?").fullmatch
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]*)?").fullmatch
_MANY_DECIMALS = re.compile(r"[0-9]+\.[0-9]{3,}").fullmatch
_RATE_MANY_DECIMALS = re.compile(r"[0-9]+\.[0-9]{7,}").fullmatch
_CONTROL = re.compile(r"[\x00-\x1f\x7f]").search  # one-line text: no tab or line break either
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
FORMULA_RAW = "\t\r"  # a raw cell starting with these (even before trimming) is refused
FORMULA_TEXT = "=+-@"  # a trimmed value starting with these is refused


def shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


Parser = Callable[[str], Any]


def text_field(limit: int, *, multiline: bool = False, phone: bool = False) -> Parser:
    """Trimmed text of at most ``limit`` characters that a spreadsheet would not run."""
    control = _CONTROL_MULTILINE if multiline else _CONTROL

    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        if len(value) > limit:
            raise Bad(f"longer than {limit} characters (has {len(value)})")
        if not value.isprintable() and control(value):
            raise Bad("contains a control character")
        if raw[0] in FORMULA_RAW or (
            value[0] in FORMULA_TEXT and not (phone and value[0] == "+" and value[1:2].isdigit())
        ):
            raise Bad(FORMULA)
        return value

    return parse


def amount_field(raw: str) -> int | None:
    """Integer fen of plain decimal text with at most two decimals (``1234.5``)."""
    value = raw.strip()
    if not value:
        return None
    whole, point, cents = value.partition(".")
    if not (value.isascii() and whole.isdigit() and (not point or (cents.isdigit() and len(cents) <= 2))):
        raise Bad(amount_problem(value))
    fen = int(whole + cents.ljust(2, "0"))
    if fen >= MAX_AMOUNT_FEN:
        raise Bad(f"amount is implausibly large: {shown(value)}")
    return fen


def amount_problem(value: str) -> str:
    if "," in value and _THOUSANDS(value):
        return f"thousands separators are not accepted: write {value.replace(',', '')}"
    if _NEGATIVE(value):
        return f"amount must not be negative: {shown(value)}"
    if _MANY_DECIMALS(value):
        return f"amount has more than two decimals: {shown(value)}"
    return f"not a plain decimal amount (digits, optional point, at most two decimals): {shown(value)}"


def rate_field(raw: str) -> int | None:
    """Integer ppm of an annual rate fraction in [0, 1] with at most six decimals."""
    value = raw.strip()
    if not value:
        return None
    whole, point, decimals = value.partition(".")
    if not (value.isascii() and whole.isdigit() and (not point or (decimals.isdigit() and len(decimals) <= 6))):
        if value.endswith("%"):
            raise Bad(f"write the rate as a fraction such as 0.0657, not a percentage: {shown(value)}")
        if _RATE_MANY_DECIMALS(value):
            raise Bad(f"rate has more than six decimals: {shown(value)}")
        if _NEGATIVE(value):
            raise Bad(f"rate must not be negative: {shown(value)}")
        raise Bad(f"not a rate fraction with at most six decimals: {shown(value)}")
    ppm = int(whole + decimals.ljust(6, "0"))
    if ppm > RATE_SCALE:
        raise Bad(f"annual rate is a fraction and must be at most 1 (got {value}; e.g. 0.0657)")
    return ppm


def date_field(raw: str) -> date | None:
    """An ISO ``YYYY-MM-DD`` date (models.domain.dates.parse_date, with a fast path)."""
    value = raw.strip()
    if not value:
        return None
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    try:
        return parse_date(value)
    except ValueError as error:
        raise Bad(str(error)) from None


def choice_field(allowed: tuple[str, ...], *, upper: bool = False) -> Parser:
    """One of ``allowed``, compared case-insensitively."""
    known = frozenset(allowed)
    listing = "|".join(allowed)

    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        normal = value.upper() if upper else value.lower()
        if normal not in known:
            raise Bad(f"must be one of {listing} (got {shown(value)})")
        return normal

    return parse


# (column, parser, required) in the order problems are reported; required fields first
Field = tuple[str, Parser, bool]

Problems = list[tuple[str, str]]


class RowParser:
    """One file's rows → values in field order (None: blank or absent column) and problems.

    The fast path parses every cell in one C-level map; only a row with a problem is parsed
    again cell by cell to name every problem.
    """

    def __init__(self, fields: tuple[Field, ...], source: Source):
        self.names = [name for name, _, _ in fields]
        self.parsers = [parse for _, parse, _ in fields]
        self.required = sum(required for _, _, required in fields)
        if any(required for _, _, required in fields[self.required :]):  # pragma: no cover
            raise RuntimeError("required fields must come first")
        absent = len(source.header)  # rows get one blank cell appended: absent columns read it
        self.pick = itemgetter(*(source.index.get(name, absent) for name in self.names))

    def __call__(self, row: list[str]) -> tuple[list[Any], Problems]:
        row.append("")
        cells = self.pick(row)
        del row[-1]
        try:
            values = list(map(call, self.parsers, cells))
        except Bad:
            return self._diagnose(cells)
        if None in values[: self.required]:
            return values, [(name, BLANK) for name, value in zip(self.names, values[: self.required]) if value is None]
        return values, []

    def _diagnose(self, cells: tuple[str, ...]) -> tuple[list[Any], Problems]:
        values: list[Any] = []
        problems: Problems = []
        for position, (name, parse, cell) in enumerate(zip(self.names, self.parsers, cells)):
            try:
                value = parse(cell)
            except Bad as bad:
                problems.append((name, str(bad)))
                value = None
            else:
                if value is None and position < self.required:
                    problems.append((name, BLANK))
            values.append(value)
        return values, problems


def failed(problems: Problems, column: str) -> bool:
    return any(name == column for name, _ in problems)

