"""Legal clocks under the law in force when the facts happened (issue 18), and clock statuses that
follow recorded acts only (issue 14 parts 2-3). Standard library only.

How callers use it (every date function returns ``Ruled(date, rule)``: show ``rule`` with the date):

- ``guarantee_mode(stated, signed_on)``: the guarantor's mode from the contract's stated mode
  (``joint`` / ``general`` / ``unstated``) and the signing date. It decides the act the bank needs:
  joint -> a demand on *that* guarantor (``JOINT_GUARANTEE_ACTS``); general -> a suit or
  arbitration against the borrower (``GENERAL_GUARANTEE_ACTS``, acts with party ``"borrower"``).
- ``guarantee_period_end(signed_on, maturity_on, agreed_end, until_repaid, mode=...)``: the last
  day on which that act preserves the guarantee. Never interrupted or extended.
- ``limitation_end(start, interruptions)``: the borrower's limitation (start = maturity), restarting
  from each evidenced interrupting act; ``Ruled.expired_under_old_law`` marks a two-year period that
  ran out before 2017-10-01 (it stays run out). ``limitation_status`` does this from the acts.
- ``guarantee_limitation_start(...)`` then ``guarantee_limitation_end(start, interruptions)``: the
  guarantee debt's own limitation once the guarantee is preserved (None: not started yet).
- ``enforcement_apply_by(perform_by, interruptions)``: last day to apply for enforcement of a
  judgment (preserved by an ``enforcement_application`` act).
- ``clock_status(end, as_of, acts, required_kinds, party, ...)``: live / preserved / interrupted /
  lapsed / not_applicable, with the deciding act. Only acts recorded with evidence count: pass the
  recorded acts, never an intention. ``party`` is whom the act must be directed at or come from
  (``"borrower"`` or one guarantor's name): a demand on one guarantor preserves nothing against
  another (SPC 2020 guarantee interpretation Art. 29).

Periods use models.domain.dates (Civil Code Arts. 200-204: start day not counted; month-end rule).
Art. 203 (a last day on a public holiday moves to the next working day) is not applied: the
deadline shown is never later than the legal one, which is the safe side for the bank.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from models.domain.dates import add_months, add_years, days_between
from models.domain.deadlines import GuaranteeType

GUARANTEE_LAW_IN_FORCE = date(1995, 10, 1)  # Guarantee Law 1995 Art. 96
GENERAL_PROVISIONS_IN_FORCE = date(2017, 10, 1)  # General Provisions 2017 Art. 206
CIVIL_CODE_IN_FORCE = date(2021, 1, 1)  # Civil Code Art. 1260; temporal-effect 2020 Art. 28
CPL_FIRST_AMENDMENT = date(2007, 10, 28)  # adoption date in the CPL text's header

BORROWER = "borrower"

# Act kinds (issue 14). A demand's method (in_person, mail, electronic, announcement, deduction)
# sets the day it took effect (SPC limitation rules 2020 Art. 8); the act carries that day.
DEMAND = "demand"
SUIT = "suit"  # Art. 10: the day the complaint was submitted
ARBITRATION = "arbitration"
PAYMENT_ORDER = "payment_order"  # Art. 11(1)
BANKRUPTCY_CLAIM = "bankruptcy_claim"  # Art. 11(2)
PRESERVATION = "preservation"  # Art. 11(4)
ENFORCEMENT_APPLICATION = "enforcement_application"  # Art. 11(5)
ACKNOWLEDGEMENT = "acknowledgement"  # Art. 14: part payment, installment plan, extension request

# Civil Code Art. 195 / GPCL Art. 140 with SPC limitation rules 2020 Arts. 8, 10, 11, 14.
LIMITATION_ACTS = frozenset(
    {DEMAND, SUIT, ARBITRATION, PAYMENT_ORDER, BANKRUPTCY_CLAIM, PRESERVATION,
     ENFORCEMENT_APPLICATION, ACKNOWLEDGEMENT}
)
# Civil Code Art. 693 ¶2 / Guarantee Law Art. 26 ¶2: the creditor asks the guarantor to perform.
JOINT_GUARANTEE_ACTS = frozenset({DEMAND, SUIT, ARBITRATION})
# Civil Code Art. 693 ¶1 / Guarantee Law Art. 25 ¶2: suit or arbitration against the borrower.
GENERAL_GUARANTEE_ACTS = frozenset({SUIT, ARBITRATION})
ENFORCEMENT_ACTS = frozenset({ENFORCEMENT_APPLICATION})  # CPL Art. 250


@dataclass(frozen=True)
class Ruled:
    """A deadline or start date and the rule (law, article) it comes from."""

    date: date
    rule: str
    # SPC 2018 transition interpretation Art. 3: the two-year period ran out before 2017-10-01
    expired_under_old_law: bool = False


@dataclass(frozen=True)
class RuledMode:
    mode: GuaranteeType
    rule: str


def guarantee_mode(stated: str, signed_on: date) -> RuledMode:
    """The guarantee's mode under the law in force when the contract was signed.

    Before 2021 an unstated mode is joint (Guarantee Law 1995 Art. 19), from 2021 general (Civil
    Code Art. 686 ¶2). Temporal-effect 2020 Art. 2 might let a court apply Art. 686 to an old
    contract as more protective of the guarantor; we keep Art. 19 (the text in force), which also
    gives the earlier guarantee-debt limitation start (the demand, not a judgment). Staff wanting
    to be safe against that reading also sue the borrower within the period."""
    if stated not in ("joint", "general", "unstated"):
        raise ValueError(f"guarantee mode must be joint, general or unstated: {stated!r}")
    if signed_on >= CIVIL_CODE_IN_FORCE:
        if stated == "unstated":
            return RuledMode(GuaranteeType.general, "Civil Code Art. 686 ¶2")
        return RuledMode(GuaranteeType(stated), "Civil Code Art. 687" if stated == "general"
                         else "Civil Code Art. 688")
    note = _before_guarantee_law(signed_on)
    if stated == "unstated":
        return RuledMode(GuaranteeType.joint, "Guarantee Law 1995 Art. 19" + note)
    article = "Art. 17" if stated == "general" else "Art. 18"
    return RuledMode(GuaranteeType(stated), f"Guarantee Law 1995 {article}" + note)


def _before_guarantee_law(signed_on: date) -> str:
    # SPC 2000 interpretation Art. 133: guarantees given before the Guarantee Law took effect follow
    # the law of their time, which is not in the reference texts; the Guarantee Law is applied.
    if signed_on < GUARANTEE_LAW_IN_FORCE:
        return " (signed before 1995-10-01: earlier law not in the reference texts, SPC 2000 interpretation Art. 133)"
    return ""


def guarantee_period_end(
    signed_on: date,
    maturity_on: date,
    agreed_end: date | None,
    until_repaid: bool = False,
    mode: GuaranteeType | None = None,
) -> Ruled:
    """The guarantee period's last day (never interrupted or extended: SPC 2000 interpretation
    Art. 31; Civil Code Art. 692 ¶1). ``until_repaid``: the contract says "until principal and
    interest are repaid" or the like (then ``agreed_end`` must be None)."""
    if until_repaid and agreed_end is not None:
        raise ValueError("a period agreed as 'until repaid' has no agreed end date")
    six_months = add_months(maturity_on, 6)
    if signed_on >= CIVIL_CODE_IN_FORCE:
        if agreed_end is not None and agreed_end > maturity_on:
            return Ruled(agreed_end, "Civil Code Art. 692 ¶2 (agreed period)")
        if until_repaid:  # an unclear agreement: six months (Art. 692 ¶2; interpretation Art. 32)
            return Ruled(six_months, "Civil Code Art. 692 ¶2; SPC 2020 guarantee interpretation Art. 32")
        return Ruled(six_months, "Civil Code Art. 692 ¶2")
    if mode is None:
        law = "Guarantee Law 1995 Arts. 25, 26"
    else:  # Art. 25 for a general guarantee, Art. 26 for a joint one
        law = "Guarantee Law 1995 Art. 25" if mode is GuaranteeType.general else "Guarantee Law 1995 Art. 26"
    law += _before_guarantee_law(signed_on)
    if agreed_end is not None and agreed_end > maturity_on:
        return Ruled(agreed_end, f"{law} (agreed period)")
    if agreed_end is not None:  # ends on or before maturity: counts as none
        return Ruled(six_months, f"{law}; SPC 2000 interpretation Art. 32 ¶1")
    if until_repaid:
        if maturity_on >= CIVIL_CODE_IN_FORCE:
            # Signed before 2021 but due after it: temporal-effect Art. 27 covers debts due before
            # 2021, and Art. 1 ¶3 (facts continuing past 2021) points to the Civil Code. Unsettled:
            # we take the conservative reading, the earlier deadline (six months).
            return Ruled(six_months, "Civil Code Art. 692 ¶2; SPC 2020 guarantee interpretation "
                         "Art. 32 (signed before 2021, due after: the earlier of the readings, "
                         "SPC 2020 temporal-effect Arts. 1 ¶3, 27)")
        two_years = add_years(maturity_on, 2)
        rule = f"{law}; SPC 2000 interpretation Art. 32 ¶2"
        if two_years > CIVIL_CODE_IN_FORCE:  # still running on 2021-01-01: two years stay
            rule += "; SPC 2020 temporal-effect Art. 27"
        return Ruled(two_years, rule)
    return Ruled(six_months, law)


