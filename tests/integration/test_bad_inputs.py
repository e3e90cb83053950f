"""A corpus of bad inputs — import files, commands, deployment parameters — each refused with a
clear reason naming what is wrong, with CONTRACT.md's exit code, and nothing partial written.

The corpus is data under tests/data/bad_inputs/:

- ``commands.json``: ``npl`` command lines (id, argv, expected exit code, a fragment of the
  one-line reason on stderr); run through typer's CliRunner with ``--db`` a copy of a SQLite
  book (the demo portfolio run to 2008-09-30, L-0004 paid off). The database must be
  unchanged, row for row (tests/canonical.py), and nothing printed on stdout as if it worked.
- ``imports.json``: ``npl import`` calls on the CSV files beside it. A file the importer cannot
  read refuses the whole call (exit 2, one line naming the file and the problem, nothing
  written, no rejects file). Otherwise every bad row is reported (file, line, column, reason),
  written to the rejects file, and every good row lands: the database ends exactly as if only
  the good rows had been imported.
- ``deployments.json``: parameters of the Prefect deployments in flows/operations.py, checked
  as a deployment run does — ``flow.validate_parameters`` (no Prefect server), then the flow's
  function (``flow.fn``) — refused by the parameter check or by the service, nothing written.

An entry's ``why`` says what goes wrong today when the entry is known to fail.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from prefect.exceptions import ParameterTypeError, SignatureMismatchError
from sqlalchemy import select
from typer.testing import CliRunner

from flows import operations
from flows.cli import app
from models import store
from models.domain.errors import NplError
from models.store import UnitOfWork
from models.tables import Collateral, Guarantor, Loan
from services import cases
from services.importing import import_paths
from tests.builders import load, run
from tests.canonical import canonical_dump
from tests.conftest import _empty

DATA = Path(__file__).parents[1] / "data" / "bad_inputs"
DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
COMMANDS: list[dict[str, Any]] = json.loads((DATA / "commands.json").read_text(encoding="utf-8"))
IMPORTS: list[dict[str, Any]] = json.loads((DATA / "imports.json").read_text(encoding="utf-8"))
DEPLOYMENTS: list[dict[str, Any]] = json.loads((DATA / "deployments.json").read_text(encoding="utf-8"))
LONG_STRINGS = [c for c in COMMANDS if "-long-" in c["id"] and c["exit"] == 2]

runner = CliRunner()


def test_the_corpus_is_at_least_thirty_distinct_bad_inputs() -> None:
    ids = [c["id"] for c in COMMANDS + IMPORTS + DEPLOYMENTS]
    assert len(ids) == len(set(ids)) >= 30
    named = {name for case in IMPORTS for name in case["files"]}
    assert named <= {p.name for p in DATA.glob("*.csv")}, "imports.json names a file that is not there"


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _release_engines() -> Iterator[None]:
    """Each case opens its own copy of a book; close their engines when the module is done."""
    yield
    store.dispose_all()


def copy_of(db: Path, target: Path) -> str:
    """A consistent copy of a SQLite book (the backup API), and its URL."""
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


def demo_book(url: str, tmp: Path) -> None:
    """The demo portfolio run to 2008-09-30, with L-0004 paid off (a closed case)."""
    paths = [shutil.copy(DEMO / name, tmp / name) for name in ("loans.csv", "guarantors.csv", "collateral.csv")]
    assert not import_paths(url, paths).rejected
    run(url, date(2008, 7, 1), date(2008, 9, 30))
    with UnitOfWork(url) as uow:
        assert cases.pay(uow, "L-0004", Decimal("47000.00"), by="E-02").closed_reason == "repaid"


@pytest.fixture(scope="module")
def collection_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("collection-book")
    demo_book(f"sqlite:///{base / 'npl.db'}", base)
    return base / "npl.db"


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two loans on file (L-B1, L-B2): what guarantors and collateral files refer to."""
    base = tmp_path_factory.mktemp("small-book")
    load(f"sqlite:///{base / 'npl.db'}", base, [{"loan_id": "L-B1"}, {"loan_id": "L-B2", "borrower_name": "Second"}])
    return base / "npl.db"


def npl(url: str, argv: list[str]) -> Result:
    """One command in-process, ``--db`` right after the command's name; a crash (an exception
    other than a clean exit) fails the test with that exception."""
    result = runner.invoke(app, [argv[0], "--db", url, *argv[1:]])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_one_clear_line(result: Result, fragment: str) -> None:
    assert fragment in result.stderr, result.stderr
    if result.stderr.startswith("npl: "):  # our own refusals: exactly one line (click's usage errors are boxed)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- commands --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", COMMANDS, ids=[c["id"] for c in COMMANDS])
def test_bad_command_is_refused_with_a_clear_reason_and_changes_nothing(
    case: dict[str, Any], collection_book: Path, tmp_path: Path
) -> None:
    url = copy_of(collection_book, tmp_path / "npl.db")
    before = canonical_dump(url)

    result = npl(url, [arg.replace("{tmp}", str(tmp_path)) for arg in case["argv"]])

    assert (result.exit_code, result.stdout) == (case["exit"], ""), (case.get("why"), result.stdout, result.stderr)
    assert_one_clear_line(result, case["message"])
    assert canonical_dump(url) == before, case.get("why")


