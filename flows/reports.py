"""Prefect flow ``portfolio-report``: the report JSON, its tables as artifacts, workbook and charts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from machines.policy import load_policy
from flows.prefect_env import flow_database_url
from models.store import UnitOfWork


@task(cache_policy=NO_CACHE)
def build(db_url: str, as_of: date | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the book and compute every report table."""
    from services.reporting import build_report

    with UnitOfWork(db_url) as uow:
        return build_report(uow.session, load_policy(), as_of)


@task(cache_policy=NO_CACHE)
def write_files(tables: dict[str, Any], xlsx: str) -> list[str]:
    """Workbook (a sheet per table) and chart images beside it."""
    from models import charts
    from models.spreadsheets import write_report_xlsx

    path = Path(xlsx)
    path.parent.mkdir(parents=True, exist_ok=True)
    chart_files = {
        "recoveries": str(path.with_name(path.stem + "-recoveries.png")),
        "classification": str(path.with_name(path.stem + "-classification.png")),
    }
    charts.recoveries_chart(tables["recoveries_by_month"], chart_files["recoveries"])
    charts.classification_mix_chart(tables["by_classification"], chart_files["classification"])
    write_report_xlsx(path, tables, charts=chart_files)
    return [str(path), *chart_files.values()]


@flow(name="portfolio-report")
def portfolio_report(as_of: date | None = None, xlsx: str | None = None) -> dict[str, Any]:
    """The portfolio report as of a business date (default: the last one run); the database is the
    environment's (``flows.prefect_env.flow_database_url``), never a parameter."""
    from services.reporting import money_records

    url = flow_database_url()
    report, tables = build(url, as_of)
    for key in ("by_state", "by_classification", "recoveries_by_strategy", "deadlines_at_risk"):
        rows = money_records(tables[key])
        if rows:
            create_table_artifact(key=f"report-{key.replace('_', '-')}", table=rows, description=f"{key} as of {report['as_of']}")
    create_markdown_artifact(
        key="portfolio-report",
        markdown=f"# Portfolio as of {report['as_of']}\n\nOpen loans: {report['loans']}; balance {report['balance_total']}; "
        f"NPL ratio {report['npl_ratio']}; recovered {report['recovered']['total']}.\n\n```json\n"
        + json.dumps({k: report[k] for k in ('by_state', 'by_classification', 'recovered')}, indent=1)
        + "\n```\n",
    )
    if xlsx:
        report["files"] = write_files(tables, xlsx)
    return report
