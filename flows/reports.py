"""Prefect flow ``portfolio-report``: the report JSON, its tables as artifacts, workbook and charts."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any, Callable

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.i18n import amount, lang, t, t_in
from flows.run_names import report_name
from machines.policy import load_policy
from flows.prefect_env import flow_database_url
from models import portfolio
from models.store import UnitOfWork


@task(cache_policy=NO_CACHE)
def build(db_url: str, as_of: date | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the book and compute every report table."""
    from services.reporting import build_report

    with UnitOfWork(db_url) as uow:
        return build_report(uow.session, load_policy(), as_of)


# the workbook's sheets and columns, by the report's table keys and column names (flows.i18n)
SHEETS = {
    "by_state": "report.by_state", "by_classification": "report.by_classification", "aging": "sheet.aging",
    "recoveries_by_strategy": "sheet.recoveries_by_strategy", "recoveries_by_payer": "sheet.recoveries_by_payer",
    "recoveries_by_month": "sheet.recoveries_by_month", "officer_accountability": "sheet.officer_accountability",
    "roll_rates": "sheet.roll_rates", "migration": "sheet.migration", "deadlines_at_risk": "summary.at_risk",
}
COLUMNS = {
    "state": "case.state", "count": "col.count", "balance": "report.balance", "classification": "case.classification",
    "principal": "case.principal", "interest": "case.interest", "bucket": "col.bucket", "strategy": "col.strategy",
    "amount": "col.amount", "payer": "col.payer", "month": "col.month", "officer_id": "col.officer", "cases": "col.cases",
    "time_limit_days": "col.time_limit_days", "suspended_since": "col.suspended_since", "from_bucket": "col.from_bucket",
    "to_bucket": "col.to_bucket", "rate": "col.rate", "from": "col.from", "exited": "class.exited", "loan_id": "col.loan",
    "clock": "case.clock", "date": "case.ends", "detail": "col.detail", "officer": "col.officer",
    **{s: f"strategy.{s}" for s in portfolio.STRATEGIES},  # the recoveries' columns per strategy
    **{c: f"class.{c}" for c in portfolio.CATEGORIES},  # the migration matrix's columns
}


def sheet_names() -> dict[str, str]:
    return {key: t(label) for key, label in SHEETS.items()}


def column_labels() -> dict[str, str]:
    return {name: t(label) for name, label in COLUMNS.items()}


def chart_label() -> Callable[..., str]:
    """The charts' words: the chosen language's, or English where no CJK font is installed
    (a Chinese chart without one would show empty boxes)."""
    from models.charts import cjk_font

    return t if lang() == "en" or cjk_font() else functools.partial(t_in, "en")


@task(cache_policy=NO_CACHE)
def write_files(tables: dict[str, Any], xlsx: str) -> list[str]:
    """Workbook (a sheet per table, sheets and headers in the chosen language) and chart images beside it."""
    from models import charts
    from models.spreadsheets import write_report_xlsx

    path = Path(xlsx)
    path.parent.mkdir(parents=True, exist_ok=True)
    chart_files = {
        "recoveries": str(path.with_name(path.stem + "-recoveries.png")),
        "classification": str(path.with_name(path.stem + "-classification.png")),
    }
    label = chart_label()
    charts.recoveries_chart(tables["recoveries_by_month"], chart_files["recoveries"], label)
    charts.classification_mix_chart(tables["by_classification"], chart_files["classification"], label)
    write_report_xlsx(path, tables, charts={t("sheet.recoveries_chart"): chart_files["recoveries"],
                                          t("sheet.classification_chart"): chart_files["classification"]},
                      sheet_names=sheet_names(), headers=column_labels())
    return [str(path), *chart_files.values()]


def artifact_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A report table's rows for its table artifact: the same columns, headed in the chosen language."""
    labels = column_labels()
    return [{labels.get(k, k): v for k, v in row.items()} for row in rows]


def report_markdown(report: dict[str, Any], links: list[tuple[str, str]]) -> str:
    """The report as staff read it: the headline figures, cases and balance by state and by
    classification (amounts with thousands separators), and the links to the files."""
    lines = [f"# {t('report.title', date=report['as_of'])}", "",
             f"| | {t('col.value')} |", "|---|---:|",
             f"| {t('report.loans')} | {report['loans']} |",
             f"| {t('report.balance')} | {amount(report['balance_total'])} |",
             f"| {t('report.npl_ratio')} | {report['npl_ratio']} |",
             f"| {t('report.recovered')} | {amount(report['recovered']['total'])} |"]
    for key, title in (("by_state", "report.by_state"), ("by_classification", "report.by_classification")):
        lines += ["", f"## {t(title)}", "", f"| | {t('col.cases')} | {t('report.balance')} |", "|---|---:|---:|"]
        lines += [f"| {name} | {v['count']} | {amount(v['balance'])} |" for name, v in (report.get(key) or {}).items()]
    if links:
        lines += ["", f"## {t('report.files')}", "", t("report.files_hint"), ""]
        lines += [f"- [{name}]({url})" for name, url in links]
    return "\n".join(lines) + "\n"


def publish_files(files: list[str]) -> list[tuple[str, str]]:
    """A link artifact to the workbook (and the charts in the report's markdown), for files in the
    served reports folder; files written elsewhere are not served and get no link."""
    from flows.files import reports_dir, url_of

    links = [(Path(f).name, url_of(Path(f))) for f in files if reports_dir() in Path(f).resolve().parents]
    if links:
        create_link_artifact(key="report-workbook", link=links[0][1], link_text=links[0][0], description=t("report.files"))
    return links


@flow(name="portfolio-report", flow_run_name=report_name)
def portfolio_report(as_of: date | None = None, xlsx: str | None = None) -> dict[str, Any]:
    """The portfolio report as of a business date (default: the last one run). The database is the
    environment's (``flows.prefect_env.flow_database_url``), never a parameter. Run from the UI
    (a deployment), the workbook and charts always go to the served reports folder, whatever
    ``xlsx`` says: a form names no path on the server; ``xlsx`` is the command line's ``--xlsx``."""
    from flows.files import reports_dir
    from services.reporting import money_records

    url = flow_database_url()
    report, tables = build(url, as_of)
    for key in ("by_state", "by_classification", "recoveries_by_strategy", "deadlines_at_risk"):
        rows = money_records(tables[key])
        if rows:
            create_table_artifact(key=f"report-{key.replace('_', '-')}", table=artifact_rows(rows),
                                  description=t("report.table_description", table=t(SHEETS[key]), date=report["as_of"]))
    from prefect.runtime import deployment

    if deployment.id:  # run from the UI: the files go where the file server serves them, nowhere else
        xlsx = str(reports_dir() / f"portfolio-{report['as_of']}.xlsx")
    links: list[tuple[str, str]] = []
    if xlsx:
        report["files"] = write_files(tables, xlsx)
        links = publish_files(report["files"])
    create_markdown_artifact(key="portfolio-report", markdown=report_markdown(report, links),
                             description=t("report.title", date=report["as_of"]))
    return report
