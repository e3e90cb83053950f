"""What staff see in the Prefect UI (issue 17), against the session's real server and runner:
per-officer worklists linked from the summary, nothing labelled latest for a past date, the case
page, the one approval inbox, run names and one-line refusals, the report's files, notifications."""

from __future__ import annotations

import os

import asyncio
import json
import re
import threading
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.flow_runs import resume_flow_run

from flows import approvals
from flows.daily import daily_collection
from models.store import UnitOfWork
from services import case_view
from tests.builders import load, run
from tests.prefect_server import serve_database
from tests.flows.test_daily_flow import artifacts_of
from tests.flows.test_operations import is_final, is_paused, wait_for

BOOK = [{"loan_id": "L-A1", "officer_id": "E-01"}, {"loan_id": "L-A2", "officer_id": "Wang Li"}]


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")
    # no flow takes a database URL: small_book points this process's flows (environment) and the
    # served runs (the Secret block) at its database; the environment is restored after the test
    monkeypatch.setenv("NPL_DATABASE_URL", os.environ.get("NPL_DATABASE_URL", ""))


def small_book(tmp_path: Path, prefix: str = "L-A") -> str:
    """Two loans past due since 2008-06-30, both awaiting approval to sue by 2008-09-30 (requests
    are open across the session's books: a test counting them has loans of its own ``prefix``)."""
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    load(url, tmp_path, [{**loan, "loan_id": loan["loan_id"].replace("L-A", prefix)} for loan in BOOK])
    run(url, date(2008, 7, 1), date(2008, 9, 30))
    os.environ["NPL_DATABASE_URL"] = url  # restored by the autouse fixture
    serve_database(url)
    return url


def flow_run_name(flow_run_id: Any) -> str:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).name


def logs_of(flow_run_id: Any) -> list[str]:
    with get_client(sync_client=True) as client:
        return [log.message for log in client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))]


def test_the_daily_run_publishes_a_worklist_per_officer_linked_from_the_summary(ops_runner: Any, tmp_path: Path) -> None:
    small_book(tmp_path)
    state = daily_collection(as_of=date(2008, 10, 1), return_state=True)
    assert flow_run_name(state.state_details.flow_run_id) == "daily 2008-10-01"
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    assert {"worklist-e-01", "worklist-wang-li"} <= set(artifacts)
    rows = json.loads(artifacts["worklist-e-01"]) if isinstance(artifacts["worklist-e-01"], str) else artifacts["worklist-e-01"]
    assert {r["loan"] for r in rows} == {"L-A1"} and list(rows[0]) == ["loan", "task", "detail", "due", "urgent"]
    assert rows[0]["task"] == "approval awaited"  # the most urgent first
    assert rows[0]["detail"] == "sue: 30 days of visits without repayment, no guarantor liable"  # NPL_LANG=en
    summary = str(artifacts["daily-summary"])
    assert "[E-01](/artifacts/key/worklist-e-01)" in summary and "[Wang Li](/artifacts/key/worklist-wang-li)" in summary


def test_an_officers_worklist_is_chinese_by_default_while_the_command_json_keeps_its_english_items(
    ops_runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_cli import npl

    url = small_book(tmp_path)
    monkeypatch.delenv("NPL_LANG")
    state = daily_collection(as_of=date(2008, 10, 1), return_state=True)
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    rows = json.loads(artifacts["worklist-e-01"]) if isinstance(artifacts["worklist-e-01"], str) else artifacts["worklist-e-01"]
    assert list(rows[0]) == ["贷款", "任务", "说明", "期限", "紧急"]
    assert rows[0]["任务"] == "等待审批" and rows[0]["说明"] == "sue：30 days of visits without repayment, no guarantor liable"
    items = json.loads(npl(url, "worklist", "--as-of", "2008-10-01", "--json").stdout)["items"]
    mine = [i for i in items if i["officer"] == "E-01"]
    assert [list(i) for i in mine] == [["officer", "loan_id", "task", "detail", "due", "urgent"]] * len(mine)
    assert mine[0]["task"] == "approval_awaited" and mine[0]["detail"] == "sue: 30 days of visits without repayment, no guarantor liable"
    monkeypatch.setenv("NPL_LANG", "en")
    assert json.loads(npl(url, "worklist", "--as-of", "2008-10-01", "--json").stdout)["items"] == items  # whatever the language


def test_a_daily_run_for_a_past_date_publishes_nothing_as_latest_but_a_note(prefect_server: Any, tmp_path: Path) -> None:
    small_book(tmp_path)
    state = daily_collection(as_of=date(2008, 9, 15), return_state=True)
    result = state.result()
    assert result["already_done"] is True
    assert flow_run_name(state.state_details.flow_run_id) == "daily 2008-09-15"

    async def everything() -> list[Any]:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))

    [note] = asyncio.run(everything())
    assert note.key is None
    assert note.data == ("2008-09-15 is before the last completed business date 2008-09-30: "
                         "nothing changed and nothing was published as latest.")


