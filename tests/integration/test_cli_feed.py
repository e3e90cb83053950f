"""`npl daily` ingests the nightly feed's inbox before it advances the book (CONTRACT.md, "The
nightly feed"), and a file waiting makes it run the flow even for a date already completed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.builders import write_csv
from tests.integration.test_cli_prefect import clean_env
from tests.integration.test_feed import PAY_NIGHT1, feed_files, loans_state, night1, payments

NPL = Path(sys.executable).with_name("npl")


def test_npl_daily_ingests_the_inbox_first_and_a_file_sent_again_later_is_skipped(sqlite_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    night1(inbox)
    env = clean_env(tmp_path)  # NPL_INBOX=tmp_path/inbox; a temporary Prefect server for the run
    first = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-01", "--json", "--db", sqlite_db],
                           env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    shutil.copy(inbox / "processed" / "20080701-3-repayments.csv", inbox / "20080702-3-repayments.csv")
    write_csv(inbox / "20080702-4-repayments.csv", [{**PAY_NIGHT1[0], "reference": "TX-7", "amount": "7.00"}])
    again = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-01", "--json", "--db", sqlite_db],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]

    run1, run2 = json.loads(first.stdout), json.loads(again.stdout)
    assert [(f["name"], f["outcome"], f["accepted"]) for f in run1["feed"]["files"]] == [
        ("20080701-1-loans.csv", "processed", 2), ("20080701-2-guarantors.csv", "processed", 1),
        ("20080701-3-repayments.csv", "processed", 2)]
    assert run1["dates_run"] == 1 and run1["feed"]["missing"] == []  # the command line does not wait
    assert run2["already_done"] is True  # the date was run; the waiting files were still ingested
    assert [(f["name"], f["outcome"]) for f in run2["feed"]["files"]] == [
        ("20080702-3-repayments.csv", "skipped"), ("20080702-4-repayments.csv", "processed")]
    assert [p[-1] for p in payments(sqlite_db)] == ["TX-1", "TX-2", "TX-7"]
    assert [f[0] for f in feed_files(sqlite_db)] == [
        "20080701-1-loans.csv", "20080701-2-guarantors.csv", "20080701-3-repayments.csv", "20080702-4-repayments.csv"]
    assert {s[0]: s[7] for s in loans_state(sqlite_db)} == {"L-1": "overdue", "L-2": "overdue"}