# --- limitation -------------------------------------------------------------------------------


def _period(start: date) -> Ruled:
    """The limitation period that starts on ``start``, under the law in force on that day."""
    if start >= CIVIL_CODE_IN_FORCE:
        return Ruled(add_years(start, 3), "Civil Code Art. 188, 195")
    if start >= GENERAL_PROVISIONS_IN_FORCE:
        return Ruled(add_years(start, 3), "General Provisions 2017 Art. 188, 195")
    two_years = add_years(start, 2)  # GPCL 1986 Art. 135; restart on interruption Art. 140
    if two_years < GENERAL_PROVISIONS_IN_FORCE:
        # SPC 2018 Art. 3: ran out before 2017-10-01 (its last day ended before that date): stays out
        return Ruled(two_years, "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3", True)
    # SPC 2018 Art. 2: not yet run out on 2017-10-01 (its last day is that day or later): the
    # General Provisions' three years from the same start
    return Ruled(add_years(start, 3), "General Provisions 2017 Art. 188; SPC 2018 transition Art. 2")


def _longstop_rule(on: date) -> str:
    if on >= GENERAL_PROVISIONS_IN_FORCE:
        law = "Civil Code" if on >= CIVIL_CODE_IN_FORCE else "General Provisions 2017"
        return f"{law} Art. 188 ¶2 (twenty years)"
    return "GPCL 1986 Art. 137 (twenty years)"


