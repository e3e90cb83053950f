"""One approval inbox: the moves the daily run wants but may not make alone become approval
requests in the same queue as an officer's — a suspended run of the served
``manual-escalation/ops`` deployment per request, answered with "Resume" on its run page.

- ``request_daily_approvals``: after the daily run, each open case whose ``awaiting_approval``
  the run set (``sue`` → litigation, ``write_off`` → written_off) gets a request named
  ``L-0002 → litigation (requested by the daily run)``, unless one is already open for that
  loan and target (idempotent: the check reads the open runs of the deployment). A
  revitalization needs a credit amount only a person can give: it stays in the worklist.
- ``publish_pending``: the ``pending-approvals`` artifact — every open request, the officer's
  and the daily run's, oldest first, with its age in days and a link to its run page — and an
  ``npl.approval.stale`` event for each one older than ``[approvals] stale_days`` (once a day
  per request: the event id is derived from the run and the date).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events import emit_event
from sqlalchemy import select

from flows.i18n import t
from flows.run_names import DAILY_REQUESTER, escalation_name
from machines.policy import load_policy
from models.store import UnitOfWork
from models.tables import Loan

ESCALATION_FLOW = "manual-escalation"
DEPLOYMENT = f"{ESCALATION_FLOW}/ops"
TARGET_OF = {"sue": "litigation", "write_off": "written_off"}  # revitalize: a person gives the credit amount
OPEN = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]
EVENT_STALE = "npl.approval.stale"


@dataclass(frozen=True)
class Request:
    flow_run_id: uuid.UUID
    name: str
    loan_id: str
    to: str
    requested_by: str
    reason: str
    created: datetime
    waiting: bool  # suspended for the answer (not still starting)

    def age_days(self, now: datetime) -> int:
        return max(0, (now - self.created).days)


def open_requests() -> list[Request]:
    """Every request not yet decided: runs of the escalation flow still scheduled, starting,
    running or suspended, oldest first."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[ESCALATION_FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=OPEN))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200,
        )
    out = []
    for run in runs:
        p = run.parameters or {}
        if p.get("to") not in (None, "") and p.get("loan_id"):
            out.append(Request(run.id, run.name, str(p["loan_id"]), str(p["to"]), str(p.get("requested_by") or ""),
                               str(p.get("reason") or ""), run.created or datetime.now(timezone.utc),
                               run.state_type == StateType.PAUSED))
    return sorted(out, key=lambda r: r.created)


def awaited_moves(db_url: str | None) -> list[tuple[str, str, str]]:
    """(loan, target, reason) of each open case awaiting an approval the daily run asked for."""
    with UnitOfWork(db_url) as uow:
        rows = uow.session.execute(
            select(Loan.loan_id, Loan.awaiting_approval, Loan.awaiting_reason)
            .where(Loan.awaiting_approval.is_not(None), Loan.state != "closed").order_by(Loan.loan_id)
        ).all()
    return [(loan_id, TARGET_OF[event], reason or "") for loan_id, event, reason in rows if event in TARGET_OF]


def request_daily_approvals(db_url: str | None, on: date, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One suspended ``manual-escalation/ops`` run per awaited move without an open request."""
    from prefect.deployments import run_deployment

    taken = {(r.loan_id, r.to) for r in open_requests()}
    made = []
    for loan_id, to, reason in awaited_moves(db_url):
        if (loan_id, to) in taken:
            continue
        parameters = {"loan_id": loan_id, "to": to, "reason": reason, "requested_by": DAILY_REQUESTER, "on": on.isoformat()}
        run = run_deployment(DEPLOYMENT, parameters={**parameters, **(extra or {})}, timeout=0, as_subflow=False,
                             flow_run_name=escalation_name(parameters), tags=["npl", "approval"])
        made.append({"loan_id": loan_id, "to": to, "flow_run_id": str(run.id)})
        taken.add((loan_id, to))
    return made


def pending_markdown(requests: list[Request], now: datetime) -> str:
    lines = [f"# {t('approvals.title', count=len(requests))}", "", t("approvals.description"), ""]
    if not requests:
        return "\n".join(lines + [t("approvals.none")]) + "\n"
    lines += [f"| {t('col.loan')} | {t('col.move')} | {t('col.requested_by')} | {t('col.reason')} | {t('col.age_days')} | {t('col.run')} |",
              "|---|---|---|---|---:|---|"]
    for r in requests:
        reason = " ".join(r.reason.split()).replace("|", "/")
        lines.append(f"| {r.loan_id} | → {r.to} | {r.requested_by} | {reason} | {r.age_days(now)} | [{r.name}](/runs/flow-run/{r.flow_run_id}) |")
    return "\n".join(lines) + "\n"


def publish_pending(now: datetime | None = None, stale_days: int | None = None) -> list[Request]:
    """The ``pending-approvals`` artifact and the stale events; returns the open requests."""
    now = now or datetime.now(timezone.utc)
    stale_days = load_policy().approvals.stale_days if stale_days is None else stale_days
    requests = open_requests()
    create_markdown_artifact(key="pending-approvals", markdown=pending_markdown(requests, now),
                             description=t("approvals.description"))
    for r in requests:
        if r.age_days(now) > stale_days:
            emit_event(event=EVENT_STALE, resource={"prefect.resource.id": f"npl.loan.{r.loan_id}", "prefect.resource.name": r.loan_id},
                       payload={"to": r.to, "requested_by": r.requested_by, "age_days": r.age_days(now), "flow_run_id": str(r.flow_run_id),
                                "stale_days": stale_days},
                       id=uuid.uuid5(uuid.NAMESPACE_URL, f"{EVENT_STALE}/{r.flow_run_id}/{now.date()}"))
    return requests


@flow(name="pending-approvals", flow_run_name=lambda: t("approvals.title", count="…"))
def pending_approvals() -> list[dict[str, Any]]:
    """Every approval request waiting for a second person, with its age and a link to answer it
    (refreshes the ``pending-approvals`` artifact)."""
    requests = publish_pending()
    get_run_logger().info("%d request(s) pending", len(requests))
    return [{"loan_id": r.loan_id, "to": r.to, "requested_by": r.requested_by, "flow_run_id": str(r.flow_run_id)} for r in requests]


def deployment_served() -> bool:
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            return False
    return True


def after_daily_run(db_url: str | None, on: date) -> list[dict[str, Any]]:
    """The daily run's part of the inbox: its requests, then the pending list. Without a served
    escalation deployment (``npl daily`` on a temporary server) there is no queue to put them in:
    the moves stay in the worklist as ``approval_awaited``, and the log says so."""
    logger = get_run_logger()
    if not deployment_served():
        logger.info("approval requests not created: %s is not served (run `make serve`)", DEPLOYMENT)
        return []
    from flows.operations import manual_escalation

    # the request reads the daily run's database (while the flows still take a db_url)
    extra = {"db_url": db_url} if db_url and "db_url" in manual_escalation.parameters.properties else {}
    made = request_daily_approvals(db_url, on, extra)
    publish_pending()
    if made:
        logger.info("%d approval request(s) made: %s", len(made), ", ".join(f"{m['loan_id']} → {m['to']}" for m in made))
    return made
