"""The case's legal clocks from the recorded acts only (issue 14 parts 2-3), under the law in
force when the facts happened (issue 18): guarantee period and guarantee-debt limitation per
guarantor, the borrower's limitation, the enforcement application per judgment.

Every date and rule text comes from ``models.domain.law``; this module only picks the inputs
(which acts, which party, which start) and never reads an intention of the daily run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import TYPE_CHECKING, Any, Sequence

from models.domain import law
from models.domain.dates import add_days
from models.domain.deadlines import GuaranteeType
from models.domain.law import Act, ClockStatus, Ruled, Status

if TYPE_CHECKING:
    from machines.rules.base import CaseView

# A filing against the borrower: the limitation then restarts only when the proceedings end
# (Civil Code Art. 195), which the system does not record; no demand is pressed meanwhile.
FILINGS = frozenset({law.SUIT, law.ARBITRATION, law.PAYMENT_ORDER, law.PRESERVATION})
ENFORCEMENT_ENDED = "enforcement_ended"


@dataclass(frozen=True)
class GuaranteeFacts:
    """What the guarantee contract says (``stated``: joint, general or unstated)."""

    name: str
    stated: str
    signed_on: date
    agreed_end: date | None = None
    until_repaid: bool = False


@dataclass(frozen=True)
class GuaranteeClock:
    """One guarantee's legal position from the recorded acts; what the machine's guards read
    (``liable_on``) and the guarantee rules judge."""

    name: str
    mode: GuaranteeType
    mode_rule: str
    period: Ruled
    party: str  # whom the preserving act is directed at: the guarantor (joint) or the borrower (general)
    required: frozenset[str]
    maturity_on: date
    preserving: Act | None  # the first act that preserved the guarantee within its period
    debt_start: Ruled | None = None  # the guarantee debt's limitation start, once preserved
    debt_end: Ruled | None = None
    debt_act: Act | None = None  # the last act that interrupted the guarantee debt's limitation
    debt_interrupting: tuple[Act, ...] = ()  # every act that may interrupt it, in date order

    @property
    def period_end(self) -> date:
        return self.period.date

    @property
    def preserved(self) -> bool:
        return self.preserving is not None

    @property
    def act_done_on(self) -> date | None:
        return self.preserving.on if self.preserving else None

    def debt_limitation_end(self) -> date | None:
        return self.debt_end.date if self.debt_end else None

    def liable_on(self, day: date) -> bool:
        """The guarantor can still be held liable on ``day``: within the period, or preserved and
        the guarantee debt's limitation not run out."""
        if not self.preserved:
            return day <= self.period_end
        return self.debt_end is None or day <= self.debt_end.date

    def lead_date(self, lead_days: int) -> date:
        return add_days(self.period_end, -lead_days)

    def period_rule(self) -> str:
        return f"{self.period.rule}; mode: {self.mode_rule}"


def _of(acts: Sequence[Act], party: str, kinds: frozenset[str], start: date | None = None) -> list[Act]:
    return sorted((a for a in acts if a.party == party and a.kind in kinds and (start is None or a.on >= start)),
                  key=lambda a: a.on)


def guarantee_clock(
    facts: GuaranteeFacts, maturity_on: date, acts: Sequence[Act], judgments: Sequence[tuple[date, date]] = (),
) -> GuaranteeClock:
    """``acts``: the case's recorded acts; ``judgments``: (judged_on, perform_by) against the borrower."""
    ruled_mode = law.guarantee_mode(facts.stated, facts.signed_on)
    mode = ruled_mode.mode
    period = law.guarantee_period_end(facts.signed_on, maturity_on, facts.agreed_end, facts.until_repaid, mode=mode)
    if mode is GuaranteeType.joint:  # Civil Code Art. 693 ¶2 / Guarantee Law Art. 26 ¶2
        party, required = facts.name, law.JOINT_GUARANTEE_ACTS
    else:  # Civil Code Art. 693 ¶1 / Guarantee Law Art. 25 ¶2
        party, required = law.BORROWER, law.GENERAL_GUARANTEE_ACTS
    # a demand before the debt fell due preserves nothing (start = maturity)
    counting = [a for a in _of(acts, party, required, maturity_on) if a.on <= period.date]
    preserving = counting[0] if counting else None
    clock = GuaranteeClock(facts.name, mode, ruled_mode.rule, period, party, required, maturity_on, preserving)
    if preserving is None:
        return clock
    if mode is GuaranteeType.joint:
        start = law.guarantee_limitation_start(mode, facts.signed_on, demanded_on=preserving.on, period_end=period.date)
    else:
        borrower_acts = _of(acts, law.BORROWER, frozenset({law.ENFORCEMENT_APPLICATION}))
        ended = _of(acts, law.BORROWER, frozenset({ENFORCEMENT_ENDED}))
        start = law.guarantee_limitation_start(
            mode, facts.signed_on,
            judgment_effective_on=min((j for j, _ in judgments), default=None),
            enforcement_received_on=borrower_acts[0].on if borrower_acts else None,
            enforcement_ended_delivered_on=ended[0].on if ended else None,
            period_end=period.date,
        )
    if start is None:
        return clock
    interrupting = _of(acts, facts.name, law.LIMITATION_ACTS, start.date)
    if mode is GuaranteeType.general and facts.signed_on < law.CIVIL_CODE_IN_FORCE:
        # SPC 2000 interpretation Art. 36 ¶1: interrupting the main debt interrupts a general guarantee's
        interrupting += _of(acts, law.BORROWER, law.LIMITATION_ACTS, start.date)
    end = law.guarantee_limitation_end(start, [a.on for a in interrupting if a.on > start.date])
    last = [a for a in interrupting if start.date < a.on <= end.date]
    return GuaranteeClock(facts.name, mode, ruled_mode.rule, period, party, required, maturity_on, preserving,
                          start, end, max(last, key=lambda a: a.on) if last else None,
                          tuple(sorted(interrupting, key=lambda a: a.on)))


