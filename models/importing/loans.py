"""The loans file: a loan, its borrower and its officer per row (CONTRACT.md, "Import files").

A re-imported loan keeps its case (state, history, penalty, costs, and its assignee once it is
in collection), is marked touched, its ``next_event_on`` only ever moves earlier, and its
``version`` is bumped so optimistic-locking writers see the change (see ``upsert.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
import functools
from datetime import date, timedelta
from typing import Any

from models.domain.classification import Category
from models.domain.dates import add_years
from models.domain.law import limitation_end
from models.domain.vocabulary import CREDIT_RATINGS, EMPLOYER_TYPES, ORIGINS, PRODUCTS
from models.importing.fields import (
    DEFAULT_BOUNDS,
    LIMITS,
    Field,
    ImportBounds,
    Problems,
    RowParser,
    amount_field,
    any_date_field,
    choice_field,
    date_field,
    failed,
    loan_id_field,
    rate_field,
    shown,
    text_field,
)
from models.importing.files import Source
from models.importing.guarantors import flag_field
from models.importing.loaders import Kind, Loading, in_batches, read_rows
from models.importing.rejects import Rejects, RejectSink

ONE_DAY = timedelta(days=1)

REQUIRED = ("loan_id", "borrower_name", "principal", "annual_rate", "disbursed_on", "maturity_on", "outstanding_principal")
OPTIONAL = (
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
    "staff_classification",  # extension (issue 15): staff's category; the floor rule applies elsewhere
    "misused_purpose",  # extension (issue 15): used against its agreed purpose (penalty uplift 50–100 %)
)
STAFF_CLASSIFICATIONS: tuple[str, ...] = tuple(category.value for category in Category)

# (column, parser, required) in the order problems are reported; loan_rows unpacks by position
LOAN_FIELDS: tuple[Field, ...] = (
    ("loan_id", loan_id_field(LIMITS["loan_id"]), True),
    ("borrower_name", text_field(LIMITS["borrower_name"]), True),
    ("principal", amount_field, True),
    ("annual_rate", rate_field, True),
    ("disbursed_on", date_field, True),
    ("maturity_on", any_date_field, True),  # bounded by bounds.max_term_years after disbursed_on
    ("outstanding_principal", amount_field, True),
    ("borrower_id", text_field(LIMITS["borrower_id"]), False),
    ("id_number", text_field(LIMITS["id_number"]), False),
    ("phone", text_field(LIMITS["phone"], phone=True), False),
    ("address", text_field(LIMITS["address"], multiline=True), False),
    ("employer", text_field(LIMITS["employer"], multiline=True), False),
    ("employer_type", choice_field(EMPLOYER_TYPES), False),
    ("origin", choice_field(ORIGINS), False),
    ("officer_id", text_field(LIMITS["officer_id"]), False),
    ("introduced_by", text_field(LIMITS["introduced_by"]), False),
    ("product", choice_field(PRODUCTS), False),
    ("interest_arrears", amount_field, False),
    ("last_payment_on", date_field, False),
    ("credit_rating", choice_field(CREDIT_RATINGS, upper=True), False),
    ("overdue_since", date_field, False),
    ("overdue_principal", amount_field, False),
    ("accrued_to", date_field, False),
    ("staff_classification", choice_field(STAFF_CLASSIFICATIONS), False),
    ("misused_purpose", flag_field, False),
)


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    return in_batches(_accepted, (loading.bounds, loading.store.iso), source, _writer(loading), rejects,
                      notes=loading.rejected_loans)


def _accepted(
    source: Source, rejects: RejectSink, bounds: ImportBounds, iso: bool, notes: dict[str, Any]
) -> Iterator[tuple[tuple, tuple]]:
    """The file's (borrower, loan) rows that pass; ``notes``: loan id → where its row was
    rejected (``Loading.rejected_loans``). Pure: it may run on a process of its own."""
    parse = RowParser(LOAN_FIELDS, source)
    key_at = source.index["loan_id"]
    seen: dict[str, int] = {}
    for line, row in read_rows(source, rejects):
        values, problems = parse(row)
        key = row[key_at].strip()
        if key:
            first = seen.setdefault(key, line)
            if first != line:
                problems.insert(0, ("loan_id", f"duplicate loan_id {shown(key)}: first on line {first}"))
        parsed = loan_rows(values, problems, iso, bounds)
        if parsed is None:
            rejects.add(line, row, problems)
            if key:
                notes.setdefault(key, f"{source.name} line {line}")
            continue
        yield parsed


@functools.lru_cache(maxsize=8192)
def _limitation_end(maturity: date) -> date:
    """Where a new loan's clocks end (``Loan.clocks_ahead_on``): with no act recorded, its
    limitation from the maturity (Civil Code Art. 188; GPCL Art. 135 before 2017-10-01), as
    ``models.domain.law`` runs it; its guarantors bring theirs (``upsert.GUARANTEES_BOUND``)."""
    return limitation_end(maturity).date


def _writer(loading: Loading) -> Any:
    def write(batch: list[tuple[tuple, tuple]], _rejects: RejectSink) -> int:
        loading.store.loans(batch)
        return len(batch)

    return write


def loan_rows(
    values: list[Any], problems: Problems, iso: bool, bounds: ImportBounds = DEFAULT_BOUNDS
) -> tuple[tuple, tuple] | None:
    """(borrower row, loan row) in BORROWER_COLUMNS / LOAN_COLUMNS order, or None with the
    cross-column problems and the plausibility bounds broken added to ``problems``.
    ``iso``: dates as ISO text (SQLite)."""
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
        staff_classification,
        misused,
    ) = values
    limit = bounds.max_amount_fen
    if (
        (principal or 0) >= limit
        or (outstanding or 0) >= limit
        or (overdue_principal or 0) >= limit
        or (arrears or 0) >= limit
        or (rate or 0) > bounds.max_rate_ppm
    ):  # rare: only then build the reasons
        problems.extend(
            bounds.problems(
                (
                    ("principal", principal),
                    ("outstanding_principal", outstanding),
                    ("overdue_principal", overdue_principal),
                    ("interest_arrears", arrears),
                ),
                rate,
            )
        )
    if disbursed and disbursed < bounds.earliest_date:
        problems.append((
            "disbursed_on",
            f"disbursed_on {disbursed} is before the bound bounds.earliest_date = {bounds.earliest_date}",
        ))
    if disbursed and maturity and maturity > disbursed and maturity.year - disbursed.year >= bounds.max_term_years:
        latest = add_years(disbursed, bounds.max_term_years)
        if maturity > latest:
            problems.append((
                "maturity_on",
                f"maturity_on {maturity} is more than bounds.max_term_years = {bounds.max_term_years} "
                f"years after disbursed_on {disbursed} (latest {latest})",
            ))
    if principal == 0:
        problems.append(("principal", "principal must be positive"))
    if disbursed and maturity and maturity <= disbursed:
        problems.append(("maturity_on", f"maturity_on {maturity} is not after disbursed_on {disbursed}"))
    if principal is not None and outstanding is not None and outstanding > principal:
        problems.append(("outstanding_principal", "outstanding_principal exceeds principal"))
    if overdue_principal is not None and outstanding is not None and overdue_principal > outstanding:
        problems.append(("overdue_principal", "overdue_principal exceeds outstanding_principal"))
    if overdue_principal and overdue_since is None and not failed(problems, "overdue_since"):
        problems.append(("overdue_principal", "overdue_principal is positive but overdue_since is blank"))
    if overdue_since and outstanding == 0 and not arrears:  # issue 15 rule 9
        problems.append((
            "overdue_since",
            f"overdue_since {overdue_since} is given but nothing is outstanding "
            "(outstanding_principal and interest_arrears are 0): nothing can be past due",
        ))
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
    clocks_ahead = _limitation_end(maturity)
    if iso:
        clocks_ahead = clocks_ahead.isoformat()
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
        staff_classification,
        bool(misused),  # blank: no (a term of the loan like the others: a re-import sets it as exported)
        clocks_ahead,  # a new loan has no act and no guarantor yet: its limitation is its one clock (upsert.py)
    )
    return borrower, loan



KIND = Kind("loans", REQUIRED, OPTIONAL, load)
