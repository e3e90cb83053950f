"""Prefect flow ``daily-collection``: thin orchestration over services.daily.

One flow run first ingests the night's export waiting in the inbox (services/feed.py), then walks
every business date not yet completed up to ``through`` (or ``as_of``), in order; due cases are
advanced in chunk-sized tasks; the day's summary, worklist and deadlines at risk are published
as artifacts, and escalations / approvals / deadlines as Prefect events.
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
from prefect.utilities.annotations import quote

from flows import approvals, publishing, run_names
from flows.collector import fewer_full_collections
from flows.i18n import t
from flows.letters import letters_due
from flows.prefect_env import flow_database_url
from machines.policy import load_policy
from models.store import UnitOfWork, last_run_date
from services import daily, daily_summary, feed, worklist

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


def _current_progress() -> Progress | None:
    """The callback ``reporting_progress`` set, if any. (The flow's body reads it through this
    function: a process-pool or Dask task runner pickles the flow's function by value with the
    globals it names, and a ContextVar cannot be pickled.)"""
    return _progress.get()


def today_in_branch_zone() -> date:
    """The branch's calendar date (the schedule's default ``as_of``): an edge concern, not the domain's."""
    return datetime.now(ZoneInfo(os.environ.get("NPL_TIMEZONE", DEFAULT_TZ))).date()


@task(cache_policy=NO_CACHE)
def work_parts(day: date, room: dict[str, int | None] | None = None, db_url: str | None = None) -> dict[str, Any]:
    """One worker of a date on PostgreSQL: claim the date's parts until none is left and judge
    their due cases (services.daily.work_parts); a date makes one such task run per worker,
    whatever the size of the book. As a task it finds its database itself (``flow_database_url``):
    a task's inputs are not a place for credentials."""
    fewer_full_collections()  # a worker process of its own (process pool, Dask)
    result = daily.DayResult(day, daily.Tally(keep=None))
    url = db_url or flow_database_url()
    daily.work_parts(lambda: UnitOfWork(url), day, load_policy(), result)
    return {"cases": result.cases, **result.tally.digest(room)}


def workers() -> int:
    """``NPL_WORKERS``: parallel workers a date is given on PostgreSQL (default 1)."""
    return max(1, int(os.environ.get("NPL_WORKERS") or 1))


def task_runner_from_env() -> Any:
    """Where the workers run: a Dask cluster at ``NPL_DASK_ADDRESS`` (many hosts), else a pool
    of ``NPL_WORKERS`` processes on this host, else threads (one worker, nothing in parallel)."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    address = os.environ.get("NPL_DASK_ADDRESS")
    if address:
        from prefect_dask import DaskTaskRunner  # the optional extra [dask]

        return DaskTaskRunner(address=address)
    if workers() > 1:
        return ProcessPoolTaskRunner(max_workers=workers())
    return ThreadPoolTaskRunner()


@task(cache_policy=NO_CACHE)
def advance_cases(ids: list[str], day: date, room: dict[str, int | None] | None = None, db_url: str | None = None) -> dict[str, Any]:
    """Judge and advance cases due on ``day``, a chunk at a time, each chunk committed on its own
    (up to ``daily.CHUNKS_A_CALL`` chunks a task run); return the counts and, of each kind,
    the items the run still has ``room`` for (Prefect keeps every task's return value until the
    flow run ends: a long catch-up must not hold every case it moved). As a task it finds its
    database itself (``flow_database_url``): a task's inputs are not a place for credentials."""
    result = daily.DayResult(day, daily.Tally(keep=None))
    url = db_url or flow_database_url()
    daily.process_ids(lambda: UnitOfWork(url), ids, day, load_policy(), result)
    return {"cases": result.cases, **result.tally.digest(room)}


