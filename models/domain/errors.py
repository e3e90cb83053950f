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
