"""`bench/daily_bench.py --book DIR --on DATE`: the benchmark on a book its generator did not make.

Acceptance measures other mixes and real exports: the first business date after their import
and the catch-up after it. The bench imports a copy of the folder's files (rejects files land
beside the copy, never in the bank's folder) and runs the dates through the daily flow, against
its own temporary Prefect server, as ``make bench`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.daily_bench import copy_book

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "data"


def test_copy_book_copies_every_export_file_in_name_order_and_leaves_earlier_rejects_files_out(tmp_path: Path) -> None:
    book, work = tmp_path / "book", tmp_path / "work"
    book.mkdir()
    work.mkdir()
    for name in ("loans.csv", "guarantors.csv", "loans.rejects.csv", "notes.txt"):
        (book / name).write_text(f"{name}\n", encoding="utf-8")

    copies = copy_book(book, work)

    assert copies == [work / "guarantors.csv", work / "loans.csv"]
    assert [p.read_text(encoding="utf-8") for p in copies] == ["guarantors.csv\n", "loans.csv\n"]


def test_copy_book_refuses_a_folder_without_an_export_file(tmp_path: Path) -> None:
    (tmp_path / "loans.rejects.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no .csv export file"):
        copy_book(tmp_path, tmp_path / "work")


def _bench(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}  # its own temporary server
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "NPL_LETTERS_DIR": str(tmp_path / "letters")}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "daily_bench.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_bench_times_an_outside_books_import_first_date_and_the_catch_up_after_it(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(DEMO, book)
    with (book / "loans.csv").open("a", encoding="utf-8") as f:  # one row the import refuses
        f.write("L-BAD,Nobody,not-money,0.05,2008-01-01,2009-01-01,1.00,B-BAD,,,,,,external,E-01,,consumer,0,,BB,,\n")
    before = sorted(p.name for p in book.iterdir())
    rows = tmp_path / "rows.jsonl"

    done = _bench("--book", str(book), "--on", "2008-11-28", "--days", "3", "--rows", str(rows), tmp_path=tmp_path)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 row rejected" in done.stdout
    assert sorted(p.name for p in book.iterdir()) == before  # no rejects file written into the bank's folder
    [row] = [json.loads(line) for line in rows.read_text().splitlines()]
    assert row["backend"] == "SQLite, book book"
    assert row["loans"] == 6  # the demo's six loans; the refused row is not counted
    assert row["first"]["cases"] > 0 and row["first"]["dates"] == 1
    assert row["catch_up"]["dates"] == 3 and row["catch_up"]["seconds"] > 0
    assert row["one"]["seconds"] == 0 and row["quiet"]["seconds"] == 0  # the synthetic book's steps: not run
    assert "| SQLite, book book | 6 |" in done.stdout and "not run" in done.stdout


def test_the_bench_refuses_a_book_without_its_first_date(tmp_path: Path) -> None:
    done = _bench("--book", str(DEMO), tmp_path=tmp_path)
    assert done.returncode == 2
    assert "--book and --on go together" in done.stderr
