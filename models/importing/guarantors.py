"""The guarantors file: one guarantee per row, keyed by loan and guarantor name.

A guarantor's period end is computed from its loan's maturity when written (Civil Code
Art. 692, see models.domain.deadlines); its loan is marked touched (deadlines may have moved).
Demands, freezes and consent recorded on a guarantor are kept by a re-import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from models.domain.deadlines import GuaranteeType, guarantee_period_end
from models.domain.vocabulary import GUARANTEE_TYPES
from models.importing.fields import LIMITS, Field, RowParser, amount_field, choice_field, date_field, shown, text_field
from models.importing.files import Source
from models.importing.loaders import Kind, Loading, in_batches, known_loans, read_rows
from models.importing.rejects import Rejects

REQUIRED = ("loan_id", "guarantor_name", "guarantee_type")
OPTIONAL = ("guarantor_id", "id_number", "phone", "guarantee_period_end", "account_balance")

GUARANTOR_FIELDS: tuple[Field, ...] = (
    ("loan_id", text_field(LIMITS["loan_id"]), True),
    ("guarantor_name", text_field(LIMITS["guarantor_name"]), True),
    ("guarantee_type", choice_field(GUARANTEE_TYPES), False),  # the column is required, a blank is general
    ("guarantor_id", text_field(LIMITS["guarantor_id"]), False),
    ("id_number", text_field(LIMITS["id_number"]), False),
    ("phone", text_field(LIMITS["phone"], phone=True), False),
    ("guarantee_period_end", date_field, False),
    ("account_balance", amount_field, False),
)

Parsed = tuple[int, list[str], list[Any]]  # (line, cells, a GUARANTOR_COLUMNS row being built)


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    def write(batch: list[Parsed], rejects: Rejects) -> int:
        return _write(loading, batch, rejects)

    return in_batches(_accepted(source, rejects), write, rejects)


def _accepted(source: Source, rejects: Rejects) -> Iterator[Parsed]:
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
        if problems:
            rejects.add(line, row, problems)
            continue
        yield line, row, guarantor_row(values)


def guarantor_row(values: list[Any]) -> list[Any]:
    """A GUARANTOR_COLUMNS row; period_end is filled in from the loan when it is written."""
    loan_id, name, kind, guarantor_id, id_number, phone, agreed_end, balance = values
    kind = kind or GuaranteeType.general.value  # Civil Code Art. 686: an unstated mode is general
    return [loan_id, name, guarantor_id, id_number, phone, kind, agreed_end, None, balance]


def _write(loading: Loading, batch: list[Parsed], rejects: Rejects) -> int:
    store = loading.store
    known, maturity = known_loans(loading, batch, rejects)
    rows = []
    for parsed in known:
        agreed = parsed[6]
        period_end = guarantee_period_end(maturity[parsed[0]], agreed)
        if store.iso:
            agreed, period_end = agreed and agreed.isoformat(), period_end.isoformat()
        parsed[6], parsed[7] = agreed, period_end
        rows.append(tuple(parsed))
    if rows:
        store.guarantors(rows)
    return len(rows)


KIND = Kind("guarantors", REQUIRED, OPTIONAL, load)
