"""The core-banking export in: CSV files → validated rows → set-wise upsert, with rejects.

CONTRACT.md, "Import files". Which file is which is told by its header (names trimmed, case
ignored; unknown columns ignored). Every file is read whole first (valid UTF-8, a BOM allowed;
parseable CSV; a known header; at least one data row): one unreadable file refuses the call
with BadInput before anything is written. Then loans files are loaded, then guarantors, then
collateral (so guarantors may name loans from a loans file of the same call), in batches of
core ``INSERT ... ON CONFLICT DO UPDATE`` statements, in one transaction committed at the end.

A row that fails validation is reported as a :class:`Rejected` (file, physical line where the
record starts, the first problem's column, every problem in the reason) and written to
``<stem>.rejects.csv`` beside its input: the original columns plus ``line,column,reason``
(cells a spreadsheet would run as formulas get a leading apostrophe there). Every valid row
lands; blank lines are skipped.

Rules worth knowing when reading the data:

- amounts are plain decimal text (``1234.5``): no sign, no thousands separators, at most two
  decimals; the annual rate is a fraction in [0, 1] with at most six decimals (``0.0657``);
  enumerations are matched case-insensitively;
- free text and identifiers must fit their column, hold no control characters, and not look
  like a spreadsheet formula (``= + - @``, or a leading tab or carriage return; a phone
  number may start with ``+`` and a digit);
- a blank optional identity or contact field of a person (id_number, phone, address, employer,
  employer_type, credit_rating, guarantor_id) never erases what is already on file, and a
  blank collateral status keeps the recorded one; every other field takes the export's value;
- a re-imported loan keeps its case (state, history, penalty, costs, and its assignee once it
  is in collection), is marked touched, its ``next_event_on`` only ever moves earlier, and its
  ``version`` is bumped so optimistic-locking writers see the change; a guarantor import
  touches (and bumps) its loans the same way.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import call, itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, case, func, literal_column, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.domain.dates import parse_date
from models.domain.deadlines import GuaranteeType, guarantee_period_end
from models.domain.errors import BadInput
from models.store import CLASSIFICATION_MARK, UnitOfWork, forget_mark
from models.tables import Borrower, Collateral, Guarantor, Loan, Officer

LOANS, GUARANTORS, COLLATERAL = "loans", "guarantors", "collateral"
KINDS = (LOANS, GUARANTORS, COLLATERAL)  # also the order files are loaded in

REQUIRED: dict[str, tuple[str, ...]] = {
    LOANS: (
        "loan_id",
        "borrower_name",
        "principal",
        "annual_rate",
        "disbursed_on",
        "maturity_on",
        "outstanding_principal",
    ),
    GUARANTORS: ("loan_id", "guarantor_name", "guarantee_type"),
    COLLATERAL: ("loan_id", "owner", "description", "estimated_value"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    LOANS: (
        "borrower_id",
        "id_number",
        "phone",
        "address",
        "employer",
        "employer_type",
        "origin",
        "officer_id",
        "introduced_by",
        "product",
        "interest_arrears",
        "last_payment_on",
        "credit_rating",
        "overdue_since",
        "overdue_principal",
        "accrued_to",  # extension: the date interest_arrears is computed to
    ),
    GUARANTORS: ("guarantor_id", "id_number", "phone", "guarantee_period_end", "account_balance"),
    COLLATERAL: ("asset_id", "status"),
}

EMPLOYER_TYPES = ("government", "institution", "state_enterprise", "private", "none")
ORIGINS = ("insider", "insider_introduced", "relationship", "external")
PRODUCTS = ("business", "consumer", "mortgage", "agriculture", "aquaculture", "other")
CREDIT_RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B", "C")
GUARANTEE_TYPES = tuple(kind.value for kind in GuaranteeType)
OWNERS = ("borrower", "guarantor")
COLLATERAL_STATUSES = ("free", "frozen", "sealed", "sold")

BATCH_ROWS = 5000
SQLITE_CACHE_KIB = 256 * 1024  # SQLite page cache while importing (default: 2 MiB)
MAX_AMOUNT_FEN = 10**15  # 1e13 yuan, as models.domain.money.parse_amount
RATE_SCALE = 1_000_000  # ppm, as models.domain.money
ROW = "(row)"  # the column named when the row as a whole is malformed
FORMULA = "looks like spreadsheet formula text"
ONE_DAY = timedelta(days=1)


def _length(column: Any) -> int:
    return int(column.type.length)


# Text limits follow the schema, so a valid row always fits its column on every backend.
LIMITS = {
    "loan_id": _length(Loan.__table__.c.loan_id),
    "borrower_id": _length(Borrower.__table__.c.borrower_id),
    "borrower_name": _length(Borrower.__table__.c.name),
    "id_number": _length(Borrower.__table__.c.id_number),
    "phone": _length(Borrower.__table__.c.phone),
    "address": _length(Borrower.__table__.c.address),
    "employer": _length(Borrower.__table__.c.employer),
    "officer_id": _length(Officer.__table__.c.officer_id),
    "introduced_by": _length(Loan.__table__.c.introduced_by),
    "guarantor_name": _length(Guarantor.__table__.c.name),
    "guarantor_id": _length(Guarantor.__table__.c.guarantor_id),
    "asset_id": _length(Collateral.__table__.c.asset_id),
    "description": _length(Collateral.__table__.c.description),
}


# --- the report -------------------------------------------------------------------------------


@dataclass
class Rejected:
    """One row that was not imported: ``line`` is the 1-based physical line (header is 1)."""

    file: str
    line: int
    column: str
    reason: str


@dataclass
class ImportedFile:
    """What one input file was taken for and what became of its rows."""

    file: str
    kind: str
    imported: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    """What an import call did: rows imported per kind, every rejected row (ordered by input
    file, then line), the rejects files written, loans new and updated, and each file's kind."""

    loans: int = 0
    guarantors: int = 0
    collateral: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejects_files: list[str] = field(default_factory=list)
    loans_created: int = 0
    loans_updated: int = 0
    files: list[ImportedFile] = field(default_factory=list)


