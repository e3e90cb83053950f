"""The repayments file: money the core-banking system received, one payment per row
(CONTRACT.md, "The nightly feed"): ``loan_id, paid_on, amount, reference`` [, ``payer``].

Each ``reference`` (the core system's transaction id) is booked at most once, whatever file it
arrives in: a row whose reference is already booked for the same loan, date and amount is
counted as already booked (a file delivered twice books nothing twice); one whose reference
is booked for another loan, date or amount is rejected. The booking itself (allocation, closing a case paid
off) is the payment service's: the use case passes it in as ``loading.services["repayments"]``,
called once per row, in date order, with the row's :class:`Repayment`; it answers None when
booked, else ``(column, reason)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.domain.vocabulary import REPAYMENT_PAYERS
from models.importing.fields import (
    LIMITS,
    Bad,
    Field,
    RowParser,
    amount_field,
    column_length,
    date_field,
    shown,
    text_field,
)
from models.importing.files import Source
from models.importing.loaders import Kind, Loading, read_rows
from models.importing.rejects import Rejects
from models.tables import Payment

REQUIRED = ("loan_id", "paid_on", "amount", "reference")
OPTIONAL = ("payer",)
DEFAULT_PAYER = "borrower"

_guarantor_name = text_field(LIMITS["guarantor_name"])
_PLAIN_PAYERS = tuple(p for p in REPAYMENT_PAYERS if p != "guarantor")


def payer_field(raw: str) -> str | None:
    """``borrower``, ``court``, ``deduction`` (any case), or ``guarantor:NAME``."""
    value = raw.strip()
    if not value:
        return None
    kind, colon, name = value.partition(":")
    if colon and kind.strip().lower() == "guarantor":
        named = _guarantor_name(name)
        if named is None:
            raise Bad(f"name the guarantor: guarantor:NAME (got {shown(value)})")
        return f"guarantor:{named}"
    if value.lower() in _PLAIN_PAYERS:
        return value.lower()
    raise Bad(f"must be one of {'|'.join(_PLAIN_PAYERS)} or guarantor:NAME (got {shown(value)})")


REPAYMENT_FIELDS: tuple[Field, ...] = (
    ("loan_id", text_field(LIMITS["loan_id"]), True),
    ("paid_on", date_field, True),
    ("amount", amount_field, True),
    ("reference", text_field(column_length(Payment.__table__.c.reference)), True),
    ("payer", payer_field, False),
)


@dataclass(frozen=True)
class Repayment:
    """One valid row, as the payment service books it."""

    loan_id: str
    paid_on: date
    amount_fen: int
    payer: str  # borrower | guarantor | court | deduction
    guarantor: str | None  # the guarantor's name when payer is guarantor
    reference: str


Book = Callable[[Session, Repayment], "tuple[str, str] | None"]


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    book: Book | None = loading.services.get("repayments")
    if book is None:
        raise RuntimeError("a repayments file is booked through the payment service: import it through services.importing")
    session = loading.store.session
    parse = RowParser(REPAYMENT_FIELDS, source)
    reference_at = source.index["reference"]
    seen: dict[str, int] = {}
    accepted: list[tuple[int, list[str], Repayment]] = []
    for line, row in read_rows(source, rejects):
        values, problems = parse(row)
        reference = row[reference_at].strip()
        if reference:
            first = seen.setdefault(reference, line)
            if first != line:
                problems.insert(0, ("reference", f"duplicate reference {shown(reference)}: first on line {first}"))
        loan_id, paid_on, amount, reference, payer = values
        if amount == 0:
            problems.append(("amount", "a payment must be positive"))
        if problems:
            rejects.add(line, row, problems)
            continue
        kind, _, guarantor = (payer or DEFAULT_PAYER).partition(":")
        accepted.append((line, row, Repayment(loan_id, paid_on, amount, kind, guarantor or None, reference)))

    booked = _booked(session, [repayment.reference for _, _, repayment in accepted])
    imported = 0
    for line, row, repayment in sorted(accepted, key=lambda item: (item[2].paid_on, item[0])):
        on_file = booked.get(repayment.reference)
        if on_file is not None:
            if on_file != _details(repayment):
                rejects.add(line, row, [("reference", _conflict(repayment.reference, on_file))])
            else:
                loading.already_booked += 1
            continue
        refused = book(session, repayment)
        if refused is not None:
            rejects.add(line, row, [refused])
            continue
        imported += 1
    rejects.flush()
    return imported


def _booked(session: Session, references: list[str]) -> dict[str, tuple[Any, ...]]:
    """The payments already booked under these references: reference → _details."""
    found: dict[str, tuple[Any, ...]] = {}
    c = Payment.__table__.c
    for start in range(0, len(references), 1000):
        chunk = references[start : start + 1000]
        stmt = select(c.reference, c.loan_id, c.paid_on, c.amount_fen).where(c.reference.in_(chunk))
        for reference, *details in session.execute(stmt):
            found[reference] = tuple(details)
    return found


def _details(repayment: Repayment) -> tuple[Any, ...]:
    """What makes a booked payment the same transaction: loan, date and amount."""
    return (repayment.loan_id, repayment.paid_on, repayment.amount_fen)


def _conflict(reference: str, on_file: tuple[Any, ...]) -> str:
    loan_id, paid_on, amount_fen = on_file
    amount = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return f"reference {shown(reference)} is already booked for another payment (loan {loan_id}, {amount} paid on {paid_on})"


KIND = Kind("repayments", REQUIRED, OPTIONAL, load)
