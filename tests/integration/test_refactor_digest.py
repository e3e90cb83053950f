"""The benchmark's book run as the benchmark runs it (its first business date, then a 30-date
catch-up in one call) ends row for row where the same 31 dates run one call each end: skipping
quiet stretches, chunking and the final set-wise refresh change nothing a date-by-date run
would not. On both backends, at a size that keeps the suite fast."""

from __future__ import annotations

from datetime import timedelta

from bench.daily_bench import RUN_DATE
from machines.policy import load_policy
from models.importing import import_files
from models.store import UnitOfWork
from services.daily import run_dates
from tests.bench_book import write_book
from tests.canonical import canonical_dump
from tests.conftest import _empty

LOANS = 300
CATCH_UP = 30


def _load(url: str, files) -> None:
    with UnitOfWork(url) as uow:
        report = import_files(uow, files)
    assert report.loans == LOANS and not report.rejected


def test_first_date_then_catch_up_ends_where_the_same_dates_run_one_by_one_end(db_url, tmp_path):
    files = write_book(tmp_path, LOANS)
    policy = load_policy()
    last = RUN_DATE + timedelta(days=CATCH_UP)

    _load(db_url, files)
    first = run_dates(lambda: UnitOfWork(db_url), RUN_DATE, None, policy)
    catch_up = run_dates(lambda: UnitOfWork(db_url), RUN_DATE + timedelta(days=1), last, policy)
    assert first.count("transitions") > 0 and catch_up.count("transitions") > 0  # the book moves on both runs
    assert len(catch_up.dates_run) == CATCH_UP and len(catch_up.days) < CATCH_UP  # quiet stretches were skipped
    through = canonical_dump(db_url)

    _empty(db_url)
    _load(db_url, files)
    day = RUN_DATE
    while day <= last:
        run_dates(lambda: UnitOfWork(db_url), day, None, policy)
        day += timedelta(days=1)
    one_by_one = canonical_dump(db_url)

    assert len(through["run_ledger"]) == CATCH_UP + 1
    assert through["snapshots"]  # the month end inside the catch-up was snapshotted
    assert one_by_one == through
