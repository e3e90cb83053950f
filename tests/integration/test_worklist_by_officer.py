"""The worklist built officer by officer (what the daily run publishes, each officer's table
sent to the Prefect server while the next are built) is the worklist, item for item."""

from __future__ import annotations

from pathlib import Path

from bench.daily_bench import RUN_DATE, generate, import_book, steady_state
from sqlalchemy import select

from machines.policy import load_policy
from models.store import UnitOfWork
from models.tables import Loan
from services import worklist


def test_the_worklist_built_a_few_officers_at_a_time_has_every_item_of_the_whole_worklist_once(db_url: str, tmp_path: Path) -> None:
    import_book(db_url, generate(tmp_path, 400, past_due=0.6))
    steady_state(db_url)  # states spread along the ladder: visits, pressed guarantors, filings, deadlines
    with UnitOfWork(db_url) as uow:  # and a few decisions awaiting approval
        for loan in uow.session.scalars(select(Loan).where(Loan.state == "visit").order_by(Loan.loan_id).limit(3)):
            loan.awaiting_approval, loan.awaiting_reason = "sue", "no guarantor liable"
        uow.commit()
    policy = load_policy()
    with UnitOfWork(db_url) as uow:
        whole = worklist.worklist(uow.session, RUN_DATE, policy)
        per_officer = list(worklist.worklist_by_officer(uow.session, RUN_DATE, policy, batch=7))
    assert {"visit", "press_guarantor", "prepare_filing", "approval_awaited", "deadline_at_risk"} <= {i["task"] for i in whole}
    officers = [officer for officer, _ in per_officer]
    assert officers == sorted(set(officers)) and len(officers) > 20  # each once, in order, over several batches
    assert all(i["officer"] == officer for officer, items in per_officer for i in items)
    assert all(items == sorted(items, key=worklist._worklist_order) for _, items in per_officer)
    assert sorted((i for _, items in per_officer for i in items), key=worklist._worklist_order) == whole
    press = [i for i in whole if i["task"] == "press_guarantor"]
    assert press and all(i["detail"].startswith("demand, freeze request or in-kind settlement: ") for i in press)
