"""`npl import` and `npl daily`: what comes into the book, and the day's run (a Prefect flow)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any, Optional

import typer

from flows.cli_common import DbOption, app, day, emit, fail, run, uow


# --- import ----------------------------------------------------------------------------------------


@app.command("import")
def import_(paths: list[Path] = typer.Argument(..., help="CSV files: loans, guarantors, collateral, repayments (told by header)."),
            db: Optional[str] = DbOption) -> None:
    """Load or update loans, guarantors and collateral, and book repayments, from core-banking CSV exports."""
    from services.importing import import_paths

    report = run(lambda: import_paths(db, [str(p) for p in paths]))
    typer.echo(f"imported: {report.loans} loans, {report.guarantors} guarantors, {report.collateral} collateral")
    if any(f.kind == "repayments" for f in report.files):
        typer.echo(f"imported: {report.repayments} repayments ({report.already_booked} already booked, skipped)")
    if any(f.kind == "operators" for f in report.files):
        typer.echo(f"imported: {report.operators} operators")
    if any(f.kind == "deliveries" for f in report.files):
        typer.echo(f"imported: {report.deliveries} deliveries (letters recorded as served)")
    for r in report.rejected:
        typer.echo(f"rejected: {r.file}:{r.line}: column {r.column}: {r.reason}", err=True)
    for f in report.rejects_files:
        typer.echo(f"rejected rows written to {f}", err=True)
    if report.rejected:
        raise typer.Exit(2)


# --- the daily flow -----------------------------------------------------------------------------


@app.command()
def daily(as_of: str = typer.Option(..., "--as-of", help="Business date YYYY-MM-DD."),
          through: Optional[str] = typer.Option(None, "--through", help="Run each date up to this one, in order."),
          quiet: bool = typer.Option(True, "--quiet/--verbose", help="Quiet by default; a progress bar on long catch-ups."),
          json_out: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
          db: Optional[str] = DbOption) -> None:
    """Run the daily collection flow for a business date (or each date up to --through)."""
    from flows.prefect_env import command_line_flow_run, database_for_flows, prefect_unavailable, quiet_prefect

    start, end = day(as_of, "--as-of"), day(through, "--through")
    assert start is not None
    if end is not None and end < start:
        fail(2, "--through must not be before --as-of")
    result = run(lambda: _already_completed(db, start, end))  # the run ledger answers without Prefect
    if result is not None:
        _print_daily(result, json_out)
        return
    quiet_prefect()
    from flows import daily as daily_flow
    from models.store import database_url

    url = database_url(db)
    run(lambda: uow(db).engine)  # migrate before the flow starts
    progress = None
    if end is not None and (end - start).days > 60 and sys.stderr.isatty():
        progress = _progress_bar(start, end)
    try:
        with prefect_unavailable(lambda message: fail(1, message)), command_line_flow_run(), daily_flow.reporting_progress(progress), \
                database_for_flows(url):  # the flow reads it from its environment, never from a parameter
            result = run(lambda: daily_flow.daily_collection(as_of=start, through=end))
    finally:
        if progress is not None:
            progress.stop()  # type: ignore[attr-defined]
    _print_daily(result, json_out)


def _print_daily(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit(result)
    elif result["already_done"]:
        typer.echo(f"business date {result['through']} already completed: nothing changed")
    else:
        typer.echo(f"ran {result['dates_run']} business date(s) to {result['through']}: "
                   f"{result['counts']['transitions']} transition(s), {len(result.get('deadlines_at_risk', []))} deadline(s) at risk")


def _inbox_waiting() -> bool:
    """Files waiting in the nightly feed's inbox (CONTRACT: `npl daily` ingests them first)."""
    import os

    inbox = Path(os.environ.get("NPL_INBOX") or "var/inbox")
    return inbox.is_dir() and any(p.is_file() for p in inbox.iterdir())


def _already_completed(db: str | None, start: date, end: date | None) -> dict[str, Any] | None:
    """The daily run's answer for a date the run ledger already holds, without a Prefect server
    (None when there is a date to run or a feed file to ingest). Migrates the schema first, and
    refreshes the classification as the flow's own already-done path does (idempotent)."""
    if _inbox_waiting():
        return None
    from machines.policy import load_policy
    from models.store import last_run_date
    from services import daily as daily_service
    from services import worklist

    with uow(db) as u:
        first, through = daily_service.dates_to_run(u.session, start, end)
        if first is not None:
            return None
        daily_service.refresh_classification(u, last_run_date(u.session))  # completes a run killed after its last date
        risks = worklist.deadlines_at_risk(u.session, through, load_policy())
    nothing = daily_service.Tally()
    return {"as_of": start.isoformat(), "through": through.isoformat(), "already_done": True, "dates_run": 0,
            "event_dates": 0, "cases_judged": 0, "counts": dict(nothing.counts), **nothing.items, "deadlines_at_risk": risks}


def _progress_bar(start: date, end: date):
    from rich.progress import Progress

    bar = Progress(transient=True)
    task_id = bar.add_task("catching up", total=(end - start).days + 1)
    bar.start()

    def advance(current: date, _end: date) -> None:
        bar.update(task_id, completed=(current - start).days + 1)

    advance.stop = bar.stop  # type: ignore[attr-defined]
    return advance