# --- whole-file checks --------------------------------------------------------------------------


@dataclass
class _Source:
    name: str  # the path as given (what the report names)
    path: Path
    order: int
    kind: str
    header: list[str]
    index: dict[str, int]  # known column → position
    bom: bool

    @property
    def rejects_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".rejects.csv")


def _check_utf8(path: Path, name: str) -> bool:
    """Raise BadInput unless the file is valid UTF-8; return whether it starts with a BOM."""
    base = 0  # file offset of data[0]
    lines = 0  # newlines before data[0]
    carry = b""
    bom = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if base == 0 and not carry:
                bom = chunk.startswith(b"\xef\xbb\xbf")
            data = carry + chunk
            carry = b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                if error.reason == "unexpected end of data" and error.end == len(data):
                    carry = data[error.start :]  # a character split across chunks
                    data = data[: error.start]
                else:
                    _not_utf8(name, base + error.start, lines + data.count(b"\n", 0, error.start) + 1)
            base += len(data)
            lines += data.count(b"\n")
    if carry:
        _not_utf8(name, base, lines + 1)
    return bom


def _not_utf8(name: str, offset: int, line: int) -> None:
    raise BadInput(
        f"{name}: not valid UTF-8 at byte offset {offset} (line {line}); "
        "save the export as UTF-8 (GBK/GB18030 files must be converted)"
    )


def _scan(path: Path, name: str) -> tuple[list[str] | None, bool]:
    """(header, whether a data row follows), reading the whole file through the CSV reader so
    that a file it cannot parse is refused before anything is written."""
    header: list[str] | None = None
    has_data = False
    last = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not has_data and row and "".join(row).strip():
                    if header is None:
                        header = row
                    else:
                        has_data = True
                last = reader.line_num
        except csv.Error as error:
            raise BadInput(
                f"{name}: the record starting on line {last + 1} is not readable as CSV ({error}; an unclosed quote?)"
            ) from None
    return header, has_data


def _inspect(given: str | Path, order: int) -> _Source:
    name = str(given)
    path = Path(given)
    try:
        if not path.exists():
            raise BadInput(f"{name}: no such file")
        if not path.is_file():
            raise BadInput(f"{name}: not a regular file")
        bom = _check_utf8(path, name)
        header, has_data = _scan(path, name)
    except OSError as error:
        raise BadInput(f"{name}: cannot read the file ({error.strerror or error})") from None
    if header is None:
        raise BadInput(f"{name}: empty file")
    names = [cell.replace("\ufeff", "").strip().lower() for cell in header]
    known = {c for kind in KINDS for c in REQUIRED[kind] + OPTIONAL[kind]}
    index: dict[str, int] = {}
    for position, column in enumerate(names):
        if column in index and column in known:
            raise BadInput(f"{name}: column {column!r} appears twice in the header")
        index.setdefault(column, position)
    missing = {kind: [c for c in REQUIRED[kind] if c not in index] for kind in KINDS}
    kinds = [kind for kind in KINDS if not missing[kind]]
    if not kinds:
        detail = "; ".join(f"{kind}: {', '.join(missing[kind])}" for kind in KINDS)
        raise BadInput(f"{name}: header matches no import file kind (missing columns for {detail})")
    if len(kinds) > 1:
        raise BadInput(f"{name}: header has the required columns of {' and '.join(kinds)}; split the file")
    kind = kinds[0]
    if not has_data:
        raise BadInput(f"{name}: no data rows (only a header)")
    wanted = set(REQUIRED[kind] + OPTIONAL[kind])
    return _Source(
        name=name,
        path=path,
        order=order,
        kind=kind,
        header=header,
        index={c: i for c, i in index.items() if c in wanted},
        bom=bom,
    )


def _inspect_all(paths: list[str | Path]) -> list[_Source]:
    sources: list[_Source] = []
    seen: set[Path] = set()
    for given in paths:
        resolved = Path(given).resolve()
        if resolved in seen:
            continue  # the same file named twice is imported once
        seen.add(resolved)
        sources.append(_inspect(given, len(sources)))
    for source in sources:
        if source.rejects_path.resolve() in seen:
            raise BadInput(f"{source.name}: its rejects file {source.rejects_path} is also an input")
    return sources


# --- row validation ---------------------------------------------------------------------------
#
# Each known column has a cell parser: a plain function of the raw text that returns the value
# (None when blank) or raises _Bad with the reason. A _RowParser applies them to one file's
# columns; cross-column rules then run on the parsed values. Plain functions and tuples (no
# Decimal, no per-row objects) keep a row at a few microseconds, which is what makes a
# million-row export practical. Amounts follow models.domain.money's rules except that
# thousands separators and signs are refused rather than stripped.


class _Bad(ValueError):
    """One cell's problem; the message is the reason reported."""


_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9,]+(?:\.[0-9]+)?").fullmatch
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]*)?").fullmatch
_MANY_DECIMALS = re.compile(r"[0-9]+\.[0-9]{3,}").fullmatch
_RATE_MANY_DECIMALS = re.compile(r"[0-9]+\.[0-9]{7,}").fullmatch
_CONTROL = re.compile(r"[\x00-\x1f\x7f]").search  # one-line text: no tab or line break either
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
_FORMULA_RAW = "\t\r"  # a raw cell starting with these (even before trimming) is refused
_FORMULA_TEXT = "=+-@"  # a trimmed value starting with these is refused


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


Parser = Callable[[str], Any]


def _text(limit: int, *, multiline: bool = False, phone: bool = False) -> Parser:
    """Trimmed text of at most ``limit`` characters that a spreadsheet would not run."""
    control = _CONTROL_MULTILINE if multiline else _CONTROL

    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        if len(value) > limit:
            raise _Bad(f"longer than {limit} characters (has {len(value)})")
        if not value.isprintable() and control(value):
            raise _Bad("contains a control character")
        if raw[0] in _FORMULA_RAW or (
            value[0] in _FORMULA_TEXT and not (phone and value[0] == "+" and value[1:2].isdigit())
        ):
            raise _Bad(FORMULA)
        return value

    return parse


