"""The `npl` command end to end, on SQLite and PostgreSQL (CONTRACT.md: commands, exit codes,
`npl show --json`).

Commands run in-process through typer's CliRunner (the same app the console script runs, without
paying the interpreter start-up per call); one test runs the installed console script itself
(.venv/bin/npl) in a subprocess.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from machines.policy import load_policy
from models.store import UnitOfWork
from services import daily

DATA = Path(__file__).with_name("data")
DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
NPL = Path(sys.executable).with_name("npl")
DEMO_IDS = [f"L-000{i}" for i in range(1, 7)]

MONEY = re.compile(r"^\d+\.\d{2}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATES = {"performing", "overdue", "internal_review", "visit", "guarantor_pressure", "litigation",
          "installment", "revitalization", "closed"}
CLOSED_REASONS = {"repaid", "settled_by_guarantor", "recovered_by_court", "written_off"}
CATEGORIES = {"normal", "special_mention", "substandard", "doubtful", "loss"}

runner = CliRunner()


def npl(db_url: str, *args: str) -> Result:
    """Run one `npl` command in-process; a crash (not a clean exit) fails the test at once."""
    result = runner.invoke(app, [*args, "--db", db_url])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def show(db_url: str, loan_id: str) -> dict:
    result = npl(db_url, "show", loan_id, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def import_demo(db_url: str, tmp_path: Path) -> None:
    """The demo portfolio, copied beside the test (rejects files are written beside the input)."""
    paths = [shutil.copy(DEMO / name, tmp_path / name) for name in ("loans.csv", "guarantors.csv", "collateral.csv")]
    result = npl(db_url, "import", *map(str, paths))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "imported: 6 loans, 3 guarantors, 2 collateral"
    assert result.stderr == ""


def run_daily(db_url: str, as_of: date, through: date | None = None) -> None:
    daily.run_dates(lambda: UnitOfWork(db_url), as_of, through, load_policy())


def yuan_dec(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def yuan(value: Decimal) -> str:
    return str(yuan_dec(value))


# --- npl import --------------------------------------------------------------------------------

# line → column of every bad row in data/loans_mixed.csv (the header is line 1)
MIXED_REJECTS = {
    3: "disbursed_on",  # 2008-13-01
    5: "annual_rate",  # 7.47%
    6: "principal",  # negative
    7: "loan_id",  # blank
    8: "maturity_on",  # before disbursement
    10: "credit_rating",  # Z
    11: "loan_id",  # duplicate of line 2
    12: "(row)",  # one field too many
}
MIXED_GOOD = ["L-GOOD-1", "L-GOOD-2", "L-GOOD-3"]


def assert_mixed_import_reported(loans: Path, exit_code: int, stdout: str, stderr: str) -> None:
    assert exit_code == 2, stderr
    assert "imported: 3 loans" in stdout
    reported = [ln for ln in stderr.splitlines() if ln.startswith("rejected: ")]
    assert len(reported) == len(MIXED_REJECTS), stderr  # nothing dropped silently
    for (line, column), text in zip(sorted(MIXED_REJECTS.items()), reported):
        prefix = f"rejected: {loans}:{line}: column {column}: "
        assert text.startswith(prefix), (prefix, text)
        assert len(text) > len(prefix), f"no reason given: {text}"
    assert "first on line 2" in reported[6]  # the duplicate names where the loan was first seen

    rejects = loans.with_name("loans_mixed.rejects.csv")
    assert f"rejected rows written to {rejects}" in stderr
    with rejects.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["line"]), r["column"]) for r in rows] == sorted(MIXED_REJECTS.items())
    assert all(r["reason"] for r in rows)
    assert rows[0]["loan_id"] == "L-BAD-DATE"  # the original columns are kept


def test_import_of_good_and_bad_rows_imports_every_good_row_reports_each_bad_one_and_exits_2(db_url, tmp_path):
    loans = Path(shutil.copy(DATA / "loans_mixed.csv", tmp_path / "loans_mixed.csv"))
    result = npl(db_url, "import", str(loans))
    assert_mixed_import_reported(loans, result.exit_code, result.stdout, result.stderr)

    for loan_id in MIXED_GOOD:
        assert show(db_url, loan_id)["state"] == "performing"
    for loan_id in ("L-BAD-DATE", "L-BAD-RATE", "L-BAD-AMOUNT", "L-BAD-MATURITY", "L-BAD-RATING", "L-BAD-WIDTH"):
        missing = npl(db_url, "show", loan_id, "--json")
        assert missing.exit_code == 1
        assert "not found" in missing.stderr
    doc = show(db_url, "L-GOOD-2")
    assert doc["balance"]["principal"] == "15000.00"  # outstanding, not the original principal
    assert show(db_url, "L-GOOD-1")["borrower"]["name"] == "Good One"  # the duplicate did not overwrite it


def test_the_installed_npl_script_reports_rejects_on_stderr_and_exits_2(sqlite_db, tmp_path):
    # once, on the embedded default: the console script itself (entry point, real stdout/stderr, exit status)
    loans = Path(shutil.copy(DATA / "loans_mixed.csv", tmp_path / "loans_mixed.csv"))
    proc = subprocess.run([str(NPL), "import", str(loans), "--db", sqlite_db], capture_output=True, text=True, timeout=120)
    assert_mixed_import_reported(loans, proc.returncode, proc.stdout, proc.stderr)
    shown = subprocess.run([str(NPL), "show", "L-GOOD-3", "--json", "--db", sqlite_db], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["loan_id"] == "L-GOOD-3"


def test_import_of_an_unreadable_file_exits_2_and_writes_nothing(db_url, tmp_path):
    bad = tmp_path / "mystery.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    loans = Path(shutil.copy(DATA / "loans_mixed.csv", tmp_path / "loans_mixed.csv"))
    result = npl(db_url, "import", str(loans), str(bad))
    assert result.exit_code == 2
    assert "mystery.csv" in result.stderr and "header" in result.stderr
    assert npl(db_url, "show", "L-GOOD-1").exit_code == 1  # the whole call was refused
    assert not loans.with_name("loans_mixed.rejects.csv").exists()


# --- npl show --json ---------------------------------------------------------------------------


def assert_contract_shape(doc: dict) -> None:
    """CONTRACT.md's `npl show --json` keys and value formats (extension keys are allowed)."""
    for key in ("loan_id", "state", "closed_reason", "classification", "dpd", "as_of", "balance", "assigned_to",
                "deadlines", "history"):
        assert key in doc, key
    assert doc["state"] in STATES
    if doc["state"] == "closed":
        assert doc["closed_reason"] in CLOSED_REASONS
        # issue 15 rule 8: a closed case has no classification, only the one it had at close
        assert doc["classification"] is None and doc["classification_at_close"] in CATEGORIES
    else:
        assert doc["closed_reason"] is None
        assert doc["classification"] in CATEGORIES and doc["classification_at_close"] is None
    assert doc["restructured"] is None or set(doc["restructured"]) == {"on", "observation_from", "observation_until", "floor"}
    assert isinstance(doc["dpd"], int) and doc["dpd"] >= 0
    assert ISO_DATE.match(doc["as_of"])
    balance = doc["balance"]
    assert set(balance) >= {"principal", "interest", "penalty", "costs", "total"}
    for part in ("principal", "interest", "penalty", "costs", "total"):
        assert isinstance(balance[part], str) and MONEY.match(balance[part]), (part, balance[part])
    # issue 15 rule 4: compound interest and the delayed-performance interest are parts of their own
    parts = sum(Decimal(balance[p]) for p in ("principal", "interest", "penalty", "costs", "compound", "delayed"))
    assert Decimal(balance["total"]) == parts
    assert doc["assigned_to"] is None or isinstance(doc["assigned_to"], str)
    deadlines = doc["deadlines"]
    assert set(deadlines) >= {"state_deadline", "guarantees", "limitation_end", "enforcement_apply_by"}
    for key in ("state_deadline", "limitation_end", "enforcement_apply_by"):
        assert deadlines[key] is None or ISO_DATE.match(deadlines[key]), (key, deadlines[key])
    for g in deadlines["guarantees"]:
        assert set(g) >= {"guarantor", "type", "period_end", "demanded_on"}
        assert g["type"] in ("joint", "general")
        assert ISO_DATE.match(g["period_end"])
        assert g["demanded_on"] is None or ISO_DATE.match(g["demanded_on"])
    history = doc["history"]
    assert history, "every demo case has fallen due by now"
    for h in history:
        assert set(h) >= {"from", "to", "event", "on", "by", "reason"}
        assert h["from"] in STATES and h["to"] in STATES
        assert ISO_DATE.match(h["on"]) and h["by"] and isinstance(h["reason"], str)
    assert [h["on"] for h in history] == sorted(h["on"] for h in history)  # oldest first
    assert history[0]["from"] == "performing"
    for before, after in zip(history, history[1:]):
        assert before["to"] == after["from"]
    assert history[-1]["to"] == doc["state"]


