"""The book as a whole: the worklist, the portfolio report, the machine's diagram, a policy
replay, and the demand letters (with `npl served`, which records one letter's service)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional

import typer

from flows.cli_common import DbOption, app, day, emit, fail, perform, run, uow
from models.domain.errors import RuleViolation


# --- lists and reports ------------------------------------------------------------------------------


@app.command("worklist")
def worklist_(as_of: str = typer.Option(..., "--as-of"), officer: Optional[str] = typer.Option(None, "--officer"),
              json_out: bool = typer.Option(False, "--json"), csv_file: Optional[Path] = typer.Option(None, "--csv"),
              xlsx_file: Optional[Path] = typer.Option(None, "--xlsx"), db: Optional[str] = DbOption) -> None:
    """The day's actions per officer (for the last business date run)."""
    from machines.policy import load_policy
    from models.privacy import neutralize
    from models.store import last_run_date
    from services.worklist import ITEM_KEYS, worklist

    when = day(as_of, "--as-of")

    def go() -> Any:
        with uow(db) as u:
            last = last_run_date(u.session)
            if last != when:
                raise RuleViolation(f"the worklist is for the last business date run ({last}); run `npl daily --as-of {when}` first")
            return worklist(u.session, when, load_policy(), officer)

    items = run(go)
    if json_out:  # the contract's keys only (the items' detail_parts are the artifacts' translations)
        emit({"as_of": when.isoformat(), "items": [{k: i[k] for k in ITEM_KEYS} for i in items]})
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(ITEM_KEYS))
            w.writeheader()
            w.writerows({k: neutralize(i[k]) for k in ITEM_KEYS} for i in items)
    if xlsx_file is not None:
        from flows.publishing import worklist_xlsx

        worklist_xlsx(items, when, xlsx_file)  # sheets per officer, headed in the chosen language (NPL_LANG)
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
