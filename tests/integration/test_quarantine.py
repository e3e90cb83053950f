"""Bulkheads in the daily run (issue 16): a case whose evaluation raises is quarantined and left
out while the rest of the book advances exactly as it would have; once corrected, the next run
catches it up to where it would have been. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bench.daily_bench import RUN_DATE
from machines.policy import load_policy
from models.importing import import_files
from models.store import UnitOfWork
from models.tables import Action, Base, History, Loan, Quarantine
from services import cases, daily, worklist
from tests.bench_book import write_book
from tests.conftest import _empty

pytestmark = pytest.mark.reliability

LOANS = 200
CATCH_UP = 30
PROMISED = RUN_DATE + timedelta(days=5)  # the promise as the officer meant it
POISON = date(9999, 12, 31)  # as typed: adding a day to it overflows in machines.escalation


def book(url: str, files: list[Path]) -> str:
    """The book imported and run on its first date; the loan the promise is entered on."""
    with UnitOfWork(url) as uow:
        assert not import_files(uow, files).rejected
    run(url, RUN_DATE)
    with UnitOfWork(url) as uow:
        return uow.session.scalars(select(Loan.loan_id).where(Loan.state == "overdue", Loan.origin == "external")
                                   .order_by(Loan.loan_id).limit(1)).one()


def run(url: str, as_of: date, through: date | None = None) -> daily.RunResult:
    return daily.run_dates(lambda: UnitOfWork(url), as_of, through, load_policy())


def promise(url: str, loan_id: str, due: date) -> None:
    """A promise due on ``due``; a date the policy's bounds refuse (POISON) is planted as older
    code stored it: recorded for a plausible date, then the date changed in the database."""
    with UnitOfWork(url) as uow:
        cases.visit(uow, loan_id, on=RUN_DATE, outcome="promise", promise_amount=Decimal("100"),
                    promise_date=min(due, RUN_DATE + timedelta(days=30)))
    if due > RUN_DATE + timedelta(days=30):
        with UnitOfWork(url) as uow:
            uow.session.execute(update(Action).where(Action.loan_id == loan_id, Action.kind == "promise").values(due_on=due))
            uow.commit()


def dump(url: str, leave_out: str | None = None) -> dict[str, list[tuple]]:
    """The canonical dump (tests/canonical.py), without ``leave_out``'s rows, the quarantine
    table, and the ledger's transition counts (they count the left-out case's moves too)."""
    from tests.canonical import IGNORED, SKIPPED, SURROGATE

    out: dict[str, list[tuple]] = {}
    with UnitOfWork(url) as uow:
        for table in Base.metadata.sorted_tables:
            if table.name == Quarantine.__tablename__ or table.name in SKIPPED:
                continue
            cols = [c for c in table.columns if (table.name, c.name) not in IGNORED and c.name not in SURROGATE
                    and (table.name, c.name) != ("run_ledger", "transitions")]
            query = select(*cols)
            if leave_out is not None and "loan_id" in table.columns:
                query = query.where(table.c.loan_id != leave_out)
            out[table.name] = sorted((tuple(r) for r in uow.session.execute(query)), key=repr)
    return out


def open_quarantine(url: str) -> list[tuple[str, date, str]]:
    with UnitOfWork(url) as uow:
        return [tuple(r) for r in uow.session.execute(select(Quarantine.loan_id, Quarantine.business_date, Quarantine.error)
                                                      .where(Quarantine.released_on.is_(None)))]


def test_a_case_that_cannot_be_judged_is_quarantined_the_rest_advances_as_in_a_clean_run_and_it_catches_up_once_corrected(
    db_url, tmp_path
):
    files = write_book(tmp_path, LOANS)
    last = RUN_DATE + timedelta(days=CATCH_UP)

    poisoned = book(db_url, files)
    promise(db_url, poisoned, PROMISED)
    run(db_url, RUN_DATE + timedelta(days=1), last)
    run(db_url, last + timedelta(days=1))
    clean, clean_without = dump(db_url), dump(db_url, leave_out=poisoned)
    assert any(h[0] == poisoned and h[4] > RUN_DATE for h in clean["history"])  # in the clean run it moves after the promise

    _empty(db_url)
    assert book(db_url, files) == poisoned
    promise(db_url, poisoned, POISON)
    result = run(db_url, RUN_DATE + timedelta(days=1), last)

    # the date completed and every other case moved exactly as in the clean run
    assert result.dates_run[-1] == last and len(result.dates_run) == CATCH_UP
    assert result.count("quarantined") == 1
    [held] = result.tally.items["quarantined"]
    assert held["loan_id"] == poisoned and held["business_date"] == (RUN_DATE + timedelta(days=1)).isoformat()
    assert held["error"].startswith("OverflowError")
    assert [(q[0], q[1]) for q in open_quarantine(db_url)] == [(poisoned, RUN_DATE + timedelta(days=1))]
    with UnitOfWork(db_url) as uow:
        assert uow.session.get(Loan, poisoned).next_event_on == RUN_DATE + timedelta(days=1)  # picked up from there
        items = worklist.worklist(uow.session, last, load_policy())
    assert (items[0]["loan_id"], items[0]["task"], items[0]["urgent"]) == (poisoned, "quarantined", True)
    assert "OverflowError" in items[0]["detail"] and sum(i["task"] == "quarantined" for i in items) == 1

    # uncorrected, the next run leaves it out again and still completes its date
    again = run(db_url, last + timedelta(days=1))
    assert again.dates_run == [last + timedelta(days=1)] and again.count("quarantined") == 1
    assert dump(db_url, leave_out=poisoned) == clean_without

    # corrected, the next run catches it up on the dates it missed and releases it
    with UnitOfWork(db_url) as uow:
        uow.session.execute(update(Action).where(Action.loan_id == poisoned, Action.kind == "promise").values(due_on=PROMISED))
        uow.commit()
    caught_up = run(db_url, last + timedelta(days=1))  # the date is done: only the quarantined case is judged
    assert caught_up.already_done and caught_up.count("quarantined") == 0
    assert open_quarantine(db_url) == []
    with UnitOfWork(db_url) as uow:
        assert uow.session.scalars(select(Quarantine.released_on)).all() == [RUN_DATE + timedelta(days=1)]
    after = dump(db_url)
    snapshots = "snapshots"  # the month end it missed was snapshotted without it: that is history
    assert {k: v for k, v in after.items() if k != snapshots} == {k: v for k, v in clean.items() if k != snapshots}


def test_a_case_failing_after_it_has_moved_leaves_nothing_behind_and_its_chunk_commits_the_others(db_url, tmp_path, monkeypatch):
    files = write_book(tmp_path, LOANS)
    with UnitOfWork(db_url) as uow:
        assert not import_files(uow, files).rejected
    clean = run(db_url, RUN_DATE)
    moved = sorted({t["loan_id"] for t in clean.transitions})
    failing = moved[len(moved) // 2]  # in the middle of the (single) chunk
    clean_without = dump(db_url, leave_out=failing)

    _empty(db_url)
    with UnitOfWork(db_url) as uow:
        assert not import_files(uow, files).rejected
    apply_plan = daily.apply_plan

    def fails_once_done(s, loan, *args):  # the case has fired its events, recorded its history and actions
        apply_plan(s, loan, *args)
        if loan.loan_id == failing:
            raise RuntimeError("a rule went wrong")

    monkeypatch.setattr(daily, "apply_plan", fails_once_done)
    result = run(db_url, RUN_DATE)
    assert result.count("quarantined") == 1 and failing not in {t["loan_id"] for t in result.transitions}
    assert result.count("transitions") == clean.count("transitions") - sum(t["loan_id"] == failing for t in clean.transitions)
    assert dump(db_url, leave_out=failing) == clean_without
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, failing)
        assert loan.state == "performing" and loan.next_event_on <= RUN_DATE  # as imported: due again next run
        assert not uow.session.scalars(select(History).where(History.loan_id == failing)).all()
    assert open_quarantine(db_url) == [(failing, RUN_DATE, "RuntimeError: a rule went wrong")]
