"""The daily engine on literal portfolios, on SQLite and PostgreSQL (DOMAIN.md §2–4)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from models.store import UnitOfWork
from models.tables import History, Loan, Officer, RunDay
from flows.present import jsonable
from services import cases
from tests.builders import load, run


def state(url: str, loan_id: str) -> str:
    with UnitOfWork(url) as uow:
        return uow.session.get(Loan, loan_id).state


def history(url: str, loan_id: str) -> list[tuple[str, str, str, date]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(History).where(History.loan_id == loan_id).order_by(History.id))
        return [(h.from_state, h.to_state, h.event, h.on) for h in rows]


def test_loan_falls_due_on_its_first_day_past_due_and_climbs_the_ladder_on_time_limits(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 6, 30))
    assert state(db_url, "L-1") == "performing"
    run(db_url, date(2008, 7, 1), date(2008, 8, 10))
    assert history(db_url, "L-1") == [
        ("performing", "overdue", "fall_due", date(2008, 7, 1)),
        ("overdue", "internal_review", "review", date(2008, 7, 4)),
        ("internal_review", "visit", "dispatch", date(2008, 7, 11)),
    ]
    # 30 days of visits with no guarantor liable: litigation needs approval, so the case waits
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, "L-1")
        assert loan.state == "visit"
        assert loan.awaiting_approval == "sue"


def test_joint_guarantee_demand_escalates_a_case_still_before_guarantor_pressure(db_url, tmp_path):
    # an agreed period barely after maturity: the lead date comes while the case is overdue
    load(db_url, tmp_path, [{"loan_id": "L-1"}],
         [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint", "guarantee_period_end": "2008-07-20"}])
    run(db_url, date(2008, 7, 1))
    assert history(db_url, "L-1")[-1] == ("overdue", "guarantor_pressure", "press", date(2008, 7, 1))


def test_general_guarantee_about_to_lapse_asks_for_urgent_approved_litigation(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Li", "guarantee_type": "general"}])
    run(db_url, date(2008, 7, 1), date(2008, 11, 30))
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, "L-1")
        assert loan.awaiting_approval == "sue"
        assert loan.urgent is True
        assert "general guarantee of Li ends 2008-12-30" in loan.awaiting_reason
        assert loan.state != "litigation"  # a move needing approval does not happen by itself
    with UnitOfWork(db_url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="general guarantee lapsing", by="E-01", approved_by="M-01")
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, "L-1")
        assert (loan.state, loan.sued_on, loan.awaiting_approval) == ("litigation", date(2008, 11, 30), None)


def test_broken_installment_plan_escalates_to_guarantor_pressure(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "annual_rate": "0"}],
         [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        cases.plan(uow, "L-1", monthly=Decimal("10000"), first_due=date(2008, 8, 1), on=date(2008, 7, 5))
    run(db_url, date(2008, 7, 6), date(2008, 8, 16))  # due 08-01 + 15 days grace: still within
    assert state(db_url, "L-1") == "installment"
    run(db_url, date(2008, 8, 17))
    assert history(db_url, "L-1")[-1] == ("installment", "guarantor_pressure", "break_plan", date(2008, 8, 17))


def test_installment_paid_on_time_keeps_the_plan_running(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "annual_rate": "0"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        cases.plan(uow, "L-1", monthly=Decimal("10000"), first_due=date(2008, 8, 1), on=date(2008, 7, 5))
    run(db_url, date(2008, 7, 6), date(2008, 8, 1))
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-1", Decimal("10000"), on=date(2008, 8, 1))
    run(db_url, date(2008, 8, 2), date(2008, 8, 31))
    assert state(db_url, "L-1") == "installment"


def test_insider_loan_past_its_limit_suspends_its_officer_until_collected(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1", "origin": "insider_introduced", "officer_id": "E-04", "introduced_by": "E-05"}])
    run(db_url, date(2008, 7, 1), date(2008, 10, 1))
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, "L-1")
        assert (loan.state, loan.assigned_to) == ("internal_review", "E-05")
        assert uow.session.get(Officer, "E-05").suspended_since is None
    run(db_url, date(2008, 10, 2))  # entered internal_review 2008-07-04 + 90 days
    with UnitOfWork(db_url) as uow:
        loan = uow.session.get(Loan, "L-1")
        assert (loan.state, loan.assigned_to) == ("visit", "E-05")
        assert uow.session.get(Officer, "E-05").suspended_since == date(2008, 10, 2)
    with UnitOfWork(db_url) as uow:
        total = Decimal(jsonable(cases.show(uow, "L-1"))["balance"]["total"])
        cases.pay(uow, "L-1", total, on=date(2008, 10, 2))
    with UnitOfWork(db_url) as uow:
        assert uow.session.get(Officer, "E-05").suspended_since is None


def test_broken_promise_during_visits_escalates(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 12))
    with UnitOfWork(db_url) as uow:
        cases.visit(uow, "L-1", on=date(2008, 7, 12), outcome="promise", promise_amount=Decimal("5000"), promise_date=date(2008, 7, 20))
    run(db_url, date(2008, 7, 13), date(2008, 7, 20))
    assert state(db_url, "L-1") == "visit"
    run(db_url, date(2008, 7, 21))
    assert history(db_url, "L-1")[-1][1:] == ("guarantor_pressure", "press", date(2008, 7, 21))


def test_running_a_completed_date_again_changes_nothing(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}, {"loan_id": "L-2", "maturity_on": "2008-07-02"}])
    first = run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    before = dump(db_url)
    again = run(db_url, date(2008, 7, 10))
    assert again.already_done and not first.already_done
    assert dump(db_url) == before


def test_skipped_dates_are_run_first_in_order(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1))
    run(db_url, date(2008, 7, 12))  # 07-02 .. 07-11 were missed: they run first
    with UnitOfWork(db_url) as uow:
        days = [d for (d,) in uow.session.execute(select(RunDay.business_date).order_by(RunDay.business_date))]
    assert days == [date(2008, 7, d) for d in range(1, 13)]
    assert [h[3] for h in history(db_url, "L-1")] == [date(2008, 7, 1), date(2008, 7, 4), date(2008, 7, 11)]


class Killed(Exception):
    """Stands for the process dying at that point."""


def test_a_run_killed_after_its_last_date_is_completed_by_running_that_date_again(db_url, tmp_path, monkeypatch):
    from services import daily
    from tests.conftest import _empty

    rows = [{"loan_id": f"L-{i}", "maturity_on": f"2008-07-{1 + 3 * i:02d}"} for i in range(9)]
    load(db_url, tmp_path, rows)
    run(db_url, date(2008, 7, 1), date(2008, 10, 20))
    uninterrupted = dump(db_url)

    _empty(db_url)
    load(db_url, tmp_path, rows)
    refresh = daily.refresh_classification

    def killed(uow, day):
        raise Killed(day)

    monkeypatch.setattr(daily, "refresh_classification", killed)  # the run's final refresh never happens
    try:
        run(db_url, date(2008, 7, 1), date(2008, 10, 20))
    except Killed:
        pass
    assert dump(db_url) != uninterrupted  # every date is in the ledger, the classification lags behind
    monkeypatch.setattr(daily, "refresh_classification", refresh)
    again = run(db_url, date(2008, 10, 20))
    assert again.already_done and again.dates_run == []
    assert dump(db_url) == uninterrupted


def test_catch_up_through_equals_the_same_dates_run_one_by_one(db_url, sqlite_url, tmp_path):
    rows = [{"loan_id": f"L-{i}", "maturity_on": f"2008-0{1 + i % 6}-1{i % 9}"} for i in range(12)]
    guarantors = [{"loan_id": f"L-{i}", "guarantor_name": "G", "guarantee_type": "joint" if i % 2 else "general"} for i in range(0, 12, 3)]
    load(db_url, tmp_path, rows, guarantors)
    run(db_url, date(2008, 1, 1), date(2008, 12, 31))
    through = dump(db_url)
    from tests.conftest import _empty

    _empty(db_url)
    load(db_url, tmp_path, rows, guarantors)
    d = date(2008, 1, 1)
    while d <= date(2008, 12, 31):
        run(db_url, d)
        d = date.fromordinal(d.toordinal() + 1)
    assert dump(db_url) == through


def dump(url: str) -> dict[str, list[tuple]]:
    """A canonical dump of the business tables (ids and wall-clock times left out)."""
    from tests.canonical import canonical_dump

    return canonical_dump(url)


def test_a_date_is_handed_to_process_a_few_chunks_a_call_and_each_chunk_commits_on_its_own(sqlite_db, tmp_path, monkeypatch):
    """The flow makes one Prefect task run of each ``process`` call: a date of 23 chunks makes 3
    calls (10, 10, 3 chunks), and a failure in the third chunk of a call keeps the two before it."""
    from machines.policy import load_policy
    from services import daily

    monkeypatch.setattr(daily, "CHUNK", 4)
    monkeypatch.setattr(daily, "CHUNKS_A_CALL", 10)
    load(sqlite_db, tmp_path, [{"loan_id": f"L-{i:03d}"} for i in range(90)])  # all fall due on 2008-07-01
    calls: list[int] = []

    def process(ids: list[str], day: date, result: daily.DayResult) -> None:
        calls.append(len(ids))
        daily.process_ids(lambda: UnitOfWork(sqlite_db), ids, day, load_policy(), result)

    result = daily.run_dates(lambda: UnitOfWork(sqlite_db), date(2008, 7, 1), None, load_policy(), process=process)
    assert calls == [40, 40, 10]
    assert sum(d.cases for d in result.days) == 90
    assert {state(sqlite_db, f"L-{i:03d}") for i in range(90)} == {"overdue"}

    committed: list[str] = []
    original = daily.process_chunk

    def third_fails(uow: UnitOfWork, ids: list[str], *rest: object) -> None:
        if len(committed) == 8:
            raise RuntimeError("the database went away")
        original(uow, ids, *rest)  # type: ignore[arg-type]
        committed.extend(ids)

    monkeypatch.setattr(daily, "process_chunk", third_fails)
    load(sqlite_db, tmp_path, [{"loan_id": f"M-{i:03d}", "maturity_on": "2008-07-01"} for i in range(12)])
    with pytest.raises(RuntimeError, match="the database went away"):
        daily.process_ids(lambda: UnitOfWork(sqlite_db), [f"M-{i:03d}" for i in range(12)], date(2008, 7, 2),
                          load_policy(), daily.DayResult(date(2008, 7, 2), daily.Tally(keep=None)))
    assert [state(sqlite_db, f"M-{i:03d}") for i in range(12)] == ["overdue"] * 8 + ["performing"] * 4


def test_a_date_for_one_worker_is_split_in_parts_of_a_chunk_and_for_several_in_parts_of_part_cases(sqlite_db, tmp_path, monkeypatch):
    """Parallel workers each need a share of a date (a part per ``PART_CASES`` due cases); one
    worker judges each part in chunks as large as ``CHUNK``, so its parts are that large."""
    from models.tables import DayPart
    from services import daily

    monkeypatch.setattr(daily, "CHUNK", 40)
    monkeypatch.setattr(daily, "PART_CASES", 10)
    load(sqlite_db, tmp_path, [{"loan_id": f"L-{i:03d}"} for i in range(90)])  # all fall due on 2008-07-01
    make_uow = lambda: UnitOfWork(sqlite_db)  # noqa: E731
    assert daily.plan_parts(make_uow, date(2008, 7, 1), workers=1) == 3
    assert daily.plan_parts(make_uow, date(2008, 7, 1), workers=2) == 3  # a date keeps the parts it has (a resumed run)
    with UnitOfWork(sqlite_db) as uow:
        uow.session.execute(delete(DayPart))
        uow.commit()
    assert daily.plan_parts(make_uow, date(2008, 7, 1), workers=2) == 9


def test_a_parts_due_cases_are_those_of_its_range_touched_ones_in_and_quarantined_ones_out(db_url, tmp_path):
    """``due_chunks`` within a part's bounds: each due case of the range once, in id order, a
    touched case whose next event is later included, a quarantined one left out."""
    from models import daily_sql
    from models.tables import Quarantine

    due_on = date(2008, 7, 2)  # the day after maturity
    load(db_url, tmp_path, [{"loan_id": f"P-{i:02d}", "maturity_on": "2008-07-01" if i % 3 else "2009-07-01"}
                            for i in range(30)])
    with UnitOfWork(db_url) as uow:
        s = uow.session
        s.execute(update(Loan).where(Loan.loan_id == "P-12").values(touched=True))  # due by its event, not its date
        s.execute(update(Loan).where(Loan.loan_id == "P-11").values(touched=True))  # due both ways: listed once
        s.add(Quarantine(loan_id="P-14", business_date=due_on, error="boom", recorded_at=datetime.now(timezone.utc)))
        uow.commit()
    with UnitOfWork(db_url) as uow:
        part = list(daily_sql.due_chunks(uow.session, due_on, 4, "P-10", "P-20"))
        whole = [i for chunk in daily_sql.due_chunks(uow.session, due_on, 100) for i in chunk]
    assert part == [["P-10", "P-11", "P-12", "P-13"], ["P-16", "P-17", "P-19"]]
    assert whole == [f"P-{i:02d}" for i in range(30) if (i % 3 or i == 12) and i != 14]


def test_cases_written_back_keep_each_changed_value_and_a_case_changed_meanwhile_refuses_the_write(db_url, tmp_path):
    from models import daily_sql
    from models.domain.errors import ConcurrentUpdate

    ids = [f"L-{n:02d}" for n in range(40)]  # more than 32: one array (or JSON) parameter for the chunk's ids
    load(db_url, tmp_path, [{"loan_id": loan_id} for loan_id in ids])
    with UnitOfWork(db_url) as uow:
        rows = daily_sql.read_cases(uow, ids)
        assert [r.loan_id for r in rows] == ids
        first, second = rows[0], rows[1]
        first.next_event_on, first.touched, first.awaiting_reason = date(2009, 1, 2), True, "why"
        second.state, second.state_entered_on, second.urgent, second.accrued_to = "overdue", date(2008, 7, 1), True, date(2008, 8, 1)
        daily_sql.write_cases(uow.session, [first, second])  # two groups of changed columns
        uow.commit()
    with UnitOfWork(db_url) as uow:
        stored = {loan.loan_id: loan for loan in uow.session.scalars(select(Loan).where(Loan.loan_id.in_(ids[:3])))}
        assert (stored["L-00"].next_event_on, stored["L-00"].touched, stored["L-00"].awaiting_reason, stored["L-00"].state) == (
            date(2009, 1, 2), True, "why", "performing")
        assert (stored["L-01"].state, stored["L-01"].state_entered_on, stored["L-01"].urgent, stored["L-01"].accrued_to) == (
            "overdue", date(2008, 7, 1), True, date(2008, 8, 1))
        assert [stored[i].version for i in ids[:3]] == [first.version + 1, second.version + 1, rows[2].version]
    with UnitOfWork(db_url) as uow:  # a value taken away and one given, in one group
        first, _, third = daily_sql.read_cases(uow, ids)[:3]
        first.awaiting_reason, third.awaiting_reason = None, "also"
        daily_sql.write_cases(uow.session, [first, third])
        uow.commit()
    with UnitOfWork(db_url) as uow:
        assert [uow.session.get(Loan, i).awaiting_reason for i in ids[:3]] == [None, None, "also"]

    with UnitOfWork(db_url) as uow:
        rows = daily_sql.read_cases(uow, ids)
        uow.session.execute(Loan.__table__.update().where(Loan.loan_id == "L-05").values(version=Loan.version + 1))  # meanwhile
        for row in rows:
            row.next_event_on = date(2009, 2, 1)
        with pytest.raises(ConcurrentUpdate, match="1 case"):
            daily_sql.write_cases(uow.session, rows)


def test_a_row_written_back_takes_its_clocks_bounds_in_the_same_write(db_url, tmp_path):
    from models import daily_sql

    ids = [f"L-{n:02d}" for n in range(3)]
    load(db_url, tmp_path, [{"loan_id": loan_id} for loan_id in ids])
    with UnitOfWork(db_url) as uow:
        rows = daily_sql.read_cases(uow, ids)
        versions = [r.version for r in rows]
        rows[0].next_event_on = rows[1].next_event_on = date(2009, 3, 1)
        watch = {"L-00": (date(2010, 5, 6), date(2008, 1, 2)), "L-02": (date(2011, 1, 1), None)}  # L-02 is not written here
        daily_sql.write_cases(uow.session, rows[:2], watch)
        uow.commit()
    with UnitOfWork(db_url) as uow:
        stored = [uow.session.get(Loan, i) for i in ids]
        assert (stored[0].next_event_on, stored[0].clocks_ahead_on, stored[0].clocks_behind_on) == (
            date(2009, 3, 1), date(2010, 5, 6), date(2008, 1, 2))
        assert (stored[1].next_event_on, stored[1].clocks_ahead_on) == (date(2009, 3, 1), rows[1].clocks_ahead_on)
        assert stored[2].clocks_ahead_on == rows[2].clocks_ahead_on  # the caller writes it apart (write_clocks_watch)
        assert [s.version for s in stored] == [versions[0] + 1, versions[1] + 1, versions[2]]  # one write a row
