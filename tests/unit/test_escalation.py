"""What a business date does to a case (machines.escalation.plan_day): the routing rules of
DOMAIN.md §2 and the legal-deadline rules of §4, on literal case views."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machines.escalation import CaseView, GuaranteeView, PromiseView, plan_day
from machines.policy import load_policy
from machines.rules.clocks import GuaranteeFacts, guarantee_clock
from models.domain.law import Act

POLICY = load_policy()
DUE = date(2008, 6, 30)
SIGNED = date(2007, 6, 30)  # signed before 2021: the Guarantee Law 1995 and the GPCL apply


def case(**kw) -> CaseView:
    base = CaseView(
        loan_id="L-1", state="overdue", state_entered_on=date(2008, 7, 1), origin="external", employer_type="private",
        maturity_on=DUE, first_past_due=date(2008, 7, 1), balance_fen=10_000_00, last_payer=None,
        limitation_start=None, sued_on=None, awaiting_approval=None,
    )
    return replace(base, **kw)


def guarantee(kind: str, name: str = "Zhang", demanded: date | None = None) -> GuaranteeView:
    """A guarantee judged from its recorded acts: ``demanded``, a demand on the guarantor signed for that day."""
    acts = (Act("demand", demanded, "signed receipt", name, "in_person"),) if demanded else ()
    clock = guarantee_clock(GuaranteeFacts(name, kind, SIGNED), DUE, acts)
    return GuaranteeView(name, clock.mode, clock)


def tasks(plan) -> list[tuple[str, str | None, date | None]]:
    return [(s.action, s.target, s.due_on) for s in plan.tasks]


def events(plan) -> list[str]:
    return [s.event for s in plan.events]


def test_performing_loan_falls_due_on_its_first_day_past_due_and_not_before():
    c = case(state="performing", state_entered_on=None)
    assert events(plan_day(c, date(2008, 6, 30), POLICY)) == []
    assert plan_day(c, date(2008, 6, 30), POLICY).next_event_on == date(2008, 7, 1)
    assert events(plan_day(c, date(2008, 7, 1), POLICY)) == ["fall_due"]


def test_overdue_case_goes_to_internal_review_after_three_days():
    assert events(plan_day(case(), date(2008, 7, 3), POLICY)) == []
    assert events(plan_day(case(), date(2008, 7, 4), POLICY)) == ["review"]


@pytest.mark.parametrize("origin", ["insider", "insider_introduced"])
def test_insider_loan_gets_ninety_days_then_its_officer_is_suspended_and_visits_start(origin):
    c = case(state="internal_review", state_entered_on=date(2008, 7, 4), origin=origin)
    early = plan_day(c, date(2008, 10, 1), POLICY)
    assert events(early) == [] and not early.suspend_officer
    late = plan_day(c, date(2008, 10, 2), POLICY)
    assert events(late) == ["dispatch"] and late.suspend_officer


def test_external_loan_is_routed_to_visits_after_seven_days_of_review():
    c = case(state="internal_review", state_entered_on=date(2008, 7, 4))
    assert events(plan_day(c, date(2008, 7, 10), POLICY)) == []
    plan = plan_day(c, date(2008, 7, 11), POLICY)
    assert events(plan) == ["dispatch"] and not plan.suspend_officer and not plan.employer_pressure


@pytest.mark.parametrize("employer_type", ["government", "institution"])
def test_relationship_loan_of_a_public_employee_gets_the_employer_pressure_action(employer_type):
    c = case(state="internal_review", state_entered_on=date(2008, 7, 4), origin="relationship", employer_type=employer_type)
    assert plan_day(c, date(2008, 7, 11), POLICY).employer_pressure


def test_relationship_loan_of_a_private_employee_gets_no_employer_pressure():
    c = case(state="internal_review", state_entered_on=date(2008, 7, 4), origin="relationship", employer_type="private")
    assert not plan_day(c, date(2008, 7, 11), POLICY).employer_pressure


def test_visits_end_in_guarantor_pressure_when_a_guarantor_is_liable_else_await_an_approved_suit():
    c = case(state="visit", state_entered_on=date(2008, 7, 11))
    with_g = plan_day(replace(c, guarantees=(guarantee("joint"),)), date(2008, 8, 10), POLICY)
    assert events(with_g) == ["press"]
    alone = plan_day(c, date(2008, 8, 10), POLICY)
    assert events(alone) == [] and alone.awaiting and alone.awaiting[0] == "sue"


def test_joint_guarantee_lead_date_lists_an_urgent_demand_task_and_presses_a_case_early_on_the_ladder():
    # Guarantee Law 1995 Art. 26: six months from maturity, preserved only by a demand the bank makes (and records)
    c = case(guarantees=(guarantee("joint"),), state_entered_on=date(2008, 11, 29))
    plan = plan_day(c, date(2008, 11, 30), POLICY)  # period ends 2008-12-30, lead 30 days
    assert tasks(plan) == [("send_demand", "Zhang", date(2008, 12, 30))] and plan.urgent
    assert events(plan) == ["press"]


def test_the_demand_task_stays_every_day_until_the_demand_is_recorded_and_the_guarantee_then_lapses():
    c = case(state="guarantor_pressure", state_entered_on=date(2008, 11, 30), guarantees=(guarantee("joint"),))
    assert tasks(plan_day(c, date(2008, 12, 30), POLICY)) == [("send_demand", "Zhang", date(2008, 12, 30))]
    lapsed = plan_day(c, date(2008, 12, 31), POLICY)  # Art. 26 ¶2: not demanded within the period: freed
    assert tasks(lapsed) == [] and [a[0] for a in lapsed.alerts] == ["guarantee_lapsed"]
    assert plan_day(c, date(2009, 1, 1), POLICY).alerts == []  # the lapse is told once
    recorded = replace(c, guarantees=(guarantee("joint", demanded=date(2008, 12, 1)),))
    assert tasks(plan_day(recorded, date(2008, 12, 2), POLICY)) == []


def test_joint_guarantee_demand_task_leaves_a_running_installment_plan_alone():
    c = case(state="installment", guarantees=(guarantee("joint"),), plan_active=True, oldest_unpaid_line_due=date(2008, 12, 20))
    plan = plan_day(c, date(2008, 11, 30), POLICY)
    assert tasks(plan) == [("send_demand", "Zhang", date(2008, 12, 30))] and events(plan) == []


def test_general_guarantee_asks_for_an_approved_suit_then_a_filing_task_until_the_filing_is_recorded():
    # Guarantee Law 1995 Art. 25 ¶2: only a suit (or arbitration) against the borrower within the period preserves it
    c = case(state="visit", state_entered_on=date(2008, 11, 20), guarantees=(guarantee("general"),))
    plan = plan_day(c, date(2008, 11, 30), POLICY)
    assert plan.awaiting[0] == "sue" and plan.urgent and events(plan) == []
    assert plan.next_event_on == date(2008, 12, 1)
    approved = replace(c, state="litigation", sued_on=date(2008, 12, 1))  # the decision, not a filing
    decided = plan_day(approved, date(2008, 12, 2), POLICY)
    assert decided.awaiting is None and tasks(decided) == [("file_suit", "borrower", date(2008, 12, 30))]
    filing = Act("suit", date(2008, 12, 3), "Court X (2008) No. 1", "borrower")
    filed = replace(approved, acts=(filing,), guarantees=(GuaranteeView("Zhang", guarantee("general").kind, guarantee_clock(
        GuaranteeFacts("Zhang", "general", SIGNED), DUE, (filing,))),))
    assert tasks(plan_day(filed, date(2008, 12, 4), POLICY)) == []


def test_broken_promise_during_visits_presses_the_guarantor():
    c = case(state="visit", state_entered_on=date(2008, 7, 11), guarantees=(guarantee("joint"),),
             promises=(PromiseView(7, date(2008, 7, 20), 5000_00, 0),))
    plan = plan_day(c, date(2008, 7, 21), POLICY)
    assert plan.promises == {7: "broken"} and events(plan) == ["press"]


def test_kept_promise_changes_nothing():
    c = case(state="visit", state_entered_on=date(2008, 7, 11), promises=(PromiseView(7, date(2008, 7, 20), 5000_00, 5000_00),))
    plan = plan_day(c, date(2008, 7, 21), POLICY)
    assert plan.promises == {7: "kept"} and events(plan) == []


def test_zero_balance_closes_with_the_reason_of_the_last_payer():
    plan = plan_day(case(balance_fen=0, last_payer="court"), date(2008, 8, 1), POLICY)
    assert [(s.event, s.closed_reason) for s in plan.events] == [("settle", "recovered_by_court")]


@given(st.sampled_from(["performing", "overdue", "internal_review", "visit", "guarantor_pressure", "litigation", "installment", "revitalization"]),
       st.integers(0, 2000), st.integers(0, 400), st.booleans(), st.sampled_from(["joint", "general", None]))
def test_the_next_event_date_is_always_after_the_business_date(state, day_offset, entered_offset, insider, kind):
    day = date(2008, 1, 1) + timedelta(days=day_offset)
    c = case(state=state, state_entered_on=day - timedelta(days=entered_offset), origin="insider" if insider else "external",
             guarantees=(guarantee(kind),) if kind else (), plan_active=state == "installment",
             oldest_unpaid_line_due=day + timedelta(days=10) if state == "installment" else None)
    plan = plan_day(c, day, POLICY)
    assert plan.next_event_on is None or plan.next_event_on > day


def test_a_preserved_joint_guarantee_gets_a_demand_task_sixty_days_before_its_debt_limitation_ends():
    # demanded 2008-11-30 (recorded): the guarantee debt's limitation runs from it (SPC 2000 interpretation
    # Art. 34 ¶2), two years under the GPCL 1986 Art. 135 in force then: it ends 2010-11-30
    filing = Act("suit", date(2009, 1, 5), "Court X", "borrower")
    c = case(state="litigation", state_entered_on=date(2009, 1, 5), sued_on=date(2009, 1, 5), acts=(filing,),
             guarantees=(guarantee("joint", demanded=date(2008, 11, 30)),))
    quiet = plan_day(c, date(2010, 9, 30), POLICY)
    assert tasks(quiet) == [] and quiet.next_event_on == date(2010, 10, 1)
    due = plan_day(c, date(2010, 10, 1), POLICY)
    assert tasks(due) == [("send_demand", "Zhang", date(2010, 11, 30))]
    assert "guarantee debt limitation ends 2010-11-30" in due.steps[0].detail
    assert due.next_event_on == date(2010, 10, 2)  # listed every day until a demand is recorded
