"""The case state machine (DOMAIN.md §2): edges, validators, model effects, audit, escalation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from machines.audit import AuditListener, Transition
from machines.loan_case import (
    EVENTS,
    LADDER,
    Approval,
    CaseRefused,
    CaseState,
    ClosedReason,
    LoanCase,
    event_for_target,
    ladder_rank,
)
from models.domain.deadlines import GuaranteeStatus, RequiredAct
from models.domain.errors import RuleViolation

ON = date(2008, 9, 1)
LIVE_GUARANTEE = GuaranteeStatus(period_end=date(2008, 12, 30), act=RequiredAct.demand_guarantor, act_done_on=None)
LAPSED_GUARANTEE = GuaranteeStatus(period_end=date(2008, 8, 31), act=RequiredAct.demand_guarantor, act_done_on=None)
PRESERVED_GUARANTEE = GuaranteeStatus(
    period_end=date(2008, 8, 31), act=RequiredAct.demand_guarantor, act_done_on=date(2008, 8, 1)
)
APPROVED = Approval(requested_by="li", approved_by="zhao")

# Inputs that satisfy every validator of every transition.
ALL_SATISFIED = dict(
    on=ON,
    by="li",
    reason="test",
    approval=APPROVED,
    guarantees=[LIVE_GUARANTEE],
    has_plan=True,
    rating_ok=True,
    viable_product=True,
    balance_fen=0,
    closed_reason=ClosedReason.repaid.value,
)

S = CaseState
# The machine's edges as DOMAIN.md §2 describes them: (source, event) → target.
AFTER_DUE_OPEN = (
    S.overdue, S.internal_review, S.visit, S.guarantor_pressure, S.litigation, S.installment, S.revitalization,
)
EXPECTED_EDGES: dict[tuple[CaseState, str], CaseState] = {
    (S.performing, "fall_due"): S.overdue,
    (S.overdue, "review"): S.internal_review,
    (S.overdue, "dispatch"): S.visit,
    (S.internal_review, "dispatch"): S.visit,
    **{(s, "press"): S.guarantor_pressure for s in (S.overdue, S.internal_review, S.visit)},
    **{(s, "sue"): S.litigation for s in AFTER_DUE_OPEN if s is not S.litigation},
    **{(s, "sign_plan"): S.installment for s in AFTER_DUE_OPEN if s is not S.installment},
    (S.installment, "break_plan"): S.guarantor_pressure,
    (S.installment, "plan_lapsed"): S.visit,  # issue 15 rule 6: a broken plan without a liable guarantor
    **{(s, "revitalize"): S.revitalization for s in (S.internal_review, S.visit, S.guarantor_pressure)},
    **{(s, "settle"): S.closed for s in (S.performing, *AFTER_DUE_OPEN)},
    **{(s, "write_off"): S.closed for s in AFTER_DUE_OPEN},
}


@dataclass
class Row:
    """Stands in for the ORM row: the machine only needs these attributes."""

    state: str = CaseState.performing.value
    state_entered_on: date | None = None
    closed_reason: str | None = None
    sued_on: date | None = None


def case_in(state: CaseState, record=None) -> tuple[LoanCase, Row]:
    row = Row(state=state.value)
    listeners = [AuditListener("L-1", record)] if record is not None else []
    return LoanCase(row, state_field="state", listeners=listeners), row


def declared_edges() -> dict[tuple[CaseState, str], CaseState]:
    edges = {}
    for state in LoanCase.states:
        for transition in state.transitions:
            for event in transition.events:
                edges[(CaseState(transition.source.value), str(event))] = CaseState(transition.target.value)
    return edges


# --- the shape of the machine ------------------------------------------------------------


def test_machine_states_are_exactly_the_case_state_values():
    assert {s.value for s in LoanCase.states} == {s.value for s in CaseState}
    assert LoanCase.initial_state.value == CaseState.performing.value
    assert [s.value for s in LoanCase.final_states] == [CaseState.closed.value]


def test_machine_edges_are_the_ones_domain_md_describes():
    assert declared_edges() == EXPECTED_EDGES


def test_every_event_is_declared_once_in_events():
    assert sorted(EVENTS) == sorted({event for (_, event) in EXPECTED_EDGES})


def test_closed_has_no_way_out():
    assert not [key for key in declared_edges() if key[0] is CaseState.closed]


def test_no_edge_moves_down_the_ladder_except_a_broken_plan_or_failed_revitalization():
    for (source, event), target in declared_edges().items():
        if ladder_rank(source) is not None and ladder_rank(target) is not None:
            assert ladder_rank(target) > ladder_rank(source), (source, event, target)


# --- every state, every declared transition ---------------------------------------------------


@pytest.mark.parametrize("state", list(CaseState), ids=lambda s: s.value)
def test_machine_binds_to_a_row_in_every_state_without_running_entry_actions(state):
    case, row = case_in(state)
    assert case.current_state_value == state.value
    assert row.state == state.value
    assert row.state_entered_on is None


@pytest.mark.parametrize(
    ("source", "event", "target"),
    [(s, e, t) for (s, e), t in EXPECTED_EDGES.items()],
    ids=[f"{s.value}-{e}" for (s, e) in EXPECTED_EDGES],
)
def test_every_declared_transition_fires_from_its_source_when_its_rules_are_met(source, event, target):
    records: list[Transition] = []
    case, row = case_in(source, records.append)
    case.fire(event, **ALL_SATISFIED)
    assert row.state == target.value
    assert case.current_state_value == target.value
    assert row.state_entered_on == ON
    assert [(r.from_state, r.to_state, r.event) for r in records] == [(source.value, target.value, event)]


@pytest.mark.parametrize("state", list(CaseState), ids=lambda s: s.value)
def test_every_undeclared_move_is_refused_naming_the_state(state):
    for event in EVENTS:
        if (state, event) in EXPECTED_EDGES:
            continue
        case, row = case_in(state)
        with pytest.raises(CaseRefused, match=f"{event}: not allowed from state {state.value}"):
            case.fire(event, **ALL_SATISFIED)
        assert row.state == state.value
        assert row.state_entered_on is None


# --- validators: refusals name the rule and change nothing ---------------------------------


REFUSALS = [
    ("sue", S.visit, {"approval": None}, "needs an approval by a second person"),
    ("sue", S.visit, {"approval": Approval("li", None)}, "needs an approval by a second person"),
    ("sue", S.visit, {"approval": Approval("li", "   ")}, "needs an approval by a second person"),
    ("sue", S.visit, {"approval": Approval("li", "li")}, "approver must not be the requester"),
    ("sue", S.visit, {"approval": Approval("Li", " LI ")}, "approver must not be the requester"),
    ("write_off", S.litigation, {"approval": None}, "write_off: needs an approval"),
    ("write_off", S.litigation, {"approval": Approval("wang", "WANG")}, "approver must not be the requester"),
    ("press", S.visit, {"guarantees": []}, "no guarantor is still liable"),
    ("press", S.visit, {"guarantees": [LAPSED_GUARANTEE]}, "no guarantor is still liable"),
    ("break_plan", S.installment, {"guarantees": [LAPSED_GUARANTEE]}, "no guarantor is still liable"),
    ("sign_plan", S.guarantor_pressure, {"has_plan": False}, "needs a signed schedule"),
    ("revitalize", S.visit, {"rating_ok": False}, "credit rating is below the policy threshold"),
    ("revitalize", S.visit, {"viable_product": False}, "product is not one the policy deems viable"),
    ("revitalize", S.visit, {"approval": None}, "revitalize: needs an approval"),
    ("revitalize", S.visit, {"approval": Approval("li", "li")}, "approver must not be the requester"),
    ("settle", S.installment, {"balance_fen": 1}, "balance has not reached zero"),
    ("settle", S.installment, {"balance_fen": None}, "balance has not reached zero"),
    ("settle", S.installment, {"balance_fen": 0, "closed_reason": "written_off"}, "closing reason must be one of"),
    ("settle", S.installment, {"balance_fen": 0, "closed_reason": None}, "closing reason must be one of"),
    ("dispatch", S.litigation, {}, "not allowed from state litigation"),
    ("fall_due", S.overdue, {}, "not allowed from state overdue"),
    ("settle", S.closed, {}, "not allowed from state closed"),
    ("review", S.visit, {}, "not allowed from state visit"),
]


@pytest.mark.parametrize(
    ("event", "state", "change", "message"),
    REFUSALS,
    ids=[f"{e}-{s.value}-{m.split()[0]}" for e, s, _, m in REFUSALS],
)
def test_refused_move_names_the_rule_and_leaves_the_case_unchanged(event, state, change, message):
    records: list[Transition] = []
    case, row = case_in(state, records.append)
    before = (row.state, row.state_entered_on, row.closed_reason, row.sued_on)
    with pytest.raises(CaseRefused, match=message):
        case.fire(event, **{**ALL_SATISFIED, **change})
    assert (row.state, row.state_entered_on, row.closed_reason, row.sued_on) == before
    assert case.current_state_value == state.value
    assert records == []


def test_case_refused_is_a_rule_violation():
    assert issubclass(CaseRefused, RuleViolation)


def test_guarantor_whose_act_was_done_in_time_stays_liable_after_the_period():
    case, row = case_in(S.visit)
    case.fire("press", on=date(2009, 6, 1), guarantees=[LAPSED_GUARANTEE, PRESERVED_GUARANTEE])
    assert row.state == S.guarantor_pressure.value


def test_guarantor_is_liable_on_the_last_day_of_the_period_not_the_day_after():
    case, row = case_in(S.visit)
    with pytest.raises(CaseRefused):
        case.fire("press", on=date(2008, 9, 1), guarantees=[LAPSED_GUARANTEE])
    case.fire("press", on=date(2008, 8, 31), guarantees=[LAPSED_GUARANTEE])
    assert row.state == S.guarantor_pressure.value


def test_press_without_a_business_date_is_refused():
    case, row = case_in(S.visit)
    with pytest.raises(CaseRefused, match="no guarantor is still liable"):
        case.fire("press", guarantees=[LIVE_GUARANTEE])
    assert row.state == S.visit.value


@pytest.mark.parametrize(
    ("approval", "valid"),
    [
        (Approval("li", "zhao"), True),
        (Approval("li", "LI"), False),
        (Approval(" li ", "Li"), False),
        (Approval("li", ""), False),
        (Approval("li", "  "), False),
        (Approval("li", None), False),
    ],
)
def test_approval_is_valid_only_with_a_second_named_person(approval, valid):
    assert approval.valid is valid


# --- effects on the row ---------------------------------------------------------------------


def test_transition_records_the_business_date_it_entered_the_state():
    case, row = case_in(S.overdue)
    case.fire("review", on=date(2008, 7, 4), by="system")
    assert (row.state, row.state_entered_on) == ("internal_review", date(2008, 7, 4))


def test_suing_sets_sued_on_once_and_keeps_the_first_date():
    case, row = case_in(S.visit)
    case.fire("sue", on=date(2008, 9, 1), approval=APPROVED)
    assert row.sued_on == date(2008, 9, 1)
    case.fire("sign_plan", on=date(2008, 10, 1), has_plan=True)
    case.fire("sue", on=date(2009, 1, 1), approval=APPROVED)
    assert row.sued_on == date(2008, 9, 1)


def test_settling_closes_with_the_reason_of_who_paid_last():
    case, row = case_in(S.guarantor_pressure)
    case.fire("settle", on=ON, balance_fen=0, closed_reason=ClosedReason.settled_by_guarantor.value)
    assert (row.state, row.closed_reason) == ("closed", "settled_by_guarantor")


def test_write_off_always_closes_as_written_off():
    case, row = case_in(S.litigation)
    case.fire("write_off", on=ON, approval=APPROVED, closed_reason=ClosedReason.repaid.value)
    assert (row.state, row.closed_reason) == ("closed", "written_off")


def test_a_closed_case_refuses_every_event():
    case, row = case_in(S.closed)
    for event in EVENTS:
        with pytest.raises(CaseRefused, match="not allowed from state closed"):
            case.fire(event, **ALL_SATISFIED)
    assert row.state == "closed"


def test_the_documented_path_runs_from_performing_to_closed():
    case, row = case_in(S.performing)
    for event in ("fall_due", "review", "dispatch", "press", "sue", "sign_plan", "settle"):
        case.fire(event, **ALL_SATISFIED)
    assert row.state == "closed"


# --- audit -----------------------------------------------------------------------------------


def test_audit_listener_records_each_transition_with_its_who_when_and_why():
    records: list[Transition] = []
    case, row = case_in(S.overdue, records.append)
    case.fire("review", on=date(2008, 7, 4))
    case.fire("sue", on=date(2008, 7, 10), by="li", reason="refuses to cooperate", approval=APPROVED)
    assert records == [
        Transition("L-1", "overdue", "internal_review", "review", date(2008, 7, 4), "system", "", None),
        Transition(
            "L-1", "internal_review", "litigation", "sue", date(2008, 7, 10), "li", "refuses to cooperate", "zhao"
        ),
    ]
    assert all(type(r.event) is str for r in records)


def test_audit_listener_records_nothing_for_refused_events():
    records: list[Transition] = []
    case, row = case_in(S.visit, records.append)
    with pytest.raises(CaseRefused):
        case.fire("sue", on=ON, approval=Approval("li", "li"))
    with pytest.raises(CaseRefused):
        case.fire("review", on=ON)
    assert records == []


# --- manual escalation and the ladder ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "event"),
    [
        ("overdue", "internal_review", "review"),
        ("overdue", "visit", "dispatch"),
        ("internal_review", "visit", "dispatch"),
        ("visit", "guarantor_pressure", "press"),
        ("installment", "guarantor_pressure", "break_plan"),
        ("overdue", "litigation", "sue"),
        ("revitalization", "litigation", "sue"),
        ("visit", "installment", "sign_plan"),
        ("guarantor_pressure", "revitalization", "revitalize"),
    ],
)
def test_manual_escalation_maps_the_target_to_its_event(source, target, event):
    assert event_for_target(source, target) == event
    assert EXPECTED_EDGES[(CaseState(source), event)] is CaseState(target)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("closed", "closes by payment"),
        ("performing", "never moves back to performing"),
        ("overdue", "enters overdue by its dates"),
        ("suspended", "unknown state 'suspended'"),
        ("", "unknown state"),
    ],
)
def test_manual_escalation_refuses_closed_performing_overdue_and_unknown_targets(target, message):
    with pytest.raises(CaseRefused, match=message):
        event_for_target("visit", target)


def test_manual_escalation_down_the_ladder_is_refused_by_the_machine():
    case, row = case_in(S.guarantor_pressure)
    with pytest.raises(CaseRefused, match="not allowed from state guarantor_pressure"):
        case.fire(event_for_target("guarantor_pressure", "visit"), **ALL_SATISFIED)
    assert row.state == "guarantor_pressure"


def test_ladder_rank_orders_the_rungs_from_overdue_to_litigation():
    assert [ladder_rank(s) for s in ("overdue", "internal_review", "visit", "guarantor_pressure", "litigation")] == [
        0, 1, 2, 3, 4,
    ]
    assert [s.value for s in LADDER] == ["overdue", "internal_review", "visit", "guarantor_pressure", "litigation"]


@pytest.mark.parametrize("state", ["performing", "installment", "revitalization", "closed"])
def test_ladder_rank_is_none_off_the_ladder(state):
    assert ladder_rank(state) is None
    assert ladder_rank(CaseState(state)) is None


def test_ladder_rank_rejects_unknown_states():
    with pytest.raises(ValueError):
        ladder_rank("suspended")
