"""The nightly feed through Prefect: the ``daily-collection`` flow ingests the inbox before it
advances the book (two nights, a repeated file, repayments delivered twice — each applied once,
on SQLite and PostgreSQL), a missing export is waited for, reported and announced, a kill mid-
ingestion is made good by the rerun, and ``ingest-export/ops`` ingests by hand but only names
inside the inbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from models import store
from prefect_server import wait_for_deployment
from services.importing import import_paths
from tests.builders import run, write_csv
from tests.integration.test_feed import (
    GUARANTORS, LOANS, PAY_NIGHT1, feed_files, loans_state, night1, night2, once_by_hand, payments,
)

ROOT = Path(__file__).resolve().parents[2]


async def artifacts_of(flow_run_id: str) -> dict[str, object]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a.data for a in found}


def events_named(name: str, resource: str, timeout: float = 60) -> list[Any]:
    deadline = time.monotonic() + timeout
    flt = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[resource]))
    with get_client(sync_client=True) as client:
        while True:
            found = client.read_events(filter=flt, limit=10).events
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "inbox"
    monkeypatch.setenv("NPL_INBOX", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _flows_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No flow takes a database URL: each test's database reaches the flows through the environment.
    The summaries are read in English (NPL_LANG=en; the Chinese default is checked on the hand ingest)."""
    monkeypatch.setenv("NPL_LANG", "en")
    for name in ("db_url", "sqlite_db"):
        if name in request.fixturenames:
            monkeypatch.setenv("NPL_DATABASE_URL", request.getfixturevalue(name))