def _amount(raw: str) -> int | None:
    """Integer fen of plain decimal text with at most two decimals (``1234.5``)."""
    value = raw.strip()
    if not value:
        return None
    whole, point, cents = value.partition(".")
    if not (value.isascii() and whole.isdigit() and (not point or (cents.isdigit() and len(cents) <= 2))):
        raise _Bad(_amount_problem(value))
    fen = int(whole + cents.ljust(2, "0"))
    if fen >= MAX_AMOUNT_FEN:
        raise _Bad(f"amount is implausibly large: {_shown(value)}")
    return fen


def _amount_problem(value: str) -> str:
    if "," in value and _THOUSANDS(value):
        return f"thousands separators are not accepted: write {value.replace(',', '')}"
    if _NEGATIVE(value):
        return f"amount must not be negative: {_shown(value)}"
    if _MANY_DECIMALS(value):
        return f"amount has more than two decimals: {_shown(value)}"
    return f"not a plain decimal amount (digits, optional point, at most two decimals): {_shown(value)}"


def _rate(raw: str) -> int | None:
    """Integer ppm of an annual rate fraction in [0, 1] with at most six decimals."""
    value = raw.strip()
    if not value:
        return None
    whole, point, decimals = value.partition(".")
    if not (value.isascii() and whole.isdigit() and (not point or (decimals.isdigit() and len(decimals) <= 6))):
        if value.endswith("%"):
            raise _Bad(f"write the rate as a fraction such as 0.0657, not a percentage: {_shown(value)}")
        if _RATE_MANY_DECIMALS(value):
            raise _Bad(f"rate has more than six decimals: {_shown(value)}")
        if _NEGATIVE(value):
            raise _Bad(f"rate must not be negative: {_shown(value)}")
        raise _Bad(f"not a rate fraction with at most six decimals: {_shown(value)}")
    ppm = int(whole + decimals.ljust(6, "0"))
    if ppm > RATE_SCALE:
        raise _Bad(f"annual rate is a fraction and must be at most 1 (got {value}; e.g. 0.0657)")
    return ppm


def _date(raw: str) -> date | None:
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
        raise _Bad(str(error)) from None


def _choice(allowed: tuple[str, ...], *, upper: bool = False) -> Parser:
    """One of ``allowed``, compared case-insensitively."""
    known = frozenset(allowed)
    listing = "|".join(allowed)

    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        normal = value.upper() if upper else value.lower()
        if normal not in known:
            raise _Bad(f"must be one of {listing} (got {_shown(value)})")
        return normal

    return parse


# (column, parser, required) in the order problems are reported; the loaders unpack by position
_LOAN_FIELDS: tuple[tuple[str, Parser, bool], ...] = (
    ("loan_id", _text(LIMITS["loan_id"]), True),
    ("borrower_name", _text(LIMITS["borrower_name"]), True),
    ("principal", _amount, True),
    ("annual_rate", _rate, True),
    ("disbursed_on", _date, True),
    ("maturity_on", _date, True),
    ("outstanding_principal", _amount, True),
    ("borrower_id", _text(LIMITS["borrower_id"]), False),
    ("id_number", _text(LIMITS["id_number"]), False),
    ("phone", _text(LIMITS["phone"], phone=True), False),
    ("address", _text(LIMITS["address"], multiline=True), False),
    ("employer", _text(LIMITS["employer"], multiline=True), False),
    ("employer_type", _choice(EMPLOYER_TYPES), False),
    ("origin", _choice(ORIGINS), False),
    ("officer_id", _text(LIMITS["officer_id"]), False),
    ("introduced_by", _text(LIMITS["introduced_by"]), False),
    ("product", _choice(PRODUCTS), False),
    ("interest_arrears", _amount, False),
    ("last_payment_on", _date, False),
    ("credit_rating", _choice(CREDIT_RATINGS, upper=True), False),
    ("overdue_since", _date, False),
    ("overdue_principal", _amount, False),
    ("accrued_to", _date, False),
)
_GUARANTOR_FIELDS: tuple[tuple[str, Parser, bool], ...] = (
    ("loan_id", _text(LIMITS["loan_id"]), True),
    ("guarantor_name", _text(LIMITS["guarantor_name"]), True),
    ("guarantee_type", _choice(GUARANTEE_TYPES), False),  # the column is required, a blank is general
    ("guarantor_id", _text(LIMITS["guarantor_id"]), False),
    ("id_number", _text(LIMITS["id_number"]), False),
    ("phone", _text(LIMITS["phone"], phone=True), False),
    ("guarantee_period_end", _date, False),
    ("account_balance", _amount, False),
)
_COLLATERAL_FIELDS: tuple[tuple[str, Parser, bool], ...] = (
    ("loan_id", _text(LIMITS["loan_id"]), True),
    ("owner", _choice(OWNERS), True),
    ("description", _text(LIMITS["description"], multiline=True), True),
    ("estimated_value", _amount, True),
    ("asset_id", _text(LIMITS["asset_id"]), False),
    ("status", _choice(COLLATERAL_STATUSES), False),
)

Problems = list[tuple[str, str]]
BLANK = "required value is blank"


class _RowParser:
    """One file's rows → values in field order (None: blank or absent column) and problems.

    The fast path parses every cell in one C-level map; only a row with a problem is parsed
    again cell by cell to name every problem.
    """

    def __init__(self, fields: tuple[tuple[str, Parser, bool], ...], source: _Source):
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
        except _Bad:
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
            except _Bad as bad:
                problems.append((name, str(bad)))
                value = None
            else:
                if value is None and position < self.required:
                    problems.append((name, BLANK))
            values.append(value)
        return values, problems


def _failed(problems: Problems, column: str) -> bool:
    return any(name == column for name, _ in problems)


