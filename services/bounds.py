"""Plausibility bounds on what operators record (policy ``[bounds]``, issue 16 part 2).

A value outside a bound is bad input (exit 2) whose message names the bound; every check runs
before the service writes anything, so a refused command changes nothing. Dates far in the
future would otherwise stop the whole book: a promise due in 9999 overflows the daily run's
date arithmetic, and a judgment performable in 9998 has no enforcement deadline to compute.
"""

from __future__ import annotations

from datetime import date

from machines.policy import Policy
from models.domain.dates import add_days, add_months
from models.domain.errors import BadInput
from models.domain.money import fmt


def amount(policy: Policy, fen: int | None, field: str) -> None:
    """No amount above ``bounds.max_amount``."""
    limit = policy.action_bounds.max_amount_fen
    if fen is not None and fen > limit:
        raise BadInput(f"{{{field}}} {fmt(fen)} is above the policy's maximum amount {fmt(limit)} (bounds.max_amount)")


def _years_later(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year + years)
    except ValueError:  # 29 February
        return on.replace(year=on.year + years, day=28)


def promise_date(policy: Policy, promised: date, visited: date) -> None:
    days = policy.action_bounds.promise_within_days
    if promised > add_days(visited, days):
        raise BadInput(f"{{promise_date}} {promised} is more than {days} days after the visit ({visited}) "
                       "(bounds.promise_within_days)")


def perform_by(policy: Policy, perform: date, judged: date) -> None:
    years = policy.action_bounds.judgment_perform_within_years
    if perform > _years_later(judged, years):
        raise BadInput(f"{{perform_by}} {perform} is more than {years} years after the judgment ({judged}) "
                       "(bounds.judgment_perform_within_years)")


def plan_end(policy: Policy, lines: int, last_due: date, signed: date) -> None:
    months = policy.action_bounds.plan_max_months
    if lines > months or last_due > add_months(signed, months):
        raise BadInput(f"the plan has {lines} monthly lines ending {last_due}: more than {months} months from its signing "
                       f"({signed}) (bounds.plan_max_months)")
