"""Installment schedules: a monthly amount from a first due date; the last line takes the rest."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from models.domain.dates import add_days, add_months

MAX_LINES = 600  # fifty years of monthly installments is the most an agreement may run


@dataclass(frozen=True)
class Line:
    seq: int
    due_on: date
    amount_fen: int


def schedule(total_fen: int, monthly_fen: int, first_due: date) -> list[Line]:
    """Lines of ``monthly_fen`` each month from ``first_due`` until ``total_fen`` is covered."""
    if monthly_fen <= 0:
        raise ValueError("the monthly amount must be positive")
    if total_fen <= 0:
        raise ValueError("nothing is owed: no schedule to sign")
    count = -(-total_fen // monthly_fen)
    if count > MAX_LINES:
        raise ValueError(f"a monthly amount this small needs {count} installments (at most {MAX_LINES})")
    lines = []
    for i in range(count):
        amount = min(monthly_fen, total_fen - i * monthly_fen)
        lines.append(Line(i + 1, add_months(first_due, i), amount))
    return lines


def apply_to_lines(paid_fen: list[int], amounts_fen: list[int], payment_fen: int) -> list[int]:
    """New paid amounts per line after ``payment_fen`` is applied to the oldest unpaid lines."""
    result = list(paid_fen)
    left = payment_fen
    for i, amount in enumerate(amounts_fen):
        if left <= 0:
            break
        take = min(left, amount - result[i])
        if take > 0:
            result[i] += take
            left -= take
    return result


# --- when each line was paid, missed lines, a broken plan (issue 15 rule 6) ----------------------


def paid_dates(lines: Sequence[Line], payments: Iterable[tuple[date, int]], as_of: date) -> list[date | None]:
    """For each line (in order), the date it became fully paid, or None if unpaid at ``as_of``.

    Payments (``(date, fen)``) dated on or before ``as_of`` are applied in date order to the
    oldest unpaid lines first, as :func:`apply_to_lines` does; a line is paid on the date of the
    payment that completes it.
    """
    ordered = sorted((on, fen) for on, fen in payments if on <= as_of)
    cumulative: list[int] = []
    total = 0
    for _, fen in ordered:
        total += fen
        cumulative.append(total)
    result: list[date | None] = []
    needed = 0
    for line in lines:
        needed += line.amount_fen
        i = bisect_left(cumulative, needed)  # first payment after which the line is covered
        result.append(ordered[i][0] if i < len(ordered) else None)
    return result


def missed_lines(lines: Sequence[Line], payments: Iterable[tuple[date, int]], as_of: date) -> list[date]:
    """Due dates of the lines not fully paid by the end of their due date, as of ``as_of``.

    A line due on ``as_of`` itself is not missed yet (the debtor has the whole day); a line paid
    late is still a missed payment (it restarts a restructured asset's observation).
    """
    missed = []
    for line, paid_on in zip(lines, paid_dates(lines, payments, as_of)):
        if line.due_on < as_of and (paid_on is None or paid_on > line.due_on):
            missed.append(line.due_on)
    return missed


@dataclass(frozen=True)
class PlanStatus:
    """An installment plan as of a day.

    ``dpd_from``: due date of the oldest line that fell due and is still unpaid (days past due
    count from it; None when every line due is paid). ``broken_on``: the first day on which some
    line had stayed unpaid more than ``grace_days`` days past its due date (None if none has).
    """

    dpd_from: date | None
    broken_on: date | None
    missed: tuple[date, ...]

    @property
    def broken(self) -> bool:
        return self.broken_on is not None


def plan_status(
    lines: Sequence[Line], payments: Iterable[tuple[date, int]], as_of: date, *, grace_days: int
) -> PlanStatus:
    """Where a plan stands at ``as_of``: its DPD start, whether (and since when) it is broken.

    A line unpaid on its due date + ``grace_days`` breaks the plan the day after (the rule
    machines/escalation.py applies: ``day > due + grace``); paying it later does not mend it.
    """
    if grace_days < 0:
        raise ValueError("grace days cannot be negative")
    payments = list(payments)
    paid = paid_dates(lines, payments, as_of)
    dpd_from = next((line.due_on for line, on in zip(lines, paid) if line.due_on < as_of and on is None), None)
    broken_on = None
    for line, on in zip(lines, paid):
        last_day = add_days(line.due_on, grace_days)
        if last_day < as_of and (on is None or on > last_day):
            breaks = add_days(last_day, 1)
            broken_on = breaks if broken_on is None else min(broken_on, breaks)
    return PlanStatus(dpd_from, broken_on, tuple(missed_lines(lines, payments, as_of)))