def test_the_case_page_shows_summary_balance_clocks_history_actions_and_coming_events(prefect_server: Any, tmp_path: Path,
                                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.case_lookup import case_lookup

    url = small_book(tmp_path)
    monkeypatch.setenv("NPL_DATABASE_URL", url)
    state = case_lookup(loan_id="L-A1", return_state=True)
    assert state.is_completed(), state.message
    assert flow_run_name(state.state_details.flow_run_id) == "L-A1: case lookup"
    page = str(asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))["case-l-a1"])
    for section in ("# Case L-A1", "## Summary", "## Balance (as of 2008-09-30)", "## Clocks", "## History", "## Actions",
                    "## Coming events"):
        assert section in page
    assert "100,000.00" in page  # principal with thousands separators
    assert "awaiting approval: sue" in page
    assert "| state_deadline | 2008-08-10 | passed |" in page  # the internal time limit
    # due 2008-06-30, a period that starts before 2017-10-01: two years (GPCL 1986 Art. 135) → 2010-06-30,
    # 638 days after 2008-09-30 (92 days to 2008-12-31 + 365 + 181)
    assert "| limitation | 2010-06-30 | live (638 days left) |" in page


def test_the_daily_run_asks_for_its_approvals_once_in_the_officers_queue_and_a_rejection_is_red(
    ops_runner: Any, tmp_path: Path,
) -> None:
    url = small_book(tmp_path, prefix="L-B")
    first = daily_collection(as_of=date(2008, 10, 1))
    assert sorted((m["loan_id"], m["to"]) for m in first["approval_requests"]) == [("L-B1", "litigation"), ("L-B2", "litigation")]
    again = daily_collection(as_of=date(2008, 10, 2))
    assert again["approval_requests"] == []  # one open request per loan and target
    made = {m["loan_id"]: m["flow_run_id"] for m in first["approval_requests"]}
    paused = {loan: wait_for(run_id, lambda r: is_paused(r) or is_final(r)) for loan, run_id in made.items()}
    assert all(r.state.type == StateType.PAUSED for r in paused.values()), [r.state for r in paused.values()]
    assert paused["L-B1"].name == "L-B1 → litigation（每日批处理申请）"  # named by the runner, in Chinese

    pending = {r.loan_id: r for r in approvals.open_requests() if str(r.flow_run_id) in made.values()}
    assert set(pending) == {"L-B1", "L-B2"}
    markdown = approvals.pending_markdown(list(pending.values()), datetime.now(timezone.utc))
    assert f"(/runs/flow-run/{made['L-B1']})" in markdown and "| daily-run |" in markdown

    resume_flow_run(paused["L-B2"].id, run_input={"decision": "reject", "approver": "E-02", "comment": "negotiate first"})
    final = wait_for(paused["L-B2"].id, is_final)
    assert (final.state.type, final.state.name) == (StateType.FAILED, "Rejected")
    with UnitOfWork(url) as uow:
        rejected = [a for a in case_view.show(uow, "L-B2").actions if a.kind == "approval_rejected"]
    assert [(a.by, a.target) for a in rejected] == [("E-02", "litigation")]
    resume_flow_run(paused["L-B1"].id, run_input={"decision": "reject", "approver": "E-02", "comment": ""})  # leave no waiter


