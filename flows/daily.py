"""Prefect flow ``daily-collection``: thin orchestration over services.daily.

One flow run walks every business date not yet completed up to ``through`` (or ``as_of``), in
order; due cases are advanced in chunk-sized tasks; the day's summary, worklist and deadlines
at risk are published as artifacts, and escalations / approvals / deadlines as Prefect events.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.events import emit_event

from flows import approvals, publishing, run_names
from machines.policy import load_policy
from models.store import UnitOfWork, database_url, last_run_date
from services import daily, reporting, worklist

DEFAULT_TZ = "Asia/Shanghai"

Progress = Callable[[date, date], None]  # (date reached, last date of the run)
_progress: ContextVar[Progress | None] = ContextVar("npl_daily_progress", default=None)


@contextmanager
def reporting_progress(callback: Progress | None) -> Iterator[None]:
    """Within this block, a daily flow run called from this thread tells ``callback`` how far
    it is (the CLI's progress bar on a long catch-up); not a flow parameter: Prefect stores
    those, and a callback is not data."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def today_in_branch_zone() -> date:
    """The branch's calendar date (the schedule's default ``as_of``): an edge concern, not the domain's."""
    return datetime.now(ZoneInfo(os.environ.get("NPL_TIMEZONE", DEFAULT_TZ))).date()


@task(cache_policy=NO_CACHE)
def advance_cases(db_url: str, ids: list[str], day: date, room: dict[str, int | None] | None = None) -> dict[str, Any]:
    """Judge and advance one chunk of cases due on ``day``; return the counts and, of each kind,
    the items the run still has ``room`` for (Prefect keeps every task's return value until the
    flow run ends: a long catch-up must not hold every case it moved)."""
    result = daily.DayResult(day, daily.Tally(keep=None))
    with UnitOfWork(db_url) as uow:
        daily.process_chunk(uow, ids, day, load_policy(), result)
    return {"cases": result.cases, **result.tally.digest(room)}


SAMPLE = 200  # rows of transitions / approvals shown in the summary artifact
URGENT_ROWS = 1000  # rows of the daily-urgent table (most urgent first; `npl worklist` lists all)
EVENT_CAP = 500  # per-case Prefect events of one kind per run; a summary event carries the totals


@task(cache_policy=NO_CACHE)
def publish_day(db_url: str, through: date, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Publish the summary, the worklist per officer and the deadlines at risk of the run's last
    date; return the deadlines at risk."""
    policy = load_policy()
    with UnitOfWork(db_url) as uow:
        summary = reporting.summary_tables(uow.session, policy)
        risks = worklist.deadlines_at_risk(uow.session, through, policy)
        per_officer = worklist.worklist_summary(uow.session, through, policy, risks)
        urgent = worklist.worklist(uow.session, through, policy, tasks=worklist.URGENT_TASKS, risks=risks, most=URGENT_ROWS)
        everything = worklist.worklist(uow.session, through, policy, risks=risks)
    urgent.sort(key=lambda i: (i["task"] != worklist.QUARANTINED, not i["urgent"], i["due"] or "9999-12-31",
                               worklist.TASK_ORDER.index(i["task"]), i["officer"], i["loan_id"]))
    officers = publishing.publish_officer_worklists(everything, through)
    publishing.publish_worklist_workbook(everything, through)
    markdown = quarantined_first(publishing.with_section(reporting.summary_markdown(through, summary, run, risks),
                                                         publishing.my_work_markdown(officers)), run)
    create_markdown_artifact(key="daily-summary", markdown=markdown,
                             description=f"Daily collection summary {through}")
    create_table_artifact(key="daily-worklist", table=per_officer or [{"officer": "-", **dict.fromkeys(worklist.SUMMARY_COLUMNS, 0)}],
                          description=f"Work per officer on {through} (`npl worklist --as-of {through}` lists every item)")
    create_table_artifact(key="daily-urgent", table=urgent[:URGENT_ROWS] or [{"officer": "-", "loan_id": "-", "task": "nothing urgent"}],
                          description=f"Approvals awaited, deadlines at risk and demands to send on {through}")
    create_table_artifact(key="deadlines-at-risk", table=risks or [{"loan_id": "-", "clock": "none", "date": None, "detail": "", "officer": "-"}],
                          description=f"Legal deadlines within their lead days on {through}")
    return risks


def quarantined_first(markdown: str, run: dict[str, Any]) -> str:
    """The summary with the cases the run could not judge as its first section, under the title."""
    total = run["counts"].get("quarantined", 0)
    if not total:
        return markdown
    rows = run.get("quarantined", [])
    lines = [f"## Quarantined: could not be judged ({total})", "",
             "Left out while the rest of the book advanced; correct each case and run the daily flow again "
             "(it catches up the dates it missed).", "", "| loan | date | error | officer |", "|---|---|---|---|"]
    lines += [f"| {q['loan_id']} | {q['business_date']} | {' '.join(q['error'].split()).replace('|', '/')} | {q['officer'] or '-'} |" for q in rows]
    if total > len(rows):
        lines.append(f"(the first {len(rows)} of {total} shown)")
    title, _, rest = markdown.partition("\n\n")
    return f"{title}\n\n" + "\n".join(lines) + f"\n\n{rest}"


def _emit(run: dict[str, Any], risks: list[dict[str, Any]]) -> None:
    """Prefect events for automations: one per case (up to EVENT_CAP a kind) and a run summary."""
    def each(name: str, rows: list[dict[str, Any]], keys: tuple[str, ...] | None = None) -> None:
        for row in rows[:EVENT_CAP]:
            payload = {k: row[k] for k in keys} if keys else row
            emit_event(event=name, resource={"prefect.resource.id": f"npl.loan.{row['loan_id']}"}, payload=payload)

    each("npl.case.quarantined", run["quarantined"], ("loan_id", "business_date", "error"))
    each("npl.case.escalated", run["transitions"], ("from", "to", "event", "on", "reason"))
    each("npl.approval.needed", run["awaiting"])
    each("npl.promise.broken", [a for a in run["alerts"] if a["clock"] == "promise"])
    each("npl.deadline.at_risk", risks)
    emit_event(event="npl.daily.completed", resource={"prefect.resource.id": f"npl.daily.{run['through']}"},
               payload={"through": run["through"], "transitions": run["counts"]["transitions"], "approvals_needed": run["counts"]["awaiting"],
                        "deadlines_at_risk": len(risks), "quarantined": run["counts"]["quarantined"],
                        "already_done": run["already_done"]})


def run_daily(
    as_of: date, through: date | None, db_url: str, *, use_tasks: bool, progress: Callable[[date, date], None] | None = None
) -> dict[str, Any]:
    policy = load_policy()

    def process(ids: list[str], day: date, day_result: daily.DayResult) -> None:
        room = day_result.tally.room()
        part = advance_cases(db_url, ids, day, room) if use_tasks else advance_cases.fn(db_url, ids, day, room)
        day_result.cases += part["cases"]
        day_result.tally.merge(part)

    result = daily.run_dates(lambda: UnitOfWork(db_url), as_of, through, policy, flow_run_id=_flow_run_id(),
                             on_progress=progress, process=process)
    return {
        "as_of": as_of.isoformat(),
        "through": result.through.isoformat(),
        "already_done": result.already_done,
        "dates_run": len(result.dates_run),
        "event_dates": len(result.days),
        "cases_judged": sum(d.cases for d in result.days),
        "counts": dict(result.tally.counts),
        **result.tally.items,  # the first daily.KEEP of each kind
    }


def _flow_run_id() -> str | None:
    try:
        ctx = get_run_context()
        return str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None
    except RuntimeError:
        return None


@flow(name="daily-collection", flow_run_name=run_names.daily_name, log_prints=False)
def daily_collection(as_of: date | None = None, through: date | None = None, db_url: str | None = None, publish: bool = True) -> dict[str, Any]:
    """Advance every case on each business date up to ``through`` (default ``as_of``, default today
    in the branch's time zone); a date already completed changes nothing."""
    logger = get_run_logger()
    as_of = as_of or today_in_branch_zone()
    url = database_url(db_url)
    run = run_daily(as_of, through, url, use_tasks=True, progress=_progress.get())
    if run["already_done"]:
        logger.info("business date %s already completed: nothing changed", run["through"])
    else:
        logger.info("ran %d business dates (%d with events) to %s: %d transitions", run["dates_run"], run["event_dates"],
                    run["through"], run["counts"]["transitions"])
    if publish:
        through_day = date.fromisoformat(run["through"])
        with UnitOfWork(url) as uow:
            last = last_run_date(uow.session)
        if publishing.is_past(through_day, last):  # today's book under that date's label would be false
            logger.info(publishing.publish_past_date_note(through_day, last))
            risks = []
        else:
            sample = {k: (v[:SAMPLE] if isinstance(v, list) else v) for k, v in run.items()}
            risks = publish_day(url, through_day, sample)
            run["approval_requests"] = approvals.after_daily_run(db_url, through_day)
        run["deadlines_at_risk"] = risks
        _emit(run, risks)
    return run

