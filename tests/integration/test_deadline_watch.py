"""The deadlines at risk read only the cases whose clocks can be near an end (issue 20), and list
exactly what reading every open case lists: on random books (limitations and guarantee periods
ending around the run dates, agreed and old-law guarantees), day after day, with demands,
payments and new guarantors recorded between the runs, asked for the run's date, the next day,
a date weeks ahead and one in the past; with and without the publishing's refresh of the bounds."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from machines.policy import load_policy
from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork
from models.tables import Loan
from services import cases, worklist
from services.importing import import_paths
from tests.builders import LOAN_DEFAULTS, load, run, write_csv

START = date(2026, 3, 2)


def random_book(seed: int, n: int) -> tuple[list[dict], list[dict]]:
    rnd = random.Random(seed)
    loans, guarantors = [], []
    for i in range(n):
        draw = rnd.random()
        if draw < 0.25:  # the limitation (three years) ends around the run dates
            days_past_due = rnd.randrange(1040, 1130)
        elif draw < 0.45:  # a six-month guarantee period ends around them
            days_past_due = rnd.randrange(130, 230)
        elif draw < 0.6:  # not yet due: falls due during the run
            days_past_due = -rnd.randrange(1, 40)
        elif draw < 0.65:  # falls due after the later guarantors come (see below)
            days_past_due = -rnd.randrange(25, 45)
        elif draw < 0.7:  # under the old law, long lapsed
            days_past_due = rnd.randrange(3000, 4000)
        else:
            days_past_due = rnd.randrange(0, 1200)
        maturity = START - timedelta(days=days_past_due)
        loan_id = f"W{seed}-{i:04d}"
        loans.append({"loan_id": loan_id, "borrower_name": f"B{i}", "disbursed_on": (maturity - timedelta(days=365)).isoformat(),
                      "maturity_on": maturity.isoformat(), "officer_id": f"E-{rnd.randrange(4):02d}"})
        if rnd.random() < 0.45:
            row = {"loan_id": loan_id, "guarantor_name": f"G{i}", "guarantee_type": rnd.choice(["joint", "general", "unstated"])}
            if rnd.random() < 0.4:  # an agreed period, ending around the run dates or years later
                row["guarantee_period_end"] = (START + timedelta(days=rnd.choice([rnd.randrange(-30, 90), rnd.randrange(300, 1500)]))).isoformat()
                if maturity >= date.fromisoformat(row["guarantee_period_end"]):
                    row["guarantee_period_end"] = (maturity + timedelta(days=rnd.randrange(1, 60))).isoformat()
            guarantors.append(row)
    return loans, guarantors


def _acts(url: str, rnd: random.Random, loans: list[dict], guarantors: dict[str, str], day: date) -> None:
    """A few operators' facts recorded after the run of ``day``: demands on borrowers and
    guarantors, part payments (acknowledgements)."""
    for _ in range(6):
        loan = rnd.choice(loans)["loan_id"]
        with UnitOfWork(url) as uow:
            try:
                kind = rnd.random()
                if kind < 0.4:
                    cases.demand(uow, loan, on=day, by="E-00")
                elif kind < 0.7 and loan in guarantors:
                    cases.demand(uow, loan, on=day, guarantor=guarantors[loan], by="E-00")
                else:
                    cases.pay(uow, loan, Decimal(rnd.randrange(100, 900)), on=day, by="E-00")
            except (RuleViolation, BadInput):
                pass


def _same(url: str, as_of: date) -> int:
    policy = load_policy()
    with UnitOfWork(url) as uow:
        read = worklist.legal_deadlines(uow.session, as_of, policy)
        every = worklist.legal_deadlines(uow.session, as_of, policy, every_case=True)
        candidates = len(worklist.deadline_candidates(uow.session, as_of, policy))
        open_cases = uow.session.query(Loan).filter(Loan.state != "closed").count()
    assert read == every, as_of
    assert candidates < open_cases  # the bounds leave cases out: the comparison is not trivially equal
    return len(every)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_deadlines_read_from_the_bounds_are_those_of_every_open_case(db_url, tmp_path, seed):
    rnd = random.Random(seed)
    loans, guarantors = random_book(seed, 220)
    load(db_url, tmp_path, loans, guarantors)
    named = {g["loan_id"]: g["guarantor_name"] for g in guarantors}
    listed = 0
    policy = load_policy()
    for k in range(45):
        day = START + timedelta(days=k)
        run(db_url, day)
        if k % 3 == 0:  # the publishing refreshes the bounds of the cases it reads
            with UnitOfWork(db_url) as uow:
                worklist.deadlines_at_risk(uow.session, day, policy, refresh=True)
                uow.commit()
        if k == 20:  # guarantors added by a later import to loans not yet due, whose other clocks end years
            # later: each period ends ten days after its maturity (agreed), within the lead days now
            later = [loan for loan in loans if date.fromisoformat(loan["maturity_on"]) > day]
            new = [{"loan_id": loan["loan_id"], "guarantor_name": f"late-{loan['loan_id']}", "guarantee_type": "joint",
                    "guarantee_period_end": (date.fromisoformat(loan["maturity_on"]) + timedelta(days=10)).isoformat()}
                   for loan in later]
            assert len(new) > 5
            report = import_paths(db_url, [write_csv(tmp_path / "late-guarantors.csv", new)])
            assert not report.rejected
        _acts(db_url, rnd, loans, named, day)
        for as_of in (day, day + timedelta(days=1), day + timedelta(days=40), day - timedelta(days=20)):
            listed += _same(db_url, as_of)
    assert listed > 200  # clocks at risk and lapsed were listed along the way


def test_a_new_loan_is_bounded_by_its_limitation_a_guarantor_by_its_period_and_a_recorded_fact_makes_it_unknown(sqlite_db, tmp_path):
    maturity = date(2026, 6, 30)
    load(sqlite_db, tmp_path, [{**LOAN_DEFAULTS, "loan_id": "N-1", "maturity_on": maturity.isoformat(), "disbursed_on": "2025-06-30"},
                               {**LOAN_DEFAULTS, "loan_id": "N-2", "maturity_on": maturity.isoformat(), "disbursed_on": "2025-06-30"}])

    def bounds(loan_id: str) -> tuple:
        with UnitOfWork(sqlite_db) as uow:
            loan = uow.session.get(Loan, loan_id)
            return loan.clocks_ahead_on, loan.clocks_behind_on, loan.touched

    assert bounds("N-1") == (date(2029, 6, 30), None, False)  # no act, no guarantor: the limitation (Civil Code Art. 188)
    late = write_csv(tmp_path / "g.csv", [{"loan_id": "N-1", "guarantor_name": "Gu", "guarantee_type": "joint",
                                           "guarantee_period_end": "2026-07-10"}])
    assert not import_paths(sqlite_db, [late]).rejected
    assert bounds("N-1") == (date(2026, 7, 10), None, False)  # the agreed period (Art. 692); performing: not touched
    run(sqlite_db, date(2026, 7, 1))  # falls due: judged on its full view, both ends read from the clocks
    assert bounds("N-1") == (date(2026, 7, 10), None, False)
    with UnitOfWork(sqlite_db) as uow:
        cases.demand(uow, "N-1", on=date(2026, 7, 2), guarantor="Gu", by="E-00")
    assert bounds("N-1") == (None, None, True)  # read again until judged
    run(sqlite_db, date(2026, 7, 2))  # the period preserved; the guarantee debt's limitation runs from the demand
    assert bounds("N-1") == (date(2029, 6, 30), None, False)
    assert bounds("N-2") == (date(2029, 6, 30), None, False)
