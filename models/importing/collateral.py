"""The collateral file: one asset per row, keyed by loan and asset id (default ``<loan_id>-<n>``,
the n-th row of that loan in the file). A blank status keeps a freeze or seal recorded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from models.domain.vocabulary import COLLATERAL_OWNERS, COLLATERAL_STATUSES
from models.importing.fields import LIMITS, Field, ImportBounds, Problems, RowParser, amount_field, choice_field, shown, text_field
from models.importing.files import Source
from models.importing.loaders import Kind, Loading, in_batches, known_loans, read_rows
from models.importing.rejects import Rejects, RejectSink

REQUIRED = ("loan_id", "owner", "description", "estimated_value")
OPTIONAL = ("asset_id", "status")

COLLATERAL_FIELDS: tuple[Field, ...] = (
    ("loan_id", text_field(LIMITS["loan_id"]), True),
    ("owner", choice_field(COLLATERAL_OWNERS), True),
    ("description", text_field(LIMITS["description"], multiline=True), True),
    ("estimated_value", amount_field, True),
    ("asset_id", text_field(LIMITS["asset_id"]), False),
    ("status", choice_field(COLLATERAL_STATUSES), False),
)

Parsed = tuple[int, list[str], tuple]  # (line, cells, a COLLATERAL_COLUMNS row)


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    def write(batch: list[Parsed], rejects: RejectSink) -> int:
        known, _ = known_loans(loading, batch, rejects)
        if known:
            loading.store.collateral(known)
        return len(known)

    return in_batches(_accepted, (loading.bounds,), source, write, rejects)


def _accepted(source: Source, rejects: RejectSink, bounds: ImportBounds) -> Iterator[Parsed]:
    parse = RowParser(COLLATERAL_FIELDS, source)
    loan_at = source.index["loan_id"]
    asset_at = source.index.get("asset_id")
    seen: dict[tuple[str, str], int] = {}
    positions: dict[str, int] = {}
    for line, row in read_rows(source, rejects):
        values, problems = parse(row)
        loan_key = row[loan_at].strip()
        positions[loan_key] = n = positions.get(loan_key, 0) + 1
        default_asset = f"{loan_key}-{n}"  # the n-th row of this loan in the file
        asset_key = (row[asset_at].strip() if asset_at is not None else "") or default_asset
        if loan_key:
            first = seen.setdefault((loan_key, asset_key), line)
            if first != line:
                reason = f"duplicate asset {shown(asset_key)} for loan {shown(loan_key)}: first on line {first}"
                problems.insert(0, ("asset_id", reason))
        problems.extend(bounds.problems((("estimated_value", values[3]),), None))
        parsed = collateral_row(values, problems, default_asset)
        if parsed is None:
            rejects.add(line, row, problems)
            continue
        yield line, row, parsed


def collateral_row(values: list[Any], problems: Problems, asset_default: str) -> tuple | None:
    loan_id, owner, description, value, asset_id, status = values
    if loan_id and not asset_id and len(asset_default) > LIMITS["asset_id"]:
        problems.append(("asset_id", "needed when loan_id is too long to number the asset as <loan_id>-<n>"))
    if problems:
        return None
    return (loan_id, asset_id or asset_default, owner, description, value, status)


KIND = Kind("collateral", REQUIRED, OPTIONAL, load)
