"""What every `npl` command shares: the typer `app` the command modules register on, the
common options, and the edge that turns input text into dates and amounts and the project's
errors into one line and an exit code (CONTRACT.md). flows.cli is the entry point.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping, NoReturn, TypeVar

import typer
from typer._click.globals import get_current_context

from models.domain.dates import parse_date
from models.domain.errors import BadInput, NplError
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


def uow(db: str | None):
    from models.store import UnitOfWork

    return UnitOfWork(db)


KeyOption = typer.Option(None, "--key", help="Idempotency key: run again with the same key, the command prints what was "
                         "recorded the first time and books nothing (e.g. the core system's or a script's request id).")
