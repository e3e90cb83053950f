"""Random event sequences against the case machine, checked against an independent oracle.

Each step fires a random event with random guard inputs; now and then the machine is rebuilt
from the row, as the service does between events (building one costs milliseconds, so not at
every step). Invariants: the state is always a CaseState value; every recorded
transition is a declared edge; closed is terminal; a refused event changes nothing; and the
machine allows exactly what DOMAIN.md's rules allow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from machines.audit import AuditListener, Transition
from machines.loan_case import EVENTS, SETTLED_REASONS, Approval, CaseRefused, CaseState, ClosedReason, LoanCase
from models.domain.deadlines import GuaranteeStatus, RequiredAct

START = date(2008, 6, 30)


def declared_edges() -> dict[tuple[str, str], str]:
    edges = {}
    for state in LoanCase.states:
        for transition in state.transitions:
            for event in transition.events:
                edges[(transition.source.value, str(event))] = transition.target.value
    return edges


EDGES = declared_edges()


@dataclass
class Row:
    state: str = CaseState.performing.value
    state_entered_on: date | None = None
    closed_reason: str | None = None
    sued_on: date | None = None


# --- the oracle: DOMAIN.md's rules written independently of the machine -----------------------


def approval_ok(approval: Approval | None) -> bool:
    if approval is None or approval.approved_by is None:
        return False
    approver = approval.approved_by.strip().casefold()
    return approver != "" and approver != approval.requested_by.strip().casefold()


def guarantor_liable(on: date, guarantees: list[GuaranteeStatus]) -> bool:
    return any(
        on <= g.period_end or (g.act_done_on is not None and g.act_done_on <= g.period_end) for g in guarantees
    )


def rules_allow(event: str, inputs: dict) -> bool:
    if event in ("sue", "write_off"):
        return approval_ok(inputs["approval"])
    if event in ("press", "break_plan"):
        return guarantor_liable(inputs["on"], inputs["guarantees"])
    if event == "sign_plan":
        return inputs["has_plan"]
    if event == "revitalize":
        return inputs["rating_ok"] and inputs["viable_product"] and approval_ok(inputs["approval"])
    if event == "settle":
        return inputs["balance_fen"] == 0 and inputs["closed_reason"] in SETTLED_REASONS
    return True


# --- strategies ------------------------------------------------------------------------------

# Small pools keep drawing cheap; periods end at different points of the run (which moves the
# business date on by up to 60 days a step), done in time, late, or not at all.
NAMES = ["li", "LI", " Li ", "zhao", "wang"]
APPROVALS = [None] + [Approval(r, a) for r in ("li", "wang") for a in (None, "", "  ", *NAMES)]
GUARANTEES = [
    GuaranteeStatus(START + timedelta(days=end), act, None if done is None else START + timedelta(days=done))
    for end in (90, 400, 900)
    for act in RequiredAct
    for done in (None, end - 10, end + 10)
]
GUARANTEE_SETS = [
    [],
    *([g] for g in GUARANTEES),
    *([a, b] for i, a in enumerate(GUARANTEES) for b in GUARANTEES[i + 1 :]),
]
BALANCES = [0, None, 1, 150_000]
# Every input a step can carry, with its options. A step is drawn as one byte string, two bytes
# per input: one draw per step keeps generation cheap, and it still shrinks (to each list's
# first option), so a failure is reported as a short, readable sequence of events.
CHOICES: dict[str, list] = {
    "event": list(EVENTS),
    "walk": [True, False],  # replace the event by one declared from the current state
    "days": list(range(0, 61, 3)),
    "by": NAMES,
    "reason": ["", "daily run", "promise broken"],
    "approval": APPROVALS,
    "guarantees": GUARANTEE_SETS,
    "has_plan": [True, False],
    "rating_ok": [True, False],
    "viable_product": [True, False],
    "balance_fen": BALANCES,
    "closed_reason": [r.value for r in ClosedReason],
    "rebind": [False] * 19 + [True],  # rebuild the machine from the row before one step in 20
}


def decode(raw: bytes) -> dict:
    return {
        name: options[int.from_bytes(raw[2 * i : 2 * i + 2], "big") % len(options)]
        for i, (name, options) in enumerate(CHOICES.items())
    }


steps = st.binary(min_size=2 * len(CHOICES), max_size=2 * len(CHOICES)).map(decode)


class CaseLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.row = Row()
        self.today = START
        self.history: list[Transition] = []
        self.start = CaseState.performing.value

    @initialize(start=st.sampled_from([s.value for s in CaseState]))
    def open_case(self, start: str) -> None:
        """Start from any state, as when a row is loaded: every edge is in reach of a short run."""
        self.start = self.row.state = start
        self.case = self.bind()

    def bind(self) -> LoanCase:
        return LoanCase(self.row, state_field="state", listeners=[AuditListener("L-1", self.history.append)])

    @rule(step=steps)
    def fire(self, step: dict) -> None:
        kwargs = dict(step)
        event, days, rebind = kwargs.pop("event"), kwargs.pop("days"), kwargs.pop("rebind")
        declared = sorted(e for (source, e) in EDGES if source == self.row.state)
        if kwargs.pop("walk") and declared:  # one of the events declared from here: runs go deep
            event = declared[EVENTS.index(event) % len(declared)]
        self.today += timedelta(days=days)
        kwargs["on"] = self.today
        before = replace(self.row)
        recorded = len(self.history)
        if rebind:
            self.case = self.bind()
        case = self.case
        expected_target = EDGES.get((before.state, event)) if rules_allow(event, kwargs) else None
        try:
            case.fire(event, **kwargs)
        except CaseRefused:
            assert expected_target is None, f"{event} from {before.state} refused but the rules allow it: {kwargs}"
            assert self.row == before, "a refused event changed the case"
            assert case.current_state_value == before.state
            assert len(self.history) == recorded, "a refused event was recorded"
            return
        assert expected_target is not None, f"{event} from {before.state} allowed but the rules refuse it: {kwargs}"
        assert self.row.state == expected_target
        assert self.row.state_entered_on == self.today
        new = self.history[recorded:]
        assert [(t.from_state, t.to_state, t.event, t.on) for t in new] == [
            (before.state, expected_target, event, self.today)
        ]
        if event in ("sue", "write_off", "revitalize"):
            assert new[0].approved_by == kwargs["approval"].approved_by
        if expected_target == CaseState.closed.value:
            assert self.row.closed_reason == ("written_off" if event == "write_off" else kwargs["closed_reason"])
        if expected_target == CaseState.litigation.value:
            assert self.row.sued_on is not None and self.row.sued_on <= self.today

    @invariant()
    def state_is_a_case_state_value(self) -> None:
        assert self.row.state in {s.value for s in CaseState}

    @invariant()
    def every_recorded_transition_is_a_declared_edge(self) -> None:
        for t in self.history:
            assert EDGES.get((t.from_state, t.event)) == t.to_state

    @invariant()
    def history_is_a_connected_path_from_the_start_to_the_current_state(self) -> None:
        state = self.start
        for t in self.history:
            assert t.from_state == state
            state = t.to_state
        assert state == self.row.state

    @invariant()
    def closed_is_terminal(self) -> None:
        closings = [i for i, t in enumerate(self.history) if t.to_state == CaseState.closed.value]
        assert closings in ([], [len(self.history) - 1])
        if self.start == CaseState.closed.value:
            assert self.history == []
        elif self.row.state == CaseState.closed.value:
            assert self.row.closed_reason in {r.value for r in ClosedReason}


CaseLifecycle.TestCase.settings = settings(max_examples=200, stateful_step_count=20, deadline=None)
test_random_event_sequences_keep_the_case_within_the_machine = CaseLifecycle.TestCase