def test_a_request_waiting_longer_than_the_policy_allows_emits_a_stale_event(prefect_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.flows.test_operations import events_for

    old = approvals.Request(flow_run_id=__import__("uuid").uuid4(), name="L-OLD → litigation by E-01", loan_id="L-OLD",
                            to="litigation", requested_by="E-01", reason="", created=datetime.now(timezone.utc) - timedelta(days=5),
                            waiting=True)
    monkeypatch.setattr(approvals, "open_requests", lambda: [old])
    monkeypatch.setattr(approvals, "create_markdown_artifact", lambda **_: None)
    approvals.publish_pending(stale_days=3)
    [event] = events_for("L-OLD", approvals.EVENT_STALE)
    assert event.payload["age_days"] == 5 and event.payload["stale_days"] == 3


def test_a_refused_operation_fails_named_by_its_loan_with_one_line_and_no_traceback(ops_runner: Any, tmp_path: Path) -> None:
    small_book(tmp_path)
    refused = run_deployment("record-judgment/ops", timeout=0, parameters={
        "loan_id": "L-A1", "amount": "1000.00", "perform_by": "2008-12-31", "by": "E-01"})
    bad_amount = run_deployment("record-payment/ops", timeout=0, parameters={"loan_id": "L-A1", "amount": "12,5"})
    refused, bad_amount = wait_for(refused.id, is_final), wait_for(bad_amount.id, is_final)
    assert refused.state.type == StateType.FAILED and "a judgment is recorded for a case in litigation" in refused.state.message
    assert refused.name == "L-A1：判决 1000.00"  # the runner's language: NPL_LANG unset, Chinese
    time.sleep(2)  # logs are flushed in batches
    logs = logs_of(refused.id)
    assert any(m.startswith("refused: a judgment is recorded") for m in logs), logs
    assert not any("Traceback" in m for m in logs), logs
    assert bad_amount.state.type == StateType.FAILED
    # named although its parameters did not validate (by the on_failure hook, just after the run turned Failed:
    # read again after the pause above, not the name the run had when the state was first seen final)
    assert flow_run_name(bad_amount.id) == "L-A1：还款 12,5"
    assert "金额须为正数" in (bad_amount.state.message or "")  # in words, not a pattern
    assert not any("Traceback" in m for m in logs_of(bad_amount.id))


def test_the_report_run_publishes_readable_markdown_and_a_link_to_the_served_workbook(ops_runner: Any, tmp_path: Path) -> None:
    small_book(tmp_path)
    done = run_deployment("portfolio-report/ops", parameters={"as_of": "2008-09-30"}, timeout=240)
    assert done.state.type == StateType.COMPLETED, done.state.message
    artifacts = asyncio.run(artifacts_of(str(done.id)))
    report = str(artifacts["portfolio-report"])
    assert "```json" not in report and "| 在册贷款 | 2 |" in report  # readable markdown, in the runner's Chinese
    assert re.search(r"\| 余额合计 \| \d{3},\d{3}\.\d{2} \|", report)  # thousands separators
    link = f"{ops_runner.files_url}/portfolio-2008-09-30.xlsx"
    assert str(artifacts["report-workbook"]) == f"[portfolio-2008-09-30.xlsx]({link})"  # a link artifact's data
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.read(2) == b"PK"  # an xlsx is a zip
    assert f"({ops_runner.files_url}/portfolio-2008-09-30-recoveries.png)" in report


class Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # the base class's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_work_group_robot_hears_of_approvals_deadlines_and_broken_promises(prefect_server: Any) -> None:
    from deployments import serve

    robot = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    try:
        block = serve.ensure_webhook_block(f"http://127.0.0.1:{robot.server_address[1]}/robot")
        ensured = serve.ensure_notifications(block)
        assert set(ensured) == set(serve.NOTIFY)
        assert serve.ensure_notifications(block) == ensured  # updated in place, not duplicated
        time.sleep(3)  # the triggers service loads new automations
        for event in ("npl.approval.needed", "npl.deadline.at_risk", "npl.promise.broken"):
            emit_event(event=event, resource={"prefect.resource.id": "npl.loan.L-BOT"}, payload={"loan_id": "L-BOT"})
        deadline = time.monotonic() + 90
        while len(Receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        robot.shutdown()
        robot.server_close()
        with get_client(sync_client=True) as client:  # leave the session's server quiet
            for name in serve.NOTIFY:
                for automation in client.read_automations_by_name(name):
                    client.delete_automation(automation.id)
    assert len(Receiver.received) == 3, Receiver.received
    assert all(m["msgtype"] == "text" and "L-BOT" in m["text"]["content"] for m in Receiver.received)
    contents = " ".join(m["text"]["content"] for m in Receiver.received)
    assert "approval needed" in contents and "promise broken" in contents


def test_the_served_daily_run_links_the_worklist_workbook_on_the_file_server(ops_runner: Any, tmp_path: Path) -> None:
    small_book(tmp_path)
    done = run_deployment("daily-collection/scheduled", parameters={"as_of": "2008-10-01", "wait_for_export": False}, timeout=240)  # no export wait: not what this test is about
    assert done.state.type == StateType.COMPLETED, done.state.message
    assert done.name == "每日催收 2008-10-01"
    link = f"{ops_runner.files_url}/worklist-2008-10-01.xlsx"
    assert str(asyncio.run(artifacts_of(str(done.id)))["worklist-workbook"]) == f"[worklist-2008-10-01.xlsx]({link})"
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.read(2) == b"PK"