BORROWER_COLUMNS = (
    "borrower_id",
    "name",
    "id_number",
    "phone",
    "address",
    "employer",
    "employer_type",  # None in a parsed row: not given (see _Store.loans)
    "credit_rating",
)
LOAN_COLUMNS = (
    "loan_id",
    "borrower_id",
    "principal_fen",
    "rate_ppm",
    "disbursed_on",
    "maturity_on",
    "product",
    "origin",
    "officer_id",
    "introduced_by",
    "assigned_to",
    "outstanding_principal_fen",
    "overdue_principal_fen",
    "interest_fen",
    "penalty_fen",
    "costs_fen",
    "accrued_to",
    "overdue_since",
    "last_payment_on",
    "state",
    "classification",
    "touched",
    "next_event_on",
)
GUARANTOR_COLUMNS = (
    "loan_id",
    "name",
    "guarantor_id",
    "id_number",
    "phone",
    "guarantee_type",
    "agreed_period_end",
    "period_end",
    "account_balance_fen",
)
COLLATERAL_COLUMNS = ("loan_id", "asset_id", "owner", "description", "estimated_value_fen", "status")
_EMPLOYER_TYPE = BORROWER_COLUMNS.index("employer_type")
_OFFICER, _INTRODUCER = LOAN_COLUMNS.index("officer_id"), LOAN_COLUMNS.index("introduced_by")
_BORROWER, _ASSIGNEE = LOAN_COLUMNS.index("borrower_id"), LOAN_COLUMNS.index("assigned_to")
_STATUS = COLLATERAL_COLUMNS.index("status")
_LOAN_KEYS = itemgetter(*(LOAN_COLUMNS.index(name) for name in ("loan_id", "borrower_id", "officer_id", "assigned_to")))


def _loan_rows(values: list[Any], problems: Problems, iso: bool) -> tuple[tuple, tuple] | None:
    """(borrower row, loan row) in BORROWER_COLUMNS / LOAN_COLUMNS order, or None with the
    cross-column problems added to ``problems``. ``iso``: dates as ISO text (SQLite)."""
    (
        loan_id,
        borrower_name,
        principal,
        rate,
        disbursed,
        maturity,
        outstanding,
        borrower_id,
        id_number,
        phone,
        address,
        employer,
        employer_type,
        origin,
        officer_id,
        introduced_by,
        product,
        arrears,
        last_payment,
        credit_rating,
        overdue_since,
        overdue_principal,
        accrued_to,
    ) = values
    if principal == 0:
        problems.append(("principal", "principal must be positive"))
    if disbursed and maturity and maturity <= disbursed:
        problems.append(("maturity_on", f"maturity_on {maturity} is not after disbursed_on {disbursed}"))
    if principal is not None and outstanding is not None and outstanding > principal:
        problems.append(("outstanding_principal", "outstanding_principal exceeds principal"))
    if overdue_principal is not None and outstanding is not None and overdue_principal > outstanding:
        problems.append(("overdue_principal", "overdue_principal exceeds outstanding_principal"))
    if overdue_principal and overdue_since is None and not _failed(problems, "overdue_since"):
        problems.append(("overdue_principal", "overdue_principal is positive but overdue_since is blank"))
    if overdue_since and disbursed and overdue_since < disbursed:
        problems.append(("overdue_since", f"overdue_since {overdue_since} is before disbursed_on {disbursed}"))
    if last_payment and disbursed and last_payment < disbursed:
        problems.append(("last_payment_on", f"last_payment_on {last_payment} is before disbursed_on {disbursed}"))
    if accrued_to and disbursed and accrued_to < disbursed:
        problems.append(("accrued_to", f"accrued_to {accrued_to} is before disbursed_on {disbursed}"))
    if loan_id and not borrower_id and not id_number and len(loan_id) + 2 > LIMITS["borrower_id"]:
        problems.append(("borrower_id", "needed when loan_id is too long to key the borrower as B-<loan_id>"))
    if problems:
        return None

    origin = origin or "external"
    interest = arrears or 0
    accrued = accrued_to or last_payment or disbursed
    if overdue_principal is None:
        overdue_principal = outstanding if overdue_since else 0
    # nothing owed: the daily run closes it on its first date; else the first day past due
    next_event = accrued if outstanding + interest == 0 else (overdue_since or maturity) + ONE_DAY
    responsible = introduced_by if origin == "insider_introduced" and introduced_by else officer_id
    key = borrower_id or id_number or "B-" + loan_id
    borrower = (key, borrower_name, id_number, phone, address, employer, employer_type, credit_rating)
    if iso:
        disbursed, maturity, accrued, next_event = (
            disbursed.isoformat(),
            maturity.isoformat(),
            accrued.isoformat(),
            next_event.isoformat(),
        )
        overdue_since = overdue_since and overdue_since.isoformat()
        last_payment = last_payment and last_payment.isoformat()
    loan = (
        loan_id,
        key,
        principal,
        rate,
        disbursed,
        maturity,
        product or "other",
        origin,
        officer_id,
        introduced_by,
        responsible,
        outstanding,
        overdue_principal,
        interest,
        0,  # penalty_fen
        0,  # costs_fen
        accrued,
        overdue_since,
        last_payment,
        "performing",
        "normal",
        False,  # touched
        next_event,
    )
    return borrower, loan


def _guarantor_row(values: list[Any]) -> list[Any]:
    """A GUARANTOR_COLUMNS row; period_end is filled in from the loan when it is written."""
    loan_id, name, kind, guarantor_id, id_number, phone, agreed_end, balance = values
    kind = kind or GuaranteeType.general.value  # Civil Code Art. 686: an unstated mode is general
    return [loan_id, name, guarantor_id, id_number, phone, kind, agreed_end, None, balance]


def _collateral_row(values: list[Any], problems: Problems, asset_default: str) -> tuple | None:
    loan_id, owner, description, value, asset_id, status = values
    if loan_id and not asset_id and len(asset_default) > LIMITS["asset_id"]:
        problems.append(("asset_id", "needed when loan_id is too long to number the asset as <loan_id>-<n>"))
    if problems:
        return None
    return (loan_id, asset_id or asset_default, owner, description, value, status)


