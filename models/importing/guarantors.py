"""The guarantors file: one guarantee per row, keyed by loan and guarantor name.

A guarantor's period end is computed from its loan's maturity when written, under the law in
force when the guarantee was signed (``models.domain.law.guarantee_period_end``: Civil Code
Art. 692 from 2021, Guarantee Law 1995 Arts. 25-26 with the SPC 2000 interpretation before);
its loan is marked touched (deadlines may have moved). Demands, freezes and consent recorded on
a guarantor are kept by a re-import.

Optional columns (issue 18): ``signed_on`` (blank: the loan's disbursement date),
``until_repaid`` (true|false|1|0|yes|no, blank false: the period was agreed as "until repaid";
it cannot go with a ``guarantee_period_end``). ``guarantee_type`` may be ``unstated``, stored
as given; the mode it means depends on the signing date (``models.domain.law.guarantee_mode``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from models.domain.deadlines import GuaranteeType
from models.domain.law import guarantee_period_end
from models.domain.vocabulary import GUARANTEE_TYPES
from models.importing.fields import (
    LIMITS,
    Bad,
    Field,
    ImportBounds,
    RowParser,
    amount_field,
    choice_field,
    date_field,
    shown,
    text_field,
)
from models.importing.files import Source
from models.importing.loaders import Kind, Loading, in_batches, known_loans, read_rows
from models.importing.rejects import Rejects, RejectSink

REQUIRED = ("loan_id", "guarantor_name", "guarantee_type")
OPTIONAL = ("guarantor_id", "id_number", "phone", "guarantee_period_end", "account_balance", "signed_on", "until_repaid")
MODES = (*GUARANTEE_TYPES, "unstated")  # unstated: the contract names no mode (issue 18)

_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def flag_field(raw: str) -> bool | None:
    """true|false|1|0|yes|no, case-insensitive (None: blank)."""
    value = raw.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Bad(f"must be one of true|false|1|0|yes|no (got {shown(raw.strip())})")


GUARANTOR_FIELDS: tuple[Field, ...] = (
    ("loan_id", text_field(LIMITS["loan_id"]), True),
    ("guarantor_name", text_field(LIMITS["guarantor_name"]), True),
    ("guarantee_type", choice_field(MODES), False),  # the column is required, a blank is general
    ("guarantor_id", text_field(LIMITS["guarantor_id"]), False),
    ("id_number", text_field(LIMITS["id_number"]), False),
    ("phone", text_field(LIMITS["phone"], phone=True), False),
    ("guarantee_period_end", date_field, False),
    ("account_balance", amount_field, False),
    ("signed_on", date_field, False),
    ("until_repaid", flag_field, False),
)

Parsed = tuple[int, list[str], list[Any]]  # (line, cells, a GUARANTOR_COLUMNS row being built)


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    def write(batch: list[Parsed], rejects: RejectSink) -> int:
        return _write(loading, batch, rejects)

    return in_batches(_accepted, (loading.bounds,), source, write, rejects)


def _accepted(source: Source, rejects: RejectSink, bounds: ImportBounds) -> Iterator[Parsed]:
    parse = RowParser(GUARANTOR_FIELDS, source)
    loan_at, name_at = source.index["loan_id"], source.index["guarantor_name"]
    seen: dict[tuple[str, str], int] = {}
    for line, row in read_rows(source, rejects):
        values, problems = parse(row)
        key = (row[loan_at].strip(), row[name_at].strip())
        if key[0] and key[1]:
            first = seen.setdefault(key, line)
            if first != line:
                reason = f"duplicate guarantor {shown(key[1])} for loan {shown(key[0])}: first on line {first}"
                problems.insert(0, ("guarantor_name", reason))
        balance, signed, until_repaid, agreed = values[7], values[8], values[9], values[6]
        if balance is not None:
            problems.extend(bounds.problems((("account_balance", balance),), None))
        if signed is not None and signed < bounds.earliest_date:
            problems.append(("signed_on", f"signed_on {signed} is before the bound bounds.earliest_date = {bounds.earliest_date}"))
        if until_repaid and agreed is not None:
            problems.append(("until_repaid", "a period agreed as 'until repaid' has no guarantee_period_end: give one or the other"))
        if problems:
            rejects.add(line, row, problems)
            continue
        yield line, row, guarantor_row(values)


def guarantor_row(values: list[Any]) -> list[Any]:
    """A GUARANTOR_COLUMNS row; period_end and signed_on are filled in from the loan when written."""
    loan_id, name, kind, guarantor_id, id_number, phone, agreed_end, balance, signed_on, until_repaid = values
    kind = kind or GuaranteeType.general.value  # a blank mode is general, as before issue 18 (CONTRACT)
    return [loan_id, name, guarantor_id, id_number, phone, kind, agreed_end, None, balance, signed_on, bool(until_repaid)]


def _write(loading: Loading, batch: list[Parsed], rejects: RejectSink) -> int:
    store = loading.store
    known, loans = known_loans(loading, batch, rejects)
    rows = []
    for parsed in known:
        maturity, disbursed = loans[parsed[0]]
        agreed, signed, until_repaid = parsed[6], parsed[9] or disbursed, parsed[10]
        # the law in force when the guarantee was signed (issue 18; models.domain.law)
        period_end = guarantee_period_end(signed, maturity, agreed, until_repaid).date
        if store.iso:
            agreed, period_end, signed = agreed and agreed.isoformat(), period_end.isoformat(), signed.isoformat()
        parsed[6], parsed[7], parsed[9] = agreed, period_end, signed
        rows.append(tuple(parsed))
    if rows:
        store.guarantors(rows)
    return len(rows)


KIND = Kind("guarantors", REQUIRED, OPTIONAL, load)