def test_show_json_matches_the_contract_for_every_demo_case_after_the_daily_runs(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 12, 31))
    paid = npl(db_url, "pay", "L-0004", "47000.00", "--on", "2008-12-31", "--by", "E-02")  # interest-free loan
    assert paid.exit_code == 0, paid.stderr
    assert "principal 47000.00" in paid.stdout and "state closed (repaid)" in paid.stdout  # prints its allocation

    docs = {loan_id: show(db_url, loan_id) for loan_id in DEMO_IDS}
    for loan_id, doc in docs.items():
        assert doc["loan_id"] == loan_id
        assert doc["as_of"] == "2008-12-31"
        assert_contract_shape(doc)
        assert doc["history"][0]["event"] == "fall_due"
        assert all(h["by"] == "system" for h in doc["history"] if h["event"] != "settle")

    closed = docs["L-0004"]
    assert (closed["state"], closed["closed_reason"]) == ("closed", "repaid")
    assert closed["balance"]["total"] == "0.00"
    assert closed["deadlines"]["state_deadline"] is None
    assert closed["history"][-1] | {"reason": None} == {
        "from": "visit", "to": "closed", "event": "settle", "on": "2008-12-31", "by": "E-02", "reason": None,
        "approved_by": None,
    }

    # Yang: 49,000 due 2008-06-30, interest paid to 2007-12-30, joint guarantor Zhang
    yang = docs["L-0002"]
    assert yang["state"] == "guarantor_pressure"
    assert (yang["classification"], yang["dpd"]) == ("substandard", 184)  # 2008-06-30 → 2008-12-31
    assert yang["assigned_to"] == "E-02"
    daily_rate = Decimal("49000") * Decimal("0.0747") / 360  # ACT/360 (DOMAIN.md §5)
    interest = yuan_dec(daily_rate * 183)  # 2007-12-30 → 2008-06-30, due with the principal on 2008-06-30
    compound = yuan_dec(interest * Decimal("0.0747") * Decimal("1.5") / 360 * 184)  # on it at the penalty rate (PBoC 2003 item 三)
    assert yang["balance"] == {
        "principal": "49000.00",
        "interest": yuan(interest),
        "penalty": yuan(daily_rate * Decimal("1.5") * 184),  # 2008-07-01 → 2008-12-31 at rate × 1.5
        "costs": "0.00",
        "total": yuan(Decimal("49000") + interest + yuan_dec(daily_rate * Decimal("1.5") * 184) + compound),
        "compound": yuan(compound),
        "delayed": "0.00",
    }
    # the run lists a demand task but records no demand (issue 14): nobody demanded Zhang within
    # the period (Guarantee Law 1995 Art. 26), so the guarantee lapsed on 2008-12-30
    assert yang["deadlines"]["guarantees"] == [
        {"guarantor": "Zhang", "type": "joint", "period_end": "2008-12-30", "demanded_on": None},
    ]
    zhang = next(c for c in yang["clocks"] if c["clock"] == "guarantee_period")
    assert (zhang["party"], zhang["status"], zhang["end"], zhang["act"]) == ("Zhang", "lapsed", "2008-12-30", None)
    # GPCL 1986 Art. 135: two years from maturity, run out before 2017-10-01 (SPC 2018 transition Art. 3)
    assert yang["deadlines"]["limitation_end"] == "2010-06-30"
    assert all(c["status"] == "not_applicable" for c in closed["clocks"])  # a closed case has no live clock
    assert yang["deadlines"]["enforcement_apply_by"] is None
    assert [(h["from"], h["to"], h["event"], h["on"]) for h in yang["history"]] == [
        ("performing", "overdue", "fall_due", "2008-07-01"),
        ("overdue", "internal_review", "review", "2008-07-04"),
        ("internal_review", "visit", "dispatch", "2008-07-11"),
        ("visit", "guarantor_pressure", "press", "2008-08-10"),
    ]
    assert yang["deadlines"]["state_deadline"] == "2008-10-09"  # 60 days of guarantor pressure

    # the general guarantee of Zhou Senior (L-0006): six months from maturity, no demand by the run
    zhou = docs["L-0006"]["deadlines"]["guarantees"]
    assert zhou == [{"guarantor": "Zhou Senior", "type": "general", "period_end": "2009-03-01", "demanded_on": None}]
    # Wu's joint guarantee on the 2006 Xu loan lapsed long before the first run
    assert docs["L-0003"]["deadlines"]["guarantees"][0]["period_end"] == "2007-03-13"
    assert docs["L-0003"]["classification"] == "loss"


