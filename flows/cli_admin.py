"""`npl operator …` and `npl db …`: the operator register and the database role's privileges."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from flows.cli_common import DbOption, app, emit, run, uow


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
