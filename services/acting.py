"""Who acts and who approves, checked once per operation (issue 16 parts 3/4).

Every service where an operator acts calls ``actor`` for its ``by``; every service given an
approver calls ``approval``, both before the unit of work's first write (services/operators.py:
the one-time password check commits its attempt record on its own connection). Ids are checked
normalized (``Ｅ-01``, ``E‐01`` and ``E-01`` with a zero-width space are one operator) and kept
in the record in their display form (invisibles removed, NFKC, one dash, case kept), so that
history reads as the operator typed their id.

A service retried after a lock conflict (``retry_on_conflict``) runs again in the same unit of
work: the approval checked on the first try is remembered for the operation (``once``), so the
approver's one-time password — used once — is not refused as a replay of itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps
from typing import Any, Callable, TypeVar

from machines.loan_case import Approval
from machines.policy import Policy
from models.domain.errors import BadInput
from models.domain.identifiers import display_id, normalize_operator_id
from models.store import UnitOfWork
from services.operators import check_actor, check_approval

T = TypeVar("T")
_CHECKED = "npl.acting.checked"


def _named(text: str | None, field: str) -> str:
    if text is None or not str(text).strip():
        raise BadInput(f"{{{field}}} must name the operator")
    if len(text) > 64:
        raise BadInput(f"{{{field}}} is longer than 64 characters")
    return str(text).strip()


def actor(uow: UnitOfWork, by: str | None, field: str = "by") -> str:
    """The acting operator's id as recorded; refused when the register says they may not act."""
    text = _named(by, field)
    check_actor(uow, text)
    return display_id(text, "operator id")


def approval(uow: UnitOfWork, by: str, approved_by: str | None, otp: str | None, policy: Policy | None,
             field: str = "approved_by") -> Approval:
    """The four-eyes decision for a move: ``by`` (already checked by ``actor``) and the approver,
    if one is given, checked by the register (an active manager, not the requester once
    normalized, with their one-time password). Without an approver the case machine refuses the
    moves that need one, as before."""
    if approved_by is None or not approved_by.strip():
        return Approval(requested_by=by, approved_by=None)
    text = _named(approved_by, field)
    if normalize_operator_id(text) == normalize_operator_id(by):
        # the requester approving their own move: the case machine refuses the moves that need a
        # second person, naming the move (no one-time password is spent on it)
        return Approval(requested_by=by, approved_by=display_id(text, "operator id"))
    assert uow.session is not None
    checked: dict[tuple[str, str, str | None], str] = uow.session.info.setdefault(_CHECKED, {})
    key = (by, text, otp)
    if key not in checked:
        check_approval(uow, requested_by=by, approved_by=text, otp=otp, at=datetime.now(timezone.utc), policy=policy)
        checked[key] = display_id(text, "operator id")
    return Approval(requested_by=by, approved_by=checked[key])


def once(fn: Callable[..., T]) -> Callable[..., T]:
    """Forget the operation's checked approval when it ends (put outside ``retry_on_conflict``)."""

    @wraps(fn)
    def wrapper(uow: UnitOfWork, *args: Any, **kwargs: Any) -> T:
        try:
            return fn(uow, *args, **kwargs)
        finally:
            if uow.session is not None:
                uow.session.info.pop(_CHECKED, None)

    return wrapper
