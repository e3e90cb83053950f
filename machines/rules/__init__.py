"""The daily run's rules, one module each, judged in this order (``RULES``).

Every rule module has:

- ``apply(view, day, policy, plan) -> CaseView``: what the rule does on ``day`` (steps, flags,
  alerts added to ``plan``); returns the case as it stands after it, for the rules after it.
  A rule sets ``plan.done`` when nothing else can happen to the case that day.
- ``next_date(view, day, policy, plan=None) -> date | None``: the first date after ``day`` on
  which it can apply (``plan``: what the day's rules already did).
- ``NAME``; ``BASIS`` (the statute article or policy key it carries out, cited from
  the statute texts in its docstring); ``EVENTS`` (the machine events it may fire: each
  move's target is read from ``LoanCase``, never restated); ``CLOCKS`` (the alert clocks it raises).

``machines.escalation.plan_day`` folds ``RULES`` over a case; ``next_event_on`` is the
earliest of their ``next_date``. ``npl explain`` (services.explain) runs the same code forward.
"""

from __future__ import annotations

from types import ModuleType

from machines.rules import (
    employer_pressure,
    enforcement,
    fall_due,
    guarantee_debt,
    guarantee_period,
    guarantees,
    installment,
    limitation,
    promises,
    settle,
    time_limits,
)
from machines.rules.base import CaseView

# The order is part of the rules: a zero balance closes before anything else; a case not yet
# due is judged by nothing else; legal deadlines before routing; time limits last.
RULES: tuple[ModuleType, ...] = (
    settle,
    fall_due,
    guarantees,  # guarantee_debt and guarantee_period, guarantor by guarantor
    limitation,
    enforcement,
    installment,
    promises,
    time_limits,
    employer_pressure,
)
# Every rule on its own, the guarantee pair apart (what a step's ``rule`` names).
ALL: tuple[ModuleType, ...] = (settle, fall_due, guarantee_debt, guarantee_period, limitation, enforcement, installment,
                               promises, time_limits, employer_pressure)
BY_NAME = {rule.NAME: rule for rule in ALL}
BY_CLOCK = {clock: rule for rule in ALL for clock in rule.CLOCKS}


def basis_of(name: str, view: CaseView) -> str:
    """The statute article or policy key behind rule ``name`` for a case like ``view``."""
    rule = BY_NAME[name]
    return str(rule.basis(view) if hasattr(rule, "basis") else rule.BASIS)
