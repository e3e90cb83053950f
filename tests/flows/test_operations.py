"""Operations in the Prefect UI: the ops flows against a real Prefect server, the deployments
``deployments.serve`` registers, its automation, and ``deployments/prefect.yaml``.

The approval tests go through the served ``manual-escalation/ops`` deployment exactly as staff
do in the UI: a run is started, suspends for a second person's decision, is resumed with the
form's input, and the case history is read back through ``services.case_view.show``.
"""

from __future__ import annotations

import importlib
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

import pytest
import yaml
from sqlalchemy import select
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import ConcurrencyLimitStrategy, FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.flow_runs import resume_flow_run

from deployments import serve
from flows import operations
from machines.policy import load_policy
from models.domain.errors import RuleViolation
from models.store import UnitOfWork
from models.tables import Action
from flows.present import jsonable
from services import case_view
from services.daily import run_dates
from services.importing import import_paths
from tests.prefect_server import serve_database
from tests.prefect_server import wait_for_deployment

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2008, 9, 30)

LOANS_CSV = """\
loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal,officer_id,product,credit_rating
L-OPS-1,Gao,80000.00,0.0747,2007-06-30,2008-06-30,80000.00,E-01,business,BB
L-OPS-2,Lin,50000.00,0.0612,2007-06-30,2008-06-30,50000.00,E-01,business,BB
L-OPS-3,Ma,60000.00,0.0612,2007-06-30,2008-06-30,60000.00,E-01,business,BB
"""
GUARANTORS_CSV = """\
loan_id,guarantor_name,guarantee_type
L-OPS-1,Sun,joint
"""


def make_book(folder: Path, db_url: str | None = None) -> str:
    """The loans of LOANS_CSV, past due since 2008-06-30, imported and run by the daily service to AS_OF."""
    db_url = db_url or f"sqlite:///{folder / 'npl.db'}"
    (folder / "loans.csv").write_text(LOANS_CSV, encoding="utf-8")
    (folder / "guarantors.csv").write_text(GUARANTORS_CSV, encoding="utf-8")
    report = import_paths(db_url, [folder / "loans.csv", folder / "guarantors.csv"])
    assert not report.rejected
    run_dates(lambda: UnitOfWork(db_url), AS_OF, None, load_policy())
    return db_url