def _limitation_run(start: date, interruptions: Sequence[date]) -> tuple[Ruled, date | None]:
    """The period in force after the interruptions, and the day of the last one that counted."""
    # Twenty years from the harm, whatever the interruptions (GPCL Art. 137; Art. 188 ¶2). A court
    # may extend it in special circumstances; we never count on that.
    longstop = add_years(start, 20)
    current, restarted_on = _period(start), None
    for day in sorted(interruptions):
        if day < start or (restarted_on is not None and day <= restarted_on):
            continue  # before the period began, or not later than the last restart
        if day > min(current.date, longstop):
            break  # the period had run out: a later act does not revive it
        current, restarted_on = _period(day), day  # a new period, under the law of that day
    if current.date > longstop:
        rule = f"{current.rule}; {_longstop_rule(longstop)}"
        current = Ruled(longstop, rule, current.expired_under_old_law)
    return current, restarted_on


def limitation_end(start: date, interruptions: Sequence[date] = ()) -> Ruled:
    """Last day of the limitation period that started on ``start`` (the debt's maturity: the day
    the bank knew its right was harmed), restarted by each evidenced interruption dated on or
    before the then-running period's end; each new period follows the law in force on its day.
    For a suit, Art. 195 restarts the period when the proceedings end: pass that day. For a debt
    payable in installments the start is the last installment's due date (Civil Code Art. 189)."""
    return _limitation_run(start, interruptions)[0]


