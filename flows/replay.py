"""Prefect flow ``policy-replay`` (deployment ``policy-replay/ops``): try a challenger policy on the
book's own history; the comparison is published as a markdown artifact with the chart's numbers.

Thin: the form's TOML text is validated by the live policy's own loader (a refusal names the
key), and ``services.replay`` does the rest without writing the database.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.i18n import t
from flows.prefect_env import flow_database_url
from machines.policy import Policy, load_policy


def challenger_from_text(policy_toml: str) -> Policy:
    """The challenger from TOML text, through ``load_policy`` (the live policy's validation)."""
    fd, path = tempfile.mkstemp(prefix="npl-challenger-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(policy_toml)
        return load_policy(path)
    finally:
        os.unlink(path)


@flow(name="policy-replay", flow_run_name="replay {date_from} → {date_to}")
def policy_replay(policy_toml: str, date_from: date, date_to: date) -> dict[str, Any]:
    """Replay the book from ``date_from`` to ``date_to`` under a challenger policy and the policy in force.

    Args:
        policy_toml: the challenger policy as TOML text; any subset of the policy keys, e.g. `[limits]` `visit = 10`
        date_from: branch from the book as it stood on this business date
        date_to: replay to this business date

    The database is the served process's (never a form field), and it is never written; the
    workbook and chart are the command line's (`npl replay --xlsx`): a form names no path.
    """
    from services import replay as service

    logger = get_run_logger()
    challenger = challenger_from_text(policy_toml)
    report = service.replay(flow_database_url(), challenger, date_from, date_to, champion=load_policy(), on_progress=logger.info)
    create_markdown_artifact(key="policy-replay", markdown=service.markdown(report, t),
                             description=t("replay.description", date_from=date_from, date_to=date_to))
    return report.as_dict()
