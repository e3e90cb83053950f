"""Legal acts recorded with evidence (issue 14): the only facts the legal clocks follow.

``record_act`` writes one act (a demand that took effect, a filing, an enforcement application,
the ruling ending enforcement); ``acts_of`` reads a set of loans' acts as ``models.domain.law.Act``
values for the rules. The daily run never records an act: where a clock needs one it lists a task.

Acknowledgements (SPC limitation rules 2020 Art. 14: the debtor's part payment, an installment
commitment) are not stored here: every payment recorded by ``pay`` (or the feed) and every signed
installment agreement already is one, so ``acts_of`` derives them from ``payments`` and ``plans``
(one source of truth, nothing to keep in step). A payment made by deduction
(payer ``deduction``) counts as a demand by deduction (Art. 8(3): the creditor deducts the
debt from the debtor's account), effective on the day paid.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from machines.loan_case import CaseState
from models.daily_sql import among
from models.domain import law
from models.domain.dates import add_days
from models.domain.errors import BadInput, NotFound, RuleViolation
from models.store import UnitOfWork, last_run_date
from models.tables import Guarantor, Judgment, LegalAct, Loan, Payment, Plan
from services.case_common import load_case, require_operator, retry_on_conflict, touch
from services.operation_keys import finish, idempotent

KINDS = ("demand", "suit", "payment_order", "preservation", "arbitration", "bankruptcy_claim",
         "enforcement_application", "enforcement_ended", "acknowledgement")
FILING_KINDS = ("suit", "payment_order", "preservation", "arbitration")
METHODS = ("in_person", "mail", "electronic", "announcement", "deduction")
ENFORCEMENT_ENDED = "enforcement_ended"


@dataclass(frozen=True)
class ActResult:
    loan_id: str
    act_id: int
    kind: str
    party: str
    on: date
    method: str | None
    evidence: str | None


def _check(s: Session, loan: Loan, *, kind: str, party: str, on: date, method: str | None) -> None:
    if kind not in KINDS:
        raise BadInput(f"{{kind}} must be one of {', '.join(KINDS)} (got {kind!r})")
    if method is not None and method not in METHODS:
        raise BadInput(f"{{method}} must be one of {', '.join(METHODS)} (got {method!r})")
    last = last_run_date(s)
    if last is not None and on > add_days(last, 1):
        raise RuleViolation(f"{on} is in the future: an act may be dated at most one day after the last business date run ({last})")
    if on < loan.disbursed_on:
        raise RuleViolation(f"{on} is before the loan was disbursed ({loan.disbursed_on})")
    if party != law.BORROWER:
        found = s.scalars(select(Guarantor.id).where(Guarantor.loan_id == loan.loan_id, Guarantor.name == party)).first()
        if found is None:
            raise NotFound(f"loan {loan.loan_id} has no guarantor named {party!r}")
    if kind == "demand" and party != law.BORROWER and on < loan.maturity_on:
        raise RuleViolation(f"a demand on the guarantor before the debt falls due ({loan.maturity_on}) does not preserve the guarantee")
    if kind in FILING_KINDS and loan.state != CaseState.litigation.value:
        raise RuleViolation(f"a filing is recorded for a case in litigation, after an approved decision to sue (this one is {loan.state})")
    if kind in ("enforcement_application", ENFORCEMENT_ENDED):
        has_judgment = s.scalars(select(Judgment.id).where(Judgment.loan_id == loan.loan_id)).first()
        if has_judgment is None:
            raise RuleViolation(f"loan {loan.loan_id} has no judgment: {kind.replace('_', ' ')} needs one")
    if kind == ENFORCEMENT_ENDED:
        applied = s.scalars(select(LegalAct.id).where(LegalAct.loan_id == loan.loan_id,
                                                      LegalAct.kind == "enforcement_application",
                                                      LegalAct.took_effect_on <= on)).first()
        if applied is None:
            raise RuleViolation("the ruling ending enforcement needs an enforcement application on or before it (npl enforce)")


def add_act(
    s: Session, loan: Loan, *, kind: str, party: str, on: date, by: str, method: str | None = None,
    evidence: str | None = None, court: str | None = None, case_no: str | None = None, letter_no: str | None = None,
) -> LegalAct:
    """Validate and add one act in the caller's transaction (``record_act`` and the services that
    record an act beside their own effect: ``demand``, ``enforce``)."""
    _check(s, loan, kind=kind, party=party, on=on, method=method)
    recorded_on = last_run_date(s) or on
    row = LegalAct(loan_id=loan.loan_id, party=party, kind=kind, method=method, took_effect_on=on,
                   evidence=(evidence or None), court=court, case_no=case_no, letter_no=letter_no,
                   recorded_by=by, recorded_on=recorded_on)
    s.add(row)
    s.flush()
    return row


@dataclass(frozen=True)
class FilingResult:
    loan_id: str
    on: date
    kind: str
    court: str
    case_no: str | None


@dataclass(frozen=True)
class EnforcementEnded:
    loan_id: str
    on: date


@idempotent("filing")
@retry_on_conflict
def file_suit(
    uow: UnitOfWork, loan_id: str, *, on: date, court: str, case_no: str | None = None, kind: str = "suit",
    by: str = "operator",
) -> FilingResult:
    """Record a filing against the borrower (``npl file-suit``): a suit, payment order,
    preservation or arbitration, received by ``court`` on ``on`` (SPC limitation rules 2020
    Arts. 10, 11). Needs the case in litigation: an approved decision to sue comes first."""
    who = require_operator(by)
    name = (court or "").strip()
    if not name:
        raise BadInput("{court} must name the court (or arbitration commission) that received the filing")
    if kind not in FILING_KINDS:
        raise BadInput(f"{{kind}} must be one of {', '.join(FILING_KINDS)} (got {kind!r})")
    s = uow.session
    loan = load_case(s, loan_id)
    add_act(s, loan, kind=kind, party=law.BORROWER, on=on, by=who, court=name, case_no=case_no or None)
    touch(loan, s, on)
    return finish(uow, FilingResult(loan_id, on, kind, name, case_no or None))


@idempotent("enforcement_ended")
@retry_on_conflict
def enforcement_ended(uow: UnitOfWork, loan_id: str, *, on: date, by: str = "operator") -> EnforcementEnded:
    """Record the court's ruling ending the current enforcement, delivered to the bank on ``on``
    (SPC 2020 guarantee interpretation Art. 28 ¶1(1): a general guarantee's debt limitation
    starts then)."""
    who = require_operator(by)
    s = uow.session
    loan = load_case(s, loan_id)
    add_act(s, loan, kind=ENFORCEMENT_ENDED, party=law.BORROWER, on=on, by=who)
    touch(loan, s, on)
    return finish(uow, EnforcementEnded(loan_id, on))


def record_act(
    uow: UnitOfWork, loan_id: str, *, kind: str, party: str, on: date, method: str | None = None,
    evidence: str | None = None, court: str | None = None, case_no: str | None = None,
    letter_no: str | None = None, by: str,
) -> ActResult:
    """Record one legal act on a loan and commit. Refuses (RuleViolation) an act dated after the
    last business date run plus one day, a guarantor not on the loan, a filing for a case not in
    litigation, an enforcement act without a judgment."""
    by = require_operator(by)
    s = uow.session
    loan = load_case(s, loan_id)
    row = add_act(s, loan, kind=kind, party=party, on=on, by=by, method=method, evidence=evidence, court=court,
                  case_no=case_no, letter_no=letter_no)
    touch(loan, s, on)
    uow.commit()
    return ActResult(loan_id, row.id, kind, party, on, method, row.evidence)


def acts_of(session: Session, loan_ids: Iterable[str]) -> dict[str, list[law.Act]]:
    """Each loan's acts in date order: the recorded ones, and those derived from payments (a
    payment is an acknowledgement by its payer, Art. 14; by deduction, a demand, Art. 8)."""
    ids = list(loan_ids)
    out: dict[str, list[law.Act]] = defaultdict(list)
    if not ids:
        return out
    columns = (LegalAct.loan_id, LegalAct.kind, LegalAct.took_effect_on, LegalAct.party, LegalAct.method, LegalAct.evidence,
               LegalAct.court, LegalAct.case_no, LegalAct.letter_no)  # plain rows: the daily run reads a chunk's acts at once
    for r in session.execute(select(*columns).where(among(session, LegalAct.loan_id, ids)).order_by(LegalAct.took_effect_on, LegalAct.id)):
        out[r.loan_id].append(law.Act(r.kind, r.took_effect_on, evidence_text(r), r.party, r.method))
    rows = session.execute(
        select(Payment.loan_id, Payment.paid_on, Payment.payer, Payment.guarantor_name, Payment.reference)
        .where(among(session, Payment.loan_id, ids)).order_by(Payment.paid_on, Payment.id)
    )
    for loan_id, paid_on, payer, guarantor, reference in rows:
        act = payment_act(paid_on, payer, guarantor, reference)
        if act is not None:
            out[loan_id].append(act)
    # an installment agreement signed by the borrower is an acknowledgement too (Art. 14: 分期履行)
    for loan_id, signed_on, plan_id in session.execute(
        select(Plan.loan_id, Plan.signed_on, Plan.id).where(among(session, Plan.loan_id, ids)).order_by(Plan.signed_on, Plan.id)
    ):
        out[loan_id].append(law.Act(law.ACKNOWLEDGEMENT, signed_on, f"installment agreement {plan_id}", law.BORROWER))
    for acts in out.values():
        acts.sort(key=lambda a: a.on)
    return out


def payment_act(paid_on: date, payer: str, guarantor: str | None, reference: str | None) -> law.Act | None:
    """The act a payment is: the borrower's (or a guarantor's) part payment acknowledges the debt
    (SPC limitation rules 2020 Art. 14); a deduction is the creditor's demand (Art. 8(3)).
    A payment the court collected is enforcement, not the debtor's act: none."""
    evidence = f"payment {reference}" if reference else f"payment recorded on {paid_on}"
    if payer == "borrower":
        return law.Act(law.ACKNOWLEDGEMENT, paid_on, evidence, law.BORROWER)
    if payer == "guarantor" and guarantor:
        return law.Act(law.ACKNOWLEDGEMENT, paid_on, evidence, guarantor)
    if payer == "deduction":
        return law.Act(law.DEMAND, paid_on, evidence, law.BORROWER, "deduction")
    return None


def evidence_text(r: Any) -> str:
    """The act's evidence as one text (``r``: a ``LegalAct`` or a row with its columns)."""
    parts = [r.evidence] if r.evidence else []
    if r.court:
        parts.append(r.court + (f" {r.case_no}" if r.case_no else ""))
    elif r.case_no:
        parts.append(r.case_no)
    if r.letter_no:
        parts.append(f"letter {r.letter_no}")
    return "; ".join(parts)