def test_show_of_an_unknown_loan_is_refused_with_one_line(db_url):
    result = npl(db_url, "show", "L-NOPE", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "L-NOPE" in result.stderr


# --- npl escalate ------------------------------------------------------------------------------


def test_escalate_refuses_a_move_the_machine_forbids_and_accepts_an_allowed_one(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 7, 5))
    before = show(db_url, "L-0002")
    assert before["state"] == "internal_review"

    for target, code in (("overdue", 1), ("performing", 1), ("closed", 1), ("installment", 1), ("no_such_state", 2)):
        refused = npl(db_url, "escalate", "L-0002", "--to", target, "--reason", "try", "--by", "E-02")
        assert refused.exit_code == code, (target, refused.stdout, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert refused.stdout == ""
    assert show(db_url, "L-0002") == before  # state and history unchanged

    ok = npl(db_url, "escalate", "L-0002", "--to", "visit", "--reason", "borrower avoids the branch", "--by", "E-02")
    assert ok.exit_code == 0, ok.stderr
    after = show(db_url, "L-0002")
    assert after["state"] == "visit"
    assert after["history"][:-1] == before["history"]  # appended, never rewritten
    assert after["history"][-1] == {
        "from": "internal_review", "to": "visit", "event": "dispatch", "on": "2008-07-05", "by": "E-02",
        "reason": "borrower avoids the branch", "approved_by": None,
    }

    back = npl(db_url, "escalate", "L-0002", "--to", "internal_review", "--reason", "undo", "--by", "E-02")
    assert back.exit_code == 1  # never back down the ladder
    assert "ladder" in back.stderr
    assert show(db_url, "L-0002") == after


def test_escalate_to_litigation_needs_an_approver_who_is_not_the_requester(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 7, 5))
    before = show(db_url, "L-0003")
    args = ["escalate", "L-0003", "--to", "litigation", "--reason", "guarantee lapsed; sue the borrower", "--by", "E-03"]

    missing = npl(db_url, *args)
    assert missing.exit_code == 1
    assert "--approved-by" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    same = npl(db_url, *args, "--approved-by", "E-03")
    assert same.exit_code == 1
    assert "approver" in same.stderr
    same_other_case = npl(db_url, *args, "--approved-by", " e-03 ")
    assert same_other_case.exit_code == 1
    assert show(db_url, "L-0003") == before

    ok = npl(db_url, *args, "--approved-by", "M-01", "--on", "2008-07-06")
    assert ok.exit_code == 0, ok.stderr
    assert "approved by M-01" in ok.stdout
    after = show(db_url, "L-0003")
    assert after["state"] == "litigation"
    assert after["history"][-1] == {
        "from": "internal_review", "to": "litigation", "event": "sue", "on": "2008-07-06", "by": "E-03",
        "reason": "guarantee lapsed; sue the borrower", "approved_by": "M-01",
    }


