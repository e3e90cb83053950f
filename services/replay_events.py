"""The one place the strategy replay (services.replay) calls the recording services.

A recorded act (``RecordedEvent``: what an operator or the core system recorded on a case, with
its date) is applied to a scratch database through the very services that recorded it live
(``services.cases``, ``services.acts``, ``services.judgement``), so the replay's cases obey the
same machine and checks. The recording services are being reshaped (dataclass results, a split module): whatever they return, this
module returns nothing from them; only this module names them.

``apply`` raises the services' own refusals (RuleViolation, BadInput): the replay counts such an
act as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from machines.loan_case import UndeclaredMove
from machines.policy import Policy
from models.domain.errors import RuleViolation
from models.store import UnitOfWork, get_loan
from services import acts, cases, judgement
from services.views import balances_as_of

# Acts of one date are applied in this order (the source database keeps no time of day across
# its tables): moves first, then what is recorded on the case in its new state, money last.
ORDER = ("move", "plan", "revitalize", "judgment", "enforce", "act", "visit", "demand", "freeze", "classify", "cost",
         "take_asset", "payment", "dispose_asset", "write_off")


@dataclass(frozen=True)
class RecordedEvent:
    on: date
    kind: str  # one of ORDER
    loan_id: str
    seq: int  # the source row's id: the order of recording within a kind
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[date, int, int, str]:
        return (self.on, ORDER.index(self.kind), self.seq, self.loan_id)


def _fen(value: int) -> Decimal:
    return Decimal(value) / 100


def owed_fen(uow: UnitOfWork, loan_id: str, on: date, policy: Policy) -> int:
    loan = get_loan(uow.session, loan_id)
    if loan is None:
        return 0
    return balances_as_of(loan, on, policy).total


def apply(uow: UnitOfWork, ev: RecordedEvent, policy: Policy) -> str:
    """Apply one recorded act on its date; answer ``applied`` or ``capped`` (a payment reduced
    to the balance the replayed case owed). Refusals propagate (RuleViolation / BadInput)."""
    a, on, loan_id = ev.args, ev.on, ev.loan_id
    try:
        if ev.kind == "payment":
            owed = owed_fen(uow, loan_id, on, policy)
            amount = a["amount_fen"]
            outcome = "applied"
            if a.get("payoff") or amount > owed:
                outcome = "applied" if amount == owed else "capped"
                amount = owed
            if amount <= 0:
                raise RuleViolation(f"loan {loan_id} owes nothing on {on}")
            cases.pay(uow, loan_id, _fen(amount), on=on, payer=a["payer"], by=a["by"], policy=policy)
            return outcome
        if ev.kind == "visit":
            promise = a.get("promise")
            cases.visit(uow, loan_id, on=on, outcome=a["outcome"], employer=a["employer"], by=a["by"],
                        promise_amount=_fen(promise[0]) if promise else None, promise_date=promise[1] if promise else None)
        elif ev.kind == "demand":
            cases.demand(uow, loan_id, on=on, guarantor=a.get("guarantor"), by=a["by"], method=a.get("method") or "in_person",
                         tracking=a.get("tracking"))
        elif ev.kind == "act":  # a legal act with its evidence (a served letter's demand, a filing, ...)
            acts.record_act(uow, loan_id, kind=a["kind"], party=a["party"], on=on, method=a.get("method"), evidence=a.get("evidence"),
                            court=a.get("court"), case_no=a.get("case_no"), letter_no=a.get("letter_no"), by=a["by"])
        elif ev.kind == "classify":
            judgement.classify(uow, loan_id, to=a["to"], reason=a["reason"], by=a["by"], approved_by=a["approved_by"], on=on,
                               policy=policy)
        elif ev.kind == "cost":
            cases.cost(uow, loan_id, _fen(a["amount_fen"]), what=a["what"], on=on, by=a["by"])
        elif ev.kind == "plan":
            cases.plan(uow, loan_id, monthly=_fen(a["monthly_fen"]), first_due=a["first_due"], on=on, by=a["by"], policy=policy)
        elif ev.kind == "move":
            cases.escalate(uow, loan_id, to=a["to"], reason=a["reason"] or "recorded escalation", by=a["by"], on=on,
                           approved_by=a.get("approved_by"), policy=policy)
        elif ev.kind == "write_off":
            cases.write_off(uow, loan_id, on=on, reason=a["reason"] or "recorded write-off", by=a["by"],
                            approved_by=a.get("approved_by"), policy=policy)
        elif ev.kind == "revitalize":
            rate = Decimal(a["rate_ppm"]) / 1_000_000 if a.get("rate_ppm") is not None else None
            cases.revitalize(uow, loan_id, credit=_fen(a["credit_fen"]), on=on, by=a["by"], approved_by=a.get("approved_by"),
                             reason=a.get("reason"), rate=rate, maturity=a.get("maturity"), policy=policy)
        elif ev.kind == "freeze":
            cases.freeze(uow, loan_id, on=on, asset=a.get("asset"), guarantor=a.get("guarantor"), authority=a.get("authority"),
                         by=a["by"])
        elif ev.kind == "judgment":
            cases.judgment(uow, loan_id, on=on, amount=_fen(a["amount_fen"]), perform_by=a["perform_by"], by=a["by"])
        elif ev.kind == "enforce":
            cases.enforce(uow, loan_id, on=on, by=a["by"])
        elif ev.kind == "take_asset":
            owed = owed_fen(uow, loan_id, on, policy)
            value = min(a["value_fen"], owed)
            cases.take_asset(uow, loan_id, asset=a["asset"], value=_fen(value), on=on, payer=a.get("payer"), by=a["by"], policy=policy)
            return "applied" if value == a["value_fen"] else "capped"
        elif ev.kind == "dispose_asset":
            proceeds = a.get("proceeds_fen")
            cases.dispose_asset(uow, loan_id, asset=a["asset"], on=on, by=a["by"],
                                proceeds=_fen(proceeds) if proceeds is not None else None)
        else:  # pragma: no cover - the reader makes only the kinds above
            raise ValueError(f"unknown recorded act {ev.kind!r}")
    except UndeclaredMove as exc:  # the machine has no such move from the replayed case's state
        uow.rollback()
        raise RuleViolation(str(exc)) from None
    except Exception:
        uow.rollback()
        raise
    return "applied"
