"""Eight operators and the daily engine on one PostgreSQL book at the same time: nothing lost.

A book of loans (2,000 by default; 20,000 with NPL_RELIABILITY_FULL=1) is imported and run to
mid-2008. Then 8 OS processes (multiprocessing "spawn") issue random manual actions through
``services.cases`` — payments of random amounts up to the balance, visits (with promises),
demands on the borrower or a guarantor, escalations (with approvals, some by the requester
himself), a few write-offs — 120 in all (500 full), against random loans (half of them from a
small hot set, so operators collide), while a ninth process runs the daily engine
(``services.daily.run_dates``) one business date after another until the operators are done.

A refusal (RuleViolation, including ConcurrentUpdate after the services' retries) is an
acceptable answer and is counted; anything else is a failure. Afterwards:

- no lost update: every payment's allocation adds up to its amount, and for every loan the
  imported outstanding principal minus the stored one is the principal its payments paid;
- every case's history is a path of the machine (rows chain from → to, the first leaves
  ``performing``, every (from, event, to) is an edge LoanCase declares, dates never go back)
  ending in the stored state; no history row is duplicated;
- the daily run completed every date it ran (ledger), without crashing — a ConcurrentUpdate
  out of the daily run is a failure: the run is the system's job, not an operator's request.

The figures (actions done / refused / conflicts retried, chunks re-judged, elapsed) are printed
for the record (`pytest -s` shows them). NPL_RELIABILITY_SEED picks another schedule.

The second test makes the daily run's conflict deterministic: a teller pays a case each time the
run is judging it.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from machines.loan_case import CaseState, LoanCase
from models.store import UnitOfWork
from models.tables import History, Loan, Payment, RunDay
from tests.builders import load, run
from tests.conftest import _empty

import concurrency_actors  # beside this file; spawned children import it by this name

FULL = bool(os.environ.get("NPL_RELIABILITY_FULL"))
LOANS = 20_000 if FULL else 2_000
ACTIONS = 500 if FULL else 120
OPERATORS = 8
HOT = 40 if FULL else 25  # loans half of the actions go to, so that operators and the run collide
SEED = int(os.environ.get("NPL_RELIABILITY_SEED", "20080601"))  # another seed, another schedule
PRE_RUN = (date(2008, 6, 1), date(2008, 6, 11))  # the book before the operators arrive
CONCURRENT_FROM, CONCURRENT_UNTIL = date(2008, 6, 12), date(2008, 12, 31)

# The full size runs under `make reliability` (-m reliability); the default size is the CI run.
pytestmark = [pytest.mark.postgres] + ([pytest.mark.reliability] if FULL else [])


def book(n: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """``n`` loans maturing over 2008 (some amortizing, some part-repaid, some insider) and a
    joint or general guarantor for every third one (a second for every twelfth)."""
    rng = random.Random(seed)
    loans, guarantors = [], []
    for i in range(1, n + 1):
        loan_id = f"L-{i:05d}"
        principal = rng.randrange(1_000_000, 50_000_000)
        outstanding = principal if rng.random() < 0.7 else rng.randrange(principal // 4, principal)
        disbursed = date(2007, 1, 1) + timedelta(days=rng.randrange(365))
        maturity = date(2008, 1, 15) + timedelta(days=rng.randrange(260))
        product = rng.choice(("business", "consumer", "mortgage", "agriculture", "aquaculture"))
        row = {
            "loan_id": loan_id, "borrower_name": f"Borrower {i}", "principal": f"{principal / 100:.2f}",
            "annual_rate": f"0.{rng.randrange(500, 900):04d}", "disbursed_on": disbursed.isoformat(),
            "maturity_on": maturity.isoformat(), "outstanding_principal": f"{outstanding / 100:.2f}",
            "officer_id": f"E-{rng.randrange(1, 21):02d}", "product": product,
            "origin": rng.choice(("external",) * 7 + ("insider", "insider_introduced", "relationship")),
            "credit_rating": rng.choice(("AA", "A", "BBB", "BB", "B")),
            "employer_type": rng.choice(("government", "institution", "private", "none")),
            "overdue_since": "",
        }
        if product in ("consumer", "mortgage") and rng.random() < 0.5:  # amortizing: past due before maturity
            since = maturity - timedelta(days=rng.randrange(30, 200))
            row["overdue_since"] = max(since, disbursed + timedelta(days=30)).isoformat()
        loans.append(row)
        if i % 3 == 0:
            guarantors.append({"loan_id": loan_id, "guarantor_name": f"Guarantor {i}",
                               "guarantee_type": rng.choice(("joint", "general"))})
        if i % 12 == 0:
            guarantors.append({"loan_id": loan_id, "guarantor_name": f"Second {i}", "guarantee_type": "joint"})
    return loans, guarantors


def machine_edges() -> set[tuple[str, str, str]]:
    """Every (from, event, to) LoanCase declares (as tests/unit/test_loan_case.py lists them)."""
    edges = set()
    for state in LoanCase.states:
        for transition in state.transitions:
            for event in transition.events:
                edges.add((transition.source.value, str(event), transition.target.value))
    return edges


def concurrent_phase(url: str, loan_ids: list[str], guarantors: dict[str, list[str]]) -> tuple[list[dict], dict]:
    """Start the operators and the daily run together; return their reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier, stop, results = ctx.Barrier(OPERATORS + 1), ctx.Event(), ctx.Queue()
    hot_ids = random.Random(SEED).sample(loan_ids, HOT)
    shares = [ACTIONS // OPERATORS + (1 if i < ACTIONS % OPERATORS else 0) for i in range(OPERATORS)]
    processes = [
        ctx.Process(target=concurrency_actors.actor, name=f"operator-{i}",
                    args=(url, i, shares[i], SEED, loan_ids, hot_ids, guarantors, barrier, results))
        for i in range(OPERATORS)
    ]
    processes.append(ctx.Process(target=concurrency_actors.daily_actor, name="daily",
                                 args=(url, CONCURRENT_FROM, CONCURRENT_UNTIL, stop, barrier, results)))
    launched = time.time()
    for p in processes:
        p.start()
    operators: list[dict] = []
    daily: dict[str, Any] = {}
    try:
        for _ in processes:
            report = results.get(timeout=900)
            if report["actor"] == "daily":
                daily = report
            else:
                operators.append(report)
                if len(operators) == OPERATORS:
                    stop.set()
    finally:
        stop.set()
        for p in processes:
            p.join(timeout=60)
        for p in processes:
            if p.is_alive():  # only our own children, by process object
                p.kill()
                p.join()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    daily["startup"] = max(r.get("released_at", launched) for r in [*operators, daily]) - launched
    return operators, daily


def test_operators_and_the_daily_run_at_once_lose_no_update_and_keep_every_history_a_machine_path(
    pg_url: str, tmp_path: Path
) -> None:
    _empty(pg_url)
    started = time.perf_counter()
    loans, guarantor_rows = book(LOANS, SEED)
    load(pg_url, tmp_path, loans, guarantor_rows)
    run(pg_url, *PRE_RUN)
    setup = time.perf_counter() - started
    guarantors: dict[str, list[str]] = defaultdict(list)
    for g in guarantor_rows:
        guarantors[g["loan_id"]].append(g["guarantor_name"])
    loan_ids = [row["loan_id"] for row in loans]

    started = time.perf_counter()
    operators, daily = concurrent_phase(pg_url, loan_ids, dict(guarantors))
    concurrent = time.perf_counter() - started

    counts: Counter[str] = Counter()
    for report in operators:
        counts.update(report["counts"])
    latencies = [x for report in operators for x in report["latencies"]] or [0.0]
    failures = [f for report in [*operators, daily] for f in report["failures"]]
    print(
        f"\nconcurrency on PostgreSQL: {LOANS} loans, {OPERATORS} operator processes + the daily run\n"
        f"  setup (import + daily {PRE_RUN[0]}..{PRE_RUN[1]}): {setup:.1f} s\n"
        f"  actions: {sum(r['counts'].get('done', 0) + r['counts'].get('refused', 0) for r in operators)} issued, "
        f"{counts['done']} done ({', '.join(f'{k[5:]} {v}' for k, v in sorted(counts.items()) if k.startswith('done_'))}), "
        f"{counts['refused']} refused ({counts['gave_up_on_conflict']} after exhausting conflict retries), "
        f"{counts['conflicts_retried']} conflicts retried by the services\n"
        f"  daily run: {daily.get('counts', {}).get('dates', 0)} date(s) from {CONCURRENT_FROM} to {daily.get('last_date')}, "
        f"{daily.get('counts', {}).get('transitions', 0)} transitions, "
        f"{daily.get('counts', {}).get('chunks_retried', 0)} chunk(s) retried after a concurrent change\n"
        f"  latency per action: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; "
        f"daily seconds per date: {daily.get('date_seconds')}\n"
        f"  elapsed: process start-up {daily.get('startup', 0):.1f} s, concurrent phase {concurrent:.1f} s (operators "
        f"{max(r.get('elapsed', 0) for r in operators):.1f} s, daily {daily.get('elapsed', 0):.1f} s); failures: {len(failures)}"
    )
    assert counts["done"] + counts["refused"] + sum(len(r["failures"]) for r in operators) == ACTIONS
    assert counts["done"] > 0

    imported = {}
    with (tmp_path / "loans.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            imported[row["loan_id"]] = int(row["outstanding_principal"].replace(".", ""))

    with UnitOfWork(pg_url) as uow:
        s = uow.session
        # no lost update: allocations add up, and the principal paid is the principal gone
        bad_rows = s.execute(
            select(Payment.id, Payment.loan_id).where(
                Payment.amount_fen != Payment.costs_fen + Payment.penalty_fen + Payment.interest_fen + Payment.principal_fen
                    + Payment.compound_fen + Payment.delayed_fen
            )
        ).all()
        assert bad_rows == []
        per_loan = dict(s.execute(
            select(Payment.loan_id, func.sum(Payment.principal_fen)).group_by(Payment.loan_id)
        ).all())
        stored = dict(s.execute(select(Loan.loan_id, Loan.outstanding_principal_fen)).all())
        states = dict(s.execute(select(Loan.loan_id, Loan.state)).all())
        assert set(stored) == set(imported)
        lost = {
            loan_id: (imported[loan_id], stored[loan_id], int(per_loan.get(loan_id, 0)))
            for loan_id in imported
            if imported[loan_id] - stored[loan_id] != int(per_loan.get(loan_id, 0))
        }
        assert lost == {}, f"imported − stored outstanding ≠ principal paid (imported, stored, paid): {lost}"
        assert len(per_loan) > 0

        # every history a path of the machine, ending in the stored state; no duplicates
        edges = machine_edges()
        rows = s.execute(
            select(History.loan_id, History.from_state, History.event, History.to_state, History.on).order_by(
                History.loan_id, History.id
            )
        ).all()
        paths: dict[str, list[tuple]] = defaultdict(list)
        for r in rows:
            paths[r.loan_id].append(tuple(r))
        broken = []
        for loan_id, path in paths.items():
            if path[0][1] != CaseState.performing.value:
                broken.append((loan_id, "starts from", path[0][1]))
            for prev, nxt in zip(path, path[1:]):
                if prev[3] != nxt[1]:
                    broken.append((loan_id, "gap", prev, nxt))
            broken += [(loan_id, "not an edge", step) for step in path if step[1:4] not in edges]
            if path[-1][3] != states[loan_id]:
                broken.append((loan_id, "ends in", path[-1][3], "but the case is", states[loan_id]))
            if path[-1][4] < path[0][4] or any(a[4] > b[4] for a, b in zip(path, path[1:])):
                broken.append((loan_id, "dates out of order", [p[4].isoformat() for p in path]))
        broken += [(loan_id, "no history but the case is", state) for loan_id, state in states.items()
                   if loan_id not in paths and state != CaseState.performing.value]
        assert broken == [], broken[:20]
        duplicates = [key for key, n in Counter(rows).items() if n > 1]
        assert duplicates == [], duplicates[:20]

        # the daily run completed each date it ran, in order, without a gap
        ledger = list(s.scalars(select(RunDay.business_date).order_by(RunDay.business_date)))
        assert ledger == [PRE_RUN[0] + timedelta(days=k) for k in range(len(ledger))]

    # last: whatever crashed or failed (the books above must hold even then)
    assert not failures, "\n".join(failures)
    assert daily["counts"].get("dates", 0) > 0 and ledger[-1] == date.fromisoformat(daily["last_date"])


def test_daily_run_completes_while_an_operator_keeps_paying_a_case_it_is_judging(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teller takes a payment on a case each time the daily run is judging it (its chunk
    read, not yet written back) — as happens to a busy case under a slow chunk. The run must
    still complete its date (re-judging or deferring that one case), and every payment land.

    The teller works in a thread of its own and the run waits for it at most 2 s, so the test
    holds whether the run re-judges optimistically or locks the chunk's rows while judging."""
    import threading
    from decimal import Decimal

    from services import cases
    from services import daily as engine

    _empty(pg_url)
    load(pg_url, tmp_path, [{"loan_id": f"L-{i:03d}", "maturity_on": "2008-06-30"} for i in range(1, 51)])
    run(pg_url, date(2008, 7, 1))  # all fall due
    with UnitOfWork(pg_url) as uow:
        cases.visit(uow, "L-007", outcome="contacted")  # touched: the run looks at it on 2008-07-02
    tellers: list[threading.Thread] = []
    paid: list[str] = []
    errors: list[BaseException] = []
    original = engine.plan_day

    def teller() -> None:
        try:
            with UnitOfWork(pg_url) as uow:
                paid.append(cases.pay(uow, "L-007", Decimal("100.00"), by="teller").loan_id)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    def judging(view: Any, day: date, policy: Any) -> Any:
        if view.loan_id == "L-007" and len(tellers) < engine.CONFLICT_RETRIES:
            t = threading.Thread(target=teller)
            tellers.append(t)
            t.start()
            t.join(timeout=2)
        return original(view, day, policy)

    monkeypatch.setattr(engine, "plan_day", judging)
    try:
        result = run(pg_url, date(2008, 7, 2), date(2008, 7, 4))
    finally:
        for t in tellers:
            t.join(timeout=30)
    assert errors == []
    assert result.dates_run == [date(2008, 7, 2), date(2008, 7, 3), date(2008, 7, 4)]
    assert len(paid) == len(tellers) >= 1
    with UnitOfWork(pg_url) as uow:
        s = uow.session
        assert s.execute(select(func.count()).select_from(Payment).where(Payment.loan_id == "L-007")).scalar_one() == len(paid)
        assert s.execute(select(Loan.outstanding_principal_fen).where(Loan.loan_id == "L-007")).scalar_one() <= 10_000_000
        states = dict(s.execute(select(Loan.state, func.count()).group_by(Loan.state)).all())
    assert states == {"internal_review": 50}  # 2008-07-04: three days overdue, every case reviewed
