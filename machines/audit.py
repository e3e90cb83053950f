"""The audit listener: every transition goes to the append-only history, via a callback.

The persistence layer supplies ``record``; the machine and this listener never see a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Protocol

from statemachine import State

from machines.loan_case import Approval


@dataclass(frozen=True)
class Transition:
    """One row of a case's history."""

    loan_id: str
    from_state: str
    to_state: str
    event: str
    on: date
    by: str
    reason: str
    approved_by: str | None = None


class Recorder(Protocol):
    def __call__(self, transition: Transition) -> None: ...


class AuditListener:
    """Hands every transition of the machine it listens to to ``record``."""

    def __init__(self, loan_id: str | Callable[[], str], record: Recorder | Callable[[Transition], None]):
        self._loan_id = loan_id
        self.record = record

    @property
    def loan_id(self) -> str:
        """The case's id (a callable when one machine is rebound to many rows)."""
        return self._loan_id() if callable(self._loan_id) else self._loan_id

    def after_transition(
        self,
        event: str,
        source: State,
        target: State,
        on: date,
        by: str = "system",
        reason: str = "",
        approval: Approval | None = None,
    ) -> None:
        self.record(
            Transition(
                loan_id=self.loan_id,
                from_state=source.value,
                to_state=target.value,
                event=str(event),
                on=on,
                by=by,
                reason=reason,
                approved_by=approval.approved_by if approval else None,
            )
        )