# --- rejects ----------------------------------------------------------------------------------


def _cell_for_spreadsheet(value: str) -> str:
    """Echoed cells that a spreadsheet would run as a formula get a leading apostrophe."""
    if value[:1] and value[0] in _FORMULA_RAW + _FORMULA_TEXT and not _SIGNED_NUMBER(value):
        return "'" + value
    return value


_SIGNED_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?").fullmatch


class _Rejects:
    """Collects one file's rejected rows; writes them, line-ordered, to a temp file beside it."""

    def __init__(self, source: _Source, out: list[Rejected]):
        self.source = source
        self.out = out
        self.pending: list[tuple[int, list[str], list[tuple[str, str]]]] = []
        self.count = 0
        self._tmp: Path | None = None
        self._handle: Any = None
        self._writer: Any = None

    def add(self, line: int, row: list[str], problems: list[tuple[str, str]]) -> None:
        self.pending.append((line, row, problems))

    def flush(self) -> None:
        if not self.pending:
            return
        if self._writer is None:
            self._open()
        width = len(self.source.header)
        self.pending.sort(key=lambda item: item[0])
        for line, row, problems in self.pending:
            column, reason = problems[0]
            if len(problems) > 1:
                reason += "; also " + "; ".join(f"{col}: {why}" for col, why in problems[1:])
            cells = [_cell_for_spreadsheet(cell) for cell in row[:width]]
            cells += [""] * (width - len(cells))
            self._writer.writerow([*cells, line, column, reason])
            self.out.append(Rejected(self.source.name, line, column, reason))
        self.count += len(self.pending)
        self.pending.clear()

    def _open(self) -> None:
        final = self.source.rejects_path
        try:
            fd, tmp = tempfile.mkstemp(prefix=final.name + ".", suffix=".tmp", dir=final.parent)
        except OSError as error:
            raise BadInput(f"{self.source.name}: cannot write rejects file {final}: {error.strerror}") from None
        self._tmp = Path(tmp)
        encoding = "utf-8-sig" if self.source.bom else "utf-8"
        self._handle = os.fdopen(fd, "w", encoding=encoding, newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*self.source.header, "line", "column", "reason"])

    def publish(self) -> Path | None:
        """Put the rejects file in place (or remove a stale one when nothing was rejected)."""
        final = self.source.rejects_path
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tmp is None:
            final.unlink(missing_ok=True)
            return None
        try:  # mkstemp makes it private; give it the input's permissions instead
            os.chmod(self._tmp, stat.S_IMODE(self.source.path.stat().st_mode))
        except OSError:  # pragma: no cover - best effort
            pass
        os.replace(self._tmp, final)
        self._tmp = None
        return final

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


# --- writing ----------------------------------------------------------------------------------
#
# Each upsert is a core INSERT ... ON CONFLICT built with the dialect's insert(), compiled once
# with positional parameters, and run through the driver's executemany with plain tuples: this
# skips SQLAlchemy's per-row parameter processing, which otherwise costs more than SQLite's own
# work. Columns the import does not set but whose schema default is a constant are appended,
# so new columns with defaults need no change here.
#
# The loan upsert does not update its foreign-key columns (borrower, officer, assignee): in
# SQLite an ON CONFLICT DO UPDATE that may change a foreign key doubles the cost of every
# insert, conflict or not. Loans that were already on file get those three columns from a
# separate UPDATE instead (measured: 100,000 new loans 3.1 s → 1.5 s of SQLite time).

_BORROWERS: Table = Borrower.__table__  # type: ignore[assignment]
_OFFICERS: Table = Officer.__table__  # type: ignore[assignment]
_LOANS: Table = Loan.__table__  # type: ignore[assignment]
_GUARANTORS: Table = Guarantor.__table__  # type: ignore[assignment]
_COLLATERAL: Table = Collateral.__table__  # type: ignore[assignment]

# loan columns a re-import takes from the export (the case's own columns are kept)
_LOAN_TERMS = (
    "principal_fen",
    "rate_ppm",
    "disbursed_on",
    "maturity_on",
    "product",
    "origin",
    "introduced_by",
    "outstanding_principal_fen",
    "overdue_principal_fen",
    "interest_fen",
    "accrued_to",
    "overdue_since",
    "last_payment_on",
)
# a blank in the export never erases these: a person's identity and contact details
_BORROWER_KEPT = ("id_number", "phone", "address", "employer", "credit_rating")
_GUARANTOR_KEPT = ("guarantor_id", "id_number", "phone")

Update = Callable[[Any, Any], dict[str, Any]]  # (excluded, table columns) → SET clause


class _Compiled:
    """A statement compiled once with positional parameters, run through the driver's
    executemany with tuples whose cells are named by ``columns`` (plus constant ``tail``)."""

    sql: str
    tail: tuple = ()
    pick: Callable[[tuple], tuple] | None = None

    def _prepare(self, stmt: Any, dialect: Dialect, names: list[str], table: str) -> None:
        compiled = stmt.compile(dialect=dialect)
        order = list(compiled.positiontup or ())
        if not set(order) <= set(names):  # pragma: no cover - a literal slipped into the statement
            raise RuntimeError(f"unexpected parameters in the {table} statement: {order}")
        self.sql = str(compiled)
        if order != names:  # the compiler's parameter order (VALUES in table order, repeats)
            positions = [names.index(name) for name in order]
            if len(positions) == 1:
                self.pick = lambda row, at=positions[0]: (row[at],)
            else:
                self.pick = itemgetter(*positions)  # type: ignore[assignment]

    def run(self, session: Session, rows: list[tuple]) -> None:
        if not rows:
            return
        tail, pick = self.tail, self.pick
        if pick is not None:
            params = [pick(row + tail) for row in rows] if tail else [pick(row) for row in rows]
        else:
            params = [row + tail for row in rows] if tail else rows
        session.connection().exec_driver_sql(self.sql, params)


