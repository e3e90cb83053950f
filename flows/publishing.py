"""What the daily run publishes beyond its summary: a worklist table per officer (the "my work
today" an officer opens from the Artifacts page), the links to them in the summary, and the
one-line note a run for a past date leaves instead of artifacts labelled as the latest.

A run for a date before the last completed one (``npl daily --as-of`` an old date, a colliding
schedule) changes nothing (services.daily) and publishes **nothing** under the keyed "latest"
artifacts (``daily-summary``, ``daily-urgent``, ``worklist-*``…): the book it would read is
today's, not that date's, so any table would carry a false date. It leaves one unkeyed markdown
note on its own run page saying so.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from flows.i18n import detail_text, lang, t, t_in, task_label
from models.store import UnitOfWork
from services import published, worklist

KEY_PREFIX = "worklist-"


def officer_key(officer: str) -> str:
    """The artifact key of an officer's worklist: ``worklist-`` and the id lower-cased, every run
    of other characters one hyphen (Prefect keys match ^[a-z0-9-]*$): ``E-01`` → ``worklist-e-01``."""
    slug = re.sub(r"[^a-z0-9]+", "-", officer.lower()).strip("-") or "x"
    return KEY_PREFIX + slug


def most_urgent_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quarantined cases, then urgent items, then the earliest due date, then the task's order."""
    return sorted(items, key=lambda i: (i["task"] != worklist.QUARANTINED, not i["urgent"], i["due"] or "9999-12-31",
                                        worklist.TASK_ORDER.index(i["task"]), i["loan_id"]))


def by_officer(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    per: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        per.setdefault(item["officer"], []).append(item)
    return {officer: most_urgent_first(rows) for officer, rows in sorted(per.items())}


OFFICER_COLUMNS = ("col.loan", "col.task", "col.detail", "col.due", "col.urgent")


def officer_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An officer's table: loan, task, detail, due, urgent — with the chosen language's headers."""
    language = lang()  # read once: an officer can have thousands of items
    loan, task, detail, due, urgent = (t_in(language, k) for k in OFFICER_COLUMNS)
    yes = t_in(language, "yes")
    return [{loan: i["loan_id"], task: task_label(i["task"], language), detail: detail_text(i, language), due: i["due"] or "",
             urgent: yes if i["urgent"] else ""} for i in items]


def nothing_to_do_row() -> dict[str, Any]:
    """The one row of an officer's table when all of their work is done."""
    return dict(zip((t(k) for k in OFFICER_COLUMNS), ("-", t("daily.no_work"), "", "", "")))


def urgent_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The daily-urgent table: the officer and an officer's columns, in the chosen language."""
    return [{t("col.officer"): i["officer"], **row} for i in items for row in officer_rows([i])]


def risk_rows(risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deadlines-at-risk table in the chosen language: loan, clock, end, task, detail, officer."""
    return [{t("col.loan"): r["loan_id"], t("case.clock"): r["clock"], t("case.ends"): r["date"],
             t("col.task"): task_label(r["task"]) if r.get("task") else (t("risk.lapsed") if r.get("status") == "lapsed" else t("risk.at_risk")),
             t("col.detail"): detail_text(r), t("col.officer"): r["officer"]} for r in risks]


ARTIFACTS_AT_ONCE = 8  # requests to the Prefect API in flight while publishing the officers' tables


def publish_officer_worklists(items: list[dict[str, Any]], on: date, db_url: str) -> list[tuple[str, str, int, date]]:
    """One table artifact per officer with work on ``on``, published again only when it changed.

    Every date stored every officer's table on the Prefect server (200 tables, about 75,000 rows
    at a million loans), most of them what the day before had stored: seconds of every date,
    most of a date with nothing due. Now a table is published when its rows differ from the
    last one published under its key (a digest kept in the book, ``published_worklists``), or
    when that artifact is no longer the key's latest (another book published under the key, or
    the Prefect server is new); an officer on record whose work is all done gets a table saying
    there is nothing to do, so that no table shows work that is gone. Returns (officer, key,
    items, date of the table the officer sees) of each officer with work."""
    mine = by_officer(items)
    with UnitOfWork(db_url) as uow:
        before = published.worklists(uow.session)
    tables = {officer_key(officer): (officer, officer_rows(rows)) for officer, rows in mine.items()}
    for key, done in before.items():
        tables.setdefault(key, (done.officer, [nothing_to_do_row()]))
    digests = {key: table_digest(officer, rows) for key, (officer, rows) in tables.items()}
    kept = {key: was for key, was in before.items() if was.digest == digests[key]}
    if kept and not still_latest([was.artifact_id for was in kept.values()]):
        kept = {}  # the server lost or replaced some: publish every table again
    fresh = [(key, rows, t("worklist.title", officer=officer, date=on)) for key, (officer, rows) in tables.items() if key not in kept]
    ids = publish_tables(fresh)
    get_run_logger().info("published %d of %d officers' worklist tables; %d unchanged", len(fresh), len(tables), len(kept))
    now = [published.Published(key, tables[key][0], digests[key], ids[key], on) for key, _, _ in fresh]
    with UnitOfWork(db_url) as uow:
        published.record(uow.session, now)
        uow.commit()
    since = {key: was.since for key, was in kept.items()} | {table.key: on for table in now}
    return [(officer, officer_key(officer), len(rows), since[officer_key(officer)]) for officer, rows in mine.items()]


def table_digest(officer: str, rows: list[dict[str, Any]]) -> str:
    """What an officer's table shows (its rows with their headers, so in its language)."""
    return hashlib.sha256(json.dumps([officer, rows], ensure_ascii=False, default=str).encode()).hexdigest()


