"""Bulk load (issue 20 part 3), on SQLite and PostgreSQL: a large import into a small table drops
the table's secondary indexes and rebuilds them in the import's transaction. It writes the same
rows as the row-by-row path, ends with the schema's indexes, and a failed import leaves them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from bench.daily_bench import generate
from models import store
from models.importing import import_files, upsert
from models.store import UnitOfWork
from models.tables import Loan
from tests.canonical import canonical_dump


def _indexes(url: str) -> list[tuple[str, str]]:
    """Every index of the database with its definition."""
    store.dispose_all()
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()" if conn.dialect.name == "postgresql"
            else "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'").all()
    engine.dispose()
    return sorted((name, definition) for name, definition in rows)


def _fresh(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    store.engine_for(url)
    return url


@pytest.fixture
def book(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "book"
    folder.mkdir()
    return generate(folder, 1500)


def test_a_bulk_load_writes_what_the_row_by_row_path_writes_and_keeps_every_index(
    book: list[Path], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 10**9)
    by_row = _fresh(tmp_path, "by-row.db")  # SQLite, row by row: the reference
    with UnitOfWork(by_row) as uow:
        import_files(uow, book)

    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    dropped: list[str] = []
    finish = upsert.Store.finish
    monkeypatch.setattr(upsert.Store, "finish", lambda self: (dropped.extend(self._dropped), finish(self))[1])
    schema = _indexes(db_url)
    with UnitOfWork(db_url) as uow:
        report = import_files(uow, book)

    assert report.loans == 1500 and report.guarantors > 500
    assert any("ix_loans_next_event_on" in sql for sql in dropped) and any("ix_guarantors_loan_id" in sql for sql in dropped)
    assert not any("UNIQUE" in sql.upper() for sql in dropped)  # the upserts' ON CONFLICT needs them
    assert _indexes(db_url) == schema
    assert canonical_dump(db_url) == canonical_dump(by_row)


def test_a_large_import_into_a_table_holding_more_than_half_of_it_keeps_its_indexes_in_place(
    book: list[Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    url = db_url
    with UnitOfWork(url) as uow:
        import_files(uow, book)
    planned: list[list[str]] = []
    plan = upsert.Store.plan
    monkeypatch.setattr(upsert.Store, "plan", lambda self, incoming: (plan(self, incoming), planned.append(list(self._dropped)))[0])
    with UnitOfWork(url) as uow:
        report = import_files(uow, book)  # the same export again: 1,500 rows into 1,500 loans
    assert report.loans_updated == 1500
    assert planned == [[]]


def test_a_bulk_load_that_fails_half_way_leaves_every_index_and_no_row(
    book: list[Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    schema = _indexes(db_url)

    def failing(self: upsert.Store, rows: list[tuple]) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(upsert.Store, "guarantors", failing)  # the loans are written, indexes dropped
    with pytest.raises(RuntimeError, match="the disk is full"), UnitOfWork(db_url) as uow:
        import_files(uow, book)

    assert _indexes(db_url) == schema
    with UnitOfWork(db_url) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Loan)) == 0
