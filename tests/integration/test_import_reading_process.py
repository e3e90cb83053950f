"""A large import file is read and validated on a process of its own while this one writes
(models.importing.loaders.in_batches): the same rows, rejects (in line order, with their reasons)
and notes as reading it here; an error on either side stops both and commits nothing."""

from __future__ import annotations

import csv
import multiprocessing
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.daily_bench import generate
from models.domain.errors import BadInput
from models.importing import loaders
from models.importing.files import Source
from models.importing.rejects import RejectSink
from services.importing import import_paths
from tests.canonical import canonical_dump

BATCH = 40  # rows a batch here: the book's 600 loans make 15 batches


def _book(folder: Path) -> list[Path]:
    """600 loans and their guarantors: bad loans rows in several batches (one across a batch's
    end), a guarantor of one of those loans (refused while written: "its loans row was rejected"),
    guarantors of loans on file nowhere, and a guarantor row with its name blank (refused while read)."""
    folder.mkdir()
    loans, guarantors = generate(folder, 600)
    with loans.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for n in (3, 41, 42, 97, 230, 231, 599):  # data rows, lines n + 1
        rows[n][rows[0].index("maturity_on")] = "9999-12-31"
    with loans.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with guarantors.open(encoding="utf-8", newline="") as handle:
        grows = list(csv.reader(handle))
    header = grows[0]
    loan_at, name_at = header.index("loan_id"), header.index("guarantor_name")
    grows[5][name_at] = ""  # a required cell left blank: line 6, line 8 once two rows go before it
    other = [*grows[1]]
    nowhere = [[*other[:loan_at], f"L-NOWHERE-{n}", *other[loan_at + 1:]] for n in range(5)]
    of_rejected = [*other[:loan_at], rows[42][rows[0].index("loan_id")], *other[loan_at + 1:]]
    of_rejected[name_at] = "Guarantor of a rejected loan"
    grows[1:1] = nowhere[:2]
    grows[60:60] = [*nowhere[2:], of_rejected]  # lines 61-64
    with guarantors.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(grows)
    return [loans, guarantors]


def _import(url: str, book: list[Path], into: Path) -> Any:
    into.mkdir()
    return import_paths(url, [shutil.copy(path, into / path.name) for path in book])


def test_a_file_read_on_a_process_of_its_own_imports_the_same_rows_and_rejects_in_line_order(
    sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loaders, "BATCH_ROWS", BATCH)
    book = _book(tmp_path / "book")
    here = _import(sqlite_db, book, tmp_path / "here")
    dump_here = canonical_dump(sqlite_db)
    rejects_here = (tmp_path / "here" / "guarantors.rejects.csv").read_text(encoding="utf-8").replace(str(tmp_path / "here"), "")

    from tests.conftest import _empty

    _empty(sqlite_db)
    monkeypatch.setattr(loaders, "READ_APART_FROM", 100)  # both files are read on a process of their own
    contexts: list[str] = []
    get_context = multiprocessing.get_context
    monkeypatch.setattr(loaders.multiprocessing, "get_context", lambda method: contexts.append(method) or get_context(method))
    apart = _import(sqlite_db, book, tmp_path / "apart")
    assert contexts == ["spawn", "spawn"]

    assert canonical_dump(sqlite_db) == dump_here
    seen = [(Path(r.file).name, r.line, r.column, r.reason.replace(str(tmp_path / "apart"), "")) for r in apart.rejected]
    assert seen == [(Path(r.file).name, r.line, r.column, r.reason.replace(str(tmp_path / "here"), "")) for r in here.rejected]
    rejects_apart = (tmp_path / "apart" / "guarantors.rejects.csv").read_text(encoding="utf-8")
    assert rejects_apart.replace(str(tmp_path / "apart"), "") == rejects_here
    assert apart.loans == 593 and len([s for s in seen if s[0] == "loans.csv"]) == 7
    guarantor_lines = [line for name, line, _, _ in seen if name == "guarantors.csv"]
    assert guarantor_lines == sorted(guarantor_lines)  # reader's and writer's rejects, interleaved, in order
    reasons = [reason for name, _, _, reason in seen if name == "guarantors.csv"]
    assert sum("not on file and not in a loans file of this import" in r for r in reasons) == 5
    assert [(line, column) for name, line, column, _ in seen if name == "guarantors.csv"][:2] == [(2, "loan_id"), (3, "loan_id")]
    assert ("guarantors.csv", 8, "guarantor_name") in [s[:3] for s in seen]  # refused while read
    assert ("guarantors.csv", 64, "loan_id") in [s[:3] for s in seen]  # refused while written, by the reader's note:
    assert any("its loans row was rejected: /loans.csv line 43" in r for r in reasons)  # noted there, used here


def _reading_then_failing(source: Source, rejects: RejectSink, after: int) -> Iterator[int]:
    for n in range(after):
        yield n
    raise BadInput(f"{source.name}: line {after + 2}: the reader's own error")


def _source(tmp_path: Path) -> Source:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    return Source("x.csv", path, 0, "loans", ["a"], {"a": 0}, False, records=1_000_000)


def test_an_error_on_the_reading_process_is_raised_here_after_the_batches_before_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(loaders, "BATCH_ROWS", 10)
    written: list[list[int]] = []

    def write(batch: list[int], _rejects: RejectSink) -> int:
        written.append(batch)
        return len(batch)

    rejects = _Rejects()
    with pytest.raises(BadInput, match="line 37: the reader's own error"):
        loaders.in_batches(_reading_then_failing, (35,), _source(tmp_path), write, rejects)  # type: ignore[arg-type]
    assert [len(b) for b in written] == [10, 10, 10]  # what was read whole before the error; the rest never written
    assert multiprocessing.active_children() == []


def test_an_error_writing_stops_the_reading_process(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(loaders, "BATCH_ROWS", 10)

    def write(batch: list[int], _rejects: RejectSink) -> int:
        raise RuntimeError("the database refused the batch")

    with pytest.raises(RuntimeError, match="the database refused the batch"):
        loaders.in_batches(_reading_then_failing, (10_000_000,), _source(tmp_path), write, _Rejects())  # type: ignore[arg-type]
    assert multiprocessing.active_children() == []


class _Rejects:
    def __init__(self) -> None:
        self.written: list[Any] = []

    def write(self, rejected: list[Any]) -> None:
        self.written += rejected


def test_an_import_failing_while_a_process_reads_commits_nothing_and_leaves_no_process(
    sqlite_db: str, tmp_path: Path, monkeypatch
) -> None:
    """The reading process never touches the database: the import's one transaction is here."""
    from models.importing import upsert

    monkeypatch.setattr(loaders, "BATCH_ROWS", BATCH)
    monkeypatch.setattr(loaders, "READ_APART_FROM", 100)
    written = {"n": 0}
    original = upsert.Store.guarantors

    def failing(self: Any, rows: list[tuple]) -> None:
        written["n"] += 1
        if written["n"] == 3:
            raise RuntimeError("the disk is full")
        original(self, rows)

    monkeypatch.setattr(upsert.Store, "guarantors", failing)
    before = canonical_dump(sqlite_db)
    with pytest.raises(RuntimeError, match="the disk is full"):
        import_paths(sqlite_db, _book(tmp_path / "book"))
    assert canonical_dump(sqlite_db) == before  # 15 loan batches and 2 of guarantors written, none kept
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "book" / "guarantors.rejects.csv").exists()
