"""Prefect flow ``daily-collection``: thin orchestration over services.daily.

One flow run walks every business date not yet completed up to ``through`` (or ``as_of``), in
order; due cases are advanced in chunk-sized tasks; the day's summary, worklist and deadlines
at risk are published as artifacts, and escalations / approvals / deadlines as Prefect events.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.events import emit_event

from machines.policy import load_policy
from models.store import UnitOfWork, database_url, last_run_date
from services import daily, reporting, worklist

DEFAULT_TZ = "Asia/Shanghai"


def today_in_branch_zone() -> date:
    """The branch's calendar date (the schedule's default ``as_of``): an edge concern, not the domain's."""
    return datetime.now(ZoneInfo(os.environ.get("NPL_TIMEZONE", DEFAULT_TZ))).date()


@task(cache_policy=NO_CACHE)
def advance_cases(db_url: str, ids: list[str], day: date) -> dict[str, Any]:
    """Judge and advance one chunk of cases due on ``day``."""
    result = daily.DayResult(day)
    with UnitOfWork(db_url) as uow:
        daily.process_chunk(uow, ids, day, load_policy(), result)
    return {"cases": result.cases, "transitions": result.transitions, "alerts": result.alerts,
            "awaiting": result.awaiting, "suspended": result.suspended, "refused": result.refused}


@task(cache_policy=NO_CACHE)
def publish_day(db_url: str, run: dict[str, Any]) -> dict[str, Any]:
    """Publish the summary, worklist and deadlines at risk of the run's last date."""
    policy = load_policy()
    through = date.fromisoformat(run["through"])
    with UnitOfWork(db_url) as uow:
        summary = reporting.summary_tables(uow.session, policy)
        items = worklist.worklist(uow.session, through, policy)
        risks = worklist.deadlines_at_risk(uow.session, through, policy)
    md = reporting.summary_markdown(through, summary, run, risks)
    create_markdown_artifact(key="daily-summary", markdown=md, description=f"Daily collection summary {through}")
    create_table_artifact(key="daily-worklist", table=items or [{"officer": "-", "loan_id": "-", "task": "nothing to do", "detail": "", "due": None, "urgent": False}],
                          description=f"Worklist per officer for {through}")
    create_table_artifact(key="deadlines-at-risk", table=risks or [{"loan_id": "-", "clock": "none", "date": None, "detail": "", "officer": "-"}],
                          description=f"Legal deadlines within their lead days on {through}")
    return {"worklist": len(items), "deadlines_at_risk": len(risks), "risks": risks}


def _emit(run: dict[str, Any], risks: list[dict[str, Any]]) -> None:
    for t in run["transitions"]:
        emit_event(event="npl.case.escalated", resource={"prefect.resource.id": f"npl.loan.{t['loan_id']}"},
                   payload={k: t[k] for k in ("from", "to", "event", "on", "reason")})
    for a in run["awaiting"]:
        emit_event(event="npl.approval.needed", resource={"prefect.resource.id": f"npl.loan.{a['loan_id']}"}, payload=a)
    for a in run["alerts"]:
        if a["clock"] == "promise":
            emit_event(event="npl.promise.broken", resource={"prefect.resource.id": f"npl.loan.{a['loan_id']}"}, payload=a)
    for r in risks:
        emit_event(event="npl.deadline.at_risk", resource={"prefect.resource.id": f"npl.loan.{r['loan_id']}"}, payload=r)


def run_daily(
    as_of: date, through: date | None, db_url: str, *, use_tasks: bool, progress: Callable[[date, date], None] | None = None
) -> dict[str, Any]:
    policy = load_policy()
    merged: dict[str, list[Any]] = {"transitions": [], "alerts": [], "awaiting": [], "suspended": [], "refused": []}

    def process(ids: list[str], day: date, day_result: daily.DayResult) -> None:
        if use_tasks:
            part = advance_cases(db_url, ids, day)
        else:
            part = advance_cases.fn(db_url, ids, day)
        day_result.cases += part["cases"]
        for key in merged:
            getattr(day_result, key).extend(part[key])

    result = daily.run_dates(lambda: UnitOfWork(db_url), as_of, through, policy, flow_run_id=_flow_run_id(),
                             on_progress=progress, process=process)
    if result.already_done:
        with UnitOfWork(db_url) as uow:
            last = last_run_date(uow.session)
            daily.refresh_classification(uow, last)  # idempotent: completes a run killed after its last date
    for d in result.days:
        for key in merged:
            merged[key].extend(getattr(d, key))
    return {
        "as_of": as_of.isoformat(),
        "through": result.through.isoformat(),
        "already_done": result.already_done,
        "dates_run": len(result.dates_run),
        "event_dates": len(result.days),
        "cases_judged": sum(d.cases for d in result.days),
        **merged,
    }


def _flow_run_id() -> str | None:
    try:
        ctx = get_run_context()
        return str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None
    except RuntimeError:
        return None


@flow(name="daily-collection", log_prints=False)
def daily_collection(as_of: date | None = None, through: date | None = None, db_url: str | None = None, publish: bool = True) -> dict[str, Any]:
    """Advance every case on each business date up to ``through`` (default ``as_of``, default today
    in the branch's time zone); a date already completed changes nothing."""
    logger = get_run_logger()
    as_of = as_of or today_in_branch_zone()
    url = database_url(db_url)
    run = run_daily(as_of, through, url, use_tasks=True, progress=_cli_progress.get("fn"))
    if run["already_done"]:
        logger.info("business date %s already completed: nothing changed", run["through"])
    else:
        logger.info("ran %d business dates (%d with events) to %s: %d transitions", run["dates_run"], run["event_dates"],
                    run["through"], len(run["transitions"]))
    if publish:
        published = publish_day(url, run)
        run["deadlines_at_risk"] = published["risks"]
        _emit(run, published["risks"])
    return run


_cli_progress: dict[str, Any] = {}  # the CLI installs a rich progress callback for long catch-ups