@pytest.fixture
def book(sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A book the flows called in this process use: through the environment, never a parameter."""
    monkeypatch.setenv("NPL_DATABASE_URL", sqlite_db)
    return make_book(tmp_path, sqlite_db)


def case(db_url: str, loan_id: str) -> dict[str, Any]:
    with UnitOfWork(db_url) as uow:
        return jsonable(case_view.show(uow, loan_id))


def wait_for(flow_run_id: UUID, done: Callable[[FlowRun], bool], timeout: float = 180) -> FlowRun:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and done(run):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"flow run {flow_run_id} still {run.state!r} after {timeout:.0f} s")
            time.sleep(0.3)


def is_paused(run: FlowRun) -> bool:
    return run.state.type == StateType.PAUSED


def is_final(run: FlowRun) -> bool:
    return run.state.is_final()


ESCALATION_REASON = "refuses to cooperate"


def start_escalation(loan_id: str, to: str, requested_by: str = "E-01") -> FlowRun:
    """Start ``manual-escalation/ops`` as the UI's Run button does (without waiting), on the
    database the served runs use (``serve_database``)."""
    return run_deployment(
        "manual-escalation/ops",
        parameters={"loan_id": loan_id, "to": to, "reason": ESCALATION_REASON, "requested_by": requested_by,
                    "on": AS_OF.isoformat()},
        timeout=0,
    )


def events_for(loan_id: str, name: str, timeout: float = 60) -> list[Any]:
    deadline = time.monotonic() + timeout
    flt = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[f"npl.loan.{loan_id}"]))
    with get_client(sync_client=True) as client:
        while True:
            found = client.read_events(filter=flt, limit=50).events
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)


# --- manual escalation through the served deployment ---------------------------------------------

# loan → (target, the answers given in turn); the three runs go through the runner side by side
SELF_APPROVAL = {"decision": "approve", "approver": "\uff45-01 ", "comment": ""}  # the requester E-01, full-width
DECISIONS = {
    "L-OPS-1": ("litigation", [{"decision": "approve", "approver": "E-02", "comment": "court fee budgeted"}]),
    "L-OPS-2": ("written_off", [SELF_APPROVAL, {"decision": "approve", "approver": "M-01", "otp": "", "comment": "agreed"}]),
    "L-OPS-3": ("litigation", [{"decision": "reject", "approver": "E-02", "comment": "try the guarantor first"}]),
}


@pytest.fixture(scope="module")
def escalations(ops_runner: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each loan in DECISIONS escalated by E-01 through ``manual-escalation/ops``: the case as it
    was, the run while suspended, the case while suspended, the answer given, the final run."""
    db_url = make_book(tmp_path_factory.mktemp("escalations"))
    serve_database(db_url)
    before = {loan_id: case(db_url, loan_id) for loan_id in DECISIONS}
    started = {loan_id: start_escalation(loan_id, to) for loan_id, (to, _answers) in DECISIONS.items()}
    paused = {loan_id: wait_for(run.id, lambda r: is_paused(r) or is_final(r)) for loan_id, run in started.items()}
    waiting = {loan_id: case(db_url, loan_id) for loan_id in DECISIONS}
    between: dict[str, list[Any]] = {loan_id: [] for loan_id in DECISIONS}  # (run, case) after each answer but the last
    final = {}
    for loan_id, (_to, answers) in DECISIONS.items():
        run = paused[loan_id]
        for answer in answers:
            if not is_paused(run):
                break
            resume_flow_run(run.id, run_input=answer)
            state_id = run.state.id
            run = wait_for(run.id, lambda r, s=state_id: r.state.id != s and r.state.type not in (
                StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING) and (is_paused(r) or is_final(r)))
            if answer is not answers[-1]:
                between[loan_id].append((run, case(db_url, loan_id)))
        final[loan_id] = wait_for(run.id, is_final)
    return {loan_id: {"before": before[loan_id], "paused": paused[loan_id], "waiting": waiting[loan_id], "between": between[loan_id],
                      "final": final[loan_id], "after": case(db_url, loan_id), "db_url": db_url} for loan_id in DECISIONS}


def test_litigation_waits_for_a_second_person_and_records_requester_and_approver(escalations: dict[str, Any]) -> None:
    run = escalations["L-OPS-1"]
    assert (run["paused"].state.type, run["paused"].state.name) == (StateType.PAUSED, "Suspended")
    assert run["waiting"]["state"] == run["before"]["state"]  # nothing moves while waiting
    assert run["final"].state.type == StateType.COMPLETED, run["final"].state.message
    assert run["after"]["state"] == "litigation"
    last = run["after"]["history"][-1]
    assert (last["from"], last["to"], last["by"], last["approved_by"]) == (run["before"]["state"], "litigation", "E-01", "E-02")
    assert "court fee budgeted" in last["reason"]


def test_an_escalation_announces_the_wait_once_and_the_move(escalations: dict[str, Any]) -> None:
    assert len(events_for("L-OPS-1", operations.EVENT_APPROVAL_NEEDED)) == 1  # not again on resume
    [escalated] = events_for("L-OPS-1", operations.EVENT_CASE_ESCALATED)
    assert (escalated.payload["to"], escalated.payload["approved_by"]) == ("litigation", "E-02")


def test_the_requesters_own_approval_leaves_the_request_waiting_for_a_second_person(escalations: dict[str, Any]) -> None:
    run = escalations["L-OPS-2"]
    assert run["paused"].state.type == StateType.PAUSED
    [(again, meanwhile)] = run["between"]  # after "ｅ-01" (E-01 in full-width letters) approved
    assert (again.state.type, again.state.name) == (StateType.PAUSED, "Suspended"), again.state.message
    assert (meanwhile["state"], meanwhile["history"]) == (run["before"]["state"], run["before"]["history"])
    assert run["final"].state.type == StateType.COMPLETED, run["final"].state.message
    last = run["after"]["history"][-1]
    assert (last["to"], last["by"], last["approved_by"]) == ("closed", "E-01", "M-01")


def test_a_rejected_escalation_fails_as_rejected_and_changes_nothing(escalations: dict[str, Any]) -> None:
    run = escalations["L-OPS-3"]
    assert run["paused"].state.type == StateType.PAUSED
    final = run["final"].state
    assert (final.type, final.name) == (StateType.FAILED, "Rejected")  # red in the UI: the move was refused
    assert "E-02" in final.message and "try the guarantor first" in final.message
    assert (run["after"]["state"], run["after"]["history"]) == (run["before"]["state"], run["before"]["history"])
    assert events_for("L-OPS-3", operations.EVENT_CASE_ESCALATED, timeout=1) == []
    with UnitOfWork(run["db_url"]) as uow:  # the case keeps its own record of the decision
        rejected = uow.session.scalars(select(Action).where(Action.loan_id == "L-OPS-3", Action.kind == "approval_rejected")).all()
        assert [(a.by, a.target, a.on, a.detail) for a in rejected] == [(
            "E-02", "litigation", AS_OF,
            f"E-01 asked to move {run['before']['state']} → litigation: {ESCALATION_REASON}; rejected by E-02: try the guarantor first",
        )]


# --- the flows called directly (moves without approval, case events) --------------------------------


def test_a_move_without_approval_runs_straight_through(prefect_server: Any, book: str) -> None:
    before = case(book, "L-OPS-1")["state"]
    result = operations.manual_escalation(
        loan_id="L-OPS-1", to="guarantor_pressure", reason="borrower unreachable", requested_by="E-01",
    )
    assert (result["from"], result["to"], result["by"]) == (before, "guarantor_pressure", "E-01")
    assert case(book, "L-OPS-1")["history"][-1]["to"] == "guarantor_pressure"


def test_case_event_flows_return_what_their_services_return(prefect_server: Any, book: str) -> None:
    visit = operations.record_visit(loan_id="L-OPS-2", outcome="promise", promise_amount=Decimal("1000"),
                                    promise_date=AS_OF + timedelta(days=10), by="E-01")
    assert visit == {"loan_id": "L-OPS-2", "on": AS_OF.isoformat(), "kind": "visit", "outcome": "promise"}
    demand = operations.record_demand(loan_id="L-OPS-1", guarantor="Sun", by="E-01")
    assert demand["demand_on"] == "Sun"
    paid = operations.record_payment(loan_id="L-OPS-2", amount=Decimal("1000.00"), by="E-01")
    assert paid["amount"] == "1000.00" and paid["payer"] == "borrower"
    assert sum(Decimal(v) for v in paid["allocation"].values()) == Decimal("1000.00")


def test_a_refused_event_fails_its_run_with_the_rule(prefect_server: Any, book: str) -> None:
    state = operations.record_judgment(loan_id="L-OPS-1", amount=Decimal("1000"), perform_by=AS_OF + timedelta(days=30),
                                       by="E-01", return_state=True)
    assert state.is_failed()
    with pytest.raises(RuleViolation, match="a judgment is recorded for a case in litigation"):
        state.result()


def test_revitalization_needs_a_credit_amount_before_anyone_is_asked(prefect_server: Any, book: str) -> None:
    state = operations.manual_escalation(loan_id="L-OPS-1", to="revitalization", reason="viable", requested_by="E-01",
                                         return_state=True)
    assert state.is_failed() and "credit" in state.message


# --- what deployments.serve registers -----------------------------------------------------------------


def served_names() -> set[str]:
    return {serve.full_name(d) for d in serve.build_deployments()}


def test_serve_registers_every_operations_deployment(ops_runner: Any) -> None:
    expected = {"daily-collection/scheduled", "manual-escalation/ops", "portfolio-report/ops", "policy-replay/ops", "ingest-export/ops",
                "demand-letters/ops", "record-service/ops", "case-lookup/ops", "pending-approvals/ops"} | {
        f"{f.name}/ops" for f in operations.EVENT_FLOWS
    }
    assert served_names() == expected
    for name in expected:  # serve registers them one after another: the runner is ready after the first
        assert wait_for_deployment(name, 60, ops_runner.process, ops_runner.log).name == name.split("/")[1]


def test_the_daily_deployment_runs_at_six_in_the_branch_zone_one_at_a_time(ops_runner: Any) -> None:
    with get_client(sync_client=True) as client:
        daily = client.read_deployment_by_name("daily-collection/scheduled")
    assert daily.global_concurrency_limit is not None and daily.global_concurrency_limit.limit == 1
    assert daily.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    [schedule] = daily.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 6 * * *", "Asia/Shanghai")


def test_the_deadline_automation_is_created_once_and_runs_the_report(ops_runner: Any) -> None:
    name = "npl-deadline-at-risk-report"
    with get_client(sync_client=True) as client:
        report = client.read_deployment_by_name("portfolio-report/ops")
        [made_by_serve] = client.read_automations_by_name(name)
        client.delete_automation(made_by_serve.id)  # a fresh one: its quiet period has not started
        created = serve.ensure_automations({"portfolio-report/ops": report.id})
        assert serve.ensure_automations({"portfolio-report/ops": report.id}) == created  # again: updated in place
        [automation] = client.read_automations_by_name(name)
        assert automation.id == created[name]
        assert automation.trigger.expect == {"npl.deadline.at_risk"}
        assert [a.deployment_id for a in automation.actions] == [report.id]
        before = {r.id for r in client.read_flow_runs(deployment_filter=_deployment_filter(report.id))}

        emit_event("npl.deadline.at_risk", resource={"prefect.resource.id": "npl.loan.L-OPS-1"},
                   payload={"clock": "limitation", "date": "2010-06-30"})
        deadline = time.monotonic() + 30
        while True:
            runs = [r for r in client.read_flow_runs(deployment_filter=_deployment_filter(report.id)) if r.id not in before]
            if runs or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert runs, "the automation did not start portfolio-report/ops"
    assert runs[0].created_by is not None and runs[0].created_by.type == "AUTOMATION"


def _deployment_filter(deployment_id: UUID) -> Any:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))