# --- exit code 2 on bad input ------------------------------------------------------------------


def test_bad_input_on_the_command_line_exits_2(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    for args in (
        ["pay", "L-0002", "12,34.567", "--on", "2008-07-01"],
        ["pay", "L-0002", "-5", "--on", "2008-07-01"],
        ["pay", "L-0002", "100", "--on", "2008-02-30"],
        ["pay", "L-0002", "100", "--on", "2008-07-01", "--payer", "neighbour"],
        ["pay", "L-0002", "100"],  # no --on and the daily flow never ran
        ["visit", "L-0002", "--on", "2008-07-01", "--outcome", "promise"],  # no amount or date
        ["escalate", "L-0002", "--to", "visit", "--reason", "  ", "--by", "E-02", "--on", "2008-07-01"],
    ):
        result = npl(db_url, *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert result.stderr.strip(), args
    with UnitOfWork(db_url) as uow:
        from models.tables import History, Payment

        assert uow.session.query(Payment).count() == 0
        assert uow.session.query(History).count() == 0


# --- npl take-asset / dispose-asset ---------------------------------------------------------------


def test_take_asset_prints_the_settlement_and_the_disposal_deadline_and_dispose_asset_stops_the_clock(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 7, 5))
    taken = npl(db_url, "take-asset", "L-0002", "--asset", "A-YANG-FACTORY", "--value", "30000.00", "--by", "E-02")
    assert taken.exit_code == 0, taken.stderr
    assert taken.stdout.splitlines()[0] == (
        "L-0002: asset A-YANG-FACTORY taken in settlement at 30000.00 on 2008-07-05; dispose of it by 2010-07-05")
    assert show(db_url, "L-0002")["state"] != "closed"
    sold = npl(db_url, "dispose-asset", "L-0002", "--asset", "A-YANG-FACTORY", "--proceeds", "160000.00", "--by", "E-02")
    assert (sold.exit_code, sold.stdout.strip()) == (0, "L-0002: asset A-YANG-FACTORY disposed of on 2008-07-05")


# --- one line per error; -v for the detail ----------------------------------------------------------


def test_a_refusal_names_the_command_lines_options_in_one_line_and_verbose_adds_the_traceback(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1))
    args = ["visit", "L-0002", "--outcome", "promise"]
    plain = npl(db_url, *args)
    assert (plain.exit_code, plain.stdout, plain.stderr) == (2, "", "npl: a promise needs --promise-amount and --promise-date\n")
    detailed = npl(db_url, "-v", *args)
    assert detailed.exit_code == 2
    assert "Traceback" in detailed.stderr and "BadInput" in detailed.stderr
    assert detailed.stderr.splitlines()[-1] == "npl: a promise needs --promise-amount and --promise-date"
    missing = npl(db_url, "escalate", "L-0002", "--to", "litigation", "--reason", "sue", "--by", "E-02")
    assert (missing.exit_code, missing.stderr) == (1, "npl: sue: needs an approval by a second person (--approved-by)\n")