class _Upsert(_Compiled):
    """One INSERT ... ON CONFLICT, compiled once, executed with tuples in ``columns`` order."""

    def __init__(
        self,
        dialect: Dialect,
        insert: Callable[[Table], Any],
        table: Table,
        columns: tuple[str, ...],
        conflict: tuple[str, ...],
        update_: Update | None,
    ):
        names = list(columns)
        constants = []
        for column in table.columns:
            default = column.default
            if column.name not in columns and default is not None and getattr(default, "is_scalar", False):
                names.append(column.name)
                constants.append(default.arg)  # type: ignore[attr-defined]
        stmt = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in names})
        if update_ is None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        else:
            stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=update_(stmt.excluded, table.c))
        self.tail = tuple(constants)
        self._prepare(stmt, dialect, names, table.name)


class _LoanKeys(_Compiled):
    """The foreign-key columns of loans already on file: borrower, officer and assignee (a case
    already in collection keeps its assignee)."""

    columns = ("loan_id", "borrower_id", "officer_id", "assigned_to")

    def __init__(self, dialect: Dialect):
        c = _LOANS.c
        assignee = bindparam("assigned_to", type_=c.assigned_to.type)
        stmt = (
            update(_LOANS)
            .where(c.loan_id == bindparam("loan_id", type_=c.loan_id.type))
            .values(
                borrower_id=bindparam("borrower_id", type_=c.borrower_id.type),
                officer_id=bindparam("officer_id", type_=c.officer_id.type),
                assigned_to=case(
                    (c.state == literal_column("'performing'"), func.coalesce(assignee, c.assigned_to)),
                    else_=func.coalesce(c.assigned_to, assignee),
                ),
            )
        )
        self._prepare(stmt, dialect, list(self.columns), "loans")


def _loan_update(new: Any, old: Any) -> dict[str, Any]:
    """A re-imported loan: the export's terms and balances; the case is kept, marked touched,
    its next event only moves earlier, and its version moves on (optimistic locking)."""
    values: dict[str, Any] = {name: new[name] for name in _LOAN_TERMS}  # FK columns: _LoanKeys
    values["next_event_on"] = case(
        (or_(old.next_event_on.is_(None), new.next_event_on < old.next_event_on), new.next_event_on),
        else_=old.next_event_on,
    )
    values["touched"] = true()
    values["version"] = old.version + literal_column("1")
    return values


def _borrower_update(with_type: bool) -> Update:
    def update_(new: Any, old: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"name": new.name}
        values.update({name: func.coalesce(new[name], old[name]) for name in _BORROWER_KEPT})
        if with_type:
            values["employer_type"] = new.employer_type
        return values

    return update_


def _guarantor_update(new: Any, old: Any) -> dict[str, Any]:
    """The guarantee's terms from the export; demands, freezes and consent are kept."""
    values: dict[str, Any] = {
        name: new[name] for name in ("guarantee_type", "agreed_period_end", "period_end", "account_balance_fen")
    }
    values.update({name: func.coalesce(new[name], old[name]) for name in _GUARANTOR_KEPT})
    return values


def _collateral_update(with_status: bool) -> Update:
    def update_(new: Any, old: Any) -> dict[str, Any]:
        values = {name: new[name] for name in ("owner", "description", "estimated_value_fen")}
        if with_status:  # a blank status keeps a freeze or seal recorded here
            values["status"] = new.status
        return values

    return update_


class _Store:
    """Set-wise upserts for one import call, on the call's session (one transaction)."""

    def __init__(self, uow: UnitOfWork):
        if uow.session is None:
            raise RuntimeError("import_files needs an open unit of work: `with UnitOfWork(...) as uow`")
        self.session: Session = uow.session
        dialect = uow.engine.dialect
        postgres = dialect.name == "postgresql"
        insert = postgresql.insert if postgres else sqlite.insert
        if not dialect.positional:
            dialect = type(dialect)(paramstyle="format")
        self.iso = not postgres  # SQLite stores dates as ISO text, as SQLAlchemy's Date does
        self.known_officers: set[str] = set()
        self.loans_created = 0
        self.loans_updated = 0

        def upsert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], update_: Update | None) -> Any:
            return _Upsert(dialect, insert, table, columns, conflict, update_)

        assets = ("loan_id", "asset_id")

        self.officers = upsert(_OFFICERS, ("officer_id",), ("officer_id",), None)
        self.borrowers_typed = upsert(_BORROWERS, BORROWER_COLUMNS, ("borrower_id",), _borrower_update(True))
        self.borrowers_untyped = upsert(_BORROWERS, BORROWER_COLUMNS, ("borrower_id",), _borrower_update(False))
        self.loan_upsert = upsert(_LOANS, LOAN_COLUMNS, ("loan_id",), _loan_update)
        self.loan_keys = _LoanKeys(dialect)
        self.guarantor_upsert = upsert(_GUARANTORS, GUARANTOR_COLUMNS, ("loan_id", "name"), _guarantor_update)
        self.collateral_status = upsert(_COLLATERAL, COLLATERAL_COLUMNS, assets, _collateral_update(True))
        self.collateral_kept = upsert(_COLLATERAL, COLLATERAL_COLUMNS, assets, _collateral_update(False))
        self.touch = (
            update(_LOANS)
            .where(_LOANS.c.loan_id.in_(bindparam("ids", expanding=True)))
            .values(touched=True, version=_LOANS.c.version + 1)
        )
        self._cache_size: int | None = None
        if not postgres:  # a large export updates indexes all over a large file: cache more of it
            connection = self.session.connection()
            self._cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    def close(self) -> None:
        """Give the pooled connection back with its own page-cache size."""
        if self._cache_size is not None:
            self.session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None

    def loans(self, batch: list[tuple[tuple, tuple]]) -> None:
        """Officers, borrowers and loans of one batch (loan ids are unique within a batch)."""
        officers = {loan[_OFFICER] for _, loan in batch} | {loan[_INTRODUCER] for _, loan in batch}
        officers -= self.known_officers
        officers.discard(None)
        if officers:
            self.officers.run(self.session, [(officer,) for officer in sorted(officers)])
            self.known_officers |= officers

        merged: dict[str, tuple] = {}
        for borrower, _ in batch:  # one row per borrower per statement; a later non-blank value wins
            have = merged.get(borrower[0])
            merged[borrower[0]] = (
                borrower if have is None else tuple(old if new is None else new for new, old in zip(borrower, have))
            )
        typed = [row for row in merged.values() if row[_EMPLOYER_TYPE] is not None]
        untyped = [_replace(row, _EMPLOYER_TYPE, "none") for row in merged.values() if row[_EMPLOYER_TYPE] is None]
        self.borrowers_typed.run(self.session, typed)
        self.borrowers_untyped.run(self.session, untyped)

        loans = [loan for _, loan in batch]
        c = _LOANS.c
        stmt = select(c.loan_id, c.borrower_id, c.officer_id, c.assigned_to, c.state).where(
            c.loan_id.in_([loan[0] for loan in loans])
        )
        existing = {loan_id: rest for loan_id, *rest in self.session.execute(stmt)}
        self.loan_upsert.run(self.session, loans)
        self.loan_keys.run(self.session, [_LOAN_KEYS(loan) for loan in loans if _keys_change(loan, existing)])
        self.loans_updated += len(existing)
        self.loans_created += len(loans) - len(existing)

    def maturities(self, loan_ids: set[str]) -> dict[str, date]:
        stmt = select(_LOANS.c.loan_id, _LOANS.c.maturity_on).where(_LOANS.c.loan_id.in_(sorted(loan_ids)))
        return {loan_id: maturity for loan_id, maturity in self.session.execute(stmt)}

    def guarantors(self, rows: list[tuple]) -> None:
        """Guarantors of one batch; their loans are marked touched (deadlines may have moved)."""
        self.guarantor_upsert.run(self.session, rows)
        self.session.execute(self.touch, {"ids": sorted({row[0] for row in rows})})

    def collateral(self, rows: list[tuple]) -> None:
        self.collateral_status.run(self.session, [row for row in rows if row[_STATUS] is not None])
        self.collateral_kept.run(self.session, [_replace(row, _STATUS, "free") for row in rows if row[_STATUS] is None])