@task(cache_policy=NO_CACHE)
def ingest_export(as_of: date, wait_for_export: bool, flow_run_id: str | None) -> dict[str, Any]:
    """The run's first step: ingest the night's export from the inbox (``NPL_INBOX``), waiting
    for it first up to ``[feed] wait_minutes`` when ``wait_for_export`` (services/feed.py); the
    files are recorded for the first date the run advances (``as_of`` before any run)."""
    db_url = flow_database_url()
    business_date = feed.next_business_date(db_url, as_of)
    result = feed.nightly(db_url, feed.inbox_path(), business_date=business_date, flow_run_id=flow_run_id,
                          wait=wait_for_export, policy=load_policy())
    return feed.as_dict(result)


def _emit_feed_missing(ingested: dict[str, Any]) -> None:
    """``npl.feed.missing``: the export had not come when the run stopped waiting for it."""
    emit_event(event="npl.feed.missing", resource={"prefect.resource.id": f"npl.feed.{ingested['business_date']}"},
               payload={"inbox": ingested["inbox"], "business_date": ingested["business_date"],
                        "missing": ingested["missing"], "waited_minutes": ingested["waited_minutes"]})


SAMPLE = 200  # rows of transitions / approvals shown in the summary artifact
URGENT_ROWS = 1000  # rows of the daily-urgent table (most urgent first; `npl worklist` lists all)
EVENT_CAP = 500  # per-case Prefect events of one kind per run; a summary event carries the totals