def test_two_nights_of_exports_through_the_daily_flow_apply_every_file_and_repayment_once(
    prefect_server: Any, db_url: str, inbox: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_collection

    night1(inbox)
    first = daily_collection(as_of=date(2008, 7, 1), return_state=True)
    night2(inbox)
    second = daily_collection(as_of=date(2008, 7, 2), return_state=True)
    again = daily_collection(as_of=date(2008, 7, 2), publish=False)  # nothing waits, the date is done
    reference = f"sqlite:///{tmp_path / 'by-hand.db'}"
    once_by_hand(reference, tmp_path / "by-hand")

    run1, run2 = first.result(), second.result()
    assert [(f["name"], f["kind"], f["outcome"], f["accepted"]) for f in run1["feed"]["files"]] == [
        ("20080701-1-loans.csv", "loans", "processed", 2),
        ("20080701-2-guarantors.csv", "guarantors", "processed", 1),
        ("20080701-3-repayments.csv", "repayments", "processed", 2),
    ]
    assert [(f["name"], f["outcome"], f["accepted"], f["already_booked"]) for f in run2["feed"]["files"]] == [
        ("20080702-1-loans.csv", "processed", 3, 0),
        ("20080702-2-guarantors.csv", "skipped", 0, 0),
        ("20080702-3-repayments.csv", "skipped", 0, 0),
        ("20080702-4-repayments.csv", "processed", 1, 1),  # TX-1 sent again inside a new file
    ]
    assert again["feed"]["files"] == [] and again["already_done"] is True
    # the book is what importing each file once by hand and running each date gives
    assert loans_state(db_url) == loans_state(reference)
    assert [(s[0], s[7]) for s in loans_state(db_url)] == [(s[0], s[7]) for s in loans_state(reference)]
    assert payments(db_url) == payments(reference)
    assert [p[-1] for p in payments(db_url)] == ["TX-1", "TX-2", "TX-3"]
    runs = {str(first.state_details.flow_run_id): date(2008, 7, 1), str(second.state_details.flow_run_id): date(2008, 7, 2)}
    assert [(f[0], runs[f[5]], f[6]) for f in feed_files(db_url)] == [
        ("20080701-1-loans.csv", date(2008, 7, 1), date(2008, 7, 1)),
        ("20080701-2-guarantors.csv", date(2008, 7, 1), date(2008, 7, 1)),
        ("20080701-3-repayments.csv", date(2008, 7, 1), date(2008, 7, 1)),
        ("20080702-1-loans.csv", date(2008, 7, 2), date(2008, 7, 2)),
        ("20080702-4-repayments.csv", date(2008, 7, 2), date(2008, 7, 2)),
    ]
    summary = str(asyncio.run(artifacts_of(str(second.state_details.flow_run_id)))["daily-summary"])
    assert summary.startswith("# Daily collection — 2008-07-02\n\n")
    assert "## Nightly feed" in summary.split("## Deadlines at risk")[0]  # what came in, before what the run found
    assert "| 20080702-3-repayments.csv | repayments | skipped | 0 | 0 | 0 | already ingested as 20080701-3-repayments.csv" in summary


def test_a_loan_paid_off_in_the_nights_repayments_is_closed_not_escalated_by_the_run(prefect_server: Any, sqlite_db: str, inbox: Path) -> None:
    from flows.daily import daily_collection

    inbox.mkdir()
    write_csv(inbox / "1-loans.csv", LOANS)
    # both mature 2008-06-30; L-2's whole balance (principal and interest) paid at the counter that day
    write_csv(inbox / "2-repayments.csv", [{"loan_id": "L-2", "paid_on": "2008-06-30", "amount": "8289.60", "reference": "TX-ALL"}])
    daily_collection(as_of=date(2008, 7, 1), publish=False)

    states = {s[0]: s[7] for s in loans_state(sqlite_db)}
    balances = {s[0]: s[1] for s in loans_state(sqlite_db)}
    assert balances == {"L-1": 100000_00, "L-2": 0}
    assert states == {"L-1": "overdue", "L-2": "closed"}


def test_a_missing_export_is_waited_for_then_the_run_goes_on_says_so_and_emits_npl_feed_missing(
    prefect_server: Any, sqlite_db: str, inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.daily import daily_collection

    (policy := tmp_path / "policy.toml").write_text("[feed]\nwait_minutes = 0.01\n", encoding="utf-8")
    monkeypatch.setenv("NPL_POLICY", str(policy))
    import_paths(sqlite_db, [write_csv(tmp_path / "loans.csv", LOANS)])
    inbox.mkdir()
    write_csv(inbox / "20080703-3-repayments.csv", PAY_NIGHT1)  # the repayments came, the loans did not

    started = time.monotonic()
    state = daily_collection(as_of=date(2008, 7, 3), wait_for_export=True, return_state=True)
    result = state.result()
    by_hand = daily_collection(as_of=date(2008, 7, 4), publish=False)  # the command line does not wait

    assert 0.5 <= time.monotonic() - started < 60
    assert result["feed"]["missing"] == ["loans"] and result["dates_run"] >= 1
    assert [f["name"] for f in result["feed"]["files"]] == ["20080703-3-repayments.csv"]  # what came is ingested
    assert [p[-1] for p in payments(sqlite_db)] == ["TX-1", "TX-2"]
    assert by_hand["feed"]["missing"] == [] and by_hand["feed"]["expected"] is None
    summary = str(asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))["daily-summary"])
    assert "**Export missing**: no loans file for 2008-07-03 after waiting" in summary
    [event] = events_named("npl.feed.missing", "npl.feed.2008-07-03")
    assert event.payload["inbox"] == str(inbox) and event.payload["business_date"] == "2008-07-03"
    assert event.payload["missing"] == ["loans"]


CHILD = r"""
import os, signal, sys
sys.path.insert(0, {root!r})
from datetime import date
from services import feed
from flows.daily import daily_collection

import_in = feed.import_in
def dying_import_in(uow, paths, **kwargs):  # the repayments file's rows and record written, not committed
    record = kwargs["before_commit"]
    def die(report):
        record(report)
        if report.files[0].kind == "repayments":
            uow.session.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    kwargs["before_commit"] = die
    return import_in(uow, paths, **kwargs)
feed.import_in = dying_import_in
os.environ['NPL_DATABASE_URL'] = sys.argv[1]
daily_collection(as_of=date(2008, 7, 1), publish=False)
"""


