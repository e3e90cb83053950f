"""The `npl` command: operations staff's and scripts' entry point (CONTRACT.md).

Exit codes: 0 success, 1 a refused operation (one line on stderr saying why), 2 bad usage or
bad input. Single-case commands call the services directly (no Prefect server); `daily` and
`report` run as Prefect flows.
"""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as usage_errors  # typer ships its own click

# The shared edge, re-exported: tests and scripts import `app` (and the helpers) from here.
from flows.cli_common import (  # noqa: F401
    DbOption, KeyOption, OtpOption, amount, app, day, emit, fail, option_for, perform, rate_fraction, run, uow, verbose,
)

# Each command module registers its commands on `app` when imported, in this order: the order
# `npl --help` lists them (the operator and db sub-commands come after the commands).
from flows import cli_feed, cli_cases, cli_book, cli_admin  # noqa: F401 - imported for the commands they register


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
