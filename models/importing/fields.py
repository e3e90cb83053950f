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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import call, itemgetter
from typing import TYPE_CHECKING, Any

from models.domain.dates import parse_date
from models.domain.vocabulary import RATE_SCALE
from models.tables import Borrower, Collateral, Guarantor, Loan, Officer

if TYPE_CHECKING:
    from models.importing.files import Source

# no date from here on: the deadlines counted from a date (years of limitation, months of a
# guarantee period) must stay representable; the policy's bounds are far tighter for loans
LATEST_DATE = date(9000, 1, 1)
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


@dataclass(frozen=True)
class ImportBounds:
    """Plausibility bounds on a row (issue 16 part 2), from the policy's ``[bounds]`` (the use
    case converts ``machines.policy.Bounds``); amounts in fen, the rate in ppm."""

    earliest_date: date = date(1949, 10, 1)
    max_term_years: int = 50
    max_amount_fen: int = 10_000_000_000_00
    max_rate_ppm: int = 360_000

    def problems(self, amounts: tuple[tuple[str, int | None], ...], rate: int | None) -> Problems:
        """Amounts at or above the maximum and a rate above it, as (column, reason)."""
        found: Problems = []
        for column, fen in amounts:
            if fen is not None and fen >= self.max_amount_fen:
                found.append((column, f"{column} {fen_text(fen)} is not under the bound bounds.max_amount = {fen_text(self.max_amount_fen)}"))
        if rate is not None and rate > self.max_rate_ppm:
            found.append((
                "annual_rate",
                f"annual_rate {ppm_text(rate)} exceeds the bound bounds.max_annual_rate = {ppm_text(self.max_rate_ppm)}",
            ))
        return found


DEFAULT_BOUNDS = ImportBounds()


def fen_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def ppm_text(ppm: int) -> str:
    return f"{ppm // RATE_SCALE}.{ppm % RATE_SCALE:06d}".rstrip("0").rstrip(".") if ppm % RATE_SCALE else str(ppm // RATE_SCALE)


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


_LOAN_ID_CHARS = re.compile(r"[A-Za-z0-9._-]+").fullmatch


def loan_id_problem(raw: str) -> str | None:
    """Why a (trimmed) loan id is refused as a look-alike, or None (issue 16 part 8).

    NFKC-normalized, with invisible format characters (Unicode category Cf: zero-width space,
    joiner, BOM ...) stripped, the id must equal its raw text and use only ``A-Z a-z 0-9 . _ -``:
    a Cyrillic С, a full-width digit or a zero-width space would otherwise make a second loan
    that prints like the first. (Local until models.domain.identifiers.normalize_loan_id lands.)
    """
    if _LOAN_ID_CHARS(raw):  # the common case: one regex call
        return None
    if raw.isascii():
        bad = next((ch for ch in raw if not _LOAN_ID_CHARS(ch)), None)
        return None if bad is None else _char_reason(raw, bad, "is not allowed in a loan id (only A-Z a-z 0-9 . _ -)")
    normal = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if unicodedata.category(ch) != "Cf")
    for ch in raw:
        if unicodedata.category(ch) == "Cf":
            return _char_reason(raw, ch, "is an invisible character")
        if unicodedata.normalize("NFKC", ch) != ch:
            return _char_reason(raw, ch, f"is a look-alike of {shown(unicodedata.normalize('NFKC', ch))}")
        if not _LOAN_ID_CHARS(ch):
            return _char_reason(raw, ch, "is not allowed in a loan id (only A-Z a-z 0-9 . _ -)")
    return None if normal == raw else "loan_id changes under Unicode normalization (NFKC)"  # pragma: no cover


def _char_reason(raw: str, ch: str, why: str) -> str:
    name = unicodedata.name(ch, "unnamed")
    return f"loan_id {shown(raw)}: character U+{ord(ch):04X} {name} {why}"


def loan_id_field(limit: int) -> Parser:
    """A loan id: text of at most ``limit`` characters, no look-alike characters."""
    text = text_field(limit)

    def parse(raw: str) -> str | None:
        value = text(raw)
        if value is not None:
            problem = loan_id_problem(value)
            if problem is not None:
                raise Bad(problem)
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


# raw cell → its date, for dates before LATEST_DATE (where date_field and any_date_field agree):
# a book of a million loans has a few thousand distinct dates, and a lookup is cheaper than a parse
_DATES: dict[str, date] = {}
_DATES_KEPT = 100_000


def _iso_date(raw: str, value: str) -> date | None:
    """The ISO date ``value`` (``raw`` trimmed), remembered; None when it is not one."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    if len(_DATES) < _DATES_KEPT:
        _DATES[raw] = day
    return day


def date_field(raw: str) -> date | None:
    """An ISO ``YYYY-MM-DD`` date before LATEST_DATE (models.domain.dates.parse_date, with a fast path)."""
    day = _DATES.get(raw)
    if day is not None:
        return day
    value = raw.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value < "9000":  # the common case
        day = _iso_date(raw, value)
        if day is not None:
            return day
    day = any_date_field(raw)
    if day is not None and day >= LATEST_DATE:
        raise Bad(f"date {day} is implausibly far in the future (from {LATEST_DATE} on)")
    return day


def any_date_field(raw: str) -> date | None:
    """An ISO ``YYYY-MM-DD`` date, for a column whose plausibility a named bound checks (a loan's
    maturity: ``bounds.max_term_years`` after its disbursement, itself before LATEST_DATE)."""
    day = _DATES.get(raw)
    if day is not None:
        return day
    value = raw.strip()
    if not value:
        return None
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value < "9000":
        day = _iso_date(raw, value)
        if day is not None:
            return day
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


def getter(positions: list[int]) -> Callable[[Any], tuple[Any, ...]]:
    """itemgetter that answers a tuple even for one position."""
    if len(positions) == 1:
        return lambda row, at=positions[0]: (row[at],)
    return itemgetter(*positions)


class RowParser:
    """One file's rows → values in field order (None: blank or absent column) and problems.

    The fast path parses the cells of the columns the file has in one C-level map (a column
    the header lacks costs nothing: its None is put in place by one itemgetter); only a row
    with a problem is parsed again cell by cell to name every problem.
    """

    def __init__(self, fields: tuple[Field, ...], source: Source):
        self.names = [name for name, _, _ in fields]
        self.parsers = [parse for _, parse, _ in fields]
        self.required = sum(required for _, _, required in fields)
        if any(required for _, _, required in fields[self.required :]):  # pragma: no cover
            raise RuntimeError("required fields must come first")
        absent = len(source.header)  # rows get one blank cell appended: absent columns read it
        positions = [source.index.get(name, absent) for name in self.names]
        self.pick = getter(positions)
        present = [at for at, position in enumerate(positions) if position != absent]
        self.present_parsers = [self.parsers[at] for at in present]
        self.present_pick = getter([positions[at] for at in present])
        self.padding = [None] * (len(positions) - len(present))
        # values of the present columns, then the absent ones' Nones → field order
        slot = {field: k for k, field in enumerate(present)}
        missing = iter(range(len(present), len(positions)))
        order = [slot[at] if at in slot else next(missing) for at in range(len(positions))]
        self.arrange = None if self.padding == [] else getter(order)

    def __call__(self, row: list[str]) -> tuple[list[Any], Problems]:
        try:
            values = list(map(call, self.present_parsers, self.present_pick(row)))
        except Bad:
            row.append("")
            cells = self.pick(row)
            del row[-1]
            return self._diagnose(cells)
        if self.arrange is not None:
            values = list(self.arrange(values + self.padding))
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