def test_a_daily_run_killed_while_ingesting_leaves_the_file_for_the_rerun_which_applies_it_once(
    prefect_server: Any, sqlite_db: str, inbox: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_collection

    night1(inbox)
    store.dispose_all()
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), sqlite_db], env=dict(os.environ),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-800:]
    store.dispose_all()
    assert (inbox / "20080701-3-repayments.csv").exists() and payments(sqlite_db) == []
    assert [f[0] for f in feed_files(sqlite_db)] == ["20080701-1-loans.csv", "20080701-2-guarantors.csv"]

    rerun = daily_collection(as_of=date(2008, 7, 1), publish=False)
    reference = f"sqlite:///{tmp_path / 'by-hand.db'}"
    (tmp_path / "by-hand").mkdir()
    import_paths(reference, [write_csv(tmp_path / "by-hand" / n, rows) for n, rows in
                             (("l.csv", LOANS), ("g.csv", GUARANTORS), ("r.csv", PAY_NIGHT1))])
    run(reference, date(2008, 7, 1))

    assert [(f["name"], f["outcome"]) for f in rerun["feed"]["files"]] == [("20080701-3-repayments.csv", "processed")]
    assert [p[-1] for p in payments(sqlite_db)] == ["TX-1", "TX-2"]
    assert payments(sqlite_db) == payments(reference) and loans_state(sqlite_db) == loans_state(reference)


def test_ingest_export_by_hand_takes_only_the_named_files_and_publishes_the_result(
    prefect_server: Any, sqlite_db: str, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.feed import ingest_export

    monkeypatch.delenv("NPL_LANG")  # the default: Chinese
    night1(inbox)
    state = ingest_export(files=["20080701-1-loans.csv", "20080701-2-guarantors.csv"], return_state=True)
    result = state.result()

    assert [(f["name"], f["outcome"]) for f in result["files"]] == [
        ("20080701-1-loans.csv", "processed"), ("20080701-2-guarantors.csv", "processed")]
    assert [p.name for p in inbox.iterdir() if p.is_file()] == ["20080701-3-repayments.csv"]
    markdown = str(asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))["ingest-export"])
    assert markdown.startswith("# 手工导入的数据文件") and "| 20080701-2-guarantors.csv | guarantors | processed | 1 |" in markdown
    assert "| 文件 | 类别 | 结果 | 接受行数 | 拒绝行数 | 此前已入账 | 备注 |" in markdown


def test_the_ingest_export_deployment_refuses_a_name_leading_out_of_the_inbox(ops_runner: Any, sqlite_db: str) -> None:
    wait_for_deployment("ingest-export/ops", 120)
    flow_run = run_deployment("ingest-export/ops", parameters={"files": ["../x"]}, timeout=180)

    assert flow_run.state.is_failed(), flow_run.state
    assert "not a path" in (flow_run.state.message or "")
    assert feed_files(sqlite_db) == []


def test_the_scheduled_daily_deployment_waits_for_the_export_and_the_command_line_does_not(ops_runner: Any) -> None:
    import inspect

    import yaml

    from flows.daily import daily_collection

    by_hand = wait_for_deployment("ingest-export/ops", 120)  # served after manual-escalation/ops
    with get_client(sync_client=True) as client:
        scheduled = client.read_deployment_by_name("daily-collection/scheduled")
    assert scheduled.parameters == {"wait_for_export": True}
    assert inspect.signature(daily_collection.fn).parameters["wait_for_export"].default is False
    assert set(by_hand.parameter_openapi_schema["properties"]) == {"folder", "files", "business_date"}
    doc = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    [daily] = [d for d in doc["deployments"] if d["entrypoint"] == "flows/daily.py:daily_collection"]
    assert daily["parameters"] == {"wait_for_export": True}