# --- guarantee debt limitation ----------------------------------------------------------------


def guarantee_limitation_start(
    mode: GuaranteeType,
    signed_on: date,
    *,
    demanded_on: date | None = None,
    judgment_effective_on: date | None = None,
    enforcement_received_on: date | None = None,
    enforcement_ended_delivered_on: date | None = None,
    exception_known_on: date | None = None,
    period_end: date | None = None,
) -> Ruled | None:
    """When the guarantee debt's own limitation starts, once the guarantee was preserved within
    its period; None while it has not started.

    joint: the evidenced demand on that guarantor that preserved the guarantee (``demanded_on``).
    general, signed before 2021: the judgment against the borrower taking effect. From 2021: the end
    of the guarantor's defence of prior enforcement (SPC 2020 guarantee interpretation Art. 28):
    the ruling ending enforcement delivered to the bank, or one year after the court received the
    enforcement application if no such ruling came within that year; or, under Art. 28 ¶2, the
    day the bank knew of a Civil Code Art. 687 ¶2 exception (``exception_known_on``).
    ``period_end``: the guarantee period's end; a demand after it preserved nothing (None)."""
    if mode is GuaranteeType.joint:
        if demanded_on is None or (period_end is not None and demanded_on > period_end):
            return None
        if signed_on >= CIVIL_CODE_IN_FORCE:
            return Ruled(demanded_on, "Civil Code Art. 694 ¶2")
        return Ruled(demanded_on, "SPC 2000 interpretation Art. 34 ¶2")
    if signed_on < CIVIL_CODE_IN_FORCE:
        # Art. 34 ¶1. Even when the judgment takes effect after 2021 (Civil Code Art. 694 ¶1 would
        # start later, when the defence ends) we keep the judgment: the earlier, conservative start.
        if judgment_effective_on is None:
            return None
        return Ruled(judgment_effective_on, "SPC 2000 interpretation Art. 34 ¶1")
    if exception_known_on is not None:
        return Ruled(exception_known_on, "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶2")
    one_year = add_years(enforcement_received_on, 1) if enforcement_received_on else None
    ruling = enforcement_ended_delivered_on
    # Art. 28 ¶1(1) runs from the ruling's delivery when it was made within the year, else (2) from
    # the year's end. We know the delivery, not the ruling's own date: take the earlier of the two
    # (conservative); and we start at the year's end even if the guarantor could show the borrower
    # still has assets (the proviso to (2)), which only a court can find.
    if ruling is not None and (one_year is None or ruling <= one_year):
        return Ruled(ruling, "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(1)")
    if one_year is not None:
        return Ruled(one_year, "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(2)")
    return None


def guarantee_limitation_end(start: Ruled, interruptions: Sequence[date] = ()) -> Ruled:
    """The guarantee debt's limitation: the limitation rules from ``start``. Interruptions are acts
    toward that guarantor (demand, the guarantor's payment, a suit against them); for a general
    guarantee signed before 2021 an interruption of the main debt also counts (SPC 2000
    interpretation Art. 36 ¶1), for a joint one it does not."""
    period = limitation_end(start.date, interruptions)
    return Ruled(period.date, f"{start.rule}; {period.rule}", period.expired_under_old_law)


# --- enforcement application ------------------------------------------------------------------


