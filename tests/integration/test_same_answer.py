"""Same answer everywhere: the loans' mutable columns and every date's history and actions
(without ids or timestamps) are identical on SQLite, on PostgreSQL with one worker, with two
worker processes, and with two workers where one is SIGKILLed inside its first, a middle or its
last chunk and the run goes on (its chunk rolled back, its part taken over when the lease ran
out). The book: loans 0–400 days past due, their first business date after the import and a
catch-up after it."""

from __future__ import annotations

import hashlib
import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from machines.policy import load_policy
from models import daily_sql
from models.store import UnitOfWork
from models.tables import Action, DayPart, History, Loan
from services import daily
from tests.builders import load
from tests.conftest import _empty
from tests.integration import parallel_workers
from tests.integration.test_setwise_moves import RUN_DATE, random_book

LOANS = 240
CHUNK = 10  # small chunks and parts, so a date has several of each at this size
CATCH_UP = 8
SPAWN = multiprocessing.get_context("spawn")


def run_digest(url: str) -> str:
    """sha256 over the loans' mutable columns and the history and actions rows (no ids, no timestamps)."""
    h = hashlib.sha256()
    with UnitOfWork(url) as uow:
        s = uow.session
        loans = s.execute(select(Loan.loan_id, Loan.classification, *(getattr(Loan, c) for c in daily_sql.MUTABLE),
                                 Loan.version).order_by(Loan.loan_id)).all()
        history = s.execute(select(History.loan_id, History.from_state, History.to_state, History.event, History.on,
                                   History.by, History.reason, History.approved_by)).all()
        actions = s.execute(select(*(c for c in Action.__table__.columns if c.name != "id"))).all()
    for name, rows in (("loans", loans), ("history", sorted(history, key=repr)), ("actions", sorted(actions, key=repr))):
        h.update(name.encode())
        for row in rows:
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def book():
    return random_book(7, LOANS)


def _run(url: str, tmp_path, book, monkeypatch, run_parts=None) -> str:
    monkeypatch.setattr(daily, "CHUNK", CHUNK)
    monkeypatch.setattr(daily, "PART_CASES", CHUNK)
    monkeypatch.setattr(daily, "MOST_PARTS", 6)
    monkeypatch.setenv("NPL_LEASE_SECONDS", "1")
    _empty(url)
    load(url, tmp_path, *book)
    policy = load_policy()
    workers = 2 if run_parts is not None else 1  # as many as run_parts starts (parts: PART_CASES = CHUNK here)
    daily.run_dates(lambda: UnitOfWork(url), RUN_DATE, None, policy, run_parts=run_parts, workers=workers)
    with UnitOfWork(url) as uow:  # the first date moves most of the book (workers report to their own tallies)
        assert uow.session.execute(select(func.count()).select_from(History).where(History.on == RUN_DATE)).scalar_one() > 100
    daily.run_dates(lambda: UnitOfWork(url), RUN_DATE + timedelta(days=1), RUN_DATE + timedelta(days=CATCH_UP), policy,
                    run_parts=run_parts, workers=workers)
    return run_digest(url)


@pytest.fixture(scope="module")
def on_sqlite(sqlite_url, book, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return _run(sqlite_url, tmp_path_factory.mktemp("sqlite"), book, mp)


def _workers_of(pg_url):
    """A part of each date for each of the workers that took one (who did what)."""
    with UnitOfWork(pg_url) as uow:
        return set(uow.session.scalars(select(DayPart.worker).where(DayPart.business_date == RUN_DATE)))


def test_postgresql_with_one_worker_ends_as_sqlite_does(pg_url, book, tmp_path, monkeypatch, on_sqlite):
    assert _run(pg_url, tmp_path, book, monkeypatch) == on_sqlite


def test_postgresql_with_two_worker_processes_ends_as_sqlite_does(pg_url, book, tmp_path, monkeypatch, on_sqlite):
    with SPAWN.Pool(2) as pool:
        def two(day, _result):
            pool.starmap(parallel_workers.work, [(pg_url, day, CHUNK)] * 2)

        assert _run(pg_url, tmp_path, book, monkeypatch, run_parts=two) == on_sqlite
    assert len(_workers_of(pg_url)) >= 2  # both processes took parts of the first date


@pytest.mark.parametrize("die_at", [1, 3, None], ids=["first-chunk", "a-middle-chunk", "last-chunk"])
def test_a_worker_killed_inside_a_chunk_leaves_the_same_answer(pg_url, book, tmp_path, monkeypatch, on_sqlite, die_at):
    killed = []

    def one_dies(day, _result):
        if killed:
            return  # later dates: the run's own worker (services.daily.finish_parts) does them
        with UnitOfWork(pg_url) as uow:  # the first date: a worker dies alone inside a chunk, then two go on
            last_id = list(daily_sql.due_chunks(uow.session, day, 10**6))[-1][-1]
        doomed = SPAWN.Process(target=parallel_workers.work_and_die, args=(pg_url, day, CHUNK, die_at, last_id))
        doomed.start()
        doomed.join(60)
        killed.append(doomed.exitcode)
        with UnitOfWork(pg_url) as uow:
            left, _wait = daily_sql.parts_left(uow.session, day)
        assert left  # it died holding a part
        with SPAWN.Pool(2) as pool:
            pool.starmap(parallel_workers.work, [(pg_url, day, CHUNK)] * 2)

    assert _run(pg_url, tmp_path, book, monkeypatch, run_parts=one_dies) == on_sqlite
    assert killed == [-9]
