"""Strategy replay (issue 21): the book's history under another policy, never writing the source."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from machines.policy import PolicyError, load_policy
from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork, dispose_all, migrate
from models.tables import History
from services import cases
from services.replay import replay, reproduce
from tests.builders import load, run
from tests.canonical import canonical_dump

NPL = Path(sys.executable).with_name("npl")


def build_demo(url: str) -> None:
    """The demo book as `make demo` makes it, without Prefect: import, then the recorded events
    interleaved with the daily engine, to the demo's end."""
    from demo.run import END, HERE, events
    from models.importing import import_files

    with UnitOfWork(url) as uow:
        import_files(uow, [HERE / "data" / f for f in ("loans.csv", "guarantors.csv", "collateral.csv")])
    last = None
    for when, _label, action in events(url):
        if last is None or when > last:
            run(url, date(2006, 9, 14) if last is None else last, when)
            last = when
        with UnitOfWork(url) as uow:
            action(uow)
    run(url, last, END)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "npl.db"
    build_demo(f"sqlite:///{path}")
    dispose_all()  # the source file complete on disk (no write-ahead log left)
    return path


def recorded(url: str) -> list[tuple]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(History.loan_id, History.from_state, History.to_state, History.event, History.on)).all()
    return sorted(tuple(r) for r in rows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def challenger(tmp_path: Path, text: str = "[limits]\nvisit = 10\n") -> Path:
    path = tmp_path / "challenger.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- determinism -------------------------------------------------------------------------------------


def test_replaying_the_demo_under_the_policy_in_force_reproduces_its_history_exactly(demo_db: Path):
    url = f"sqlite:///{demo_db}"
    want = recorded(url)
    dispose_all()
    # every transition of the six cases, operators' and the daily run's (28), and of L-0006's
    # revitalization credit booked as loan L-0006-R1 (fall_due, review, dispatch: 3)
    assert len(want) == 31
    assert {row[0] for row in want} == {"L-0001", "L-0002", "L-0003", "L-0004", "L-0005", "L-0006", "L-0006-R1"}
    assert reproduce(url) == want


def random_book(url: str, tmp: Path, seed: int) -> None:
    """A small random book with recorded acts of every common kind, run like the demo."""
    rnd = random.Random(seed)
    loans, guarantors = [], []
    for i in range(24):
        maturity = date(2008, 1, 1) + timedelta(days=rnd.randrange(300))
        loans.append({"loan_id": f"L-{i:02d}", "maturity_on": maturity.isoformat(), "disbursed_on": (maturity - timedelta(days=365)).isoformat(),
                      "officer_id": f"E-{rnd.randrange(3)}", "employer_type": rnd.choice(["government", "private", "none"]),
                      "origin": rnd.choice(["external", "external", "relationship", "insider"])})
        if rnd.random() < 0.6:
            guarantors.append({"loan_id": f"L-{i:02d}", "guarantor_name": f"G{i}", "guarantee_type": rnd.choice(["joint", "general"])})
    load(url, tmp, loans, guarantors)
    acts = []
    for loan in loans:
        due = date.fromisoformat(loan["maturity_on"]) + timedelta(days=1)
        for _ in range(rnd.randrange(4)):
            on = due + timedelta(days=rnd.randrange(5, 200))
            kind = rnd.choice(["part", "visit", "promise", "demand", "sue", "plan", "payoff", "guarantor_demand"])
            acts.append((on, kind, loan["loan_id"]))
    acts.sort()

    def act(uow: UnitOfWork, on: date, kind: str, loan_id: str) -> None:
        if kind == "part":
            cases.pay(uow, loan_id, Decimal(rnd.randrange(100, 5000)), on=on, by="E-9")
        elif kind == "payoff":
            owed = cases.show(uow, loan_id).balance.total
            cases.pay(uow, loan_id, Decimal(owed), on=on, by="E-9")
        elif kind == "visit":
            cases.visit(uow, loan_id, on=on, outcome=rnd.choice(["contacted", "refused", "not_found"]), by="E-9")
        elif kind == "promise":
            cases.visit(uow, loan_id, on=on, outcome="promise", promise_amount=Decimal(1000),
                        promise_date=on + timedelta(days=rnd.randrange(3, 20)), by="E-9")
        elif kind == "demand":
            cases.demand(uow, loan_id, on=on, by="E-9")
        elif kind == "guarantor_demand":
            cases.demand(uow, loan_id, on=on, guarantor=f"G{int(loan_id[2:])}", by="E-9")
        elif kind == "sue":
            cases.escalate(uow, loan_id, to="litigation", reason="refuses", by="E-9", approved_by="M-1", on=on)
        elif kind == "plan":
            cases.plan(uow, loan_id, monthly=Decimal(rnd.randrange(2000, 20000)), first_due=on + timedelta(days=20), on=on, by="E-9")

    last = None
    for on, kind, loan_id in acts:
        if last is None or on > last:
            run(url, date(2008, 1, 1) if last is None else last, on)
            last = on
        with UnitOfWork(url) as uow:
            try:
                act(uow, on, kind, loan_id)
            except (RuleViolation, BadInput):
                pass  # refused live too: not part of the history
    run(url, last or date(2008, 1, 1), date(2009, 6, 30))


@pytest.mark.parametrize("seed", [3, 11])
def test_replaying_a_random_book_under_the_policy_in_force_reproduces_its_history_exactly(db_url: str, tmp_path: Path, seed: int):
    random_book(db_url, tmp_path, seed)
    want = recorded(db_url)
    assert {row[3] for row in want} >= {"fall_due", "review", "dispatch", "settle"}
    before = canonical_dump(db_url)
    assert reproduce(db_url, workdir=tmp_path) == want
    assert canonical_dump(db_url) == before  # the source is only read


def test_a_replay_under_the_policy_in_force_records_the_same_legal_acts_and_staff_classifications(tmp_path: Path):
    import sqlite3

    from services import acts, judgement

    url = f"sqlite:///{tmp_path / 'npl.db'}"
    migrate(create_engine(url))
    random_book(url, tmp_path, 3)
    with UnitOfWork(url) as uow:
        judgement.classify(uow, "L-03", to="loss", reason="the borrower's business closed", by="E-9", approved_by="M-1", on=date(2009, 6, 30))
    with UnitOfWork(url) as uow:  # a served letter is recorded as its demand act, with the letter's number
        acts.record_act(uow, "L-05", kind="demand", party="borrower", on=date(2009, 6, 30), method="mail", evidence="EMS123",
                        letter_no="DL-1", by="E-9")
    run(url, date(2009, 6, 30), date(2009, 9, 30))
    dispose_all()
    want = recorded(url)
    dispose_all()
    replay(url, load_policy(), date(2008, 1, 1), date(2009, 9, 30), workdir=tmp_path, keep=tmp_path / "kept")
    queries = ["SELECT loan_id, party, kind, method, took_effect_on, evidence, court, case_no, letter_no, recorded_by FROM legal_acts ORDER BY 1, 5, 3, 2",
               "SELECT loan_id, classification, staff_classification, overdue_since FROM loans ORDER BY 1"]
    source, replayed = (sqlite3.connect(p) for p in (tmp_path / "npl.db", tmp_path / "kept" / "champion.db"))
    try:
        for query in queries:
            assert replayed.execute(query).fetchall() == source.execute(query).fetchall()
        assert ("L-05", "borrower", "demand", "mail", "2009-06-30", "EMS123", None, None, "DL-1", "E-9") in replayed.execute(queries[0]).fetchall()
        assert replayed.execute("SELECT staff_classification FROM loans WHERE loan_id = 'L-03'").fetchall() == [("loss",)]
    finally:
        source.close()
        replayed.close()
    assert recorded(f"sqlite:///{tmp_path / 'kept' / 'champion.db'}") == want


# --- the live database is never written -----------------------------------------------------------------


def test_a_replay_leaves_the_sqlite_source_byte_for_byte_unchanged(demo_db: Path, tmp_path: Path):
    before = sha256(demo_db)
    out = subprocess.run([str(NPL), "replay", "--policy", str(challenger(tmp_path)), "--from", "2008-06-30", "--to", "2009-06-30",
                          "--db", f"sqlite:///{demo_db}", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert sha256(demo_db) == before


def test_a_replay_leaves_the_postgresql_source_unchanged_row_for_row(pg_url: str, tmp_path: Path):
    from tests.conftest import _empty

    _empty(pg_url)
    random_book(pg_url, tmp_path, 5)
    before = canonical_dump(pg_url)
    report = replay(pg_url, load_policy(challenger(tmp_path)), date(2008, 3, 31), date(2009, 3, 31), workdir=tmp_path)
    assert report.champion["entered_total"] > 0
    assert canonical_dump(pg_url) == before


# --- refusing an invalid challenger -----------------------------------------------------------------------


@pytest.mark.parametrize("text, key", [
    ("[limits]\nvisit = -10\n", "limits.visit"),
    ("[limits]\nvisits = 10\n", "limits.visits"),
    ("[lead_days]\nguarantee = \"soon\"\n", "lead_days.guarantee"),
])
def test_an_invalid_challenger_is_refused_with_exit_2_naming_the_key(demo_db: Path, tmp_path: Path, text: str, key: str):
    out = subprocess.run([str(NPL), "replay", "--policy", str(challenger(tmp_path, text)), "--from", "2008-06-30", "--to", "2009-06-30",
                          "--db", f"sqlite:///{demo_db}"], capture_output=True, text=True)
    assert out.returncode == 2
    assert key in out.stderr


def test_the_replay_form_refuses_an_invalid_challenger_naming_the_key():
    from flows.replay import challenger_from_text

    with pytest.raises(PolicyError, match="limits.guarantor_pressure"):
        challenger_from_text("[limits]\nguarantor_pressure = -1\n")
    assert challenger_from_text("[limits]\nvisit = 10\n").limit("visit") == 10


# --- the acceptance -------------------------------------------------------------------------------


def test_ten_days_of_visits_instead_of_thirty_presses_the_demo_guarantors_twenty_days_earlier(demo_db: Path, tmp_path: Path):
    url = f"sqlite:///{demo_db}"
    report = replay(url, load_policy(challenger(tmp_path)), date(2008, 6, 30), date(2010, 12, 31), keep=tmp_path / "kept")

    def presses(name: str) -> dict[str, date]:
        with UnitOfWork(f"sqlite:///{tmp_path / 'kept' / name}.db") as uow:
            rows = uow.session.execute(select(History.loan_id, History.on).where(History.event == "press"))
            return dict(rows.all())

    # L-0002 Yang (joint guarantor Zhang) matures 2008-06-30: falls due 07-01, review 07-01 + 3 (limits.overdue)
    # = 07-04, visit 07-04 + 7 (limits.internal_review) = 07-11; champion: press 07-11 + 30 = 08-10;
    # challenger: 07-11 + 10 = 07-21.
    # L-0006 Zhou (general guarantor Zhou Senior) matures 2008-09-01: falls due 09-02, review 09-05,
    # visit 09-12; champion: press 09-12 + 30 = 10-12; challenger: 09-12 + 10 = 09-22.
    assert presses("champion") == {"L-0002": date(2008, 8, 10), "L-0006": date(2008, 10, 12)}
    assert presses("challenger") == {"L-0002": date(2008, 7, 21), "L-0006": date(2008, 9, 22)}
    # days from falling due to guarantor pressure: 40 and 40 (08-10 − 07-01, 10-12 − 09-02) against 20 and 20
    assert report.champion["days_from_due"]["guarantor_pressure"] == {"cases": 2, "median": 40, "p90": 40}
    assert report.challenger["days_from_due"]["guarantor_pressure"] == {"cases": 2, "median": 20, "p90": 20}
    assert report.difference["days_from_due"]["guarantor_pressure"]["median"] == -20
    # the recorded acts still happen on their dates: the revitalization of L-0006 on 2008-10-20 is
    # allowed from guarantor pressure under both, so nothing is skipped
    assert report.challenger["acts"]["skipped"] == report.champion["acts"]["skipped"] == 0


def test_npl_replay_json_has_the_contract_keys_and_the_workbook_has_its_chart(demo_db: Path, tmp_path: Path):
    args = [str(NPL), "replay", "--policy", str(challenger(tmp_path)), "--from", "2008-06-30", "--to", "2008-12-31", "--db", f"sqlite:///{demo_db}"]
    out = subprocess.run([*args, "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert {"from", "to", "champion", "challenger", "difference", "limits"} <= set(data)
    assert (data["from"], data["to"]) == ("2008-06-30", "2008-12-31")
    assert data["challenger"]["entered"]["guarantor_pressure"] == data["champion"]["entered"]["guarantor_pressure"] == 2
    assert any("held fixed" in limit for limit in data["limits"])
    subprocess.run([*args, "--xlsx", str(tmp_path / "replay.xlsx")], capture_output=True, text=True, check=True)
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "replay.xlsx")
    assert {"comparison", "weeks", "limits", "workload chart"} <= set(book.sheetnames)
    assert (tmp_path / "replay-workload.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_challenger_branch_in_a_second_process_gives_the_same_comparison(demo_db: Path, tmp_path: Path):
    url = f"sqlite:///{demo_db}"
    policy = load_policy(challenger(tmp_path))
    alone = replay(url, policy, date(2008, 6, 30), date(2009, 6, 30), parallel=False).as_dict()
    assert replay(url, policy, date(2008, 6, 30), date(2009, 6, 30), parallel=True).as_dict() == alone


# --- the workload: letters the policy has the branch send ---------------------------------------------------


def test_more_lead_days_before_a_guarantee_period_ends_sends_the_demand_letter_inside_the_window(tmp_path: Path):
    # L-1 matures 2008-03-31 with a joint guarantor and no agreed period: the guarantee period runs
    # six months from maturity (Civil Code Art. 692 ¶2) to 2008-09-30, and nobody demands the
    # guarantor. The champion's letter is due 30 lead days before (2008-08-31), after --to
    # 2008-08-15: no letter in the window. The challenger's 120 lead days make it due on 2008-06-02,
    # already due when the window opens: its letter is sent on 2008-07-01, the day after --from.
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    migrate(create_engine(url))
    load(url, tmp_path, [{"loan_id": "L-1", "maturity_on": "2008-03-31"}],
         [{"loan_id": "L-1", "guarantor_name": "G1", "guarantee_type": "joint"}])
    run(url, date(2008, 1, 1), date(2008, 12, 31))
    dispose_all()
    lead = load_policy(challenger(tmp_path, "[lead_days]\nguarantee = 120\n"))
    report = replay(url, lead, date(2008, 6, 30), date(2008, 8, 15), workdir=tmp_path)
    assert report.champion["tasks"]["letters"] == 0
    assert report.challenger["tasks"]["letters"] == 1
    assert [row for row in report.challenger["tasks_by_officer_week"] if row["letters"]] == [
        {"officer": "E-01", "week": "2008-W27", "letters": 1, "visits": 0, "approvals": 0}]
    assert report.difference["tasks"]["letters"] == 1
    # to 2008-09-30 both send it, each once (a letter awaiting service is not sent again)
    report = replay(url, lead, date(2008, 6, 30), date(2008, 9, 30), workdir=tmp_path)
    assert report.champion["tasks"]["letters"] == report.challenger["tasks"]["letters"] == 1


def test_the_followed_clocks_list_the_deadlines_a_full_scan_lists_every_week(tmp_path: Path):
    from services.replay import Acts, advance, as_of
    from services.replay_book import Scratch
    from services.replay_watch import DIRTY_SQL, LegalWatch
    from services.worklist import deadlines_at_risk
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'npl.db'}"
    migrate(create_engine(url))
    random_book(url, tmp_path, 11)
    dispose_all()
    from services.replay import read_book

    policy = load_policy()
    book = read_book(url)
    scratch = Scratch(tmp_path / "scratch.db")
    d1 = date(2008, 6, 1)
    later = as_of(scratch, book, policy, d1)
    with scratch.engine.begin() as conn:
        for sql in DIRTY_SQL:
            conn.execute(text(sql))
    watch = LegalWatch(policy)
    with scratch.uow() as uow:
        watch.start(uow.session, d1)
        uow.commit()
    day, listed = d1, []
    while day < date(2009, 6, 30):
        nxt = day + timedelta(days=7)
        advance(scratch, later, policy, day + timedelta(days=1), nxt, Acts(), watch, {})
        with scratch.uow() as uow:
            listed.append((nxt, watch.listed(uow.session, nxt), len(deadlines_at_risk(uow.session, nxt, policy))))
        day = nxt
    scratch.close()
    assert any(full for _day, _watched, full in listed)
    assert [(d, w) for d, w, _full in listed] == [(d, full) for d, _w, full in listed]
