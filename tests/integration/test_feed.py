"""The nightly feed (CONTRACT.md, "The nightly feed"): the inbox's files ingested in name order,
each exactly once — a repeated file is skipped, a repayments file delivered twice books nothing
twice, and a crash mid-file leaves the file to be applied once by the next run (SQLite and
PostgreSQL)."""

from __future__ import annotations

import shutil
import subprocess
from functools import partial
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import store
from models.store import UnitOfWork
from models.tables import FeedFile, Loan, Payment
from models.domain.errors import BadInput
from flows.i18n import t_in
from services.feed import as_dict, folder_in, inbox_path, ingest_inbox, markdown, nightly, wait_for_export
from services.importing import import_paths
from tests.builders import LOAN_DEFAULTS, run, write_csv

ROOT = Path(__file__).resolve().parents[2]
LOANS = [{**LOAN_DEFAULTS, "loan_id": "L-1"}, {**LOAN_DEFAULTS, "loan_id": "L-2", "principal": "8000.00",
                                               "outstanding_principal": "8000.00"}]
LOANS_NIGHT2 = [{**LOANS[0], "interest_arrears": "10.00"}, LOANS[1], {**LOAN_DEFAULTS, "loan_id": "L-3"}]
GUARANTORS = [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}]
PAY_NIGHT1 = [{"loan_id": "L-1", "paid_on": "2008-07-01", "amount": "1200.00", "reference": "TX-1"},
              {"loan_id": "L-2", "paid_on": "2008-07-01", "amount": "300.00", "reference": "TX-2"}]
PAY_NIGHT2 = [PAY_NIGHT1[0],  # the core system sends yesterday's transaction again
              {"loan_id": "L-1", "paid_on": "2008-07-02", "amount": "50.00", "reference": "TX-3", "payer": "guarantor:Zhang"}]


