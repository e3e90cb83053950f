"""The project's exception hierarchy: one root, translated to exit codes only at the edge.

A message names the input it is about by the field's name in braces — ``"{reason} must say
why"`` — and each edge renders the name in its own words: the command line as its option
(``--reason``), a Prefect form as the field (``reason``). ``str()`` gives the field names.
"""

from __future__ import annotations

import re
from typing import Callable

# The input fields a message may name; only these are rendered, so a value quoted in a message
# (a loan id, a reason typed by a user) is never mistaken for a field.
FIELDS = frozenset({
    "on", "by", "reason", "approved_by", "amount", "payer", "outcome", "promise_amount", "promise_date",
    "employer", "guarantor", "what", "monthly", "first_due", "to", "asset", "authority", "value", "proceeds",
    "credit", "perform_by", "key",
})
_FIELD = re.compile(r"\{([a-z_]+)\}")


class NplError(Exception):
    """Root of every error npl-collect raises on purpose."""

    @property
    def template(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def fields(self) -> tuple[str, ...]:
        """The input fields the message names, in order."""
        return tuple(m.group(1) for m in _FIELD.finditer(self.template) if m.group(1) in FIELDS)

    def render(self, name: Callable[[str], str] = lambda field: field) -> str:
        """The message with each field named by ``name`` (the edge's wording)."""
        return _FIELD.sub(lambda m: name(m.group(1)) if m.group(1) in FIELDS else m.group(0), self.template)

    def __str__(self) -> str:
        return self.render()


class RuleViolation(NplError):
    """A business rule refused the operation (the CLI exits 1)."""


class BadInput(NplError):
    """The input itself is malformed (the CLI exits 2)."""


class NotFound(RuleViolation):
    """The loan, guarantor or asset named does not exist."""


class ConcurrentUpdate(RuleViolation):
    """Someone else changed the case meanwhile; nothing was written."""


class ClassificationBetterThanFloor(RuleViolation):
    """Staff asked for a category better than the regulator's floor (worse only, never better)."""

    def __init__(self, requested: str, floor: str, reason: str) -> None:
        self.requested, self.floor, self.reason = requested, floor, reason
        super().__init__(f"cannot classify {requested}: the floor is {floor} ({reason}); staff may classify worse, never better")


class PenaltyUpliftOutOfRange(RuleViolation):
    """A penalty-rate uplift outside what the PBoC 2003 notice (item 三) allows."""

    def __init__(self, uplift: object, lower: object, upper: object, misused: bool) -> None:
        self.uplift, self.lower, self.upper, self.misused = uplift, lower, upper, misused
        kind = "a loan used against its agreed purpose" if misused else "an overdue loan"
        bound = f"at least {lower}" if _below(uplift, lower) else f"at most {upper}"
        super().__init__(f"penalty uplift {uplift} for {kind} must be {bound} (allowed {lower}-{upper}; PBoC 2003 notice item 三)")


def _below(value: object, bound: object) -> bool:
    try:
        return bool(value < bound)  # type: ignore[operator]
    except TypeError:  # pragma: no cover - both are Decimals in practice
        return False


class ObservationBelowStatute(BadInput):
    """A restructured-asset observation policy shorter than the 2023 measures' minimum (Art. 20)."""