def _keys_change(loan: tuple, existing: dict[str, list[Any]]) -> bool:
    """Whether _LoanKeys would change this loan (it is on file and its borrower, officer or
    assignee differ): a full re-export then costs no update for the loans that kept theirs."""
    old = existing.get(loan[0])
    if old is None:
        return False
    borrower_id, officer_id, assigned_to, state = old
    given = loan[_ASSIGNEE]
    if state == "performing":
        assignee = assigned_to if given is None else given
    else:
        assignee = given if assigned_to is None else assigned_to
    return (loan[_BORROWER], loan[_OFFICER], assignee) != (borrower_id, officer_id, assigned_to)


def _replace(row: tuple, position: int, value: Any) -> tuple:
    return row[:position] + (value,) + row[position + 1 :]


# --- per-kind loaders -------------------------------------------------------------------------


class _Loader:
    """Reads one call's sources and feeds the store in batches; remembers rejected loan ids."""

    def __init__(self, store: _Store):
        self.store = store
        self.rejected_loans: dict[str, str] = {}  # loan_id → where its loans row was rejected

    def rows(self, source: _Source, rejects: _Rejects) -> Iterator[tuple[int, list[str]]]:
        """(physical line where the record starts, cells) of each well-formed data row; blank
        rows are skipped; a row whose field count does not match the header is rejected (extra
        cells that are all blank are tolerated)."""
        width = len(source.header)
        header = True
        with source.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            last = 0
            for row in reader:
                line, last = last + 1, reader.line_num
                if not row or not "".join(row).strip():
                    continue
                if header:
                    header = False
                elif len(row) == width or (len(row) > width and not "".join(row[width:]).strip()):
                    yield line, row
                else:
                    rejects.add(line, row, [(ROW, _width_problem(row, width, line))])

    def _in_batches(self, accepted: Iterator[Any], write: Callable[[list[Any], _Rejects], int], rejects: _Rejects) -> int:
        """Write the accepted rows BATCH_ROWS at a time; rejects are flushed after each batch.
        Returns how many rows were written."""
        imported = 0
        batch: list[Any] = []
        for item in accepted:
            batch.append(item)
            if len(batch) >= BATCH_ROWS:
                imported += write(batch, rejects)
                batch = []
                rejects.flush()
        if batch:
            imported += write(batch, rejects)
        rejects.flush()
        return imported

    def loans(self, source: _Source, rejects: _Rejects) -> int:
        return self._in_batches(self._accepted_loans(source, rejects), self._write_loans, rejects)

    def _accepted_loans(self, source: _Source, rejects: _Rejects) -> Iterator[tuple[tuple, tuple]]:
        parse = _RowParser(_LOAN_FIELDS, source)
        iso = self.store.iso
        key_at = source.index["loan_id"]
        seen: dict[str, int] = {}
        for line, row in self.rows(source, rejects):
            values, problems = parse(row)
            key = row[key_at].strip()
            if key:
                first = seen.setdefault(key, line)
                if first != line:
                    problems.insert(0, ("loan_id", f"duplicate loan_id {_shown(key)}: first on line {first}"))
            parsed = _loan_rows(values, problems, iso)
            if parsed is None:
                rejects.add(line, row, problems)
                if key:
                    self.rejected_loans.setdefault(key, f"{source.name} line {line}")
                continue
            yield parsed

    def _write_loans(self, batch: list[tuple[tuple, tuple]], _rejects: _Rejects) -> int:
        self.store.loans(batch)
        return len(batch)

    def guarantors(self, source: _Source, rejects: _Rejects) -> int:
        return self._in_batches(self._accepted_guarantors(source, rejects), self._write_guarantors, rejects)

    def _accepted_guarantors(self, source: _Source, rejects: _Rejects) -> Iterator[tuple[int, list[str], Any]]:
        parse = _RowParser(_GUARANTOR_FIELDS, source)
        loan_at, name_at = source.index["loan_id"], source.index["guarantor_name"]
        seen: dict[tuple[str, str], int] = {}
        for line, row in self.rows(source, rejects):
            values, problems = parse(row)
            key = (row[loan_at].strip(), row[name_at].strip())
            if key[0] and key[1]:
                first = seen.setdefault(key, line)
                if first != line:
                    reason = f"duplicate guarantor {_shown(key[1])} for loan {_shown(key[0])}: first on line {first}"
                    problems.insert(0, ("guarantor_name", reason))
            if problems:
                rejects.add(line, row, problems)
                continue
            yield line, row, _guarantor_row(values)

    def _known(self, batch: list[tuple[int, list[str], Any]], rejects: _Rejects) -> tuple[list[Any], dict[str, date]]:
        """The batch's rows whose loan is on file (this call's loans included); the rest rejected."""
        maturity = self.store.maturities({parsed[0] for _, _, parsed in batch})
        known = []
        for line, row, parsed in batch:
            loan_id = parsed[0]
            if loan_id in maturity:
                known.append(parsed)
                continue
            where = self.rejected_loans.get(loan_id)
            reason = f"unknown loan_id {_shown(loan_id)}"
            if where:
                reason += f" (its loans row was rejected: {where})"
            else:
                reason += " (not on file and not in a loans file of this import)"
            rejects.add(line, row, [("loan_id", reason)])
        return known, maturity

    def _write_guarantors(self, batch: list[tuple[int, list[str], Any]], rejects: _Rejects) -> int:
        known, maturity = self._known(batch, rejects)
        rows = []
        for parsed in known:
            agreed = parsed[6]
            period_end = guarantee_period_end(maturity[parsed[0]], agreed)
            if self.store.iso:
                agreed, period_end = agreed and agreed.isoformat(), period_end.isoformat()
            parsed[6], parsed[7] = agreed, period_end
            rows.append(tuple(parsed))
        if rows:
            self.store.guarantors(rows)
        return len(rows)

    def collateral(self, source: _Source, rejects: _Rejects) -> int:
        return self._in_batches(self._accepted_collateral(source, rejects), self._write_collateral, rejects)

    def _accepted_collateral(self, source: _Source, rejects: _Rejects) -> Iterator[tuple[int, list[str], Any]]:
        parse = _RowParser(_COLLATERAL_FIELDS, source)
        loan_at = source.index["loan_id"]
        asset_at = source.index.get("asset_id")
        seen: dict[tuple[str, str], int] = {}
        positions: dict[str, int] = {}
        for line, row in self.rows(source, rejects):
            values, problems = parse(row)
            loan_key = row[loan_at].strip()
            positions[loan_key] = n = positions.get(loan_key, 0) + 1
            default_asset = f"{loan_key}-{n}"  # the n-th row of this loan in the file
            asset_key = (row[asset_at].strip() if asset_at is not None else "") or default_asset
            if loan_key:
                first = seen.setdefault((loan_key, asset_key), line)
                if first != line:
                    reason = f"duplicate asset {_shown(asset_key)} for loan {_shown(loan_key)}: first on line {first}"
                    problems.insert(0, ("asset_id", reason))
            parsed = _collateral_row(values, problems, default_asset)
            if parsed is None:
                rejects.add(line, row, problems)
                continue
            yield line, row, parsed

    def _write_collateral(self, batch: list[tuple[int, list[str], Any]], rejects: _Rejects) -> int:
        known, _ = self._known(batch, rejects)
        if known:
            self.store.collateral(known)
        return len(known)


