"""The `npl` command: operations staff's and scripts' entry point (CONTRACT.md).

Exit codes: 0 success, 1 a refused operation (one line on stderr saying why), 2 bad usage or
bad input. Single-case commands call the services directly (no Prefect server); `daily` and
`report` run as Prefect flows.
"""

from __future__ import annotations

import atexit
import logging
import os
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
from flows.collector import fewer_full_collections


def main() -> None:
    """The `npl` script. Usage errors (a missing option, an unknown command) are one line too,
    exit 2, like every other error the user can cause."""
    atexit.register(_leave)  # registered first, so run last: after Prefect's own exit handlers
    fewer_full_collections()  # an import, a daily run, a worklist: large heaps, millions of small objects
    try:
        code = app(standalone_mode=False)
    except usage_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.format_message(), err=True)
        code = 2
    except usage_errors.UsageError as exc:
        command = " ".join(exc.ctx.command_path.split()[1:]) if exc.ctx else ""
        typer.echo(f"npl: {exc.format_message()} (see npl {command + ' ' if command else ''}--help)", err=True)
        code = 2
    except typer.Abort:
        typer.echo("npl: aborted", err=True)
        code = 1
    code = code if isinstance(code, int) else 0
    _settled.append(code)
    sys.exit(code)


_settled: list[int] = []  # the exit code main() settled on, for _leave


def _leave() -> None:
    """The last of `npl`'s exit handlers, once the others have run (Prefect's send the run's
    events and logs to its server): flush the logs and the output, close the database
    connections (SQLite checkpoints its log as the last one closes), then end the process
    without the interpreter's teardown, which frees every object one by one and has nothing
    left to save: 1.8 s after a daily run at 100,000 loans on the 2-core test machine (0.8 s of
    it Prefect's modules alone), paid by every `npl daily`. A command that did not finish
    (an unexpected error, a traceback) ends as Python ends it."""
    if not _settled:
        return
    try:
        logging.shutdown()  # its own exit handler was registered before this one: it would not run
        store = sys.modules.get("models.store")
        if store is not None:
            store.dispose_all()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe (`npl … | head`): nothing more can be written
                pass
        os._exit(_settled[0])


if __name__ == "__main__":
    main()
