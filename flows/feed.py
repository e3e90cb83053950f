"""Prefect flow ``ingest-export``: ingest the nightly feed's inbox, or named files of it, by hand.

Served as ``ingest-export/ops`` (deployments/serve.py): when an export came late, or a file was
corrected and dropped in again, operations staff run it from the UI instead of waiting for the
next scheduled run. Thin: ``services.feed`` does the work (each file exactly once, as the daily
run does); the run publishes the result as the markdown artifact ``ingest-export``.

- ``folder``: a folder inside the inbox, by its relative name (default: the inbox itself,
  ``$NPL_INBOX`` or ``./var/inbox``); never a path leading out of it.
- ``files``: only these files of that folder, by name — never paths: a name with a path
  separator or ``..`` is refused and the run fails with the reason, ingesting nothing.
- ``business_date``: the date recorded with the files (default: the day after the last run).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context

from flows.i18n import t
from flows.prefect_env import flow_database_url
from machines.policy import load_policy
from services import feed


@flow(name="ingest-export", log_prints=False)
def ingest_export(folder: str | None = None, files: list[str] | None = None, business_date: date | None = None) -> dict[str, Any]:
    """Ingest the export files waiting in the inbox (or a folder inside it), or only ``files``."""
    logger = get_run_logger()
    names = feed.check_names(files) if files else None  # refused before anything is read
    where = feed.folder_in(feed.inbox_path(), folder)
    run_id = str(get_run_context().flow_run.id)
    result = feed.as_dict(feed.ingest_inbox(flow_database_url(), where, flow_run_id=run_id, business_date=business_date,
                                            policy=load_policy(), names=names))
    logger.info("ingested %d file(s) from %s (%d row(s) rejected)", len(result["files"]), where, result["rejected_count"])
    create_markdown_artifact(key="ingest-export", markdown=feed.markdown(result, t, title="feed.by_hand", level="#"),
                             description=t("feed.by_hand_description", folder=where))
    return result
