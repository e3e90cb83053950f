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

import contextvars
import hashlib
import json
import queue
import re
import threading
from collections.abc import Iterable
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

Officer = tuple[str, str, int, date]  # (officer, artifact key, items, date of the table the officer sees)


def publish_officer_worklists(items: list[dict[str, Any]], on: date, db_url: str) -> list[Officer]:
    """``publish_officer_worklists_as_built`` of a whole worklist (``services.worklist.worklist``)."""
    return publish_officer_worklists_as_built(by_officer(items).items(), on, db_url)[0]


Table = tuple[str, list[dict[str, Any]]]  # (officer, the rows of the officer's table: officer_rows)


def publish_officer_worklists_as_built(
    per_officer: Iterable[tuple[str, list[dict[str, Any]]]], on: date, db_url: str, *, keep_tables: bool = False
) -> tuple[list[Officer], list[Table]]:
    """One table artifact per officer with work on ``on``, published again only when it changed;
    ``per_officer``: (officer, items), each officer once (``services.worklist.worklist_by_officer``).
    Each table is handed to a thread that stores it on the Prefect server while the next ones are
    built (the server takes about 30 ms a table whatever its size: 200 tables at a million loans).

    Every date stored every officer's table on the Prefect server (200 tables, about 75,000 rows
    at a million loans), most of them what the day before had stored: seconds of every date,
    most of a date with nothing due. Now a table is published when its rows differ from the
    last one published under its key (a digest kept in the book, ``published_worklists``); every
    table is published again when one of those on record is no longer its key's latest artifact
    (another book published under the key, or the Prefect server is new). An officer on record
    whose work is all done gets a table saying there is nothing to do, so that no table shows
    work that is gone. Returns (officer, key, items, date of the table the officer sees) of each
    officer with work, in ``per_officer``'s order, and with ``keep_tables`` each of their tables
    (officer, rows) for the day's workbook. Only the tables are kept, and only when asked: an
    officer's items are let go once the table is built (holding a whole worklist's items, 126,000
    on a book of another mix, raised the daily run's peak RSS from 773 to 937 MB)."""
    with UnitOfWork(db_url) as uow:
        before = published.worklists(uow.session)
    trusted = bool(before) and still_latest([was.artifact_id for was in before.values()])
    tables: dict[str, tuple[str, str, int | None]] = {}  # key: (officer, digest, items; None: nothing to do)
    kept_tables: list[Table] = []
    kept = 0

    def table(key: str, officer: str, rows: list[dict[str, Any]], count: int | None) -> None:
        nonlocal kept
        digest = table_digest(officer, rows)
        tables[key] = (officer, digest, count)
        if trusted and key in before and before[key].digest == digest:
            kept += 1
        else:
            uploads.put(key, rows, t("worklist.title", officer=officer, date=on))

    with TableUploads() as uploads:
        for officer, items in per_officer:
            rows = officer_rows(most_urgent_first(items))
            if keep_tables:
                kept_tables.append((officer, rows))
            table(officer_key(officer), officer, rows, len(rows))
        for key, done in before.items():
            if key not in tables:
                table(key, done.officer, [nothing_to_do_row()], None)
    ids = uploads.ids
    get_run_logger().info("published %d of %d officers' worklist tables; %d unchanged", len(ids), len(tables), kept)
    now = [published.Published(key, tables[key][0], tables[key][1], artifact_id, on) for key, artifact_id in ids.items()]
    with UnitOfWork(db_url) as uow:
        published.record(uow.session, now)
        uow.commit()
    since = {key: (on if key in ids else before[key].since) for key in tables}
    officers = [(officer, key, count, since[key]) for key, (officer, _digest, count) in tables.items() if count is not None]
    return officers, kept_tables


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


