"""Restructured assets: the observation period and the floor it sets (issue 15 rule 1).

2023 measures on the risk classification of financial assets (texts in
shared/reference/laws/nfra-risk-classification-measures-2023.md, chapter 3):
- Art. 17: a restructured asset is one whose contract the bank adjusted in the debtor's favour
  because of the debtor's financial difficulty, or refinanced (incl. new credit) — an
  installment agreement and the revitalization credit both are.
- Art. 20: "观察期自合同调整后约定的第一次还款日开始计算，应至少包含连续两个还款期，并不得低于1年"
  — the observation period starts on the first repayment date agreed in the adjustment, covers
  at least two consecutive repayment periods and at least one year; "债务人在观察期内没有及时足额
  还款的，应从未履约时点开始，重新计算观察期" — a payment missed during it restarts it from the
  point of non-performance.

The floor during observation (at least substandard if the loan was non-performing before the
restructuring, else at least special mention) is DOMAIN.md §3 / issue 15 rule 1: the articles
of the 2023 measures that state it (21 ff.) are missing from the reference text; the 2007 CBRC
guidelines, Art. 12, state the same for loans needing restructuring ("需要重组的贷款应至少归为次级类")
and a worse floor for a restructured loan still overdue ("如果仍然逾期……应至少归为可疑类"), which is
why a payment missed during observation lowers the floor one further category here.

Dates: a period of months ends on the corresponding day (Civil Code Arts. 201-203, see
models/domain/dates.py), so a one-year observation from 2010-01-20 runs to 2011-01-20 inclusive,
as the existing ``classify`` already counted its observation months.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from models.domain.classification import Category, dpd_floor, worst
from models.domain.dates import add_months
from models.domain.errors import BadInput, ObservationBelowStatute

# Art. 20's minima: the policy may lengthen the observation, never shorten it.
STATUTORY_MIN_PERIODS = 2
STATUTORY_MIN_MONTHS = 12


@dataclass(frozen=True)
class Restructured:
    """A restructured asset as of a day.

    ``on``: the day the restructuring was agreed; ``observation_from`` / ``observation_until``:
    the (last restarted) observation period, both days included; ``floor``: the least category
    the loan may have on that day — the restructured floor combined with the DPD floor while
    the asset is restructured (from ``on`` to ``observation_until``), the DPD floor after.
    """

    on: date
    observation_from: date
    observation_until: date
    floor: Category

    def restructured_on(self, day: date) -> bool:
        """Whether the restructured-asset floor still applies on ``day``."""
        return self.on <= day <= self.observation_until


def observation_until(
    start: date, repayment_dates: Sequence[date], *, min_periods: int, min_months: int, after: bool = False
) -> date:
    """The last day of an observation starting on ``start`` (Art. 20).

    It covers ``min_months`` months from ``start`` and the first ``min_periods`` repayment dates
    on or after ``start`` (strictly after it when ``after``: a restart on a missed payment's date
    does not count that missed payment as one of the periods to be observed). When the schedule
    has fewer repayment dates left, the observation runs at least to its last one.
    """
    _check_policy(min_periods, min_months)
    ahead = sorted(d for d in repayment_dates if (d > start if after else d >= start))
    until = add_months(start, min_months)
    if ahead:
        until = max(until, ahead[min(min_periods, len(ahead)) - 1])
    return until


def observation_period(
    repayment_dates: Sequence[date],
    missed: Iterable[date] = (),
    *,
    min_periods: int,
    min_months: int,
) -> tuple[date, date, bool]:
    """``(observation_from, observation_until, restarted)`` given the missed payments' dates.

    The observation starts on the first agreed repayment date; each missed payment whose due
    date falls inside the current observation restarts it from that date (Art. 20). Misses
    after the observation ended do not restart it (the DPD floor governs then).
    """
    if not repayment_dates:
        raise BadInput("a restructuring needs at least one agreed repayment date")
    start = min(repayment_dates)
    until = observation_until(start, repayment_dates, min_periods=min_periods, min_months=min_months)
    restarted = False
    for day in sorted(set(missed)):
        if start <= day <= until:
            start, restarted = day, True
            until = observation_until(day, repayment_dates, min_periods=min_periods, min_months=min_months, after=True)
    return start, until, restarted


def observation_floor(*, non_performing_before: bool, missed_during_observation: bool = False) -> Category:
    """The least category during observation (DOMAIN.md §3; CBRC 2007 guidelines Art. 12).

    Non-performing before the restructuring → substandard, else special mention; one category
    worse after a payment was missed during the observation (2007 Art. 12: a restructured loan
    still overdue is at least doubtful).
    """
    floor = Category.substandard if non_performing_before else Category.special_mention
    if missed_during_observation:
        floor = list(Category)[floor.rank + 1]
    return floor


def restructured(
    on: date,
    repayment_dates: Sequence[date],
    *,
    as_of: date,
    non_performing_before: bool,
    dpd: int,
    missed: Iterable[date] = (),
    min_periods: int,
    min_months: int,
) -> Restructured:
    """The restructured asset as of ``as_of``: its observation period and its floor.

    ``on``: the day the restructuring (installment agreement, revitalization credit) was agreed;
    ``repayment_dates``: the repayment dates it agreed; ``missed``: due dates of the payments
    missed under it (see ``schedule.missed_lines``; only those before ``as_of`` count);
    ``dpd``: days past due on ``as_of``. ``min_periods`` / ``min_months`` are the policy's
    observation length, at least Art. 20's two periods and one year.

    From ``on`` to the end of observation the floor is the observation floor (or the DPD floor
    if worse) — the asset is restructured from the adjustment (Art. 17), before its first
    repayment date too; after the observation it is the DPD floor alone.
    """
    if on > min(repayment_dates, default=on):
        raise BadInput(f"the first agreed repayment date {min(repayment_dates)} is before the restructuring on {on}")
    start, until, restarted = observation_period(
        repayment_dates, (d for d in missed if d < as_of), min_periods=min_periods, min_months=min_months
    )
    floor = dpd_floor(dpd)
    if on <= as_of <= until:
        floor = worst(
            floor,
            observation_floor(non_performing_before=non_performing_before, missed_during_observation=restarted),
        )
    return Restructured(on=on, observation_from=start, observation_until=until, floor=floor)


def check_policy(min_periods: int, min_months: int) -> None:
    """Refuse a policy observation shorter than Art. 20's minima (ObservationBelowStatute)."""
    _check_policy(min_periods, min_months)


def _check_policy(min_periods: int, min_months: int) -> None:
    if min_periods < STATUTORY_MIN_PERIODS:
        raise ObservationBelowStatute(
            f"observation must cover at least {STATUTORY_MIN_PERIODS} consecutive repayment periods "
            f"(2023 measures Art. 20), policy says {min_periods}"
        )
    if min_months < STATUTORY_MIN_MONTHS:
        raise ObservationBelowStatute(
            f"observation must last at least {STATUTORY_MIN_MONTHS} months (2023 measures Art. 20), policy says {min_months}"
        )
