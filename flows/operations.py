"""Operations flows: what staff do to one case from the Prefect UI.

Each flow is thin: it opens a unit of work, calls one service (``services.cases``,
``services.escalations``) and returns its typed result formatted for the run page by
``flows.present`` (money as two-decimal strings, ISO dates). The rules (which moves exist, who
may approve, what a payment pays) live in the services and the case machine; a refusal (``RuleViolation``) or bad input
(``BadInput``) propagates and fails the run with the service's one-line reason, which names the
form's fields as they are (``promise_amount``), where the command line says ``--promise-amount``.

``manual-escalation`` is the one flow with a pause in it: a move that needs a second person
(litigation, write-off, revitalization) suspends the run (no process waits) until an approver
answers the form the UI shows on "Resume" (``EscalationApproval``); the run then starts again
from the top, and ``suspend_flow_run`` returns the answer. The Prefect server has no user
identity, so the requester and the approver are typed into the forms and kept in the case
history. Outcomes:

- approve → the service makes the move with ``approved_by`` = the approver (checked by the
  operator register: an active manager, with their one-time password ``otp``) and the comment in
  the reason; the run is Completed. An answer from the requester themselves (ids compared
  normalized: ``Ｅ-01`` is ``E-01``) does not count: it is logged and the run suspends again,
  waiting for a second person. Any other refusal (not a manager, a wrong code) fails the run;
  nothing changes.
- reject → nothing changes; the run ends Failed in a state named "Rejected" whose message
  says who rejected it and why. Red, not green: the request did not get what it asked for, and a
  manager scanning the runs list must not read a rejected litigation as done; not Cancelled
  (grey), which in Prefect means a run stopped before anyone decided.
- no answer within ``NPL_APPROVAL_TIMEOUT_HOURS`` (default 168) → the run fails; nothing changes.

No flow takes the database as a parameter (Prefect keeps parameters and shows them to anyone who
reaches its API): each finds it in its environment, ``$NPL_DATABASE_URL``, else the Prefect Secret
block ``npl-database-url`` (``flows.prefect_env.flow_database_url``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from flows import run_names
from flows.operation_common import (  # the shared machinery, split out (issue 13); the names stay reachable here
    APPROVAL_TIMEOUT_S as APPROVAL_TIMEOUT_S,
    DECISIONS as DECISIONS,
    EVENT_APPROVAL_NEEDED,
    EVENT_CASE_ESCALATED,
    NEEDS_APPROVAL,
    Amount,
    EscalationApproval as EscalationApproval,
    EscalationTarget,
    _already_recorded as _already_recorded,
    _decided,
    _decision_recorded,
    _emit_once,
    _operate,
    _operation_key,
    _second_persons_answer,
    loan_resource as loan_resource,
)
from flows.i18n import t
from flows.prefect_env import flow_database_url
from flows.present import jsonable
from flows.run_page import publish
from models.domain.errors import BadInput
from models.store import UnitOfWork
from services import acts, case_view, cases, escalations


# --- manual escalation --------------------------------------------------------------------------


@flow(
    name="manual-escalation",
    flow_run_name=run_names.escalation_name,
    on_failure=[run_names.name_failed_run],
    persist_result=True,  # a suspended run is re-executed after its resume
)
def manual_escalation(
    loan_id: str,
    to: EscalationTarget,
    reason: str,
    requested_by: str,
    on: date | None = None,
    credit: Amount | None = None,
    key: str | None = None,
) -> dict[str, Any] | State:
    """Move a case to a later rung or a side track by hand; litigation, write-off and
    revitalization wait for a second person's approval.

    Args:
        loan_id: the loan, e.g. L-0001
        to: the state to move the case to
        reason: why (kept in the case history)
        requested_by: your operator id
        on: business date of the move (default: the last date the daily run covered)
        credit: further credit granted (revitalization only)
        key: idempotency key (default: this run's id, so a Retry neither asks again nor moves twice)
    """
    logger = get_run_logger()
    if to == "revitalization" and credit is None:
        raise BadInput("revitalization needs the further credit amount ({credit})")
    if to != "revitalization" and credit is not None:
        raise BadInput("{credit} goes with revitalization only")
    db_url = flow_database_url()
    key = _operation_key(key)
    decided = _decision_recorded(db_url, key)
    if decided is not None:  # a retry of a decided request: what was recorded, nothing asked or moved again
        logger.info("%s → %s was already decided under this run's key: nothing changes", loan_id, to)
        return _decided(db_url, loan_id, decided)

    approved_by: str | None = None
    otp: str | None = None
    if to in NEEDS_APPROVAL:
        with UnitOfWork(db_url) as uow:
            case = jsonable(case_view.show(uow, loan_id))
        _emit_once(
            EVENT_APPROVAL_NEEDED, loan_id,
            {"to": to, "from": case["state"], "reason": reason, "requested_by": requested_by},
        )
        logger.info("%s → %s needs a second person's approval: waiting (Resume the run to answer)", loan_id, to)
        answer = _second_persons_answer(loan_id, to, reason, requested_by, case)
        comment = f" ({answer.comment.strip()})" if answer.comment.strip() else ""
        if answer.decision == "reject":
            with UnitOfWork(db_url) as uow:  # the case's own record of the decision, beside Prefect's
                rejected = escalations.record_rejection(uow, loan_id, to=to, reason=reason, requested_by=requested_by,
                                                        rejected_by=answer.approver, comment=answer.comment, on=on,
                                                        otp=answer.otp.strip() or None, key=key)
            logger.info("rejected by %s%s: the case is unchanged", answer.approver, comment)
            result = {"loan_id": loan_id, "to": to, "decision": "reject", "approver": answer.approver,
                      "comment": answer.comment, "state": case["state"]}
            publish(db_url, t("op.rejected", to=to, by=rejected.rejected_by), loan_id, jsonable(rejected), False)
            return Failed(name="Rejected", message=f"rejected by {answer.approver}{comment}; case unchanged", data=result)
        approved_by, otp = answer.approver, answer.otp.strip() or None
        reason = f"{reason} — approved by {answer.approver}{comment}"

    with UnitOfWork(db_url) as uow:
        if to == "written_off":
            moved: Any = escalations.write_off(uow, loan_id, on=on, reason=reason, by=requested_by, approved_by=approved_by,
                                               otp=otp, key=key)
        elif to == "revitalization":
            assert credit is not None
            moved = escalations.revitalize(uow, loan_id, credit=credit, on=on, by=requested_by,
                                           approved_by=approved_by, reason=reason, otp=otp, key=key)
        else:
            moved = escalations.escalate(uow, loan_id, to=to, reason=reason, by=requested_by, on=on, approved_by=approved_by,
                                         otp=otp, key=key)
    result = jsonable(moved)
    publish(db_url, t("op.moved", source=result["from"], to=result["to"]), loan_id, result, False)
    _emit_once(EVENT_CASE_ESCALATED, loan_id, {**result, "requested_by": requested_by})
    logger.info("%s moved %s → %s", loan_id, result["from"], result["to"])
    return result


# --- case events ----------------------------------------------------------------------------------


@flow(name="record-payment", flow_run_name=run_names.operation("payment"), on_failure=[run_names.name_failed_run])
def record_payment(
    loan_id: str,
    amount: Amount,
    on: date | None = None,
    payer: str = "borrower",
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a payment; it pays costs, then penalty, compound and contractual interest and
    principal, a judgment's delayed-performance interest last, and closes the case at zero.

    Args:
        loan_id: the loan, e.g. L-0001
        amount: the amount received (yuan, e.g. 1000.00)
        on: date received (default: the last date the daily run covered)
        payer: borrower, court, or guarantor:NAME
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.payment", amount=amount, payer=payer), cases.pay, loan_id, amount, on=on, payer=payer, by=by, key=key)


@flow(name="record-visit", flow_run_name=run_names.operation("visit"), on_failure=[run_names.name_failed_run])
def record_visit(
    loan_id: str,
    outcome: Literal["contacted", "promise", "refused", "not_found"],
    on: date | None = None,
    promise_amount: Amount | None = None,
    promise_date: date | None = None,
    employer: bool = False,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a home or business visit, or one at the borrower's employer.

    Args:
        loan_id: the loan, e.g. L-0001
        outcome: what came of it
        on: date of the visit (default: the last date the daily run covered)
        promise_amount: amount promised (outcome promise only)
        promise_date: date promised (outcome promise only)
        employer: the visit was made at the borrower's employer
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.visit", outcome=outcome), cases.visit, loan_id, on=on, outcome=outcome, promise_amount=promise_amount,
                    promise_date=promise_date, employer=employer, by=by, key=key)


@flow(name="record-demand", flow_run_name=run_names.operation("demand"), on_failure=[run_names.name_failed_run])
def record_demand(
    loan_id: str,
    on: date | None = None,
    guarantor: str | None = None,
    method: str = "in_person",
    tracking: str | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a demand on the borrower or on a guarantor that took effect on the date given.

    Args:
        loan_id: the loan, e.g. L-0001
        on: the day the demand took effect: signed for, arrived, published (default: the last date the daily run covered)
        guarantor: the guarantor's name; empty for a demand on the borrower
        method: in_person, mail, electronic, announcement or deduction
        tracking: the evidence: mail tracking or receipt number
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.demand", party=guarantor or t("case.borrower")), cases.demand, loan_id, on=on, guarantor=guarantor,
                    method=method, tracking=tracking, by=by, key=key)


@flow(name="record-filing", flow_run_name="{loan_id}: {kind} filed")
def record_filing(
    loan_id: str,
    on: date,
    court: str,
    case_no: str | None = None,
    kind: str = "suit",
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a filing against the borrower (the case must be in litigation: an approved decision).

    Args:
        loan_id: the loan, e.g. L-0001
        on: the day the court (or arbitration commission) received the filing
        court: the court's name
        case_no: the court's case number, if given
        kind: suit, payment_order, preservation or arbitration
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.filing", kind=kind, court=court), acts.file_suit, loan_id, on=on, court=court, case_no=case_no, kind=kind,
                    by=by, key=key)


@flow(name="record-cost", flow_run_name=run_names.operation("cost"), on_failure=[run_names.name_failed_run])
def record_cost(
    loan_id: str,
    amount: Amount,
    what: str,
    on: date | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a recoverable cost the bank paid on the case (court or preservation fee, appraisal);
    the borrower owes it and payments settle it first.

    Args:
        loan_id: the loan, e.g. L-0003
        amount: the amount paid
        what: what it was, e.g. court fee
        on: date paid (default: the last date the daily run covered)
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.cost", amount=amount, what=what), cases.cost, loan_id, amount, what=what, on=on, by=by, key=key)


@flow(name="sign-installment-plan", flow_run_name=run_names.operation("plan"), on_failure=[run_names.name_failed_run])
def sign_installment_plan(
    loan_id: str,
    monthly: Amount,
    first_due: date,
    on: date | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Sign an installment agreement for the balance on the signing date.

    Args:
        loan_id: the loan, e.g. L-0001
        monthly: the monthly installment
        first_due: the date the first installment falls due
        on: signing date (default: the last date the daily run covered)
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.plan", monthly=monthly), escalations.plan, loan_id, monthly=monthly, first_due=first_due,
                    on=on, by=by, key=key)


@flow(name="record-judgment", flow_run_name=run_names.operation("judgment"), on_failure=[run_names.name_failed_run])
def record_judgment(
    loan_id: str,
    amount: Amount,
    perform_by: date,
    on: date | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record a court judgment for a case in litigation.

    Args:
        loan_id: the loan, e.g. L-0001
        amount: the amount awarded
        perform_by: the date by which the judgment must be performed
        on: date of the judgment (default: the last date the daily run covered)
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.judgment", amount=amount), cases.judgment, loan_id, on=on, amount=amount, perform_by=perform_by, by=by,
                    key=key)


@flow(name="record-enforcement", flow_run_name=run_names.operation("enforcement"), on_failure=[run_names.name_failed_run])
def record_enforcement(
    loan_id: str,
    on: date | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record the application for court enforcement of the latest judgment.

    Args:
        loan_id: the loan, e.g. L-0001
        on: date of the application (default: the last date the daily run covered)
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.enforcement"), cases.enforce, loan_id, on=on, by=by, key=key)


@flow(name="take-asset", flow_run_name=run_names.operation("take_asset"), on_failure=[run_names.name_failed_run])
def take_asset(
    loan_id: str,
    asset: str,
    value: Amount,
    on: date | None = None,
    payer: str | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Settlement in kind: the bank takes a collateral asset at an agreed value; the value pays
    the debt like a payment by the asset's owner, and the asset must be disposed of within two
    years (the daily run lists it from 90 days before).

    Args:
        loan_id: the loan, e.g. L-0002
        asset: the collateral's asset id, e.g. A-YANG-FACTORY
        value: the agreed value the asset settles
        on: date taken (default: the last date the daily run covered)
        payer: empty for the borrower's asset; guarantor:NAME for a guarantor's
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.take_asset", asset=asset, value=value), cases.take_asset, loan_id, asset=asset, value=value, on=on,
                    payer=payer, by=by, key=key)


@flow(name="dispose-asset", flow_run_name=run_names.operation("dispose_asset"), on_failure=[run_names.name_failed_run])
def dispose_asset(
    loan_id: str,
    asset: str,
    on: date | None = None,
    proceeds: Amount | None = None,
    by: str = "operator",
    key: str | None = None,
) -> dict[str, Any]:
    """Record the sale of an asset the bank took in settlement; its disposal deadline stops.

    Args:
        loan_id: the loan the asset was taken for
        asset: the asset id
        on: date of the sale (default: the last date the daily run covered)
        proceeds: what the sale brought, for the record
        by: your operator id
        key: idempotency key (default: this run's id, so a Retry books nothing twice)
    """
    return _operate(t("op.dispose_asset", asset=asset), cases.dispose_asset, loan_id, asset=asset, on=on, proceeds=proceeds,
                    by=by, key=key)


@flow(name="classify", flow_run_name="{loan_id}: classify {to} by {by}")
def classify_loan(
    loan_id: str,
    to: Literal["normal", "special_mention", "substandard", "doubtful", "loss"],
    reason: str,
    by: str,
    approved_by: str,
    otp: str | None = None,
    on: date | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Staff judgement on a loan's classification: worse than its floor only, never better
    (refused naming the floor); a second person approves.

    Args:
        loan_id: the loan, e.g. L-0001
        to: the category staff judge the loan to be in
        reason: why (kept in the case's actions)
        by: your operator id
        approved_by: the approving manager's operator id (not yours)
        otp: the approver's one-time password, if enrolled
        on: date of the judgement (default: the last date the daily run covered)
        key: idempotency key (default: this run's id, so a Retry records nothing twice)
    """
    from services import judgement

    return _operate(t("op.classify", to=to), judgement.classify, loan_id, to=to, reason=reason, by=by,
                    approved_by=approved_by, otp=otp, on=on, key=key)


EVENT_FLOWS = (record_payment, record_visit, record_demand, record_filing, record_cost, sign_installment_plan, record_judgment,
               record_enforcement, take_asset, dispose_asset, classify_loan)