class TableUploads:
    """Keyed table artifacts of the running task, created on a thread of their own,
    ``ARTIFACTS_AT_ONCE`` requests in flight, while the caller goes on (``put``). Leaving the
    ``with`` block waits for every one; ``ids`` then holds each key's new artifact id. The first
    failure is raised there; a failure of the caller's own discards what was not yet sent."""

    def __init__(self) -> None:
        from prefect.utilities.context import get_task_and_flow_run_ids

        self.ids: dict[str, str] = {}
        self._jobs: queue.SimpleQueue[tuple[str, list[dict[str, Any]], str] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._abandoned = False
        self._runs = get_task_and_flow_run_ids()
        # the caller's context (Prefect's settings: which server) goes with the thread
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), name="npl-table-uploads", daemon=True)

    def __enter__(self) -> TableUploads:
        self._thread.start()
        return self

    def put(self, key: str, rows: list[dict[str, Any]], description: str) -> None:
        self._jobs.put((key, rows, description))

    def __exit__(self, kind: type[BaseException] | None, _value: BaseException | None, _tb: Any) -> None:
        self._abandoned = kind is not None
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None and kind is None:
            raise self._error

    def _run(self) -> None:
        import asyncio

        from prefect.artifacts import TableArtifact
        from prefect.client.orchestration import get_client

        task_run_id, flow_run_id = self._runs

        async def create_all() -> None:
            gate = asyncio.Semaphore(ARTIFACTS_AT_ONCE)
            loop = asyncio.get_running_loop()
            async with get_client() as client:
                async def create(key: str, rows: list[dict[str, Any]], description: str) -> None:
                    async with gate:
                        if self._abandoned or self._error is not None:
                            return
                        made = await TableArtifact(key=key, table=rows, description=description, task_run_id=task_run_id,
                                                   flow_run_id=flow_run_id).acreate(client)
                        self.ids[key] = str(made.id)

                sent = []
                first = True
                while (job := await loop.run_in_executor(None, self._jobs.get)) is not None:
                    if first:
                        # the first alone: a server with CSRF protection gives this client its token on
                        # its first change; eight first requests at once fetched eight tokens, each
                        # voiding the one before, and were refused (403)
                        first = False
                        await create(*job)
                    else:
                        sent.append(asyncio.ensure_future(create(*job)))
                await asyncio.gather(*sent)

        try:
            asyncio.run(create_all())
        except BaseException as exc:  # raised in the caller's thread when it leaves the block
            self._error = exc


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


def officer_tables(items: list[dict[str, Any]]) -> list[Table]:
    """Each officer's table (officer, rows), officers in order, most urgent first."""
    return [(officer, officer_rows(mine)) for officer, mine in by_officer(items).items()]


def write_worklist_workbook(tables: list[Table], on: date, folder: Path) -> Path:
    """The day's worklist as a workbook in ``folder``: ``worklist-<date>.xlsx`` (tables_xlsx)."""
    return tables_xlsx(tables, on, folder / f"worklist-{on.isoformat()}.xlsx")


def worklist_xlsx(items: list[dict[str, Any]], on: date, path: Path) -> Path:
    """The worklist as a workbook at ``path`` (``npl worklist --xlsx``): see ``tables_xlsx``."""
    return tables_xlsx(officer_tables(items), on, path)


def tables_xlsx(tables: list[Table], on: date, path: Path) -> Path:
    """The officers' tables as a workbook at ``path``: a print-ready sheet per officer, most urgent
    first, tasks and headers in the chosen language (the UI's link and ``npl worklist --xlsx``)."""
    import pandas as pd

    from models.spreadsheets import write_worklist_xlsx

    rows = [{t("col.officer"): officer, **row} for officer, mine in tables for row in mine]
    columns = [t("col.officer"), t("col.loan"), t("col.task"), t("col.detail"), t("col.due"), t("col.urgent")]
    return write_worklist_xlsx(path, pd.DataFrame(rows, columns=columns),
                               officer_column=t("col.officer"), title=t("worklist.workbook", date=on))


def workbook_wanted() -> bool:
    """Whether this run publishes the day's workbook: a served run (``make serve``: the file
    server serves the reports folder), not ``npl daily``."""
    from prefect.runtime import deployment

    return bool(deployment.id)


def publish_worklist_workbook(tables: list[Table], on: date) -> str | None:
    """In a served run (``workbook_wanted``), the workbook of the officers' tables and a
    ``worklist-workbook`` link artifact to it; elsewhere (``npl daily``) nothing — ``npl
    worklist --xlsx`` writes one where you ask."""
    from flows.files import reports_dir, url_of

    if not workbook_wanted():
        return None
    path = write_worklist_workbook(tables, on, reports_dir())
    link = url_of(path)
    create_link_artifact(key="worklist-workbook", link=link, link_text=path.name, description=t("worklist.workbook", date=on))
    return link