def test_a_database_that_cannot_be_reached_is_one_line_and_exit_1():
    result = runner.invoke(app, ["show", "L-0001", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("npl: database error: "), result.stderr


def test_the_installed_script_answers_a_usage_error_in_one_line_with_exit_2(tmp_path):
    for args, words in ((["pay", "L-0001"], "Missing argument 'AMOUNT'"), (["payy"], "No such command 'payy'"),
                        (["visit", "L-0001"], "Missing option '--outcome'")):
        done = subprocess.run([str(NPL), *args, "--db", f"sqlite:///{tmp_path / 'npl.db'}"], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("npl: ") and words in done.stderr, done.stderr


# --- safe retries; payments and actions in `npl show --json` ---------------------------------------------


def test_a_command_run_again_with_its_key_prints_the_same_and_books_nothing(db_url, tmp_path):
    from tests.canonical import canonical_dump

    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 7, 5))
    args = ["pay", "L-0002", "1000.00", "--by", "E-02", "--key", "core-tx-881", "--json"]
    first = npl(db_url, *args)
    assert first.exit_code == 0, first.stderr
    booked = canonical_dump(db_url)
    again = npl(db_url, *args)
    assert (again.exit_code, again.stdout) == (0, first.stdout)
    assert canonical_dump(db_url) == booked
    other = npl(db_url, "visit", "L-0002", "--outcome", "contacted", "--key", "core-tx-881")
    assert other.exit_code == 1 and "already used for payment on L-0002" in other.stderr
    assert canonical_dump(db_url) == booked


def test_show_json_lists_payments_and_every_action_with_approved_and_rejected_requests_keeping_the_contract_keys(db_url, tmp_path):
    import_demo(db_url, tmp_path)
    run_daily(db_url, date(2008, 7, 1), date(2008, 7, 5))
    before = show(db_url, "L-0002")
    for args in (
        ["pay", "L-0002", "1000.00", "--payer", "guarantor:Zhang", "--by", "E-02", "--on", "2008-07-03"],
        ["visit", "L-0002", "--outcome", "promise", "--promise-amount", "500", "--promise-date", "2008-07-20", "--by", "E-02"],
        ["demand", "L-0002", "--guarantor", "Zhang", "--by", "E-02"],
        ["escalate", "L-0002", "--to", "litigation", "--reason", "sue", "--by", "E-02", "--approved-by", "M-01"],
    ):
        result = npl(db_url, *args)
        assert result.exit_code == 0, (args, result.stderr)
    with UnitOfWork(db_url) as uow:
        from services import escalations

        escalations.record_rejection(uow, "L-0002", to="written_off", reason="hopeless", requested_by="E-02", rejected_by="M-01",
                                     comment="the factory is worth more")
    doc = show(db_url, "L-0002")
    assert list(doc)[:len(before)] == list(before)  # the contract's keys stay, in their order
    assert doc["payments"] == [{
        "on": "2008-07-03", "amount": "1000.00", "payer": "guarantor:Zhang",
        "allocation": doc["payments"][0]["allocation"], "by": "E-02", "reference": None,
    }]
    parts = doc["payments"][0]["allocation"]
    assert set(parts) == {"costs", "penalty", "interest", "principal", "compound", "delayed"} and all(MONEY.match(v) for v in parts.values())
    assert sum(Decimal(v) for v in parts.values()) == Decimal("1000.00")
    kinds = [(a["kind"], a["on"], a["by"], a["outcome"], a["target"]) for a in doc["actions"]]
    assert kinds == [
        ("visit", "2008-07-05", "E-02", "promise", None),
        ("promise", "2008-07-05", "E-02", None, None),
        ("demand", "2008-07-05", "E-02", "issued", "Zhang"),
        ("approval_rejected", "2008-07-05", "M-01", "rejected", "written_off"),
        ("approval_granted", "2008-07-05", "M-01", "approved", "litigation"),
    ]
    promise = doc["actions"][1]
    assert (promise["amount"], promise["due_on"], promise["status"]) == ("500.00", "2008-07-20", "open")
    assert f"E-02 asked to move {before['state']} → litigation: sue" in doc["actions"][4]["detail"]
    assert "the factory is worth more" in doc["actions"][3]["detail"]
    text = npl(db_url, "show", "L-0002")
    assert "  payments:" in text.stdout and "approval_rejected by M-01" in text.stdout
