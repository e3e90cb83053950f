"""Issue 15 rule 4, end to end on SQLite and PostgreSQL: compound interest (PBoC 2003 notice
item 三), the doubled interest for delayed performance of a judgment (Civil Procedure Law
Art. 264; SPC 2014 interpretation) and the misused-loan uplift, in `show` and `pay`.

Literal loans from tests.builders: 100,000.00 at 7.2 % disbursed 2008-01-01, due 2008-06-30:
contractual interest 3,620.00 (181 days), due with the principal on 2008-06-30.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from flows.present import jsonable
from models.store import UnitOfWork
from services import case_view, cases
from services.importing import import_paths
from tests.builders import load, run

D = Decimal


def show(url: str, loan_id: str) -> dict:
    with UnitOfWork(url) as uow:
        return jsonable(case_view.show(uow, loan_id))


def pay(url: str, loan_id: str, amount: str, on: date) -> dict:
    with UnitOfWork(url) as uow:
        return jsonable(cases.pay(uow, loan_id, D(amount), on=on, by="E-01"))


def test_show_and_pay_include_compound_interest_on_the_interest_unpaid_since_maturity(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 6, 30))
    assert show(db_url, "L-1")["balance"]["compound"] == "0.00"  # due today: none yet
    run(db_url, date(2008, 7, 1))
    # one day on 3,620.00 at 7.2 % × 1.5 = 10.8 %: 1.086 → 1.09
    assert show(db_url, "L-1")["balance"]["compound"] == "1.09"
    run(db_url, date(2008, 7, 2), date(2008, 7, 10))
    balance = show(db_url, "L-1")["balance"]
    assert balance == {"principal": "100000.00", "interest": "3620.00", "penalty": "300.00", "costs": "0.00",
                       "compound": "10.86", "delayed": "0.00", "total": "103930.86"}

    paid = pay(db_url, "L-1", "1000.00", date(2008, 7, 10))
    assert paid["allocation"] == {"costs": "0.00", "penalty": "300.00", "compound": "10.86", "interest": "689.14",
                                  "principal": "0.00", "delayed": "0.00"}
    assert sum(D(v) for v in paid["allocation"].values()) == D("1000.00")
    assert show(db_url, "L-1")["payments"][0]["allocation"] == paid["allocation"]
    # the rest of the interest (2,930.86) keeps compounding: 10 days at 10.8 % → 8.79
    run(db_url, date(2008, 7, 11), date(2008, 7, 20))
    assert show(db_url, "L-1")["balance"]["compound"] == "8.79"


def test_the_compound_switch_off_books_none(db_url, tmp_path, monkeypatch):
    policy = tmp_path / "policy.toml"
    policy.write_text("[money]\ncompound = false\n", encoding="utf-8")
    monkeypatch.setenv("NPL_POLICY", str(policy))
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    assert show(db_url, "L-1")["balance"]["compound"] == "0.00"
    assert show(db_url, "L-1")["balance"]["total"] == "103920.00"


def test_a_misused_loan_takes_the_misused_uplift_for_penalty_and_compound_interest(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-M", "misused_purpose": "yes"}, {"loan_id": "L-N", "misused_purpose": ""}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 10))
    # policy money.misused_penalty_uplift = 1: 7.2 % × 2 = 14.4 %, 10 days
    misused = show(db_url, "L-M")["balance"]
    assert (misused["penalty"], misused["compound"]) == ("400.00", "14.48")
    normal = show(db_url, "L-N")["balance"]
    assert (normal["penalty"], normal["compound"]) == ("300.00", "10.86")


def judged(url: str, tmp_path) -> None:
    """L-1 sued on 2008-07-10 and judged the same day for 103,930.86, to be paid by 2008-07-20."""
    load(url, tmp_path, [{"loan_id": "L-1"}])
    run(url, date(2008, 7, 1), date(2008, 7, 10))
    with UnitOfWork(url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="refuses to pay", by="E-01", approved_by="M-01")
    with UnitOfWork(url) as uow:
        cases.judgment(uow, "L-1", amount=D("103930.86"), perform_by=date(2008, 7, 20), by="E-01")


def test_delayed_performance_interest_runs_from_the_day_after_the_performance_date(db_url, tmp_path):
    judged(db_url, tmp_path)
    run(db_url, date(2008, 7, 11), date(2008, 7, 20))
    assert show(db_url, "L-1")["balance"]["delayed"] == "0.00"  # the performance date itself bears none
    run(db_url, date(2008, 7, 21))
    assert show(db_url, "L-1")["balance"]["delayed"] == "18.19"  # 103,930.86 × 1.75/10,000 = 18.188
    run(db_url, date(2008, 7, 22), date(2008, 7, 31))
    assert show(db_url, "L-1")["balance"]["delayed"] == "200.07"  # 11 days: 200.067


def test_a_payment_on_a_judgment_debt_pays_the_delayed_performance_interest_last_and_closes_at_zero(db_url, tmp_path):
    judged(db_url, tmp_path)
    run(db_url, date(2008, 7, 11), date(2008, 7, 31))
    owed = show(db_url, "L-1")["balance"]
    total, delayed = D(owed["total"]), D(owed["delayed"])
    part = pay(db_url, "L-1", str(total - delayed), date(2008, 7, 31))  # the judgment's money debt, all of it
    assert part["allocation"]["delayed"] == "0.00"
    assert part["balance_after"]["total"] == part["balance_after"]["delayed"] == owed["delayed"]
    assert part["state"] == "litigation"
    # the money debt performed: nothing more accrues on it, the doubled part stays owed
    run(db_url, date(2008, 8, 1), date(2008, 8, 10))
    assert show(db_url, "L-1")["balance"]["delayed"] == owed["delayed"]

    result = CliRunner().invoke(app, ["pay", "L-1", owed["delayed"], "--on", "2008-08-10", "--by", "E-01", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert f"delayed {owed['delayed']}" in result.stdout and "state closed (repaid)" in result.stdout
    shown = json.loads(CliRunner().invoke(app, ["show", "L-1", "--json", "--db", db_url]).stdout)
    assert [p["allocation"]["delayed"] for p in shown["payments"]] == ["0.00", owed["delayed"]]


# --- the README's worked example (issue 15 rule 10) --------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"


def readme_example() -> dict:
    block = README.read_text(encoding="utf-8").split("<!-- interest-example:start -->", 1)[1]
    block = block.split("<!-- interest-example:end -->", 1)[0]
    return json.loads(block.strip().removeprefix("```json").removesuffix("```"))


def test_the_readme_computes_the_demo_loan_l_0001_by_hand_exactly_as_npl_show_json_gives_it(sqlite_db, tmp_path):
    report = import_paths(sqlite_db, [shutil.copy(DEMO / "loans.csv", tmp_path / "loans.csv")])
    assert not report.rejected
    run(sqlite_db, date(2008, 8, 30))
    shown = CliRunner().invoke(app, ["show", "L-0001", "--json", "--db", sqlite_db])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["balance"] == readme_example()
    assert readme_example()["compound"] != "0.00"  # the example shows compound interest at work