@dataclass(frozen=True)
class Clock:
    clock: str  # guarantee_period | guarantee_limitation | limitation | enforcement_application
    party: str
    status: ClockStatus
    target: str | None = None  # the guarantor's name, or the judgment id

    def as_dict(self) -> dict[str, Any]:
        st = self.status
        out: dict[str, Any] = {"clock": self.clock, "party": self.party, "status": st.status.value,
                     "end": st.end.isoformat() if st.end else None}
        if st.status is Status.live:
            out["days_left"] = st.days_left
        out["rule"] = st.rule
        out["act"] = None if st.act is None else {"kind": st.act.kind, "method": st.act.method,
                                                  "on": st.act.on.isoformat(), "evidence": st.act.evidence}
        return out


def guarantee_period_status(g: GuaranteeClock, day: date, acts: Sequence[Act]) -> ClockStatus:
    return law.clock_status(g.period_end, day, acts, g.required, g.party, start=g.maturity_on, rule=g.period_rule())


def guarantee_limitation_status(g: GuaranteeClock, day: date) -> ClockStatus:
    """The guarantee debt's limitation on ``day``, from the acts recorded up to that day."""
    if g.debt_start is None or g.debt_end is None or g.debt_start.date > day:
        why = ("the guarantee was not preserved" if not g.preserved or g.debt_start is None and g.mode is GuaranteeType.joint
               else "starts when the guarantor's defence of prior enforcement ends (Civil Code Art. 694 ¶1)")
        return ClockStatus(Status.not_applicable, None, why)
    start = g.debt_start
    acts = [a for a in g.debt_interrupting if start.date < a.on <= day]
    end = law.guarantee_limitation_end(start, [a.on for a in acts])
    counted = [a for a in acts if a.on <= end.date]
    act = counted[-1] if counted else None
    if day > end.date:
        return ClockStatus(Status.lapsed, end.date, end.rule, act)
    left = (end.date - day).days
    if act is not None:
        return ClockStatus(Status.interrupted, end.date, end.rule, act, left)
    return ClockStatus(Status.live, end.date, end.rule, None, left)


def borrower_filed(view: "CaseView") -> Act | None:
    filed = _of(view.acts, law.BORROWER, FILINGS, view.maturity_on)
    return filed[0] if filed else None


def limitation_status(view: "CaseView", day: date) -> ClockStatus:
    """The borrower's limitation from maturity (Civil Code Art. 188; GPCL Art. 135 before
    2017-10-01), restarted by each recorded interrupting act (Art. 195 / GPCL Art. 140)."""
    return _limitation_status(view.maturity_on, day, tuple(view.acts))


@lru_cache(maxsize=4096)
def _limitation_status(maturity_on: date, day: date, acts: tuple[Act, ...]) -> ClockStatus:
    # a rule's apply and its next date (and the settle and machine guards) ask the same question
    # of the same case on one date: answered once (the inputs are plain values, the answer too)
    return law.limitation_status(maturity_on, day, acts, law.LIMITATION_ACTS, law.BORROWER)


def enforcement_status(view: "CaseView", judged_on: date, perform_by: date, day: date) -> ClockStatus:
    interruptions = [a.on for a in _of(view.acts, law.BORROWER, frozenset({law.ACKNOWLEDGEMENT}), perform_by)]
    ruled = law.enforcement_apply_by(perform_by, interruptions)
    return law.clock_status(ruled.date, day, view.acts, law.ENFORCEMENT_ACTS, law.BORROWER, start=judged_on, rule=ruled.rule)


def clocks(view: "CaseView", day: date) -> list[Clock]:
    """Every legal clock of the case on ``day`` with its status; a closed case's are all
    not applicable (its claims are settled or written off: nothing runs for the bank)."""
    out: list[Clock] = []
    for g in view.guarantees:
        out.append(Clock("guarantee_period", g.name, guarantee_period_status(g.status, day, view.acts), g.name))
        out.append(Clock("guarantee_limitation", g.name, guarantee_limitation_status(g.status, day), g.name))
    out.append(Clock("limitation", law.BORROWER, limitation_status(view, day)))
    for j in view.judgments:
        out.append(Clock("enforcement_application", law.BORROWER,
                         enforcement_status(view, j.judged_on or j.perform_by, j.perform_by, day), str(j.judgment_id)))
    if view.state == "closed":
        out = [Clock(c.clock, c.party, ClockStatus(Status.not_applicable, c.status.end, c.status.rule, c.status.act), c.target)
               for c in out]
    return out
