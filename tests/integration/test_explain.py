"""`npl explain` (services.explain): the coming events it lists are the ones the daily engine
then brings, on their dates — checked by running the engine forward on random small books —
and it answers for every open case of the demo."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from machines.policy import load_policy
from models.domain.errors import BadInput
from models.domain.money import fmt
from models.store import UnitOfWork
from models.tables import Action, History, Loan
from services import cases
from services.explain import KINDS, WHO, explain
from services.views import balances_as_of
from tests.builders import load, run

START = date(2008, 7, 1)
AHEAD = 420  # days the engine runs on after the explanation


def random_book(rnd: random.Random, n: int) -> tuple[list[dict], list[dict]]:
    loans, guarantors = [], []
    for i in range(n):
        maturity = START + timedelta(days=rnd.randint(130, 300) if i % 4 == 0 else rnd.randint(-1200, 200))  # some fall due later
        principal = rnd.randrange(10_000, 300_000)
        loan = {"loan_id": f"L-{i:03d}", "principal": f"{principal}.00", "outstanding_principal": f"{principal}.00",
                "disbursed_on": (maturity - timedelta(days=365)).isoformat(), "maturity_on": maturity.isoformat(),
                "origin": rnd.choice(["external", "external", "relationship", "insider", "insider_introduced"]),
                "employer_type": rnd.choice(["government", "institution", "private", "none"]), "officer_id": f"E-{i % 3:02d}"}
        if rnd.random() < 0.2:  # an amortizing loan past due before its maturity
            loan["overdue_since"] = (maturity - timedelta(days=rnd.randint(10, 200))).isoformat()
        loans.append(loan)
        for k in range(rnd.choice([0, 0, 1, 1, 2])):
            row = {"loan_id": loan["loan_id"], "guarantor_name": f"G{i}-{k}", "guarantee_type": rnd.choice(["joint", "general"])}
            if rnd.random() < 0.3:
                row["guarantee_period_end"] = (maturity + timedelta(days=rnd.randint(30, 900))).isoformat()
            guarantors.append(row)
    return loans, guarantors


def act_on_some(url: str, rnd: random.Random, loan_ids: list[str], on: date) -> None:
    """What staff record on the explanation's date: promises, plans, judgments, a borrower not found."""
    for loan_id in loan_ids:
        with UnitOfWork(url) as uow:
            loan = uow.session.get(Loan, loan_id)
            state = loan.state
            on_book = balances_as_of(loan, on, load_policy()).total if state not in ("performing", "closed") else 0
        # a plan within the policy's bounds.plan_max_months (120): paid off in about 100 months at most
        monthly = max(Decimal("2000"), (Decimal(on_book) / 100 / 100).quantize(Decimal("1")) + 1)
        if state in ("performing", "closed"):
            continue
        choice = rnd.random()
        with UnitOfWork(url) as uow:
            if choice < 0.15 and state in ("visit", "internal_review"):
                cases.visit(uow, loan_id, on=on, outcome="promise", promise_amount=Decimal("500"),
                            promise_date=on + timedelta(days=rnd.randint(1, 40)), by="E-01")
            elif choice < 0.25:
                cases.plan(uow, loan_id, monthly=monthly, first_due=on + timedelta(days=rnd.randint(5, 60)), on=on, by="E-01")
            elif choice < 0.32:
                if state != "litigation":
                    cases.escalate(uow, loan_id, to="litigation", reason="sue", by="E-01", approved_by="M-01", on=on)
                cases.judgment(uow, loan_id, on=on, amount=Decimal("1000"), perform_by=on + timedelta(days=rnd.randint(10, 40)), by="E-01")
            elif choice < 0.4:
                cases.visit(uow, loan_id, on=on, outcome="not_found", by="E-01")
            elif choice < 0.5:
                cases.pay(uow, loan_id, Decimal("100"), on=on, by="E-01")


def happened(url: str, after: date, through: date) -> tuple[set, set]:
    with UnitOfWork(url) as uow:
        s = uow.session
        moves = {(h.loan_id, h.on, h.event) for h in s.scalars(
            select(History).where(History.by == "system", History.on > after, History.on <= through))}
        demands = {(a.loan_id, a.on, a.target) for a in s.scalars(
            select(Action).where(Action.by == "system", Action.kind == "demand", Action.on > after, Action.on <= through))}
    return moves, demands


# Short limits and long leads bring every clock (the guarantee debt's limitation, enforcement)
# into the weeks the test runs the engine for.
HURRIED = """
[limits]
overdue = 1
internal_review = 2
internal_review_insider = 20
visit = 5
guarantor_pressure = 7
installment_grace = 3
[lead_days]
guarantee = 90
limitation = 1000
enforcement = 700
"""