def _width_problem(row: list[str], width: int, line: int) -> str:
    reason = f"row has {len(row)} fields, the header has {width}"
    if len(row) > width:
        reason += f" (extra: {', '.join(_shown(cell) for cell in row[width:][:3])}; an unquoted comma?)"
    spans = sum(cell.count("\n") for cell in row)
    if spans:
        reason += f"; the row spans lines {line}-{line + spans} (an unclosed quote?)"
    return reason


# --- the entry point --------------------------------------------------------------------------


def import_files(uow: UnitOfWork, paths: list[str | Path]) -> ImportReport:
    """Import core-banking CSV exports (loans, then guarantors, then collateral); commit once.

    Raises BadInput, before anything is written, when any file is unreadable as a whole (not
    UTF-8, empty, no data rows, unknown header). Rejected rows are reported and written to
    ``<stem>.rejects.csv`` beside their input; a stale rejects file is removed.
    """
    sources = _inspect_all(paths)
    report = ImportReport()
    store = _Store(uow)
    loader = _Loader(store)
    sinks: list[_Rejects] = []
    summaries: dict[int, ImportedFile] = {}
    try:
        for kind in KINDS:
            for source in (s for s in sources if s.kind == kind):
                rejects = _Rejects(source, report.rejected)
                sinks.append(rejects)
                imported = getattr(loader, kind)(source, rejects)
                setattr(report, kind, getattr(report, kind) + imported)
                summaries[source.order] = ImportedFile(source.name, kind, imported, rejects.count)
        sinks.sort(key=lambda sink: sink.source.order)
        for sink in sinks:
            written = sink.publish()
            if written is not None:
                report.rejects_files.append(str(written))
        if store.loans_created:  # new loans carry no classification yet: the next refresh reads the whole book
            forget_mark(uow.session, CLASSIFICATION_MARK)
        store.close()
        uow.commit()
    except BaseException:
        for sink in sinks:
            sink.discard()
        uow.rollback()
        with suppress(Exception):
            store.close()
        raise
    order = {source.name: source.order for source in sources}
    report.rejected.sort(key=lambda rejected: (order[rejected.file], rejected.line))
    report.files = [summaries[i] for i in sorted(summaries)]
    report.loans_created = store.loans_created
    report.loans_updated = store.loans_updated
    return report