@pytest.mark.postgres
@pytest.mark.parametrize("case", LONG_STRINGS, ids=[c["id"] for c in LONG_STRINGS])
def test_over_long_text_is_bad_input_on_postgresql_too(case: dict[str, Any], pg_url: str, tmp_path: Path) -> None:
    """Production runs PostgreSQL, where a value longer than its column is a DataError (SQLite,
    above, stores it whole)."""
    _empty(pg_url)
    demo_book(pg_url, tmp_path)
    before = canonical_dump(pg_url)

    result = npl(pg_url, case["argv"])

    assert result.exit_code == 2, (case.get("why"), result.stdout, result.stderr)
    assert_one_clear_line(result, case["message"])
    assert canonical_dump(pg_url) == before


# --- import files ------------------------------------------------------------------------------


def _keys(url: str) -> set[tuple[str, str, str]]:
    """(table, loan, name or asset) of every loan, guarantor and collateral item on file."""
    with UnitOfWork(url) as uow:
        s = uow.session
        keys = {("loans", loan_id, "") for loan_id in s.scalars(select(Loan.loan_id))}
        keys |= {("guarantors", lid, name) for lid, name in s.execute(select(Guarantor.loan_id, Guarantor.name))}
        keys |= {("collateral", lid, asset) for lid, asset in s.execute(select(Collateral.loan_id, Collateral.asset_id))}
    return keys


def _good_rows_only(source: Path, bad_lines: set[int], target: Path) -> bool:
    """``source`` without its rejected lines (the corpus keeps one record per line); False when
    no data row is left."""
    lines = source.read_bytes().splitlines(keepends=True)
    kept = [line for number, line in enumerate(lines, start=1) if number not in bad_lines]
    target.write_bytes(b"".join(kept))
    return any(line.strip() for line in kept[1:])


@pytest.mark.parametrize("case", IMPORTS, ids=[c["id"] for c in IMPORTS])
def test_bad_import_reports_every_bad_row_lands_every_good_one_and_nothing_else(
    case: dict[str, Any], small_book: Path, tmp_path: Path
) -> None:
    url = copy_of(small_book, tmp_path / "npl.db")
    before, keys_before = canonical_dump(url), _keys(url)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    paths = [Path(shutil.copy(DATA / name, inbox / name)) for name in case["files"]]

    result = npl(url, ["import", *map(str, paths)])

    assert result.exit_code == case["exit"], (result.stdout, result.stderr)
    if "refused" in case:  # the whole call: nothing written, no rejects file
        assert result.stdout == ""
        assert_one_clear_line(result, case["refused"])
        assert canonical_dump(url) == before
        assert sorted(p.name for p in inbox.iterdir()) == sorted(case["files"])
        return

    reported = [line for line in result.stderr.splitlines() if line.startswith("rejected: ")]
    expected = case["rejected"]
    assert len(reported) == len(expected), result.stderr  # nothing dropped silently, nothing extra
    for (name, line, column, reason), got in zip(expected, reported):
        assert got.startswith(f"rejected: {inbox / name}:{line}: column {column}: "), got
        assert reason in got, got
    bad_lines: dict[str, set[int]] = {name: set() for name in case["files"]}
    for name, line, _column, _reason in expected:
        bad_lines[name].add(line)
    for name, lines in bad_lines.items():
        rejects = inbox / f"{Path(name).stem}.rejects.csv"
        if not lines:
            assert not rejects.exists()
            continue
        with rejects.open(encoding="utf-8", newline="") as handle:
            assert [(int(r["line"]), r["column"]) for r in csv.DictReader(handle)] == [
                (line, column) for n, line, column, _ in expected if n == name
            ]
        assert f"rejected rows written to {rejects}" in result.stderr

    # the good rows landed, and only they: the same database as importing just the good rows
    landed = _keys(url) - keys_before
    assert sorted({loan_id for _table, loan_id, _name in landed}) == sorted(case["lands"])
    reference = copy_of(small_book, tmp_path / "reference.db")
    good = tmp_path / "good"
    good.mkdir()
    good_files = [good / name for name in case["files"] if _good_rows_only(inbox / name, bad_lines[name], good / name)]
    if good_files:
        assert import_paths(reference, good_files).rejected == []
    assert canonical_dump(url) == canonical_dump(reference)


# --- deployment parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("case", DEPLOYMENTS, ids=[c["id"] for c in DEPLOYMENTS])
def test_bad_deployment_parameters_are_refused_before_anything_is_written(
    case: dict[str, Any], collection_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = copy_of(collection_book, tmp_path / "npl.db")
    monkeypatch.setenv("NPL_DATABASE_URL", url)  # as a served flow run finds it: never a parameter
    before = canonical_dump(url)
    flow = getattr(operations, case["flow"])

    try:
        parameters = flow.validate_parameters(case["parameters"])
    except (ParameterTypeError, SignatureMismatchError) as exc:
        message = str(exc)
    else:
        # manual-escalation's function needs a flow run (its logger, its pause for approval):
        # a bad value must not get past the parameter check, or the run asks for an approval first
        assert case["flow"] != "manual_escalation", (case.get("why"), parameters)
        try:
            outcome = flow.fn(**parameters)
        except NplError as exc:
            message = str(exc)
        else:
            pytest.fail(f"accepted: {outcome} ({case.get('why', '')})")
    assert any(fragment in message for fragment in case["messages"]), message
    assert canonical_dump(url) == before