@pytest.mark.parametrize("seed, policy", [(1, None), (2, None), (3, None), (4, None), (5, HURRIED), (6, HURRIED), (7, HURRIED)])
def test_every_explained_move_and_demand_happens_on_its_date_and_nothing_else_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, policy: str | None,
):
    if policy:
        (tmp_path / "policy.toml").write_text(policy)
        monkeypatch.setenv("NPL_POLICY", str(tmp_path / "policy.toml"))
    rnd = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'book.db'}"
    loans, guarantors = random_book(rnd, 14)
    load(url, tmp_path, loans, guarantors)
    run(url, START)
    asked_on = START + timedelta(days=rnd.randint(20, 120))
    run(url, START + timedelta(days=1), asked_on)
    act_on_some(url, rnd, [loan["loan_id"] for loan in loans], asked_on)
    through = asked_on + timedelta(days=AHEAD)
    explained_moves, explained_demands = set(), set()
    with UnitOfWork(url) as uow:
        for loan in loans:
            ex = explain(uow, loan["loan_id"], until=through, limit=10_000)
            assert ex.as_of == asked_on
            assert [e.on for e in ex.events] == sorted(e.on for e in ex.events)
            for e in ex.events:
                assert e.on > asked_on and e.kind in KINDS and e.who in WHO and e.basis
                if e.kind == "move":
                    explained_moves.add((loan["loan_id"], e.on, e.does.split("(")[1].split(")")[0]))
                elif e.does.startswith("written demand on "):
                    target = e.does.removeprefix("written demand on ").split(":")[0]
                    explained_demands.add((loan["loan_id"], e.on, None if target == "the borrower" else target))
    run(url, asked_on + timedelta(days=1), through)
    moves, demands = happened(url, asked_on, through)
    assert explained_moves == moves
    assert explained_demands == demands
    assert moves, "the random book brought no move at all: the test would prove nothing"


def test_explain_names_the_rule_its_article_who_acts_and_what_would_stop_it(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'book.db'}"
    load(url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}])
    run(url, date(2008, 7, 1))  # due 2008-06-30: overdue from 2008-07-01
    with UnitOfWork(url) as uow:
        ex = explain(uow, "L-1").as_dict()
    assert set(ex) >= {"loan_id", "as_of", "events"} and ex["as_of"] == "2008-07-01"
    first = ex["events"][0]
    assert {k: first[k] for k in ("on", "rule", "basis", "kind", "who")} == {
        "on": "2008-07-04", "rule": "time_limits", "basis": "policy limits.overdue", "kind": "move", "who": "system"}
    assert first["does"].startswith("overdue → internal_review (review)")
    with UnitOfWork(url) as uow:  # the whole balance on the event's own date, interest accrued to it
        owed = balances_as_of(uow.session.get(Loan, "L-1"), date(2008, 7, 4), load_policy()).total
    assert first["unless"].startswith(f"a payment of at least {fmt(owed)} (the whole balance on 2008-07-04) by 2008-07-04")
    demand = next(e for e in ex["events"] if e["rule"] == "guarantee_period")
    # the clock's rule under the law of its time (signed 2008): period ends 2008-12-30, lead 30
    assert demand["on"] == "2008-11-30" and demand["basis"] == "Guarantee Law 1995 Art. 26; mode: Guarantee Law 1995 Art. 18"
    assert demand["kind"] == "task" and demand["who"] == "officer" and "Zhang" in demand["unless"]
    limitation = next(e for e in ex["events"] if e["rule"] == "limitation")
    # GPCL 1986 Art. 135: two years, run out before 2017-10-01 (SPC 2018 Art. 3): 2010-06-30 less 60 days
    assert limitation["basis"] == "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3" and limitation["on"] == "2010-05-01"


def test_explain_refuses_a_date_the_daily_run_has_already_covered(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'book.db'}"
    load(url, tmp_path, [{"loan_id": "L-1"}])
    run(url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(url) as uow, pytest.raises(BadInput, match="already covered 2008-07-05"):
        explain(uow, "L-1", as_of=date(2008, 7, 2))


def test_npl_explain_answers_for_every_open_case_of_the_demo(tmp_path: Path):
    """The demo's recorded events replayed with the engine (no Prefect), explained at each
    event date and at the end, from the command line for the open cases at the end."""
    from demo.run import END, HERE, events
    from services.importing import import_paths

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    import_paths(url, [HERE / "data" / f for f in ("loans.csv", "guarantors.csv", "collateral.csv")])
    last = None
    explained = 0
    for when, _label, action in events(url):
        if last is None or when > last:
            run(url, date(2006, 9, 14) if last is None else last, when)
            last = when
            with UnitOfWork(url) as uow:
                for loan in uow.session.scalars(select(Loan).where(Loan.state != "closed")):
                    explain(uow, loan.loan_id)
                    explained += 1
        with UnitOfWork(url) as uow:
            action(uow)
    run(url, last, END)
    with UnitOfWork(url) as uow:
        open_ids = list(uow.session.scalars(select(Loan.loan_id).where(Loan.state != "closed")))
    assert open_ids and explained
    npl = Path(sys.executable).with_name("npl")
    for loan_id in open_ids:
        out = subprocess.run([str(npl), "explain", loan_id, "--json", "--db", url], capture_output=True, text=True, check=True)
        res = json.loads(out.stdout)
        assert res["loan_id"] == loan_id and res["as_of"] == END.isoformat() and res["events"]
        text = subprocess.run([str(npl), "explain", loan_id, "--db", url], capture_output=True, text=True, check=True).stdout
        assert text.startswith(f"{loan_id}  [") and "rule " in text