def enforcement_apply_by(perform_by: date, interruptions: Sequence[date] = ()) -> Ruled:
    """Last day to apply for enforcement: two years from the last day of the judgment's
    performance period (Civil Procedure Law 2023 Art. 250), restarted by an interruption (SPC 2020
    enforcement interpretation Art. 20: a settlement, a demand, the debtor's consent).

    The CPL text in force before its 2007 amendment is not in the reference set: for a performance
    period ending before that amendment's adoption the rule says so and the two years are kept."""
    start = perform_by
    for day in sorted(interruptions):
        if start < day <= add_years(start, 2):
            start = day
    rule = "Civil Procedure Law 2023 Art. 250"
    if start != perform_by:
        rule += "; SPC 2020 enforcement interpretation Art. 20"
    if perform_by < CPL_FIRST_AMENDMENT:
        rule += " (judgment before the 2007 amendment: the earlier text is not in the reference set)"
    return Ruled(add_years(start, 2), rule)


# --- clock status -----------------------------------------------------------------------------


class Status(str, Enum):
    live = "live"
    preserved = "preserved"
    interrupted = "interrupted"
    lapsed = "lapsed"
    not_applicable = "not_applicable"


@dataclass(frozen=True)
class Act:
    """A recorded legal act: what, the day it took effect, its evidence, and the party it was
    directed at or came from (``"borrower"`` or a guarantor's name)."""

    kind: str
    on: date
    evidence: str
    party: str
    method: str | None = None


@dataclass(frozen=True)
class ClockStatus:
    status: Status
    end: date | None
    rule: str
    act: Act | None = None  # the deciding act: the one that preserved or last interrupted it
    days_left: int | None = None  # for a live or interrupted (running) clock


def _counting(acts: Sequence[Act], kinds: Collection[str], party: str, as_of: date,
              start: date | None) -> list[Act]:
    return sorted(
        (a for a in acts if a.party == party and a.kind in kinds and a.on <= as_of
         and (start is None or a.on >= start)),
        key=lambda a: a.on,
    )


def clock_status(
    end: date | None,
    as_of: date,
    acts: Sequence[Act],
    required_kinds: Collection[str],
    party: str,
    *,
    start: date | None = None,
    restarts: bool = False,
    rule: str = "",
) -> ClockStatus:
    """The clock's status on ``as_of``. An act counts only if it is of a required kind, by or
    against ``party``, took effect on or before the clock's end (and ``as_of``, and on or after
    ``start`` if given: a demand before the debt fell due preserves nothing).

    ``restarts=False`` (guarantee period, enforcement application): the earliest counting act
    preserves the clock. ``restarts=True`` (limitations): ``end`` must already be computed from
    the counting acts (``limitation_status`` does both); the latest counting act is shown as the
    interruption while the new period runs. ``end=None``: not applicable."""
    if end is None:
        return ClockStatus(Status.not_applicable, None, rule)
    counting = [a for a in _counting(acts, required_kinds, party, as_of, start) if a.on <= end]
    if counting and not restarts:
        return ClockStatus(Status.preserved, end, rule, counting[0])
    if as_of > end:
        return ClockStatus(Status.lapsed, end, rule, counting[-1] if counting else None)
    left = days_between(as_of, end)
    if counting:
        return ClockStatus(Status.interrupted, end, rule, counting[-1], left)
    return ClockStatus(Status.live, end, rule, None, left)


def limitation_status(
    start: date,
    as_of: date,
    acts: Sequence[Act],
    required_kinds: Collection[str],
    party: str,
) -> ClockStatus:
    """A limitation clock (the borrower's, or a guarantee debt's with ``start`` from
    ``guarantee_limitation_start``) from the recorded acts: the period restarts on each counting
    act dated within the then-running period; the deciding act is the last one that restarted it."""
    counting = _counting(acts, required_kinds, party, as_of, start)
    period, restarted_on = _limitation_run(start, [a.on for a in counting])
    deciding = [a for a in counting if a.on == restarted_on]
    if as_of > period.date:
        return ClockStatus(Status.lapsed, period.date, period.rule, deciding[-1] if deciding else None)
    left = days_between(as_of, period.date)
    if deciding:
        return ClockStatus(Status.interrupted, period.date, period.rule, deciding[-1], left)
    return ClockStatus(Status.live, period.date, period.rule, None, left)
