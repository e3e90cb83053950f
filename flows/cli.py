"""The `npl` command: operations staff's and scripts' entry point (CONTRACT.md).

Exit codes: 0 success, 1 a refused operation (one line on stderr saying why), 2 bad usage or
bad input. Single-case commands call the services directly (no Prefect server); `daily` and
`report` run as Prefect flows.
"""

from __future__ import annotations

import csv
import json
import sys
import traceback
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Optional, TypeVar

import typer
from typer._click import exceptions as usage_errors  # typer ships its own click
from typer._click.globals import get_current_context

from flows.present import jsonable
from models.domain.dates import parse_date
from models.domain.errors import BadInput, NplError, RuleViolation
from models.domain.money import parse_amount

T = TypeVar("T")

app = typer.Typer(
    name="npl",
    help="npl-collect: collect a branch's non-performing loans. Each loan is a case in a state machine, "
    "advanced every business day by the daily flow. Exit codes: 0 ok, 1 refused, 2 bad input.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = typer.Option(None, "--db", help="SQLAlchemy URL (default: $NPL_DATABASE_URL, else sqlite file ./var/npl.db).")
OtpOption = typer.Option(None, "--otp", metavar="CODE", help="The approver's current one-time password (if enrolled).")


def fail(code: int, message: str) -> NoReturn:
    typer.echo(f"npl: {message}", err=True)
    raise typer.Exit(code)


def option_for(flags: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """The command line's words for a service's input field: its option (``approved_by`` →
    ``--approved-by``), or what ``flags`` names it (a positional argument's metavar)."""

    def name(field: str) -> str:
        return (flags or {}).get(field) or "--" + field.replace("_", "-")

    return name


def verbose() -> bool:
    """Whether `npl -v` asked for the detail behind a one-line error."""
    ctx = get_current_context(silent=True)
    return bool(ctx and (ctx.find_root().obj or {}).get("verbose"))


def run(fn: Callable[[], T], flags: Mapping[str, str] | None = None) -> T:
    """Translate errors into one line on stderr and an exit code at the edge (CONTRACT.md):
    1 a refusal, 2 bad input; a database or file the command cannot use is a failure (1) in
    one line too. `npl -v` adds the traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return fn()
    except (NplError, SQLAlchemyError, OSError) as exc:
        if verbose():
            traceback.print_exc(file=sys.stderr)
        if isinstance(exc, NplError):
            fail(2 if isinstance(exc, BadInput) else 1, exc.render(option_for(flags)))
        if isinstance(exc, SQLAlchemyError):
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(1, f"database error: {detail[0] if detail else type(exc).__name__} (npl -v … shows the detail)")
        fail(1, f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else str(exc))


def perform(db: str | None, service: Callable[..., T], *args: Any, flags: Mapping[str, str] | None = None, **kwargs: Any) -> T:
    """A single-case command's one path: open a unit of work on ``db``, call ``service`` with it
    and the arguments, and turn the project's errors into one line and an exit code (``flags``
    names the fields that are not ``--options``)."""

    def call() -> T:
        with uow(db) as u:
            return service(u, *args, **kwargs)

    return run(call, flags)


@app.callback()
def _options(ctx: typer.Context, verbose_: bool = typer.Option(False, "-v", "--verbose",
                                                                help="Show the detail (traceback) behind a one-line error.")) -> None:
    ctx.obj = {"verbose": verbose_}


def day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        fail(2, f"{option}: {exc}")
    return None  # unreachable


def amount(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_amount(text)
    except ValueError as exc:
        fail(2, f"{option}: {exc}")
    return None


def rate_fraction(text: str | None, option: str) -> Decimal | None:
    """An annual rate written as a fraction (0.0657); the service checks its range."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        fail(2, f"{option}: not a rate fraction such as 0.0657: {text!r}")
    return value


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def uow(db: str | None):  # noqa: ANN201
    from models.store import UnitOfWork

    return UnitOfWork(db)


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


def _progress_bar(start: date, end: date):  # noqa: ANN202
    from rich.progress import Progress

    bar = Progress(transient=True)
    task_id = bar.add_task("catching up", total=(end - start).days + 1)
    bar.start()

    def advance(current: date, _end: date) -> None:
        bar.update(task_id, completed=(current - start).days + 1)

    advance.stop = bar.stop  # type: ignore[attr-defined]
    return advance


# --- single-case commands ----------------------------------------------------------------------------
# Each calls one service through `perform` (a unit of work, the project's errors as one line and
# an exit code) and prints the typed result through flows.present (money and dates formatted here).

PAYMENT_FLAGS = {"amount": "AMOUNT"}  # the amount is the command's argument, not an option
KeyOption = typer.Option(None, "--key", help="Idempotency key: run again with the same key, the command prints what was "
                         "recorded the first time and books nothing (e.g. the core system's or a script's request id).")


@app.command(context_settings={"ignore_unknown_options": True})
def pay(loan_id: str, amount_text: str = typer.Argument(..., metavar="AMOUNT"),
        on: Optional[str] = typer.Option(None, "--on", help="Payment date (default: last business date run)."),
        payer: str = typer.Option("borrower", "--payer", help="borrower | guarantor:NAME | court"),
        by: str = typer.Option("operator", "--by", help="Operator recording the payment."),
        json_out: bool = typer.Option(False, "--json"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a payment and print its allocation (costs → penalty → interest → principal)."""
    from services import cases

    res = jsonable(perform(db, cases.pay, loan_id, amount(amount_text, "AMOUNT"), on=day(on, "--on"), payer=payer, by=by,
                           flags=PAYMENT_FLAGS, key=key))
    if json_out:
        emit(res)
        return
    a = res["allocation"]
    typer.echo(f"{res['loan_id']}: paid {res['amount']} on {res['paid_on']} by {res['payer']}")
    typer.echo(f"  costs {a['costs']}  penalty {a['penalty']}  interest {a['interest']}  principal {a['principal']}")
    typer.echo(f"  balance now {res['balance_after']['total']}; state {res['state']}" + (f" ({res['closed_reason']})" if res["closed_reason"] else ""))


@app.command()
def visit(loan_id: str, on: Optional[str] = typer.Option(None, "--on"),
          outcome: str = typer.Option(..., "--outcome", help="contacted | promise | refused | not_found"),
          promise_amount: Optional[str] = typer.Option(None, "--promise-amount"),
          promise_date: Optional[str] = typer.Option(None, "--promise-date"),
          employer: bool = typer.Option(False, "--employer", help="The visit was made at the borrower's unit."),
          by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a visit (home, business, or the borrower's unit) and any promise to pay."""
    from services import cases

    res = jsonable(perform(db, cases.visit, loan_id, on=day(on, "--on"), outcome=outcome,
                           promise_amount=amount(promise_amount, "--promise-amount"),
                           promise_date=day(promise_date, "--promise-date"), employer=employer, by=by, key=key))
    typer.echo(f"{loan_id}: {res['kind']} on {res['on']}: {res['outcome']}")


@app.command()
def demand(loan_id: str, on: Optional[str] = typer.Option(None, "--on"),
           guarantor: Optional[str] = typer.Option(None, "--guarantor", help="Demand on this guarantor (default: the borrower)."),
           method: str = typer.Option("in_person", "--method",
                                      help="How it took effect: in_person, mail, electronic, announcement or deduction."),
           tracking: Optional[str] = typer.Option(None, "--tracking", help="The evidence: mail tracking or receipt number."),
           by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a demand on the borrower or a guarantor that took effect on --on (signed for,
    arrived, published): a legal act with its evidence."""
    from services import cases

    res = jsonable(perform(db, cases.demand, loan_id, on=day(on, "--on"), guarantor=guarantor, by=by, key=key,
                           method=method, tracking=tracking))
    typer.echo(f"{loan_id}: written demand on {res['demand_on']} recorded for {res['on']}")


@app.command("file-suit")
def file_suit(loan_id: str, on: str = typer.Option(..., "--on", help="The day the court received the filing."),
              court: str = typer.Option(..., "--court"), case_no: Optional[str] = typer.Option(None, "--case-no"),
              kind: str = typer.Option("suit", "--kind", help="suit, payment_order, preservation or arbitration."),
              by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a filing against the borrower (needs the case in litigation: an approved decision)."""
    from services import acts

    res = jsonable(perform(db, acts.file_suit, loan_id, on=day(on, "--on"), court=court, case_no=case_no, kind=kind, by=by, key=key))
    number = f" case {res['case_no']}" if res["case_no"] else ""
    typer.echo(f"{loan_id}: {res['kind']} filed with {res['court']}{number} on {res['on']}")


@app.command("enforcement-ended")
def enforcement_ended(loan_id: str, on: str = typer.Option(..., "--on", help="The day the ruling was delivered to the bank."),
                      by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the court's ruling ending the current enforcement, delivered to the bank."""
    from services import acts

    res = jsonable(perform(db, acts.enforcement_ended, loan_id, on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: ruling ending enforcement delivered on {res['on']}")


@app.command(context_settings={"ignore_unknown_options": True})
def cost(loan_id: str, amount_text: str = typer.Argument(..., metavar="AMOUNT"),
         what: str = typer.Option(..., "--what", help="What the bank paid: court fee, preservation fee, appraisal…"),
         on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option(..., "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a recoverable cost paid on the case; it is owed by the borrower and paid first."""
    from services import cases

    res = jsonable(perform(db, cases.cost, loan_id, amount(amount_text, "AMOUNT"), what=what, on=day(on, "--on"), by=by,
                           flags=PAYMENT_FLAGS, key=key))
    typer.echo(f"{loan_id}: cost {res['cost']} ({res['what']}) on {res['on']}; costs owed now {res['costs_owed']}")


@app.command()
def plan(loan_id: str, monthly: str = typer.Option(..., "--monthly"), first_due: str = typer.Option(..., "--first-due"),
         on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Sign an installment agreement for the balance on the signing date."""
    from services import escalations

    res = jsonable(perform(db, escalations.plan, loan_id, monthly=amount(monthly, "--monthly"),
                           first_due=day(first_due, "--first-due"), on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']}: {res['lines']} installments, total {res['total']}, last due {res['last_due']}")
    for w in res["warnings"]:
        typer.echo(f"warning: {w}", err=True)


@app.command()
def escalate(loan_id: str, to: str = typer.Option(..., "--to"), reason: str = typer.Option(..., "--reason"),
             by: str = typer.Option(..., "--by"), on: Optional[str] = typer.Option(None, "--on"),
             approved_by: Optional[str] = typer.Option(None, "--approved-by"), otp: Optional[str] = OtpOption,
             key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Manual escalation; refused (exit 1, nothing changed) where the machine forbids it or an approval is missing."""
    from services import escalations

    res = jsonable(perform(db, escalations.escalate, loan_id, to=to, reason=reason, by=by, on=day(on, "--on"), approved_by=approved_by, otp=otp,
                           key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']} by {res['by']}" + (f", approved by {res['approved_by']}" if res["approved_by"] else ""))


@app.command()
def freeze(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), asset: Optional[str] = typer.Option(None, "--asset"),
           guarantor: Optional[str] = typer.Option(None, "--guarantor"), authority: Optional[str] = typer.Option(None, "--authority"),
           by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a freeze / seal of collateral or a guarantor's account through the enforcement authority."""
    from services import cases

    res = jsonable(perform(db, cases.freeze, loan_id, on=day(on, "--on"), asset=asset, guarantor=guarantor, authority=authority, by=by, key=key))
    typer.echo(f"{loan_id}: {res['frozen']} frozen on {res['on']}" + (f" through {res['authority']}" if res["authority"] else ""))


@app.command("take-asset")
def take_asset(loan_id: str, asset: str = typer.Option(..., "--asset", help="The collateral's asset id."),
               value: str = typer.Option(..., "--value", help="The agreed value the asset settles (decimal text)."),
               on: Optional[str] = typer.Option(None, "--on"),
               payer: Optional[str] = typer.Option(None, "--payer", help="borrower | guarantor:NAME (default: the borrower, for the borrower's asset)"),
               by: str = typer.Option(..., "--by"), json_out: bool = typer.Option(False, "--json"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Settlement in kind: the bank takes a collateral asset at an agreed value; its two-year disposal clock starts."""
    from services import cases

    res = jsonable(perform(db, cases.take_asset, loan_id, asset=asset, value=amount(value, "--value"), on=day(on, "--on"),
                           payer=payer, by=by, key=key))
    if json_out:
        emit(res)
        return
    typer.echo(f"{loan_id}: asset {res['asset']} taken in settlement at {res['amount']} on {res['paid_on']}; dispose of it by {res['dispose_by']}")
    typer.echo(f"  balance now {res['balance_after']['total']}; state {res['state']}" + (f" ({res['closed_reason']})" if res["closed_reason"] else ""))


@app.command("dispose-asset")
def dispose_asset(loan_id: str, asset: str = typer.Option(..., "--asset"), on: Optional[str] = typer.Option(None, "--on"),
                  proceeds: Optional[str] = typer.Option(None, "--proceeds", help="What the sale brought (decimal text), for the record."),
                  by: str = typer.Option(..., "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the sale of an asset the bank took in settlement: its disposal clock stops."""
    from services import cases

    res = jsonable(perform(db, cases.dispose_asset, loan_id, asset=asset, on=day(on, "--on"), proceeds=amount(proceeds, "--proceeds"), by=by, key=key))
    typer.echo(f"{loan_id}: asset {res['asset']} disposed of on {res['disposed_on']}" + (" (after its deadline)" if res["late"] else ""))


@app.command()
def revitalize(loan_id: str, credit: str = typer.Option(..., "--credit"), on: Optional[str] = typer.Option(None, "--on"),
               by: str = typer.Option(..., "--by"), approved_by: str = typer.Option(..., "--approved-by"),
               reason: Optional[str] = typer.Option(None, "--reason"), otp: Optional[str] = OtpOption,
               rate: Optional[str] = typer.Option(None, "--rate", help="Annual rate fraction, e.g. 0.0657 (default: the old loan's)."),
               maturity: Optional[str] = typer.Option(None, "--maturity", help="Due date (default: limits.revitalization_term days after --on)."),
               key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Further credit to a viable borrower (strategy 6), booked as loan LOAN-R<n>; needs the rating threshold and a second person."""
    from services import escalations

    res = jsonable(perform(db, escalations.revitalize, loan_id, credit=amount(credit, "--credit"), on=day(on, "--on"), by=by,
                           approved_by=approved_by, reason=reason, rate=rate_fraction(rate, "--rate"),
                           maturity=day(maturity, "--maturity"), otp=otp, key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']}: further credit {res['credit']} booked as {res['credit_loan_id']} "
               f"at {res['rate']} due {res['maturity_on']}, approved by {res['approved_by']}")


@app.command()
def judgment(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), amount_text: str = typer.Option(..., "--amount"),
             perform_by: str = typer.Option(..., "--perform-by"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a court judgment (its enforcement-application deadline starts from --perform-by)."""
    from services import cases

    res = jsonable(perform(db, cases.judgment, loan_id, on=day(on, "--on"), amount=amount(amount_text, "--amount"),
                           perform_by=day(perform_by, "--perform-by"), by=by, key=key))
    typer.echo(f"{loan_id}: judgment of {res['amount']} on {res['judged_on']}; apply for enforcement by {res['enforcement_apply_by']}")


@app.command()
def enforce(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the application for court enforcement of the judgment."""
    from services import cases

    res = jsonable(perform(db, cases.enforce, loan_id, on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: enforcement applied for on {res['applied_on']}" + (" (after the deadline)" if res["late"] else ""))


@app.command("write-off")
def write_off(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), reason: str = typer.Option(..., "--reason"),
              by: str = typer.Option(..., "--by"), approved_by: str = typer.Option(..., "--approved-by"),
              otp: Optional[str] = OtpOption, key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Close as written off (the claim stays on record); needs a second person's approval."""
    from services import escalations

    res = jsonable(perform(db, escalations.write_off, loan_id, on=day(on, "--on"), reason=reason, by=by, approved_by=approved_by, otp=otp,
                           key=key))
    typer.echo(f"{loan_id}: {res['from']} → closed ({res['closed_reason']}), approved by {res['approved_by']}")


@app.command()
def classify(loan_id: str, to: str = typer.Option(..., "--to", help="normal, special_mention, substandard, doubtful or loss."),
             reason: str = typer.Option(..., "--reason"), by: str = typer.Option(..., "--by"),
             approved_by: str = typer.Option(..., "--approved-by"), otp: Optional[str] = typer.Option(None, "--otp"),
             on: Optional[str] = typer.Option(None, "--on"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Staff judgement: classify worse than the floor (never better); needs a second person's approval."""
    from services import judgement

    res = jsonable(perform(db, judgement.classify, loan_id, to=to, reason=reason, by=by, approved_by=approved_by, otp=otp,
                           on=day(on, "--on"), key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']} (floor {res['floor']}), approved by {res['approved_by']}")


@app.command()
def show(loan_id: str, json_out: bool = typer.Option(False, "--json"),
         reveal: bool = typer.Option(False, "--reveal-personal-data", help="Show full id and phone numbers (masked by default)."),
         db: Optional[str] = DbOption) -> None:
    """One case: state, classification, balance, deadlines, history."""
    from services import case_view

    res = jsonable(perform(db, case_view.show, loan_id, reveal=reveal))
    if json_out:
        emit(res)
        return
    b, d = res["balance"], res["deadlines"]
    typer.echo(f"{res['loan_id']}  {res['borrower']['name']}  [{res['state']}{' / ' + res['closed_reason'] if res['closed_reason'] else ''}]")
    classified = res["classification"] or f"closed as {res['classification_at_close']}"
    typer.echo(f"  as of {res['as_of']}: {classified}, {res['dpd']} days past due; assigned to {res['assigned_to']}")
    if res["restructured"]:
        r = res["restructured"]
        typer.echo(f"  restructured {r['on']}: observed {r['observation_from']} to {r['observation_until']}, floor {r['floor']}")
    typer.echo(f"  balance {b['total']} = principal {b['principal']} + interest {b['interest']} + penalty {b['penalty']} + costs {b['costs']}")
    typer.echo(f"  state deadline {d['state_deadline']}; limitation ends {d['limitation_end']}; enforcement apply by {d['enforcement_apply_by']}")
    for g in d["guarantees"]:
        typer.echo(f"  guarantor {g['guarantor']} ({g['type']}): period ends {g['period_end']}, demanded {g['demanded_on']}")
    if res["awaiting_approval"]:
        typer.echo(f"  AWAITING APPROVAL: {res['awaiting_approval']}{' (URGENT)' if res['urgent'] else ''}: {res['awaiting_reason']}")
    typer.echo("  history:")
    for h in res["history"]:
        extra = f", approved by {h['approved_by']}" if h["approved_by"] else ""
        typer.echo(f"    {h['on']}  {h['from']} → {h['to']} ({h['event']}) by {h['by']}{extra}: {h['reason']}")
    if res["payments"]:
        typer.echo("  payments:")
    for p in res["payments"]:
        a = p["allocation"]
        typer.echo(f"    {p['on']}  {p['amount']} from {p['payer']}: costs {a['costs']}, penalty {a['penalty']}, "
                   f"interest {a['interest']}, principal {a['principal']}" + (f" (ref {p['reference']})" if p["reference"] else ""))
    if res["actions"]:
        typer.echo("  actions:")
    for act in res["actions"]:
        said = ", ".join(str(v) for v in (act["target"], act["outcome"], act["status"], act["amount"], act["due_on"]) if v)
        typer.echo(f"    {act['on']}  {act['kind']} by {act['by']}" + (f": {said}" if said else "")
                   + (f" — {act['detail']}" if act["detail"] else ""))


@app.command()
def explain(loan_id: str, as_of: Optional[str] = typer.Option(None, "--as-of", help="Look forward from this business date (default: the last one run)."),
            json_out: bool = typer.Option(False, "--json"), db: Optional[str] = DbOption) -> None:
    """What the coming daily runs will do to a case: each event's date, rule, who acts, and what would change it."""
    from services.explain import explain as explain_case

    on = day(as_of, "--as-of")

    def go() -> Any:
        with uow(db) as u:
            return explain_case(u, loan_id, as_of=on).as_dict()

    res = run(go)
    if json_out:
        emit(res)
        return
    typer.echo(f"{res['loan_id']}  [{res['state']}]  coming events after {res['as_of']} (looking to {res['until']}), if nobody acts:")
    if not res["events"]:
        typer.echo("  none")
    for e in res["events"]:
        typer.echo(f"  {e['on']}  {e['kind']:<5} {e['who']:<7} {e['does']}")
        typer.echo(f"              rule {e['rule']} ({e['basis']})")
        if e["unless"]:
            typer.echo(f"              unless {e['unless']}")


# --- lists and reports ------------------------------------------------------------------------------


@app.command("worklist")
def worklist_(as_of: str = typer.Option(..., "--as-of"), officer: Optional[str] = typer.Option(None, "--officer"),
              json_out: bool = typer.Option(False, "--json"), csv_file: Optional[Path] = typer.Option(None, "--csv"),
              xlsx_file: Optional[Path] = typer.Option(None, "--xlsx"), db: Optional[str] = DbOption) -> None:
    """The day's actions per officer (for the last business date run)."""
    from machines.policy import load_policy
    from models.privacy import neutralize
    from models.store import last_run_date
    from services.worklist import worklist

    when = day(as_of, "--as-of")

    def go() -> Any:
        with uow(db) as u:
            last = last_run_date(u.session)
            if last != when:
                raise RuleViolation(f"the worklist is for the last business date run ({last}); run `npl daily --as-of {when}` first")
            return worklist(u.session, when, load_policy(), officer)

    items = run(go)
    if json_out:
        emit({"as_of": when.isoformat(), "items": items})
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["officer", "loan_id", "task", "detail", "due", "urgent"])
            w.writeheader()
            w.writerows({k: neutralize(v) for k, v in i.items()} for i in items)
    if xlsx_file is not None:
        import pandas as pd

        from models.spreadsheets import write_worklist_xlsx

        write_worklist_xlsx(xlsx_file, pd.DataFrame(items, columns=["officer", "loan_id", "task", "detail", "due", "urgent"]),
                            officer_column="officer")
    if not (json_out or csv_file or xlsx_file):
        current = None
        for i in items:
            if i["officer"] != current:
                current = i["officer"]
                typer.echo(f"== {current}")
            typer.echo(f"  {'!' if i['urgent'] else ' '} {i['loan_id']:<12} {i['task']:<18} {i['detail']}")
        if not items:
            typer.echo("nothing to do")


@app.command()
def report(as_of: str = typer.Option(..., "--as-of"), json_out: bool = typer.Option(False, "--json"),
           xlsx_file: Optional[Path] = typer.Option(None, "--xlsx"), db: Optional[str] = DbOption) -> None:
    """Portfolio report: by state and classification, NPL ratio, recoveries, deadlines at risk."""
    from flows.prefect_env import command_line_flow_run, database_for_flows, prefect_unavailable, quiet_prefect

    when = day(as_of, "--as-of")
    quiet_prefect()
    from flows.reports import portfolio_report
    from models.store import database_url

    with prefect_unavailable(lambda message: fail(1, message)), command_line_flow_run(), database_for_flows(database_url(db)):
        res = run(lambda: portfolio_report(as_of=when, xlsx=str(xlsx_file) if xlsx_file else None))
    if json_out:
        emit(res)
        return
    typer.echo(f"Portfolio as of {res['as_of']}: {res['loans']} open loans, balance {res['balance_total']}, NPL ratio {res['npl_ratio']}")
    typer.echo("By state:")
    for k, v in res["by_state"].items():
        typer.echo(f"  {k:<20} {v['count']:>7} {v['balance']:>18}")
    typer.echo("By classification:")
    for k, v in res["by_classification"].items():
        typer.echo(f"  {k:<20} {v['count']:>7} {v['balance']:>18}")
    typer.echo(f"Recovered to date: {res['recovered']['total']}")
    for k, v in res["recovered"]["by_strategy"].items():
        typer.echo(f"  {k:<20} {v:>18}")
    typer.echo(f"Deadlines at risk: {len(res['deadlines_at_risk'])}")
    for r in res["deadlines_at_risk"]:
        typer.echo(f"  {r['loan_id']:<12} {r['clock']:<12} {r['date']}  {r['detail']}")
    if res["suspended_officers"]:
        typer.echo("Suspended officers: " + ", ".join(f"{o['officer_id']} (since {o['suspended_since']})" for o in res["suspended_officers"]))
    if xlsx_file:
        typer.echo(f"workbook written to {xlsx_file}")


@app.command()
def diagram(fmt: str = typer.Option("mermaid", "--format", help="mermaid | dot")) -> None:
    """Print the case state machine (Mermaid or Graphviz dot)."""
    from machines.loan_case import LoanCase

    if fmt not in ("mermaid", "dot"):
        fail(2, "--format must be mermaid or dot")
    typer.echo(format(LoanCase, "mermaid" if fmt == "mermaid" else "dot"))


# --- operator register (CONTRACT.md, "Operators and approvals") --------------------------------

operator_app = typer.Typer(help="The operator register: who acts, who approves, one-time passwords.", no_args_is_help=True)
app.add_typer(operator_app, name="operator")


@operator_app.command("add")
def operator_add(operator_id: str = typer.Argument(..., metavar="ID"), name: str = typer.Option(..., "--name"),
                 role: str = typer.Option(..., "--role", help="officer | manager | admin"),
                 inactive: bool = typer.Option(False, "--inactive"), db: Optional[str] = DbOption) -> None:
    """Register an operator (or update their name, role and status); ids are normalized."""
    from services import operators

    def go() -> Any:
        with uow(db) as u:
            return operators.add_operator(u, operator_id, name=name, role=role, active=not inactive)

    res = run(go)
    typer.echo(f"operator {res['operator_id']}: {res['role']}, {'active' if res['active'] else 'inactive'}")


@operator_app.command("list")
def operator_list(json_out: bool = typer.Option(False, "--json"), db: Optional[str] = DbOption) -> None:
    """The register: id, role, status, whether enrolled for one-time passwords."""
    from services import operators

    def go() -> Any:
        with uow(db) as u:
            return operators.list_operators(u)

    rows = run(go)
    if json_out:
        emit(rows)
        return
    for r in rows:
        typer.echo(f"{r['operator_id']}\t{r['role']}\t{'active' if r['active'] else 'inactive'}\t"
                   f"{'otp' if r['enrolled'] else '-'}\t{r['name']}")


@operator_app.command("enroll")
def operator_enroll(operator_id: str = typer.Argument(..., metavar="ID"),
                    qr: Optional[Path] = typer.Option(None, "--qr", help="Where to write the QR code PNG (default ./otp-ID.png)."),
                    reset: bool = typer.Option(False, "--reset", help="Replace an existing enrolment."),
                    db: Optional[str] = DbOption) -> None:
    """Enrol an approver for one-time passwords (needs $NPL_SECRET_KEY); shown once."""
    from services import operators

    def go() -> Any:
        with uow(db) as u:
            return operators.enroll(u, operator_id, qr_path=qr, reset=reset)

    res = run(go)
    typer.echo(f"operator {res.operator_id} enrolled; add this to an authenticator app now, it is not shown again:")
    typer.echo(res.uri)
    typer.echo(f"QR code: {res.qr_png_path}")


@operator_app.command("deactivate")
def operator_deactivate(operator_id: str = typer.Argument(..., metavar="ID"), db: Optional[str] = DbOption) -> None:
    """The operator stays on record but no longer acts or approves."""
    from services import operators

    def go() -> Any:
        with uow(db) as u:
            return operators.deactivate(u, operator_id)

    res = run(go)
    typer.echo(f"operator {res['operator_id']}: inactive")


# --- policy replay ---------------------------------------------------------------------------------


@app.command()
def replay(policy: Path = typer.Option(..., "--policy", help="The challenger policy (TOML, overrides any subset of the policy keys)."),
           from_: str = typer.Option(..., "--from", help="Branch from the book as it stood on this business date."),
           to: str = typer.Option(..., "--to", help="Replay to this business date."),
           json_out: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
           xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the comparison workbook (and its chart PNG beside it)."),
           db: Optional[str] = DbOption) -> None:
    """Replay the book's history under another policy and compare it with the policy in force; never writes the database."""
    from machines.policy import load_policy
    from services import replay as replay_service

    d1, d2 = day(from_, "--from"), day(to, "--to")
    assert d1 is not None and d2 is not None
    if json_out and xlsx is not None:
        fail(2, "give --json or --xlsx, not both")
    challenger = run(lambda: load_policy(policy))  # the live policy's own validation: exit 2 naming the key
    report = run(lambda: replay_service.replay(db, challenger, d1, d2, champion=load_policy()))
    if json_out:
        emit(report.as_dict())
        return
    if xlsx is not None:
        for f in replay_service.write_files(report, xlsx):
            typer.echo(f"written: {f}")
    for r in replay_service.summary_rows(report):
        if r["champion"] != r["challenger"]:
            typer.echo(f"{r['metric']}: champion {r['champion']}, challenger {r['challenger']}")
    typer.echo(f"acts the challenger would want earlier: {report.would_be_due['count']}")
    for limit in report.limits:
        typer.echo(f"limit: {limit}")


db_app = typer.Typer(help="The database: the application role's privileges.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("grant")
def db_grant(role: str = typer.Argument(..., metavar="ROLE", help="The role the application runs as (created if missing)."),
             db: Optional[str] = DbOption) -> None:
    """Give ROLE the least privileges (PostgreSQL; run as the schema's owner): read and write the
    working tables, only read and append the history; no TRUNCATE, owner of nothing, so it cannot
    disable the history triggers. Run again after each migration."""
    from services import db_grants

    def go() -> Any:
        with uow(db) as u:
            return db_grants.grant(u, role)

    res = run(go)
    typer.echo(f"role {res.role}{' created' if res.created else ''}: SELECT, INSERT, UPDATE on {len(res.working)} tables; "
               f"SELECT, INSERT only on {', '.join(res.append_only)}")


@app.command("letters")
def letters_(as_of: str = typer.Option(..., "--as-of", help="The business date whose demand tasks get letters."),
             out: Optional[Path] = typer.Option(None, "--out", help="Where the PDFs and the register go (default ./var/letters/DATE/)."),
             db: Optional[str] = DbOption) -> None:
    """Generate the demand letters due on --as-of (one per send_demand task and party not already
    sent a letter still unserved): a PDF each and the batch register (xlsx + CSV)."""
    from services import letters

    batch = perform(db, letters.generate, day(as_of, "--as-of"), out)
    if not batch.letters:
        typer.echo(f"{batch.as_of}: no new demand letter due")
        return
    for number, path in zip(batch.letters, batch.pdfs):
        typer.echo(f"{number}  {path}")
    typer.echo(f"register: {batch.register_xlsx} {batch.register_csv}")


@app.command("served")
def served_(letter_no: str = typer.Argument(..., metavar="LETTER_NO"),
            on: str = typer.Option(..., "--on", help="The day the letter reached the party (signed for, arrived, published)."),
            method: str = typer.Option(..., "--method", help="in_person, mail, electronic or announcement."),
            tracking: Optional[str] = typer.Option(None, "--tracking", help="The mail tracking or receipt number."),
            by: str = typer.Option(..., "--by"), db: Optional[str] = DbOption) -> None:
    """Record that a demand letter was served: a demand act with the letter's number as evidence."""
    from services import letters

    res = perform(db, letters.served, letter_no, on=day(on, "--on"), method=method, tracking=tracking, by=by,
                  flags={"letter_no": "LETTER_NO"})
    typer.echo(f"{res.letter_no}: served on {res.party} of {res.loan_id} on {res.on} ({res.method}); demand recorded")


def main() -> None:
    """The `npl` script. Usage errors (a missing option, an unknown command) are one line too,
    exit 2, like every other error the user can cause."""
    try:
        code = app(standalone_mode=False)
    except usage_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.format_message(), err=True)
        sys.exit(2)
    except usage_errors.UsageError as exc:
        command = " ".join(exc.ctx.command_path.split()[1:]) if exc.ctx else ""
        typer.echo(f"npl: {exc.format_message()} (see npl {command + ' ' if command else ''}--help)", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("npl: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
