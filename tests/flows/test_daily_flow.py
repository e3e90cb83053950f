"""The daily-collection flow against the session's real Prefect server: it walks the dates,
publishes its artifacts, and a date already completed changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest

from models.store import UnitOfWork
from services.importing import import_paths
from tests.canonical import canonical_dump

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"


@pytest.fixture(autouse=True)
def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's book, ``tmp_path/npl.db``, found by the flow in its environment (never a parameter)."""
    monkeypatch.setenv("NPL_DATABASE_URL", f"sqlite:///{tmp_path / 'npl.db'}")


def demo_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    import_paths(url, [DEMO / "loans.csv", DEMO / "guarantors.csv", DEMO / "collateral.csv"])
    return url


async def artifacts_of(flow_run_id: str) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a.data for a in found}


def test_daily_flow_catches_up_in_one_run_and_publishes_summary_worklist_and_deadlines(prefect_server, tmp_path):
    from flows.daily import daily_collection

    demo_db(tmp_path)
    state = daily_collection(as_of=date(2008, 6, 1), through=date(2009, 2, 1), return_state=True)
    run = state.result()
    assert run["dates_run"] == 246 and not run["already_done"]
    assert {"L-0002", "L-0006"} <= {t["loan_id"] for t in run["transitions"]}
    # Zhou Senior's general guarantee ends 2009-03-01: on 2009-02-01 it is at risk, awaiting an approved suit
    assert [(r["loan_id"], r["clock"], r["date"]) for r in run["deadlines_at_risk"]] == [("L-0006", "guarantee", "2009-03-01")]
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    assert {"daily-summary", "daily-worklist", "daily-urgent", "deadlines-at-risk"} <= set(artifacts)
    summary = str(artifacts["daily-summary"])
    assert "# 每日催收汇总 — 2009-02-01" in summary and "| L-0006 | guarantee | 2009-03-01 |" in summary  # NPL_LANG unset: Chinese
    risks = artifacts["deadlines-at-risk"]
    [risk] = json.loads(risks) if isinstance(risks, str) else risks
    assert risk == {"贷款": "L-0006", "时限": "guarantee", "届满日": "2009-03-01", "任务": "期限临近",
                    "说明": "Zhou Senior：起诉借款人（一般保证）：先经审批决定，再提起诉讼", "客户经理": risk["客户经理"]}


def test_daily_flow_for_a_completed_date_changes_nothing_and_says_so(prefect_server, tmp_path):
    from flows.daily import daily_collection

    url = demo_db(tmp_path)
    daily_collection(as_of=date(2008, 7, 1), through=date(2008, 7, 31), publish=False)
    before = canonical_dump(url)
    again = daily_collection(as_of=date(2008, 7, 15), publish=False)
    assert again["already_done"] is True and again["dates_run"] == 0
    assert canonical_dump(url) == before


def test_a_run_moving_more_cases_than_it_reports_counts_them_all_and_lists_the_most_urgent_first(prefect_server, tmp_path, monkeypatch):
    import json

    from flows.daily import daily_collection
    from services.daily import KEEP
    from tests.builders import load

    monkeypatch.setenv("NPL_LANG", "en")
    many = [{"loan_id": f"L-{i:04d}", "maturity_on": "2008-06-30"} for i in range(KEEP + 100)]
    # a general guarantee ends 2008-07-31 (six months after maturity): at risk from 2008-07-01
    load(f"sqlite:///{tmp_path / 'npl.db'}", tmp_path,
         many + [{"loan_id": "L-GEN", "maturity_on": "2008-01-31", "disbursed_on": "2007-01-01"}],
         [{"loan_id": "L-GEN", "guarantor_name": "Li", "guarantee_type": "general"}])
    state = daily_collection(as_of=date(2008, 7, 1), return_state=True)
    run = state.result()
    assert run["counts"]["transitions"] >= KEEP + 100 and len(run["transitions"]) == KEEP
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    assert f"(the first 200 of {run['counts']['transitions']} shown)" in str(artifacts["daily-summary"])
    urgent = artifacts["daily-urgent"]
    rows = json.loads(urgent) if isinstance(urgent, str) else urgent
    assert (rows[0]["loan"], rows[0]["task"], rows[0]["due"]) == ("L-GEN", "deadline at risk", "2008-07-31")
    assert rows[0]["detail"] == "guarantee ends 2008-07-31: Li: sue the borrower (general guarantee): an approved decision, then the filing"


def test_a_progress_callback_given_around_a_flow_run_hears_each_date_up_to_the_last(prefect_server, tmp_path):
    from flows.daily import daily_collection, reporting_progress

    demo_db(tmp_path)
    heard: list[tuple[date, date]] = []
    with reporting_progress(lambda reached, last: heard.append((reached, last))):
        daily_collection(as_of=date(2008, 7, 1), through=date(2008, 7, 31), publish=False)
    assert heard[-1] == (date(2008, 7, 31), date(2008, 7, 31))
    assert [d for d, _ in heard] == sorted({d for d, _ in heard})  # each date or quiet stretch once, in order
    daily_collection(as_of=date(2008, 8, 1), publish=False)  # outside the block: nobody is told
    assert heard[-1] == (date(2008, 7, 31), date(2008, 7, 31))


def test_a_case_the_run_cannot_judge_is_listed_first_in_the_summary_and_urgent_table_and_emitted_as_an_event(prefect_server, tmp_path, monkeypatch):
    import json
    from decimal import Decimal

    from flows.daily import daily_collection
    from services import cases
    from tests.flows.test_operations import events_for

    monkeypatch.setenv("NPL_LANG", "en")
    url = demo_db(tmp_path)
    daily_collection(as_of=date(2008, 7, 1), through=date(2008, 7, 31), publish=False)
    from sqlalchemy import update

    from models.tables import Action

    with UnitOfWork(url) as uow:
        cases.visit(uow, "L-0002", on=date(2008, 7, 31), outcome="promise", promise_amount=Decimal("100"),
                    promise_date=date(2008, 8, 31))
    with UnitOfWork(url) as uow:  # a date the bounds now refuse, planted as older code stored it: adding a day overflows
        uow.session.execute(update(Action).where(Action.loan_id == "L-0002", Action.kind == "promise").values(due_on=date(9999, 12, 31)))
        uow.commit()
    state = daily_collection(as_of=date(2008, 8, 1), through=date(2008, 8, 10), return_state=True)
    run = state.result()
    assert run["dates_run"] == 10 and run["counts"]["quarantined"] == 1
    assert [(q["loan_id"], q["business_date"]) for q in run["quarantined"]] == [("L-0002", "2008-08-01")]
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    summary = str(artifacts["daily-summary"])
    assert summary.index("## Quarantined: could not be judged (1)") < summary.index("## Cases by state")
    assert "| L-0002 | 2008-08-01 | OverflowError" in summary
    urgent = artifacts["daily-urgent"]
    rows = json.loads(urgent) if isinstance(urgent, str) else urgent
    assert (rows[0]["loan"], rows[0]["task"]) == ("L-0002", "quarantined")
    [event] = events_for("L-0002", "npl.case.quarantined")
    assert event.payload["loan_id"] == "L-0002" and event.payload["error"].startswith("OverflowError")