@task(cache_policy=NO_CACHE)
def publish_day(through: date, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Publish the summary, the worklist per officer and the deadlines at risk of the run's last
    date; return the deadlines at risk."""
    policy = load_policy()
    with UnitOfWork(flow_database_url()) as uow:
        summary = daily_summary.summary_tables(uow.session, policy)
        risks = worklist.deadlines_at_risk(uow.session, through, policy, refresh=True)
        uow.commit()  # where the clocks of the cases read end, as of this date (refresh)
        per_officer = worklist.worklist_summary(uow.session, through, policy, risks)
        urgent = worklist.worklist(uow.session, through, policy, tasks=worklist.URGENT_TASKS, risks=risks, most=URGENT_ROWS)
        # each officer's table goes to the Prefect server while the next officers' items are built
        officers, tables = publishing.publish_officer_worklists_as_built(
            worklist.worklist_by_officer(uow.session, through, policy, risks=risks), through, flow_database_url(),
            keep_tables=publishing.workbook_wanted())
    urgent.sort(key=lambda i: (i["task"] != worklist.QUARANTINED, not i["urgent"], i["due"] or "9999-12-31",
                               worklist.TASK_ORDER.index(i["task"]), i["officer"], i["loan_id"]))
    publishing.publish_worklist_workbook(tables, through)
    markdown = daily_summary.summary_markdown(through, summary, run, risks, t)
    if run.get("feed") is not None:
        markdown = feed.with_section(markdown, feed.markdown(run["feed"], t))
    markdown = quarantined_first(publishing.with_section(markdown, publishing.my_work_markdown(officers)), run)
    create_markdown_artifact(key="daily-summary", markdown=markdown,
                             description=t("daily.summary_description", date=through))  # not the title: the UI shows both
    # the per-officer counts' columns are the rows' keys, as `npl worklist --json` gives them; the urgent
    # items and the deadlines are shown in the chosen language (the words of the descriptions too)
    create_table_artifact(key="daily-worklist", table=per_officer or [{"officer": "-", **dict.fromkeys(worklist.SUMMARY_COLUMNS, 0)}],
                          description=t("daily.worklist_description", date=through))
    create_table_artifact(key="daily-urgent", table=publishing.urgent_rows(urgent[:URGENT_ROWS]) or [{t("col.officer"): "-", t("col.loan"): "-", t("col.task"): t("daily.nothing_urgent")}],
                          description=t("daily.urgent_description", date=through))
    create_table_artifact(key="deadlines-at-risk", table=publishing.risk_rows(risks) or [{t("col.loan"): "-", t("case.clock"): t("case.none"), t("case.ends"): None, t("col.detail"): "", t("col.officer"): "-"}],
                          description=t("daily.risks_description", date=through))
    return risks


def quarantined_first(markdown: str, run: dict[str, Any]) -> str:
    """The summary with the cases the run could not judge as its first section, under the title."""
    total = run["counts"].get("quarantined", 0)
    if not total:
        return markdown
    rows = run.get("quarantined", [])
    headers = [t("col.loan"), t("col.on"), t("col.error"), t("col.officer")]
    lines = [f"## {t('summary.quarantined', total=total)}", "", t("summary.quarantined_hint"), "",
             "| " + " | ".join(headers) + " |", "|---|---|---|---|"]
    lines += [f"| {q['loan_id']} | {q['business_date']} | {' '.join(q['error'].split()).replace('|', '/')} | {q['officer'] or '-'} |" for q in rows]
    if total > len(rows):
        lines.append(daily_summary.shown_note(t, len(rows), total))
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
    each("npl.deadline.at_risk", [r for r in risks if r.get("status", "at_risk") == "at_risk"])
    each("npl.deadline.lapsed", [a for a in run["alerts"] if a["clock"].endswith("_lapsed")])  # once: the first date after the end
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
        # quote: Prefect would otherwise walk the list id by id, twice a task run, looking for futures
        # (0.4 s a 100,000 ids); the task receives the list itself
        part = advance_cases(quote(ids), day, room) if use_tasks else advance_cases.fn(ids, day, room, db_url)
        day_result.cases += part["cases"]
        day_result.tally.merge(part)

    def run_parts(day: date, day_result: daily.DayResult) -> None:
        room = day_result.tally.room()
        if use_tasks:
            futures = [work_parts.submit(day, room) for _ in range(workers())]
            parts = []
            for f in futures:
                try:
                    parts.append(f.result())
                except Exception as exc:  # a lost worker: the run takes its part over (finish_parts)
                    get_run_logger().warning("a daily worker of %s failed (%s); its part is taken over when its lease ends", day, exc)
        else:
            parts = [work_parts.fn(day, room, db_url)]
        for part in parts:
            day_result.cases += part["cases"]
            day_result.tally.merge(part)

    result = daily.run_dates(lambda: UnitOfWork(db_url), as_of, through, policy, flow_run_id=_flow_run_id(),
                             on_progress=progress, process=process, run_parts=run_parts, workers=workers())
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


@flow(name="daily-collection", flow_run_name=run_names.daily_name, log_prints=False, task_runner=task_runner_from_env())
def daily_collection(as_of: date | None = None, through: date | None = None, publish: bool = True,
                     wait_for_export: bool = False) -> dict[str, Any]:
    """Ingest the night's export waiting in the inbox, then advance every case on each business
    date up to ``through`` (default ``as_of``, default today in the branch's time zone); a date
    already completed changes nothing. ``wait_for_export`` (the scheduled deployment): wait for a
    missing export up to the policy's ``[feed] wait_minutes``, then run on the book as it is. The
    database is the environment's (``flows.prefect_env.flow_database_url``), never a parameter."""
    fewer_full_collections()  # whoever started the run: `npl daily`, a served deployment, a worker
    logger = get_run_logger()
    as_of = as_of or today_in_branch_zone()
    url = flow_database_url()
    ingested = ingest_export(as_of, wait_for_export, _flow_run_id())
    if ingested["files"]:
        logger.info("ingested %d export file(s) from %s (%d row(s) rejected)", len(ingested["files"]), ingested["inbox"],
                    ingested["rejected_count"])
    if ingested["missing"]:
        logger.warning("no %s export in %s after %s min: running on the book as it is", ", ".join(ingested["missing"]),
                       ingested["inbox"], ingested["waited_minutes"])
        _emit_feed_missing(ingested)
    run = run_daily(as_of, through, url, use_tasks=True, progress=_current_progress())
    run["feed"] = ingested
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
            risks = publish_day(through_day, sample)
            run["approval_requests"] = approvals.after_daily_run(url, through_day)
            letters_due(through_day)  # the demand letters due (issue 14), listed on the run page
        run["deadlines_at_risk"] = risks
        _emit(run, risks)
    return run