def night1(inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    write_csv(inbox / "20080701-1-loans.csv", LOANS)
    write_csv(inbox / "20080701-2-guarantors.csv", GUARANTORS)
    write_csv(inbox / "20080701-3-repayments.csv", PAY_NIGHT1)


def night2(inbox: Path) -> None:
    write_csv(inbox / "20080702-1-loans.csv", LOANS_NIGHT2)
    shutil.copy(inbox / "processed" / "20080701-2-guarantors.csv", inbox / "20080702-2-guarantors.csv")  # repeated
    shutil.copy(inbox / "processed" / "20080701-3-repayments.csv", inbox / "20080702-3-repayments.csv")  # twice
    write_csv(inbox / "20080702-4-repayments.csv", PAY_NIGHT2)


def loans_state(url: str) -> list[tuple[Any, ...]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(Loan).order_by(Loan.loan_id))
        return [(r.loan_id, r.outstanding_principal_fen, r.interest_fen, r.penalty_fen, r.costs_fen, r.accrued_to,
                 r.last_payment_on, r.state, r.limitation_start) for r in rows]


def payments(url: str) -> list[tuple[Any, ...]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(Payment).order_by(Payment.paid_on, Payment.reference))
        return [(p.loan_id, p.paid_on, p.amount_fen, p.payer, p.guarantor_name, p.costs_fen, p.penalty_fen,
                 p.interest_fen, p.principal_fen, p.reference) for p in rows]


def feed_files(url: str) -> list[tuple[Any, ...]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(FeedFile).order_by(FeedFile.id))
        return [(f.name, f.kind, f.outcome, f.rows_accepted, f.rows_rejected, f.flow_run_id, f.ingested_on) for f in rows]


def once_by_hand(url: str, folder: Path) -> None:
    """The same two nights with every file imported once, by hand: what the feed must equal."""
    folder.mkdir()
    import_paths(url, [write_csv(folder / "l1.csv", LOANS), write_csv(folder / "g1.csv", GUARANTORS),
                       write_csv(folder / "r1.csv", PAY_NIGHT1)])
    run(url, date(2008, 7, 1))
    import_paths(url, [write_csv(folder / "l2.csv", LOANS_NIGHT2), write_csv(folder / "r2.csv", PAY_NIGHT2[1:])])
    run(url, date(2008, 7, 2))


def test_two_nights_with_a_repeated_file_and_repayments_delivered_twice_apply_everything_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    night1(inbox)
    first = ingest_inbox(db_url, inbox, flow_run_id="run-1", business_date=date(2008, 7, 1))
    run(db_url, date(2008, 7, 1))
    night2(inbox)
    second = ingest_inbox(db_url, inbox, flow_run_id="run-2")  # business date: the day after the last run
    run(db_url, date(2008, 7, 2))
    reference = f"sqlite:///{tmp_path / 'by-hand.db'}"
    once_by_hand(reference, tmp_path / "by-hand")

    assert [(f.name, f.outcome, f.kind, f.accepted) for f in first.files] == [
        ("20080701-1-loans.csv", "processed", "loans", 2),
        ("20080701-2-guarantors.csv", "processed", "guarantors", 1),
        ("20080701-3-repayments.csv", "processed", "repayments", 2),
    ]
    assert [(f.name, f.outcome, f.accepted, f.already_booked) for f in second.files] == [
        ("20080702-1-loans.csv", "processed", 3, 0),
        ("20080702-2-guarantors.csv", "skipped", 0, 0),
        ("20080702-3-repayments.csv", "skipped", 0, 0),
        ("20080702-4-repayments.csv", "processed", 1, 1),
    ]
    assert second.notes == [
        "20080702-2-guarantors.csv: already ingested as 20080701-2-guarantors.csv for 2008-07-01 (same checksum): not applied again",
        "20080702-3-repayments.csv: already ingested as 20080701-3-repayments.csv for 2008-07-01 (same checksum): not applied again",
    ]
    assert loans_state(db_url) == loans_state(reference)
    assert payments(db_url) == payments(reference)
    assert [p[-1] for p in payments(db_url)] == ["TX-1", "TX-2", "TX-3"]
    assert feed_files(db_url) == [
        ("20080701-1-loans.csv", "loans", "processed", 2, 0, "run-1", date(2008, 7, 1)),
        ("20080701-2-guarantors.csv", "guarantors", "processed", 1, 0, "run-1", date(2008, 7, 1)),
        ("20080701-3-repayments.csv", "repayments", "processed", 2, 0, "run-1", date(2008, 7, 1)),
        ("20080702-1-loans.csv", "loans", "processed", 3, 0, "run-2", date(2008, 7, 2)),
        ("20080702-4-repayments.csv", "repayments", "processed", 1, 0, "run-2", date(2008, 7, 2)),
    ]
    assert sorted(p.name for p in inbox.iterdir()) == ["processed"]
    assert len(list((inbox / "processed").iterdir())) == 7


def test_a_file_nothing_could_be_read_from_is_recorded_and_set_aside_in_rejected(db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-export.csv").write_bytes("loan_id,borrower_name\n".encode())
    (inbox / "b-gbk.csv").write_bytes("loan_id,paid_on,amount,reference\nL-1,2008-07-01,1.00,\xd5\xc5\n".encode("latin-1"))

    result = ingest_inbox(db_url, inbox)
    shutil.copy(inbox / "rejected" / "b-gbk.csv", inbox / "c-gbk-again.csv")  # the same file dropped in again
    again = ingest_inbox(db_url, inbox)

    assert [(f.name, f.outcome) for f in result.files] == [("a-export.csv", "rejected"), ("b-gbk.csv", "rejected")]
    assert "header matches no import file kind" in result.files[0].note
    assert "not valid UTF-8" in result.files[1].note
    assert [(f[0], f[1], f[2]) for f in feed_files(db_url)] == [("a-export.csv", None, "rejected"), ("b-gbk.csv", None, "rejected")]
    assert [(f.name, f.outcome) for f in again.files] == [("c-gbk-again.csv", "skipped")]
    assert len(feed_files(db_url)) == 2
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["a-export.csv", "b-gbk.csv", "c-gbk-again.csv"]


def test_rejected_rows_are_reported_and_their_rejects_file_goes_with_the_file(db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "1-loans.csv", [LOANS[0], {**LOANS[1], "principal": "1,000.00"}])
    write_csv(inbox / "2-repayments.csv", [{"loan_id": "L-9", "paid_on": "2008-07-01", "amount": "1.00", "reference": "X"}])
    (inbox / ".hidden.csv").write_text("loan_id\n", encoding="utf-8")
    (inbox / "3-loans.csv.tmp").write_text("still being written", encoding="utf-8")

    result = ingest_inbox(db_url, inbox)

    assert [(f.name, f.outcome, f.accepted, f.rejected) for f in result.files] == [
        ("1-loans.csv", "processed", 1, 1), ("2-repayments.csv", "rejected", 0, 1),
    ]
    assert result.files[1].note == "every row was rejected"
    assert [(Path(r.file).name, r.line, r.column) for r in result.rejected_rows] == [
        ("1-loans.csv", 3, "principal"), ("2-repayments.csv", 2, "loan_id"),
    ]
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["1-loans.csv", "1-loans.rejects.csv"]
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["2-repayments.csv", "2-repayments.rejects.csv"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [".hidden.csv", "3-loans.csv.tmp"]


def test_files_of_the_same_name_on_two_nights_are_both_kept_in_processed(db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "loans.csv", LOANS)
    ingest_inbox(db_url, inbox)
    write_csv(inbox / "loans.csv", LOANS_NIGHT2)
    result = ingest_inbox(db_url, inbox)

    assert result.files[0].outcome == "processed"
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["loans.1.csv", "loans.csv"]


def test_the_inbox_defaults_to_npl_inbox_then_var_inbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NPL_INBOX", raising=False)
    assert inbox_path() == Path("var/inbox")
    monkeypatch.setenv("NPL_INBOX", str(tmp_path))
    assert inbox_path() == tmp_path
    assert ingest_inbox(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "missing").files == []


# --- crashes --------------------------------------------------------------------------------------

CHILD = r"""
import os, signal, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from models.importing.upsert import Store
from services import feed

where = sys.argv[3]
if where == "before-commit":  # the file's rows written, its feed_files row added, the commit not made
    close = Store.close
    def dying_close(self):
        close(self)
        os.kill(os.getpid(), signal.SIGKILL)
    Store.close = dying_close
else:  # committed, not yet moved out of the inbox
    def dying_move(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    feed._move = dying_move
feed.ingest_inbox(sys.argv[1], Path(sys.argv[2]))
"""


@pytest.mark.parametrize("where", ["before-commit", "after-commit"])
def test_a_kill_during_ingestion_leaves_the_file_to_be_applied_once_by_the_rerun(
    db_url: str, tmp_path: Path, where: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "20080701-1-loans.csv", LOANS)
    write_csv(inbox / "20080701-2-guarantors.csv", GUARANTORS)
    ingest_inbox(db_url, inbox)
    write_csv(inbox / "20080701-3-repayments.csv", [*PAY_NIGHT1, {**PAY_NIGHT1[0], "loan_id": "L-9", "reference": "TX-9"}])
    store.dispose_all()
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), db_url, str(inbox), where],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-800:]
    store.dispose_all()

    assert (inbox / "20080701-3-repayments.csv").exists()  # still waiting in the inbox
    assert len(payments(db_url)) == (0 if where == "before-commit" else 2)
    rerun = ingest_inbox(db_url, inbox)

    assert [(f.name, f.outcome) for f in rerun.files] == [
        ("20080701-3-repayments.csv", "processed" if where == "before-commit" else "skipped")
    ]
    assert [p[-1] for p in payments(db_url)] == ["TX-1", "TX-2"]
    assert [f[0] for f in feed_files(db_url)] == ["20080701-1-loans.csv", "20080701-2-guarantors.csv", "20080701-3-repayments.csv"]
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == [
        "20080701-1-loans.csv", "20080701-2-guarantors.csv", "20080701-3-repayments.csv", "20080701-3-repayments.rejects.csv",
    ]
    assert [p.name for p in inbox.iterdir() if p.is_file() and not p.name.endswith(".tmp")] == []


