"""The PostgreSQL import path (COPY into staging tables, then INSERT ... ON CONFLICT) writes the
same rows as the SQLite path (batched executemany) — issue 20 part 3."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from bench.daily_bench import generate
from models.importing import upsert
from tests.canonical import canonical_dump
from services.importing import import_paths


def test_copy_path_on_postgresql_writes_the_same_rows_as_the_sqlite_path(
    sqlite_db: str, pg_url: str, tmp_path: Path, monkeypatch
) -> None:
    from tests.conftest import _empty

    _empty(pg_url)
    monkeypatch.setattr("models.importing.loaders.BATCH_ROWS", 700)  # several batches: staging reused
    book = tmp_path / "book"
    book.mkdir()
    loans, guarantors = generate(book, 2000)
    _with_contacts_and_a_bad_row(loans)
    reports = {}
    for url in (sqlite_db, pg_url):
        for run in (1, 2):  # the second run updates every row (ON CONFLICT DO UPDATE)
            copies = [Path(shutil.copy(path, tmp_path / f"{run}-{path.name}")) for path in (loans, guarantors)]
            reports[url, run] = import_paths(url, copies)

    assert reports[sqlite_db, 1].loans_created == reports[pg_url, 1].loans_created == 1999
    assert reports[pg_url, 2].loans_updated == 1999 and reports[pg_url, 2].guarantors > 700
    rejected = [(Path(r.file).name, r.line, r.column) for r in reports[pg_url, 1].rejected]
    assert rejected[0] == ("1-loans.csv", 2, "maturity_on")
    assert all(column == "loan_id" for _, _, column in rejected[1:])  # its guarantor, if it has one
    assert [r.reason for r in reports[pg_url, 2].rejected] == [r.reason for r in reports[sqlite_db, 2].rejected]
    assert canonical_dump(pg_url) == canonical_dump(sqlite_db)
    assert upsert.SQLITE_MAX_IDS > 700


def _with_contacts_and_a_bad_row(path: Path) -> None:
    """Give every third borrower contact details (kept-when-blank columns) and break row 1."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0] + ["id_number", "phone", "interest_arrears", "overdue_since", "staff_classification"]
    out = [header]
    for n, row in enumerate(rows[1:]):
        extra = ["", "", "", "", ""]
        if n % 3 == 0:
            extra = [f"3201021990{n:08d}", f"139{n:08d}", "12.34", row[5], "substandard" if n % 2 else ""]
        out.append(row + extra)
    out[1][5] = "9999-12-31"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(out)
