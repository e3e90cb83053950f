"""The daily run's rules as modules (machines.rules): every move a rule asks for is one the case
machine declares, targets come from the machine, and the fold and the next date are made of
the rules and nothing else."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from machines import rules
from machines.escalation import next_event_on, plan_day
from machines.loan_case import EVENTS, NEEDS_APPROVAL, TRANSITIONS, CaseState, LoanCase, UndeclaredMove, allows, target_of
from machines.policy import load_policy
from machines.rules.base import CaseView, DayPlan, GuaranteeView, JudgmentView, PromiseView, move
from machines.rules.clocks import GuaranteeFacts, guarantee_clock
from models.domain import law

POLICY = load_policy()
BASE = date(2010, 1, 1)
OPEN = [s.value for s in CaseState if s is not CaseState.closed]


def declared_edges() -> dict[tuple[str, str], str]:
    """The machine's edges read straight from python-statemachine, not from machines.loan_case's table."""
    return {(t.source.value, str(e)): t.target.value for s in LoanCase.states for t in s.transitions for e in t.events}


def days(lo: int = -800, hi: int = 800) -> st.SearchStrategy[date]:
    return st.integers(lo, hi).map(lambda n: BASE + timedelta(days=n))


def recorded_acts(names: list[str]) -> st.SearchStrategy[list[law.Act]]:
    """Random recorded acts on the borrower or one of the guarantors (the only facts the clocks read)."""
    kinds = sorted(law.LIMITATION_ACTS | {"enforcement_ended"})
    return st.lists(st.builds(law.Act, st.sampled_from(kinds), days(-900, 2500), st.just("evidence"),
                              st.sampled_from(["borrower", *names]), st.sampled_from([None, "in_person", "mail"])), max_size=4)


@st.composite
def guarantee_views(draw: st.DrawFn, maturity: date, name: str, acts: list[law.Act]) -> GuaranteeView:
    agreed = draw(st.none() | days())
    facts = GuaranteeFacts(name, draw(st.sampled_from(["joint", "general", "unstated"])), draw(days(-3000, 800)), agreed,
                           agreed is None and draw(st.booleans()))
    clock = guarantee_clock(facts, maturity, acts, [(maturity, maturity)] if draw(st.booleans()) else [])
    return GuaranteeView(name, clock.mode, clock)


@st.composite
def views(draw: st.DrawFn, state: str | None = None) -> CaseView:
    maturity = draw(days())
    names = draw(st.lists(st.sampled_from(["Zhang", "Li", "Wu"]), max_size=3, unique=True))
    acts = sorted(draw(recorded_acts(names)), key=lambda a: a.on)
    return CaseView(
        loan_id="L-1", state=state or draw(st.sampled_from(OPEN)), state_entered_on=draw(st.none() | days()),
        origin=draw(st.sampled_from(["external", "relationship", "insider", "insider_introduced"])),
        employer_type=draw(st.sampled_from(["government", "institution", "private", "none"])),
        maturity_on=maturity, first_past_due=maturity + timedelta(days=draw(st.sampled_from([1, -90]))),
        balance_fen=draw(st.sampled_from([0, 1, 10_000_00])), last_payer=draw(st.sampled_from([None, "borrower", "guarantor", "court"])),
        limitation_start=draw(st.none() | days()), sued_on=draw(st.none() | days()), awaiting_approval=draw(st.sampled_from([None, "sue"])),
        last_visit_outcome=draw(st.sampled_from([None, "not_found", "contacted"])),
        guarantees=tuple(draw(guarantee_views(maturity, n, acts)) for n in names),
        promises=tuple(PromiseView(i, draw(days()), 100, draw(st.sampled_from([0, 100]))) for i in range(draw(st.integers(0, 2)))),
        plan_active=draw(st.booleans()), oldest_unpaid_line_due=draw(st.none() | days()),
        judgments=tuple(JudgmentView(i, (pb := draw(days())), draw(st.none() | days()), pb - timedelta(days=30))
                        for i in range(draw(st.integers(0, 2)))),
        acts=tuple(acts),
    )


# Zero-day limits let a case climb several rungs on one date; huge leads make every clock due.
POLICIES = st.sampled_from([
    POLICY,
    replace(POLICY, limits=dict.fromkeys(POLICY.limits, 0)),
    replace(POLICY, lead_days=dict.fromkeys(POLICY.lead_days, 1200)),
])


def test_the_transition_table_is_the_machines_own():
    assert TRANSITIONS == declared_edges()
    assert {event for (_source, event) in TRANSITIONS} == set(EVENTS)


@pytest.mark.parametrize("rule", rules.ALL, ids=lambda r: r.NAME)
@pytest.mark.parametrize("state", OPEN)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_move_a_rule_asks_for_is_declared_by_the_machine_from_the_state_it_leaves(rule, state, data):
    view = data.draw(views(state))
    day, policy = data.draw(days(-900, 2500)), data.draw(POLICIES)
    edges = declared_edges()
    plan = DayPlan()
    after = rule.apply(view, day, policy, plan)
    current = state
    for step in plan.events:
        assert step.event in rule.EVENTS, (rule.NAME, step.event)
        assert (current, step.event) in edges, f"{rule.NAME} fires {step.event} from {current}, which LoanCase does not declare"
        current = edges[(current, step.event)]
        assert step.rule == rule.NAME
    assert after.state == current  # the case the later rules see is where the machine takes it
    if plan.awaiting:
        assert plan.awaiting[0] in NEEDS_APPROVAL and plan.awaiting_rule == rule.NAME


@settings(max_examples=300, deadline=None)
@given(view=views(), day=days(-900, 2500), policy=POLICIES)
def test_a_days_plan_is_the_fold_of_the_rules_and_every_step_names_a_rule(view, day, policy):
    plan = plan_day(view, day, policy)
    current = view.state
    for step in plan.steps:
        assert step.rule in rules.BY_NAME
        if step.event:
            current = declared_edges()[(current, step.event)]
    for clock, _when, _text in plan.alerts:
        assert clock in rules.BY_CLOCK
    assert (plan.awaiting is None) == (plan.awaiting_rule is None)
    if plan.next_event_on is not None:
        assert plan.next_event_on > day


@settings(max_examples=300, deadline=None)
@given(view=views(), day=days(-900, 2500), policy=POLICIES)
def test_the_next_event_date_is_the_earliest_next_date_of_any_rule(view, day, policy):
    dates = [d for rule in rules.RULES if (d := rule.next_date(view, day, policy)) is not None]
    assert next_event_on(view, day, policy) == (min(dates) if dates else None)
    assert all(d > day for d in dates)


def test_each_rule_is_in_the_fold_once():
    folded = [part for rule in rules.RULES for part in getattr(rule, "PARTS", (rule,))]
    assert sorted(r.NAME for r in folded) == sorted(r.NAME for r in rules.ALL)


def test_targets_are_looked_up_from_the_machine():
    assert target_of("press", "visit") is CaseState.guarantor_pressure
    assert target_of("break_plan", "installment") is CaseState.guarantor_pressure
    assert allows("press", "overdue") and not allows("press", "guarantor_pressure")


def test_a_rule_asking_for_a_move_the_machine_does_not_declare_fails():
    view = CaseView(loan_id="L-1", state="litigation", state_entered_on=None, origin="external", employer_type="none",
                    maturity_on=BASE, first_past_due=BASE, balance_fen=1, last_payer=None, limitation_start=None,
                    sued_on=BASE, awaiting_approval=None)
    with pytest.raises(UndeclaredMove, match="press: the machine declares no such move from litigation"):
        move(view, BASE, DayPlan(), "test", "press", "a rule gone wrong")


@pytest.mark.parametrize("rule", rules.ALL, ids=lambda r: r.NAME)
def test_a_rules_basis_is_cited_in_its_own_text_or_is_a_key_of_the_policy_file(rule):
    for part in rule.BASIS.split(";"):
        part = part.strip()
        if part.startswith("policy "):
            key = part.removeprefix("policy ")
            assert key == "[limits]" or key.removeprefix("limits.") in POLICY.limits, part
            continue
        law, _, articles = part.partition(" Art. ")
        if not articles:
            continue  # the branch's own strategies (DOMAIN.md), no statute
        assert law in rule.__doc__, (rule.NAME, law)
        for number in articles.split(", "):
            assert re.search(rf"Art\. {number}\b", rule.__doc__), (rule.NAME, number)


@pytest.mark.parametrize("state", OPEN)
def test_the_time_limit_basis_names_the_policy_key_the_state_uses(state):
    view = CaseView(loan_id="L-1", state=state, state_entered_on=BASE, origin="insider", employer_type="none",
                    maturity_on=BASE, first_past_due=BASE, balance_fen=1, last_payer=None, limitation_start=None,
                    sued_on=None, awaiting_approval=None)
    basis = rules.basis_of("time_limits", view)
    limit = rules.time_limits.state_limit(state, "insider", POLICY)
    assert (basis.removeprefix("policy limits.") in POLICY.limits) == (limit is not None)
    if limit is not None:
        assert POLICY.limit(basis.removeprefix("policy limits.")) == limit
