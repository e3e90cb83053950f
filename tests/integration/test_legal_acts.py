"""Issue 14's "Why" scenarios on SQLite and PostgreSQL: the legal clocks follow the recorded acts
only; the daily run lists tasks and never records an act nor sets a legal date. The cases are
of 2008, judged under the law of their time (Guarantee Law 1995, GPCL 1986: issue 18)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from flows.present import jsonable
from machines.policy import load_policy
from models.domain.errors import RuleViolation
from models.store import UnitOfWork
from models.tables import Guarantor, LegalAct, Loan
from services import acts, cases
from services.worklist import deadlines_at_risk, worklist
from tests.builders import load, run

ZHANG = [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}]


def clocks(url: str, loan_id: str = "L-1") -> dict[tuple[str, str], dict]:
    with UnitOfWork(url) as uow:
        return {(c["clock"], c["party"]): c for c in jsonable(cases.show(uow, loan_id))["clocks"]}


def tasks(url: str, on: date) -> list[tuple[str, str | None]]:
    with UnitOfWork(url) as uow:
        return [(i["task"], i["due"]) for i in worklist(uow.session, on, load_policy()) if i["loan_id"] == "L-1"
                and i["task"] in ("send_demand", "file_suit", "apply_enforcement", "deadline_at_risk", "deadline_lapsed")]


def act_count(url: str) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.scalar(select(func.count()).select_from(LegalAct))


def test_a_joint_guarantor_never_demanded_shows_live_then_lapsed_and_never_preserved(db_url, tmp_path):
    # Guarantee Law 1995 Art. 26: six months from maturity (2008-06-30), preserved only by a demand on Zhang
    load(db_url, tmp_path, [{"loan_id": "L-1"}], ZHANG)
    run(db_url, date(2008, 7, 1), date(2008, 11, 30))
    zhang = clocks(db_url)[("guarantee_period", "Zhang")]
    assert (zhang["status"], zhang["end"], zhang["act"]) == ("live", "2008-12-30", None)
    assert zhang["days_left"] == 30 and "Guarantee Law 1995 Art. 26" in zhang["rule"]
    assert tasks(db_url, date(2008, 11, 30)) == [("send_demand", "2008-12-30")]
    run(db_url, date(2008, 12, 15))
    assert tasks(db_url, date(2008, 12, 15)) == [("send_demand", "2008-12-30")]  # every day until recorded
    with UnitOfWork(db_url) as uow:
        assert uow.session.scalars(select(Guarantor)).one().demanded_on is None  # the run set nothing
    assert act_count(db_url) == 0
    result = run(db_url, date(2008, 12, 16), date(2008, 12, 31))
    assert [a["clock"] for a in result.alerts if a["loan_id"] == "L-1"] == ["guarantee_lapsed"]  # once, on 12-31
    zhang = clocks(db_url)[("guarantee_period", "Zhang")]
    assert (zhang["status"], zhang["act"]) == ("lapsed", None) and "days_left" not in zhang
    assert ("send_demand", "2008-12-30") not in tasks(db_url, date(2008, 12, 31))  # freed: nobody presses Zhang
    with UnitOfWork(db_url) as uow:
        lapsed = [r for r in deadlines_at_risk(uow.session, date(2008, 12, 31), load_policy()) if r["status"] == "lapsed"]
    assert [(r["clock"], r["party"], r["officer"]) for r in lapsed] == [("guarantee", "Zhang", "E-01")]


def test_a_recorded_demand_preserves_the_guarantee_and_starts_the_guarantee_debts_limitation(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], ZHANG)
    run(db_url, date(2008, 7, 1), date(2008, 11, 30))
    with UnitOfWork(db_url) as uow:
        cases.demand(uow, "L-1", guarantor="Zhang", on=date(2008, 11, 28), method="mail", tracking="EMS 1234567890", by="E-01")
    c = clocks(db_url)
    assert c[("guarantee_period", "Zhang")]["status"] == "preserved"
    assert c[("guarantee_period", "Zhang")]["act"] == {"kind": "demand", "method": "mail", "on": "2008-11-28", "evidence": "EMS 1234567890"}
    # SPC 2000 interpretation Art. 34 ¶2: from the demand; GPCL 1986 Art. 135: two years
    assert (c[("guarantee_limitation", "Zhang")]["status"], c[("guarantee_limitation", "Zhang")]["end"]) == ("live", "2010-11-28")
    assert tasks(db_url, date(2008, 12, 1)) == []
    run(db_url, date(2008, 12, 1), date(2010, 9, 29))
    assert tasks(db_url, date(2010, 9, 29)) == [("send_demand", "2010-11-28")]  # 60 lead days
    with UnitOfWork(db_url) as uow:
        # what the recorded demand wrote, untouched by the run's task
        assert uow.session.scalars(select(Guarantor)).one().limitation_interrupted_on == date(2008, 11, 28)
    assert act_count(db_url) == 1


def test_the_borrowers_limitation_is_not_restarted_by_the_run(db_url, tmp_path):
    # GPCL 1986 Art. 135: two years from 2008-06-30; a period that ran out before 2017-10-01 stays out
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2010, 5, 1))
    lim = clocks(db_url)[("limitation", "borrower")]
    assert (lim["status"], lim["end"]) == ("live", "2010-06-30") and "GPCL 1986 Art. 135" in lim["rule"]
    with UnitOfWork(db_url) as uow:
        assert uow.session.get(Loan, "L-1").limitation_start is None
        assert uow.session.get(Loan, "L-1").awaiting_approval == "sue"
    assert ("send_demand", "2010-06-30") in tasks(db_url, date(2010, 5, 1))
    run(db_url, date(2010, 5, 2), date(2010, 7, 1))
    lim = clocks(db_url)[("limitation", "borrower")]
    assert (lim["status"], lim["end"]) == ("lapsed", "2010-06-30")
    assert act_count(db_url) == 0


def test_an_approved_suit_without_a_filing_leaves_the_general_guarantee_at_risk_then_lapsed(db_url, tmp_path):
    # Guarantee Law 1995 Art. 25 ¶2: a general guarantee is preserved only by suing the borrower in the period
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Li", "guarantee_type": "general"}])
    run(db_url, date(2008, 7, 1), date(2008, 12, 1))
    with UnitOfWork(db_url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="sue before the guarantee period ends", by="E-01",
                       approved_by="M-01", on=date(2008, 12, 1))
    run(db_url, date(2008, 12, 2))
    assert clocks(db_url)[("guarantee_period", "Li")]["status"] == "live"
    assert ("file_suit", "2008-12-30") in tasks(db_url, date(2008, 12, 2))
    with UnitOfWork(db_url) as uow:
        risks = [(r["clock"], r["status"], r["task"]) for r in deadlines_at_risk(uow.session, date(2008, 12, 2), load_policy())]
    assert ("guarantee", "at_risk", "file_suit") in risks
    run(db_url, date(2008, 12, 3), date(2008, 12, 31))
    assert clocks(db_url)[("guarantee_period", "Li")]["status"] == "lapsed"


def test_a_filing_recorded_in_litigation_preserves_the_general_guarantee(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], [{"loan_id": "L-1", "guarantor_name": "Li", "guarantee_type": "general"}])
    run(db_url, date(2008, 7, 1), date(2008, 12, 1))
    with UnitOfWork(db_url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="sue", by="E-01", approved_by="M-01", on=date(2008, 12, 1))
    with UnitOfWork(db_url) as uow:
        acts.file_suit(uow, "L-1", on=date(2008, 12, 2), court="District Court", case_no="(2008) 123", by="E-01")
    li = clocks(db_url)[("guarantee_period", "Li")]
    assert li["status"] == "preserved" and li["act"]["evidence"] == "District Court (2008) 123"
    assert clocks(db_url)[("limitation", "borrower")]["status"] == "interrupted"
    assert tasks(db_url, date(2008, 12, 2)) == []


def test_file_suit_before_litigation_is_refused_and_changes_nothing(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="litigation"):
        acts.file_suit(uow, "L-1", on=date(2008, 7, 5), court="District Court", by="E-01")
    assert act_count(db_url) == 0


def test_an_act_dated_after_the_next_business_date_or_on_a_stranger_is_refused(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}], ZHANG)
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="future"):
        acts.record_act(uow, "L-1", kind="demand", party="Zhang", on=date(2008, 7, 7), by="E-01")
    with UnitOfWork(db_url) as uow, pytest.raises(Exception, match="no guarantor named 'Wu'"):
        acts.record_act(uow, "L-1", kind="demand", party="Wu", on=date(2008, 7, 5), by="E-01")
    assert act_count(db_url) == 0


def test_cli_file_suit_before_litigation_exits_1_and_changes_nothing(db_url, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    npl = Path(sys.executable).parent / "npl"
    done = subprocess.run([str(npl), "file-suit", "L-1", "--on", "2008-07-05", "--court", "District Court", "--db", db_url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "litigation" in (done.stderr + done.stdout)
    assert act_count(db_url) == 0


def test_a_borrowers_part_payment_is_an_acknowledgement_that_restarts_the_limitation(db_url, tmp_path):
    # SPC limitation rules 2020 Art. 14 (GPCL Art. 140): derived from the payment, never stored twice
    from decimal import Decimal

    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        cases.pay(uow, "L-1", Decimal("100.00"), on=date(2008, 7, 5), payer="borrower", by="E-01")
    lim = clocks(db_url)[("limitation", "borrower")]
    assert (lim["status"], lim["end"], lim["act"]["kind"]) == ("interrupted", "2010-07-05", "acknowledgement")
    assert act_count(db_url) == 0


def test_cli_demand_records_a_demand_act_with_its_method_and_tracking_and_keeps_its_output(db_url, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    load(db_url, tmp_path, [{"loan_id": "L-1"}], ZHANG)
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    npl = Path(sys.executable).parent / "npl"
    done = subprocess.run([str(npl), "demand", "L-1", "--on", "2008-07-05", "--guarantor", "Zhang", "--method", "mail",
                           "--tracking", "EMS 42", "--by", "E-01", "--db", db_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "L-1: written demand on Zhang recorded for 2008-07-05"
    zhang = clocks(db_url)[("guarantee_period", "Zhang")]
    assert zhang["status"] == "preserved"
    assert zhang["act"] == {"kind": "demand", "method": "mail", "on": "2008-07-05", "evidence": "EMS 42"}
    bad = subprocess.run([str(npl), "demand", "L-1", "--on", "2008-07-05", "--method", "pigeon", "--by", "E-01", "--db", db_url],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and act_count(db_url) == 1


def test_enforcement_is_an_act_and_its_ending_needs_an_application_first(db_url, tmp_path):
    from decimal import Decimal

    load(db_url, tmp_path, [{"loan_id": "L-1"}])
    run(db_url, date(2008, 7, 1), date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        cases.escalate(uow, "L-1", to="litigation", reason="sue", by="E-01", approved_by="M-01", on=date(2008, 7, 5))
    with UnitOfWork(db_url) as uow:
        cases.judgment(uow, "L-1", on=date(2008, 7, 5), amount=Decimal("1000.00"), perform_by=date(2008, 8, 5))
    # Civil Procedure Law Art. 250: two years from the performance date
    enforcement = clocks(db_url)[("enforcement_application", "borrower")]
    assert (enforcement["status"], enforcement["end"]) == ("live", "2010-08-05")
    with UnitOfWork(db_url) as uow, pytest.raises(RuleViolation, match="enforcement application"):
        acts.enforcement_ended(uow, "L-1", on=date(2008, 7, 6), by="E-01")
    with UnitOfWork(db_url) as uow:
        cases.enforce(uow, "L-1", on=date(2008, 7, 6), by="E-01")
    assert clocks(db_url)[("enforcement_application", "borrower")]["status"] == "preserved"
    with UnitOfWork(db_url) as uow:
        acts.enforcement_ended(uow, "L-1", on=date(2008, 7, 6), by="E-01")
    with UnitOfWork(db_url) as uow:
        kinds = uow.session.scalars(select(LegalAct.kind).order_by(LegalAct.id)).all()
    assert kinds == ["enforcement_application", "enforcement_ended"]
