"""The daily run judges a case from its own row first (services.views.light_view): what the rules
did not load must never be read silently, and a case the rules finish early is judged exactly as on
its full view."""

from __future__ import annotations

from datetime import date

import pytest

from machines.escalation import plan_day
from machines.policy import load_policy
from models.daily_sql import CaseRow
from services.views import UNLOADED, NotLoaded, light_view

DAY = date(2026, 11, 2)


def _row(**changes: object) -> CaseRow:
    values = dict(
        loan_id="L1", borrower_id="B1", origin="external", assigned_to="E-001", rate_ppm=50_000, maturity_on=date(2027, 3, 1),
        overdue_since=None, outstanding_principal_fen=1_000_000, overdue_principal_fen=0, interest_fen=0, penalty_fen=0,
        costs_fen=0, accrued_to=date(2026, 10, 1), accrual_stopped=False, state="performing", state_entered_on=None,
        closed_reason=None, limitation_start=None, sued_on=None, awaiting_approval=None, awaiting_reason=None, urgent=False,
        employer_pressure=False, touched=True, next_event_on=None, version=1, disbursed_on=date(2026, 3, 1),
    )
    return CaseRow(values | changes)


@pytest.mark.parametrize("use", [bool, iter, len, hash, lambda x: x == "not_found", lambda x: x in ("government",),
                                 lambda x: x.status, lambda x: x + 1, lambda x: f"{x}"])
def test_every_use_of_an_unloaded_part_raises(use: object) -> None:
    with pytest.raises(NotLoaded):
        use(UNLOADED)  # type: ignore[operator]


def test_a_performing_loan_not_yet_due_is_judged_from_its_row_alone() -> None:
    plan = plan_day(light_view(_row(), DAY, load_policy()), DAY, load_policy())
    assert plan.done and not plan.steps and plan.next_event_on == date(2027, 3, 2)


def test_a_past_due_loan_needs_its_other_tables() -> None:
    with pytest.raises(NotLoaded):
        plan_day(light_view(_row(maturity_on=date(2026, 6, 1)), DAY, load_policy()), DAY, load_policy())


def test_a_settled_loan_needs_its_payer() -> None:
    with pytest.raises(NotLoaded):
        plan_day(light_view(_row(outstanding_principal_fen=0), DAY, load_policy()), DAY, load_policy())