# --- deployments/prefect.yaml ---------------------------------------------------------------------------


def prefect_yaml() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))


def test_prefect_yaml_is_what_prefect_deploy_reads() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(prefect_yaml())
    assert {d.work_pool.name for d in model.deployments} == {"npl-pool"}
    assert model.pull == [{"prefect.deployments.steps.set_working_directory": {"directory": "/opt/npl-collect"}}]


def test_prefect_yaml_has_the_served_deployments_and_daily_schedule() -> None:
    doc = prefect_yaml()
    names = set()
    for d in doc["deployments"]:
        path, func = d["entrypoint"].split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), func)
        names.add(f"{flow.name}/{d['name']}")
    assert names == served_names()
    [daily] = [d for d in doc["deployments"] if d["entrypoint"] == "flows/daily.py:daily_collection"]
    assert daily["schedules"] == [{"cron": serve.DAILY_CRON, "timezone": serve.TIMEZONE, "active": True}]
    assert daily["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_prefect_yaml_runs_the_report_on_deadlines_at_risk_like_serve_does() -> None:
    from pydantic import TypeAdapter
    from prefect.events import DeploymentTriggerTypes

    [report] = [d for d in prefect_yaml()["deployments"] if d["entrypoint"] == "flows/reports.py:portfolio_report"]
    [trigger] = [TypeAdapter(DeploymentTriggerTypes).validate_python(t) for t in report["triggers"]]
    event, deployment, _parameters = serve.AUTOMATIONS["npl-deadline-at-risk-report"]
    assert deployment == "portfolio-report/ops"
    assert (trigger.expect, trigger.within, trigger.threshold) == ({event}, serve.REPORT_QUIET, 1)


# --- safe retries: every operations deployment retried through the Prefect API -------------------------

COLLATERAL_CSV = """\
loan_id,owner,description,estimated_value,asset_id,status
L-OPS-2,borrower,Shop front on Market Street,40000.00,A-OPS-SHOP,free
"""
# (deployment, parameters, what the run page must say), in an order the book allows; the
# escalations are answered when they suspend: (decision, approver)
RETRIED_OPERATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("record-payment/ops", {"loan_id": "L-OPS-2", "amount": "1000.00", "by": "E-01"}, "## 还款分配"),
    ("record-visit/ops", {"loan_id": "L-OPS-2", "outcome": "promise", "promise_amount": "500.00",
                          "promise_date": (AS_OF + timedelta(days=10)).isoformat(), "by": "E-01"}, "| outcome | promise |"),
    ("record-demand/ops", {"loan_id": "L-OPS-1", "guarantor": "Sun", "by": "E-01"}, "| demand_on | Sun |"),
    ("record-cost/ops", {"loan_id": "L-OPS-3", "amount": "300.00", "what": "court fee", "by": "E-01"}, "| cost | 300.00 |"),
    ("sign-installment-plan/ops", {"loan_id": "L-OPS-3", "monthly": "5000.00",
                                   "first_due": (AS_OF + timedelta(days=30)).isoformat(), "by": "E-01"}, "| to | installment |"),
    ("classify/ops", {"loan_id": "L-OPS-3", "to": "loss", "reason": "borrower absconded", "by": "E-01", "approved_by": "M-01"},
     "| to | loss |"),
    ("manual-escalation/ops", {"loan_id": "L-OPS-1", "to": "litigation", "reason": "no payment", "requested_by": "E-01",
                               "answer": {"decision": "approve", "approver": "M-01", "comment": ""}}, "| to | litigation |"),
    ("record-filing/ops", {"loan_id": "L-OPS-1", "on": AS_OF.isoformat(), "court": "District Court", "case_no": "(2008) 7",
                           "by": "E-01"}, "| court | District Court |"),
    ("record-judgment/ops", {"loan_id": "L-OPS-1", "amount": "1000.00", "perform_by": (AS_OF + timedelta(days=30)).isoformat(),
                             "by": "E-01"}, "| amount | 1000.00 |"),
    ("record-enforcement/ops", {"loan_id": "L-OPS-1", "by": "E-01"}, "| late | False |"),
    ("take-asset/ops", {"loan_id": "L-OPS-2", "asset": "A-OPS-SHOP", "value": "2000.00", "by": "E-01"}, "| dispose_by |"),
    ("dispose-asset/ops", {"loan_id": "L-OPS-2", "asset": "A-OPS-SHOP", "proceeds": "2100.00", "by": "E-01"}, "| proceeds | 2100.00 |"),
    ("manual-escalation/ops", {"loan_id": "L-OPS-2", "to": "written_off", "reason": "hopeless", "requested_by": "E-01",
                               "answer": {"decision": "reject", "approver": "M-01", "comment": "keep trying"}}, "已被 M-01 拒绝"),
]


