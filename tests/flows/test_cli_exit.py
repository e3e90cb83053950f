"""`npl` as a process ends as soon as its work is delivered (flows.cli._leave): the run's Prefect
events and logs are on the server, the database is closed (SQLite's log checkpointed and
removed) and the exit code is the command's, without the interpreter's object-by-object
teardown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

from tests.builders import LOAN_DEFAULTS, write_csv
from tests.flows.test_feed_flow import events_named

NPL = Path(sys.executable).with_name("npl")
LOAN = "L-EXIT-1"  # an id no other test uses: the session's server is shared


def test_npl_daily_exits_with_its_code_after_its_events_and_logs_reached_the_server_and_the_database_closed(
    prefect_server: Any, tmp_path: Path
) -> None:
    db_file = tmp_path / "npl.db"
    url = f"sqlite:///{db_file}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPL_")}  # the session's server (PREFECT_API_URL, auth)
    env.update(NPL_INBOX=str(tmp_path / "inbox"), NPL_LETTERS_DIR=str(tmp_path / "letters"))
    loans = write_csv(tmp_path / "loans.csv", [{"loan_id": LOAN, **LOAN_DEFAULTS}])
    imported = subprocess.run([str(NPL), "import", str(loans), "--db", url], env=env, capture_output=True, text=True, timeout=120)
    assert (imported.returncode, imported.stdout.strip()) == (0, "imported: 1 loans, 0 guarantors, 0 collateral"), imported.stderr

    ran = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-01", "--db", url], env=env, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.startswith("ran 1 business date(s) to 2008-07-01: 1 transition(s)")
    assert db_file.exists() and not Path(f"{db_file}-wal").exists()  # closed: the log written back, removed
    # sent before the process ended (nothing can send them now; the server stores events in batches)
    [event] = events_named("npl.case.escalated", f"npl.loan.{LOAN}", timeout=30)
    assert event.payload["to"] == "overdue"
    flow_run_id = event.resource_in_role["flow-run"].id.removeprefix("prefect.flow-run.")
    with get_client(sync_client=True) as client:
        [flow_run] = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        deadline = time.monotonic() + 30
        while True:
            messages = [log.message for log in client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))]
            if any("Finished in state Completed" in m for m in messages) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert any("Finished in state Completed" in m for m in messages), messages  # the run's last log line
    assert flow_run.state is not None and flow_run.state.is_completed()


def test_a_refused_command_still_exits_with_its_own_code_and_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    missing = subprocess.run([str(NPL), "show", "NO-SUCH-LOAN", "--db", url], capture_output=True, text=True, timeout=120)
    unknown = subprocess.run([str(NPL), "no-such-command"], capture_output=True, text=True, timeout=120)
    assert (missing.returncode, missing.stderr.strip()) == (1, "npl: loan NO-SUCH-LOAN not found")
    assert unknown.returncode == 2 and unknown.stderr.startswith("npl: No such command 'no-such-command'.")


PROBE = """
import atexit, sys
import typer
from flows import cli

@cli.app.command("probe-exit")
def probe(record: str, code: int = 0) -> None:
    # what Prefect's services do when the command first uses them: an exit handler of their own
    atexit.register(lambda: open(record, "a").write("drained\\n"))
    sys.stdout.write("unflushed output")  # no newline: still buffered when the command returns
    raise typer.Exit(code)

cli.main()
"""


def test_the_exit_handlers_a_command_registers_run_before_the_process_ends_with_the_commands_code(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    for code in (0, 3):
        done = subprocess.run([sys.executable, str(script), "probe-exit", str(record), "--code", str(code)],
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout) == (code, "unflushed output"), done.stderr
    assert record.read_text() == "drained\ndrained\n"
