"""What every kind of import file shares: the kind's declaration, the loading context of one
import call, reading a file's rows, writing them in batches, and checking their loans exist.

A kind of file is one small module (``loans.py``, ``guarantors.py`` …) declaring a
:class:`Kind`: its name, its required and optional columns (the header tells the kind), and
``load(loading, source, rejects) -> rows imported``. The registry in ``load.py`` lists the
kinds in the order their files are loaded.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models.importing.fields import DEFAULT_BOUNDS, ROW, ImportBounds, shown
from models.importing.files import Source
from models.importing.rejects import Rejects
from models.importing.upsert import Store

BATCH_ROWS = 5000


@dataclass
class Loading:
    """One import call's state, shared by its kinds: the store on the call's session, the loan
    ids whose loans row was rejected in this call, and the services a kind may book through."""

    store: Store
    rejected_loans: dict[str, str] = field(default_factory=dict)  # loan_id → where its row was rejected
    services: dict[str, Callable[..., Any]] = field(default_factory=dict)
    already_booked: int = 0  # rows skipped because what they record is on file already (same reference)
    bounds: ImportBounds = DEFAULT_BOUNDS  # plausibility bounds (the policy's [bounds])


@dataclass(frozen=True)
class Kind:
    """A kind of import file, told by its header: every ``required`` column present."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    load: Callable[[Loading, Source, Rejects], int]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


def read_rows(source: Source, rejects: Rejects) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) of each well-formed data row; blank rows
    are skipped; a row whose field count does not match the header is rejected (extra cells
    that are all blank are tolerated)."""
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
                rejects.add(line, row, [(ROW, width_problem(row, width, line))])


def width_problem(row: list[str], width: int, line: int) -> str:
    reason = f"row has {len(row)} fields, the header has {width}"
    if len(row) > width:
        reason += f" (extra: {', '.join(shown(cell) for cell in row[width:][:3])}; an unquoted comma?)"
    spans = sum(cell.count("\n") for cell in row)
    if spans:
        reason += f"; the row spans lines {line}-{line + spans} (an unclosed quote?)"
    return reason


def in_batches(accepted: Iterator[Any], write: Callable[[list[Any], Rejects], int], rejects: Rejects) -> int:
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


def known_loans(
    loading: Loading, batch: list[tuple[int, list[str], Any]], rejects: Rejects
) -> tuple[list[Any], dict[str, tuple[date, date]]]:
    """The batch's rows (line, cells, parsed row keyed by loan id first) whose loan is on file
    (this call's loans included), with the loans' (maturity, disbursement) dates; the rest are
    rejected."""
    dates = loading.store.loan_dates({parsed[0] for _, _, parsed in batch})
    known = []
    for line, row, parsed in batch:
        loan_id = parsed[0]
        if loan_id in dates:
            known.append(parsed)
            continue
        where = loading.rejected_loans.get(loan_id)
        reason = f"unknown loan_id {shown(loan_id)}"
        if where:
            reason += f" (its loans row was rejected: {where})"
        else:
            reason += " (not on file and not in a loans file of this import)"
        rejects.add(line, row, [("loan_id", reason)])
    return known, dates