def _artifacts_of(flow_run_id: UUID) -> list[str]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return [str(a.data) for a in sorted(found, key=lambda a: a.created) if (a.key or "").startswith("operation-")]


def _run_to_the_end(deployment: str, parameters: dict[str, Any]) -> FlowRun:
    """Run ``deployment`` as the UI's Run button does; answer its approval form if it asks."""
    answer = parameters.pop("answer", None)
    started = run_deployment(deployment, parameters={**parameters, "on": AS_OF.isoformat()}, timeout=0)
    run = wait_for(started.id, lambda r: is_paused(r) or is_final(r))
    if is_paused(run):
        assert answer is not None, f"{deployment} asked for an approval"
        resume_flow_run(run.id, run_input=answer)
        run = wait_for(run.id, is_final)
    return run


def _retry(run: FlowRun) -> FlowRun | None:
    """What the UI's Retry button does (``AwaitingRetry``, not forced), then the run's next end;
    None when the server refuses (a completed run whose result is persisted is not run again)."""
    from prefect.states import AwaitingRetry

    with get_client(sync_client=True) as client:
        response = client.set_flow_run_state(run.id, AwaitingRetry(message="Retry from the UI"), force=False)
    if response.status.value == "REJECT":
        assert "already COMPLETED" in (response.details.reason or ""), response
        return None
    assert response.status.value == "ACCEPT", response
    return wait_for(run.id, lambda r: r.state.id != run.state.id and (is_final(r) or is_paused(r)))


