"""Set-wise ladder moves end exactly where the per-case machines end: the same loans, history,
actions, officers and ledger, row for row, on random books (loans 0–400 days past due on their
first business date after the import, then a 30-date catch-up), on both backends."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from machines.escalation import SETWISE_EVENTS
from machines.policy import load_policy
from models import daily_sql
from models.store import UnitOfWork
from models.tables import Loan
from services.daily import run_dates
from tests.builders import load
from tests.canonical import canonical_dump
from tests.conftest import _empty

RUN_DATE = date(2026, 11, 2)
ORIGINS = ["external"] * 6 + ["relationship"] * 2 + ["insider", "insider_introduced"]


def random_book(seed: int, n: int) -> tuple[list[dict], list[dict]]:
    rnd = random.Random(seed)
    loans, guarantors = [], []
    for i in range(n):
        draw = rnd.random()
        if draw < 0.7:
            days_past_due = rnd.randrange(0, 401)
        elif draw < 0.8:  # near the end of the three-year limitation: a demand on the first dates
            days_past_due = rnd.randrange(1030, 1100)
        else:
            days_past_due = -rnd.randrange(1, 60)
        maturity = RUN_DATE - timedelta(days=days_past_due)
        origin = rnd.choice(ORIGINS)
        principal = rnd.randrange(10_000, 500_000)
        loans.append({"loan_id": f"R{seed}-{i:04d}", "borrower_name": f"B{i}", "principal": f"{principal}.00",
                      "disbursed_on": (maturity - timedelta(days=365)).isoformat(), "maturity_on": maturity.isoformat(),
                      "outstanding_principal": f"{principal // 2}.00", "origin": origin, "officer_id": f"E-{rnd.randrange(8):02d}",
                      "introduced_by": f"E-{rnd.randrange(8):02d}" if origin == "insider_introduced" else "",
                      "employer_type": rnd.choice(["government", "institution", "private", "none"])})
        if rnd.random() < 0.3:
            guarantors.append({"loan_id": f"R{seed}-{i:04d}", "guarantor_name": f"G{i}",
                               "guarantee_type": rnd.choice(["joint", "general"])})
    return loans, guarantors


def _run(url: str, tmp_path, book, setwise: bool, monkeypatch) -> tuple[dict, int]:
    monkeypatch.setenv("NPL_SETWISE", "1" if setwise else "0")
    _empty(url)
    load(url, tmp_path, *book)
    fired = []
    real = daily_sql.fire_setwise

    def counting(*args, **kwargs):
        fired.append(real(*args, **kwargs))
        return fired[-1]

    monkeypatch.setattr(daily_sql, "fire_setwise", counting)
    policy = load_policy()
    first = run_dates(lambda: UnitOfWork(url), RUN_DATE, None, policy)
    first_digest = canonical_dump(url)
    run_dates(lambda: UnitOfWork(url), RUN_DATE + timedelta(days=1), RUN_DATE + timedelta(days=30), policy)
    assert first.count("transitions") > 0
    return {"first": first_digest, "after": canonical_dump(url)}, sum(fired)


# Zero-day limits: a case falls due, is reviewed and dispatched on one date (three rungs in order);
# insiders' officers are suspended within the catch-up; visits end in pressure or an awaited suit.
TIGHT_POLICY = """
[limits]
overdue = 0
internal_review = 0
internal_review_insider = 2
visit = 5
"""


@pytest.mark.parametrize("seed,policy", [(1, None), (2, None), (3, TIGHT_POLICY)], ids=["book-1", "book-2", "tight-limits"])
def test_setwise_moves_leave_the_same_rows_as_the_per_case_machines(db_url, tmp_path, monkeypatch, seed, policy):
    if policy:
        (tmp_path / "policy.toml").write_text(policy)
        monkeypatch.setenv("NPL_POLICY", str(tmp_path / "policy.toml"))
    book = random_book(seed, 250)
    per_case, none_fired = _run(db_url, tmp_path, book, False, monkeypatch)
    setwise, moved = _run(db_url, tmp_path, book, True, monkeypatch)
    assert none_fired == 0 and moved > 100  # the switch selects the path, and most ladder moves went set-wise
    assert not setwise["after"]["quarantine"] and not per_case["after"]["quarantine"]  # every case was judged
    assert setwise["first"]["history"] == per_case["first"]["history"]
    assert setwise["first"] == per_case["first"]
    assert setwise["after"] == per_case["after"]


def test_the_setwise_moves_are_the_machines_unguarded_ones():
    assert SETWISE_EVENTS == {"fall_due", "review", "dispatch"}


def test_a_case_changed_while_its_chunk_is_judged_rolls_back_the_chunks_setwise_history_and_is_judged_again(
        db_url, tmp_path, monkeypatch):
    """The set-wise rungs write history only; the rows' new states are written by the chunk's one
    write, whose version check refuses a case changed since it was read. Then nothing of the pass
    stays (its history rows included), and the chunk judged again ends as an undisturbed run."""
    monkeypatch.setenv("NPL_SETWISE", "1")
    book = random_book(4, 120)
    policy = load_policy()

    def first_date() -> tuple[dict, int]:
        fired = []
        real = daily_sql.fire_setwise
        monkeypatch.setattr(daily_sql, "fire_setwise", lambda *args: fired.append(real(*args)) or fired[-1])
        run_dates(lambda: UnitOfWork(db_url), RUN_DATE, None, policy)
        monkeypatch.setattr(daily_sql, "fire_setwise", real)
        return canonical_dump(db_url), sum(fired)

    _empty(db_url)
    load(db_url, tmp_path, *book)
    undisturbed, _ = first_date()

    _empty(db_url)
    load(db_url, tmp_path, *book)
    reads = []
    read_cases = daily_sql.read_cases

    def read_then_changed_meanwhile(uow, ids, *args, **kwargs):
        rows = read_cases(uow, ids, *args, **kwargs)
        reads.append(len(rows))
        if len(reads) == 1:  # as if an operator's command wrote one of them right after the read
            uow.session.execute(Loan.__table__.update().where(Loan.loan_id == rows[-1].loan_id).values(version=Loan.version + 1))
        return rows

    monkeypatch.setattr(daily_sql, "read_cases", read_then_changed_meanwhile)
    disturbed, moved = first_date()
    assert len(reads) == 2 and moved > 2 * 50  # both passes moved most cases set-wise; the first was refused
    assert disturbed == undisturbed  # one history row a rung, as if the refused pass never ran