def still_latest(artifact_ids: list[str]) -> bool:
    """Whether each of these artifacts is still the latest of its key on the Prefect server
    (one request: the server counts the keys whose latest is among them)."""
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def count() -> int:
        async with get_client() as client:
            response = await client.request("POST", "/artifacts/latest/count", json={"artifacts": {"latest_id": {"any_": artifact_ids}}})
            return int(response.json())

    return run_coro_as_sync(count()) == len(set(artifact_ids))


def publish_tables(tables: list[tuple[str, list[dict[str, Any]], str]]) -> dict[str, str]:
    """Keyed table artifacts (key, rows, description) of the running task, created
    ``ARTIFACTS_AT_ONCE`` at a time (one request each: 200 in a row made a date wait on 200
    round trips); returns each key's new artifact id."""
    import asyncio

    from prefect.artifacts import TableArtifact
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync
    from prefect.utilities.context import get_task_and_flow_run_ids

    task_run_id, flow_run_id = get_task_and_flow_run_ids()

    async def create_all() -> dict[str, str]:
        gate = asyncio.Semaphore(ARTIFACTS_AT_ONCE)
        async with get_client() as client:
            async def create(key: str, rows: list[dict[str, Any]], description: str) -> tuple[str, str]:
                async with gate:
                    made = await TableArtifact(key=key, table=rows, description=description, task_run_id=task_run_id,
                                               flow_run_id=flow_run_id).acreate(client)
                    return key, str(made.id)

            return dict(await asyncio.gather(*(create(*table) for table in tables)))

    return run_coro_as_sync(create_all()) if tables else {}


def my_work_markdown(officers: list[tuple[str, str, int, date]]) -> str:
    """The summary's "my work today" section: a link to each officer's table, its items and its date."""
    lines = [f"## {t('daily.my_work')}", "", t("daily.my_work_hint"), ""]
    if not officers:
        return "\n".join(lines + [t("daily.no_work"), ""])
    lines += [f"| {t('col.officer')} | {t('col.items')} | {t('col.table_of')} |", "|---|---:|---|"]
    lines += [f"| [{officer}](/artifacts/key/{key}) | {count} | {since.isoformat()} |" for officer, key, count, since in officers]
    return "\n".join(lines) + "\n"


def with_section(markdown: str, section: str) -> str:
    """``section`` placed right under the markdown's title."""
    title, _, rest = markdown.partition("\n\n")
    return f"{title}\n\n{section}\n{rest}"


def is_past(through: date, last_completed: date | None) -> bool:
    return last_completed is not None and through < last_completed


def publish_past_date_note(through: date, last_completed: date) -> str:
    note = t("daily.past_date_note", date=through, last=last_completed)
    create_markdown_artifact(markdown=note, description=note)  # unkeyed: on this run's page only
    return note


def write_worklist_workbook(items: list[dict[str, Any]], on: date, folder: Path) -> Path:
    """The day's worklist as a workbook in ``folder``: ``worklist-<date>.xlsx`` (worklist_xlsx)."""
    return worklist_xlsx(items, on, folder / f"worklist-{on.isoformat()}.xlsx")


def worklist_xlsx(items: list[dict[str, Any]], on: date, path: Path) -> Path:
    """The worklist as a workbook at ``path``: a print-ready sheet per officer, most urgent first,
    tasks and headers in the chosen language (the UI's link and ``npl worklist --xlsx``)."""
    import pandas as pd

    from models.spreadsheets import write_worklist_xlsx

    rows = [{t("col.officer"): officer, **row} for officer, mine in by_officer(items).items() for row in officer_rows(mine)]
    columns = [t("col.officer"), t("col.loan"), t("col.task"), t("col.detail"), t("col.due"), t("col.urgent")]
    return write_worklist_xlsx(path, pd.DataFrame(rows, columns=columns),
                               officer_column=t("col.officer"), title=t("worklist.workbook", date=on))


def publish_worklist_workbook(items: list[dict[str, Any]], on: date) -> str | None:
    """In a served run (``make serve``: the file server serves the reports folder), the workbook
    and a ``worklist-workbook`` link artifact to it; elsewhere (``npl daily``) nothing — ``npl
    worklist --xlsx`` writes one where you ask."""
    from prefect.runtime import deployment

    from flows.files import reports_dir, url_of

    if not deployment.id:
        return None
    path = write_worklist_workbook(items, on, reports_dir())
    link = url_of(path)
    create_link_artifact(key="worklist-workbook", link=link, link_text=path.name, description=t("worklist.workbook", date=on))
    return link