def test_every_operations_deployment_retried_from_the_ui_books_nothing_twice(ops_runner: Any,
                                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.canonical import canonical_dump

    folder = tmp_path_factory.mktemp("retries")
    db_url = make_book(folder)
    (folder / "collateral.csv").write_text(COLLATERAL_CSV, encoding="utf-8")
    assert not import_paths(db_url, [folder / "collateral.csv"]).rejected
    serve_database(db_url)
    retried = set()
    for deployment, parameters, says in RETRIED_OPERATIONS:
        first = _run_to_the_end(deployment, dict(parameters))
        decided = (StateType.FAILED, "Rejected") if parameters.get("answer", {}).get("decision") == "reject" else None
        assert first.state.type == StateType.COMPLETED or (first.state.type, first.state.name) == decided, (
            deployment, first.state.message)  # a rejection is a red "Rejected"
        booked = canonical_dump(db_url)
        [recorded] = _artifacts_of(first.id)
        # the served process speaks the default language (Chinese); the result's keys stay the JSON's
        assert says in recorded and "## 案件现状" in recorded and "下一个期限" in recorded, recorded

        again = _retry(first)
        if again is None:  # manual-escalation persists its result (it suspends): Prefect itself refuses the retry;
            assert deployment == "manual-escalation/ops"  # the form's key set to that run's id is the same operation
            again = _run_to_the_end(deployment, {**parameters, "key": str(first.id)})
        assert (again.state.type, again.state.name) == (first.state.type, first.state.name), (deployment, again.state.message)
        assert canonical_dump(db_url) == booked, deployment  # the retry booked nothing
        replayed = _artifacts_of(again.id)[-1]
        assert "已经登记过" in replayed and says in replayed, replayed
        retried.add(deployment)
    assert retried == {f"{f.name}/ops" for f in operations.EVENT_FLOWS} | {"manual-escalation/ops"}
