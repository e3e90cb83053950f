"""What every kind of import file shares: the kind's declaration, the loading context of one
import call, reading a file's rows, writing them in batches, and checking their loans exist.

A kind of file is one small module (``loans.py``, ``guarantors.py`` …) declaring a
:class:`Kind`: its name, its required and optional columns (the header tells the kind), and
``load(loading, source, rejects) -> rows imported``. The registry in ``load.py`` lists the
kinds in the order their files are loaded.
"""

from __future__ import annotations

import csv
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models.importing.fields import DEFAULT_BOUNDS, ROW, ImportBounds, shown
from models.importing.files import Source
from models.importing.rejects import Rejects, RejectsBuffer, RejectSink
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


def read_rows(source: Source, rejects: RejectSink) -> Iterator[tuple[int, list[str]]]:
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


Reader = Callable[..., Iterator[Any]]  # reader(source, rejects, *args[, notes=dict]) → accepted rows
READ_APART_FROM = 50_000  # records in a file from which it is read on a process of its own


def in_batches(
    read: Reader,
    args: tuple[Any, ...],
    source: Source,
    write: Callable[[list[Any], RejectSink], int],
    rejects: Rejects,
    notes: dict[str, Any] | None = None,
) -> int:
    """Write the rows ``read(source, rejects, *args)`` accepts, BATCH_ROWS at a time, and return
    how many were written; after each batch the rejects read with it and those ``write`` made
    are written, in line order. ``notes``: a dict the reader fills as it reads (``notes=``), for
    the kinds after it (the loans it rejected); it is filled here batch by batch as well.

    A file of READ_APART_FROM records or more is read and validated on a process of its own
    (spawned; ``read`` and ``args`` go to it by pickle) while the batches before are written on
    the import's session here: the reading is about half an import's CPU. The process sends
    a batch at a time through a pipe, so it reads at most a batch or two ahead. Its first
    error is raised here, as reading in this process would raise it; an error writing stops it.
    Nothing else changes: the same batches, rejects and notes, in the same order."""
    imported = 0
    for batch, read_rejects, noted in _batches(read, args, source, notes is not None):
        if notes is not None:
            for key, value in noted.items():  # the first entry of a key stays, as setdefault keeps it
                notes.setdefault(key, value)
        if batch:
            refused = RejectsBuffer()
            imported += write(batch, refused)
            read_rejects += refused.take()
        rejects.write(read_rejects)
    return imported


Batch = tuple[list[Any], list[Any], dict[str, Any]]  # (accepted rows, rejects, notes) of one batch


def _batches(read: Reader, args: tuple[Any, ...], source: Source, with_notes: bool) -> Iterator[Batch]:
    if source.records < READ_APART_FROM or multiprocessing.current_process().daemon:  # a daemon has no children
        yield from _read_batches(read, args, source, with_notes, BATCH_ROWS)
        return
    context = multiprocessing.get_context("spawn")  # not fork: the caller's threads and connections stay here
    receiving, sending = context.Pipe(duplex=False)
    reader = context.Process(target=_read_apart, args=(sending, read, args, source, with_notes, BATCH_ROWS),
                             name=f"npl-import-reader {source.name}")
    reader.start()
    sending.close()
    try:
        while True:
            try:
                message = receiving.recv()
            except EOFError:
                reader.join(timeout=5)
                raise RuntimeError(f"{source.name}: the process reading it stopped before the end of the file "
                                   f"(exit code {reader.exitcode}); nothing of this import was committed") from None
            if message[0] == "batch":
                yield message[1]
            elif message[0] == "failed":
                raise message[1]
            else:
                return
    finally:
        receiving.close()
        if reader.is_alive():
            reader.terminate()
        reader.join()


def _read_batches(read: Reader, args: tuple[Any, ...], source: Source, with_notes: bool, size: int) -> Iterator[Batch]:
    rejects = RejectsBuffer()
    notes: dict[str, Any] = {}
    rows = read(source, rejects, *args, notes=notes) if with_notes else read(source, rejects, *args)
    batch: list[Any] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch, rejects.take(), _taken(notes)
            batch = []
    yield batch, rejects.take(), _taken(notes)


def _taken(notes: dict[str, Any]) -> dict[str, Any]:
    taken = dict(notes)
    notes.clear()
    return taken


def _read_apart(sending: Any, read: Reader, args: tuple[Any, ...], source: Source, with_notes: bool, size: int) -> None:
    """The reading process: each batch through the pipe, then "done", or its first error."""
    try:
        for batch in _read_batches(read, args, source, with_notes, size):
            sending.send(("batch", batch))
        sending.send(("done",))
    except (BrokenPipeError, EOFError):  # the importer stopped listening: it failed, or was stopped
        return
    except BaseException as exc:
        try:
            sending.send(("failed", exc))
        except Exception:  # an error that does not pickle: its text
            sending.send(("failed", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        sending.close()


def known_loans(
    loading: Loading, batch: list[tuple[int, list[str], Any]], rejects: RejectSink
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