# --- waiting for the night's export (the scheduled run) -------------------------------------------

def feed_policy(wait_minutes: float, expect: tuple[str, ...] = ("loans",)) -> Any:
    from dataclasses import replace

    from machines.policy import Feed, load_policy

    return replace(load_policy(), feed=Feed(wait_minutes, expect))


class FakeTime:
    """A clock that moves only when the waiting code sleeps; ``on_sleep`` acts between looks."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def test_the_run_looks_every_thirty_seconds_until_the_export_arrives(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "20080701-3-repayments.csv", PAY_NIGHT1)  # repayments alone are not the export
    fake = FakeTime(lambda n: n == 3 and write_csv(inbox / "20080701-1-loans.csv", LOANS))

    looked = wait_for_export(sqlite_db, inbox, date(2008, 7, 1), feed_policy(30), sleep=fake.sleep, clock=fake.clock)

    assert looked.missing == () and looked.expected == ("loans",)
    assert fake.sleeps == [30.0, 30.0, 30.0] and looked.waited_seconds == 90.0


def test_a_missing_export_is_given_up_after_the_policy_wait_and_never_later(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "20080701-3-repayments.csv", PAY_NIGHT1)
    fake = FakeTime()

    looked = wait_for_export(sqlite_db, inbox, date(2008, 7, 1), feed_policy(1.25, ("loans", "repayments")),
                             sleep=fake.sleep, clock=fake.clock)
    at_once = wait_for_export(sqlite_db, tmp_path / "none", date(2008, 7, 1), feed_policy(0), sleep=fake.sleep, clock=fake.clock)

    assert looked.missing == ("loans",) and fake.sleeps[:3] == [30.0, 30.0, 15.0] and looked.waited_seconds == 75.0
    assert at_once.missing == ("loans",) and at_once.waited_seconds == 0 and len(fake.sleeps) == 3


def test_an_export_already_ingested_for_the_date_is_not_missing(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    night1(inbox)
    ingest_inbox(sqlite_db, inbox, business_date=date(2008, 7, 1))  # by hand, before the scheduled run
    fake = FakeTime()

    today = wait_for_export(sqlite_db, inbox, date(2008, 7, 1), feed_policy(5), sleep=fake.sleep, clock=fake.clock)
    tomorrow = wait_for_export(sqlite_db, inbox, date(2008, 7, 2), feed_policy(0), sleep=fake.sleep, clock=fake.clock)

    assert today.missing == () and fake.sleeps == []
    assert tomorrow.missing == ("loans",)


@pytest.mark.parametrize("name", ["../x", "..", "sub/loans.csv", "/etc/passwd", "a\\b.csv", ".hidden.csv", ""])
def test_a_file_named_by_hand_must_be_a_plain_name_in_the_inbox(sqlite_db: str, tmp_path: Path, name: str) -> None:
    inbox = tmp_path / "inbox"
    night1(inbox)
    with pytest.raises(BadInput):
        ingest_inbox(sqlite_db, inbox, names=[name])
    assert feed_files(sqlite_db) == [] and not (inbox / "processed").exists()


def test_only_the_files_named_by_hand_are_ingested_and_a_name_not_waiting_is_refused(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    night1(inbox)
    with pytest.raises(BadInput, match="not waiting in the inbox .*: nope.csv"):
        ingest_inbox(sqlite_db, inbox, names=["20080701-1-loans.csv", "nope.csv"])
    result = ingest_inbox(sqlite_db, inbox, names=["20080701-1-loans.csv"])
    assert [f.name for f in result.files] == ["20080701-1-loans.csv"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["20080701-2-guarantors.csv", "20080701-3-repayments.csv"]


@pytest.mark.parametrize("folder", ["..", "../inbox", "/tmp", "night/../..", ".hidden"])
def test_a_folder_given_by_hand_must_lie_inside_the_inbox(tmp_path: Path, folder: str) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "2008-07-01").mkdir(parents=True)
    (inbox / ".hidden").mkdir()
    assert folder_in(inbox, None) == inbox and folder_in(inbox, "2008-07-01") == inbox / "2008-07-01"
    with pytest.raises(BadInput):
        folder_in(inbox, folder)


def test_the_summary_section_lists_files_rejected_rows_with_a_count_and_a_missing_export(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "1-loans.csv", [LOANS[0], {**LOANS[1], "principal": "1,000.00"}, {**LOANS[1], "loan_id": ""}])
    result = nightly(sqlite_db, inbox, business_date=date(2008, 7, 1), wait=True, policy=feed_policy(0, ("loans", "repayments")))
    data = as_dict(result, rows=1)

    text = markdown(data, partial(t_in, "en"))  # the English labels; the zh default is tested in tests/unit/test_i18n.py
    assert data["missing"] == ["repayments"] and data["rejected_count"] == 2 and len(data["rejected_rows"]) == 1
    assert "**Export missing**: no repayments file for 2008-07-01 after waiting 0 min" in text
    assert "| 1-loans.csv | loans | processed | 1 | 2 | 0 |  |" in text
    assert "### Rejected rows (2)" in text and "| 1-loans.csv | 3 | principal |" in text
    assert "(the first 1 of 2 shown;" in text


def test_a_run_ingests_for_the_first_date_it_advances_or_its_own_date_when_that_is_done(sqlite_db: str, tmp_path: Path) -> None:
    from services.feed import next_business_date

    import_paths(sqlite_db, [write_csv(tmp_path / "loans.csv", LOANS)])
    assert next_business_date(sqlite_db, date(2008, 7, 1)) == date(2008, 7, 1)  # no run yet
    run(sqlite_db, date(2008, 7, 1))
    assert next_business_date(sqlite_db, date(2008, 7, 5)) == date(2008, 7, 2)  # a catch-up from 07-02
    # run by hand before the schedule: the scheduled run looks for 07-01's export, which came
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "loans.csv", LOANS)
    ingest_inbox(sqlite_db, inbox, business_date=next_business_date(sqlite_db, date(2008, 7, 1)))
    fake = FakeTime()
    looked = wait_for_export(sqlite_db, inbox, next_business_date(sqlite_db, date(2008, 7, 1)), feed_policy(30),
                             sleep=fake.sleep, clock=fake.clock)
    assert looked.missing == () and fake.sleeps == []
