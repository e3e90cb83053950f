"""What the operations flows (``flows.operations``) share: the amount a form takes, the case
events they emit, the idempotency key and the run page of one operation, and the approval form of
``manual-escalation`` with the second person's answer (see flows/operations.py for the flows).

Split out of :mod:`flows.operations` (issue 13), which imports these names from here.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from typing import Annotated, Any, Callable, Literal

import pydantic
from pydantic import BeforeValidator, Field, WithJsonSchema

from prefect import get_run_logger
from prefect.context import get_run_context
from prefect.events import emit_event
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.states import Failed, State

from flows.i18n import amount, amount_error, t
from flows.prefect_env import flow_database_url
from flows.present import jsonable
from flows.run_page import publish
from models.domain.identifiers import IdentifierError, normalize_operator_id
from models.store import UnitOfWork
from services import escalations, operation_keys

# Amounts are typed as decimal text ("1000.00") in the UI form; the flow receives a Decimal.
Amount = Annotated[
    Decimal,
    BeforeValidator(amount_error),  # a wrong amount is explained in words (flows/i18n.py), not by a pattern
    Field(gt=0, max_digits=15, decimal_places=2),
    WithJsonSchema({"type": "string", "examples": ["1000.00"]}),
]

EscalationTarget = Literal[
    "internal_review", "visit", "guarantor_pressure", "litigation", "revitalization", "written_off"
]
NEEDS_APPROVAL: frozenset[str] = frozenset({"litigation", "revitalization", "written_off"})
APPROVAL_TIMEOUT_S = int(os.environ.get("NPL_APPROVAL_TIMEOUT_HOURS", "168")) * 3600

EVENT_APPROVAL_NEEDED = "npl.approval.needed"
EVENT_CASE_ESCALATED = "npl.case.escalated"


class EscalationApproval(RunInput):
    """The approver's answer to a suspended escalation (the form the UI shows on "Resume"; its
    words, in the chosen language, are added by ``_approval_form``)."""

    decision: Literal["approve", "reject"]
    approver: str = Field(min_length=1, max_length=64)
    otp: str = Field(default="", max_length=12)
    comment: str = Field(default="")


def loan_resource(loan_id: str) -> dict[str, str]:
    return {"prefect.resource.id": f"npl.loan.{loan_id}", "prefect.resource.name": loan_id}


def _flow_run_id() -> uuid.UUID | None:
    try:
        return get_run_context().flow_run.id  # type: ignore[union-attr]
    except Exception:  # called outside a run: no id
        return None


def _emit_once(event: str, loan_id: str, payload: dict[str, Any]) -> None:
    """Emit ``event`` for the loan; the id is derived from the flow run so that a suspended run
    re-executing from the top after its resume does not announce the same thing twice (the
    server drops an event whose id it has already stored)."""
    run_id = _flow_run_id()
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{event}/{run_id}") if run_id else None
    emit_event(event=event, resource=loan_resource(loan_id), payload=payload, id=event_id)


# --- safe retries and the run page ----------------------------------------------------------------


def _operation_key(key: str | None) -> str | None:
    """The operation's idempotency key: the form's, else this flow run's id (a "Retry" of the
    run keeps its id, so it returns what the first try recorded and books nothing)."""
    if key is not None and key.strip():
        return key.strip()
    run_id = _flow_run_id()
    return str(run_id) if run_id else None


def _already_recorded(db_url: str | None, key: str | None) -> bool:
    if key is None:
        return False
    with UnitOfWork(db_url) as uow:
        return operation_keys.recorded(uow, key) is not None


def _operate(title: str, service: Callable[..., Any], loan_id: str, *args: Any,
             key: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """One operation under its idempotency key; its result formatted for the run page, which
    also gets the operation's markdown account."""
    db_url = flow_database_url()
    key = _operation_key(key)
    again = _already_recorded(db_url, key)
    with UnitOfWork(db_url) as uow:
        result = jsonable(service(uow, loan_id, *args, key=key, **kwargs))
    publish(db_url, title, loan_id, result, again)
    return result

# --- manual escalation: the approval ------------------------------------------------------------

DECISIONS: dict[str, type] = {"escalation": escalations.Moved, "revitalization": escalations.Revitalized,
                              "write_off": escalations.WrittenOff, "rejection": escalations.Rejected}


def _decision_recorded(db_url: str | None, key: str | None) -> Any:
    """The move or rejection recorded under ``key`` by an earlier try of this run, if any."""
    if key is None:
        return None
    with UnitOfWork(db_url) as uow:
        row = operation_keys.recorded(uow, key)
        if row is None or row.operation not in DECISIONS:
            return None
        return operation_keys.result_of(row, DECISIONS[row.operation])


def _decided(db_url: str | None, loan_id: str, decided: Any) -> dict[str, Any] | State:
    result = jsonable(decided)
    if isinstance(decided, escalations.Rejected):
        publish(db_url, t("op.rejected", to=decided.to, by=decided.rejected_by), loan_id, result, True)
        return Failed(name="Rejected", message=f"rejected by {decided.rejected_by}; case unchanged (recorded earlier)",
                         data={**result, "decision": "reject", "approver": decided.rejected_by})
    publish(db_url, t("op.moved", source=result["from"], to=result["to"]), loan_id, result, True)
    return result


def _approval_form(loan_id: str, to: str, reason: str, requested_by: str, case: dict[str, Any]) -> type[EscalationApproval]:
    """The form the UI shows on "Resume": the request in words and the fields' descriptions in the
    chosen language (the fields themselves, and so the answer, are EscalationApproval's)."""
    description = t("approval.form", requested_by=requested_by, loan_id=loan_id, state=case["state"], to=to, reason=reason,
                    balance=amount(case["balance"]["total"]), dpd=case["dpd"], classification=case["classification"])
    worded = pydantic.create_model(
        EscalationApproval.__name__, __base__=EscalationApproval,
        decision=(Literal["approve", "reject"], Field(description=t("approval.decision"))),
        approver=(str, Field(min_length=1, max_length=64, description=t("form.by"))),
        otp=(str, Field(default="", max_length=12, description=t("approval.otp"))),
        comment=(str, Field(default="", description=t("approval.comment"))),
    )
    return worded.with_initial_data(description=description)


def _same_operator(a: str, b: str) -> bool:
    try:
        return normalize_operator_id(a) == normalize_operator_id(b)
    except IdentifierError:  # a malformed id is the service's to refuse, in one line
        return False


def _second_persons_answer(loan_id: str, to: str, reason: str, requested_by: str, case: dict[str, Any]) -> EscalationApproval:
    """Suspend until someone other than the requester answers. Each suspension has its own pause
    key (Prefect counts them in order), so a run resumed and re-executed from the top reads the
    answers already given, in order, and waits at the first one not yet given."""
    logger = get_run_logger()
    while True:
        answer = suspend_flow_run(
            wait_for_input=_approval_form(loan_id, to, reason, requested_by, case), timeout=APPROVAL_TIMEOUT_S
        )
        if not _same_operator(answer.approver, requested_by):
            return answer
        logger.warning("%s is the requester: their own answer does not count; still waiting for a second person",
                       answer.approver)
