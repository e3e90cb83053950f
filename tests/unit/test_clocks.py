"""The legal clocks follow recorded acts only (issue 14 parts 2-3): property tests over random
cases and random sequences of acts (machines.rules.clocks, models.domain.law)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings

from machines.escalation import plan_day
from machines.rules.clocks import clocks
from models.domain.law import Status
from tests.unit.test_rules import POLICIES, days, views


@settings(max_examples=300, deadline=None)
@given(view=views(), day=days(-900, 2500))
def test_a_clock_is_preserved_or_interrupted_only_by_a_recorded_act_dated_on_or_before_its_end(view, day):
    for c in clocks(view, day):
        st = c.status
        if st.status in (Status.preserved, Status.interrupted):
            assert st.act is not None and st.act in view.acts, c
            assert st.act.on <= st.end and st.act.on <= day, c
        if st.status is Status.live:
            assert st.act is None and st.end is not None and day <= st.end and st.days_left == (st.end - day).days


@settings(max_examples=300, deadline=None)
@given(view=views(), day=days(-900, 2500))
def test_with_no_recorded_act_every_clock_is_live_lapsed_or_not_yet_started(view, day):
    bare = replace(view, acts=())
    from machines.rules.clocks import guarantee_clock  # the guarantees are judged again without acts
    from tests.unit.test_rules import GuaranteeFacts

    bare = replace(bare, guarantees=tuple(
        replace(g, status=guarantee_clock(GuaranteeFacts(g.name, g.kind.value, view.maturity_on), view.maturity_on, ()))
        for g in view.guarantees))
    for c in clocks(bare, day):
        if c.clock == "guarantee_limitation":  # starts only once a guarantee is preserved: never without an act
            assert c.status.status is Status.not_applicable
        elif c.clock == "enforcement_application":
            assert c.status.status in (Status.live, Status.lapsed)
        else:
            assert c.status.status in (Status.live, Status.lapsed), c


@settings(max_examples=200, deadline=None)
@given(view=views(), day=days(-900, 2500))
def test_a_closed_case_has_no_live_clock(view, day):
    assert all(c.status.status is Status.not_applicable for c in clocks(replace(view, state="closed"), day))


@settings(max_examples=300, deadline=None)
@given(view=views(), day=days(-900, 2500), policy=POLICIES)
def test_the_run_lists_tasks_but_never_records_an_act_or_frees_a_lapsed_guarantor_to_be_pressed(view, day, policy):
    plan = plan_day(view, day, policy)
    for task in plan.tasks:
        assert task.due_on is not None and task.due_on >= day and task.clock
    lapsed = {c.party for c in clocks(view, day) if c.clock == "guarantee_period" and c.status.status is Status.lapsed}
    assert not any(t.target in lapsed and t.clock == "guarantee_period" for t in plan.tasks)
