"""The operator register, who may act and approve, and the approver's one-time password.

CONTRACT.md, "Operators and approvals (extension)":

- Ids are compared normalized (models.domain.identifiers): ``Ｅ-01``, ``E‐01`` and ``E-01`` with a
  zero-width space are one operator, ``e-01``; an id with a look-alike letter is malformed
  (IdentifierError, a BadInput: exit 2).
- While the register is empty any well-formed id acts and approves (a new installation, the demo,
  scripts) — but an approver never normalizes to the requester.
- Once operators are registered, only an active registered operator acts (``check_actor``), and
  only an active **manager** other than the requester approves (``check_approval``). An admin
  keeps the register and does not approve: the contract says "only an active manager approves",
  and separating who grants roles from who approves moves is the point of four eyes.
- An approver enrolled for one-time passwords (RFC 6238 TOTP) gives the current code, used once:
  the last accepted time step is stored and a code of that step or an earlier one is refused;
  ``[approvals] otp_max_failures`` wrong codes in a row lock the approver out for
  ``otp_lockout_minutes``. Every check is recorded in ``otp_attempts``, in its own transaction, so
  a refused approval (whose own unit of work rolls back, nothing changed) still counts and leaves
  its trace. ``[approvals] require_otp = false`` turns the second factor off (the demo only).
- Secrets are stored encrypted with Fernet under the key in ``$NPL_SECRET_KEY``; no secret and no
  code appears in any message or record.

Refusals raise OperatorRefused / ApprovalRefused (RuleViolation: the CLI exits 1).

Hooks for the approval path (the lead wires them): call ``check_actor(uow, by)`` for every
``--by`` and ``check_approval(uow, requested_by=by, approved_by=approved_by, otp=otp, at=now)``
wherever an ``--approved-by`` is given, **before the unit of work's first write** (the OTP check
commits its attempt record on its own connection; on SQLite a pending write in the caller's
session would make it wait), and store the returned normalized ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from machines.policy import Policy, load_policy
from models.domain.errors import BadInput, NotFound, RuleViolation
from models.domain.identifiers import display_id, normalize_operator_id
from models.store import UnitOfWork
from models.tables import Operator, OtpAttempt

ROLES = ("officer", "manager", "admin")
APPROVER_ROLES = ("manager",)
SECRET_KEY_ENV = "NPL_SECRET_KEY"
ISSUER = "npl-collect"


class OperatorRefused(RuleViolation):
    """The operator may not do this (not registered, inactive)."""


class ApprovalRefused(OperatorRefused):
    """The approval does not count: same person, not a manager, or the one-time password failed."""


@dataclass(frozen=True)
class Enrolment:
    """Shown once: the ``otpauth://`` URI and the QR code PNG holding it."""

    operator_id: str
    uri: str
    qr_png_path: Path


# --- the register ------------------------------------------------------------------------------


def register_in_use(session: Session) -> bool:
    return session.execute(select(Operator.operator_id).limit(1)).first() is not None


def _row_dict(op: Operator) -> dict[str, Any]:
    return {
        "operator_id": op.operator_id,
        "display_id": op.display_id,
        "name": op.name,
        "role": op.role,
        "active": bool(op.active),
        "enrolled": op.otp_secret_encrypted is not None,
        "locked_until": _utc(op.locked_until).isoformat() if op.locked_until else None,
    }


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    oid = normalize_operator_id(row.get("operator_id"))
    name = str(row.get("name") or "").strip()
    if not name:
        raise BadInput(f"operator {oid}: the name is empty")
    if len(name) > 200:
        raise BadInput(f"operator {oid}: the name is longer than 200 characters")
    role = str(row.get("role") or "").strip().lower()
    if role not in ROLES:
        raise BadInput(f"operator {oid}: role must be one of {', '.join(ROLES)} (got {row.get('role')!r})")
    active = row.get("active", True)
    if not isinstance(active, bool):
        raise BadInput(f"operator {oid}: active must be true or false (got {active!r})")
    return {"operator_id": oid, "display_id": display_id(str(row["operator_id"])), "name": name, "role": role, "active": active}


def upsert_operators(uow: UnitOfWork, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Add or update operators (``operator_id``, ``name``, ``role``, optional ``active`` bool).

    Every row is validated before anything is written; two rows naming the same operator once
    normalized are refused. The enrolment (secret, counter, lockout) of an existing operator is
    kept. Does not commit: the caller (the importer's batch, ``add_operator``) does."""
    cleaned: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = _clean(row)
        if item["operator_id"] in cleaned:
            raise BadInput(f"operator {cleaned[item['operator_id']]['display_id']!r} and {item['display_id']!r} "
                           f"are the same operator ({item['operator_id']})")
        cleaned[item["operator_id"]] = item
    s = uow.session
    assert s is not None
    existing = {op.operator_id: op for op in s.execute(select(Operator).where(Operator.operator_id.in_(list(cleaned)))).scalars()}
    added = updated = 0
    for oid, item in cleaned.items():
        op = existing.get(oid)
        if op is None:
            s.add(Operator(**item, failed_attempts=0))
            added += 1
        else:
            op.display_id, op.name, op.role, op.active = item["display_id"], item["name"], item["role"], item["active"]
            updated += 1
    s.flush()
    return {"added": added, "updated": updated}


def add_operator(uow: UnitOfWork, operator_id: str, *, name: str, role: str, active: bool = True) -> dict[str, Any]:
    """``npl operator add``: register (or update) one operator and commit."""
    upsert_operators(uow, [{"operator_id": operator_id, "name": name, "role": role, "active": active}])
    uow.commit()
    return _row_dict(_get(uow, normalize_operator_id(operator_id)))


def deactivate(uow: UnitOfWork, operator_id: str) -> dict[str, Any]:
    """``npl operator deactivate``: the operator stays on record (history names them) but no longer acts."""
    op = _get(uow, normalize_operator_id(operator_id))
    op.active = False
    uow.commit()
    return _row_dict(op)


def list_operators(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every registered operator, by id; whether enrolled, never the secret."""
    assert uow.session is not None
    return [_row_dict(op) for op in uow.session.execute(select(Operator).order_by(Operator.operator_id)).scalars()]


def _get(uow: UnitOfWork, oid: str) -> Operator:
    assert uow.session is not None
    op = uow.session.get(Operator, oid)
    if op is None:
        raise NotFound(f"operator {oid} is not in the operator register")
    return op


# --- acting and approving ----------------------------------------------------------------------


def check_actor(uow: UnitOfWork, operator_id: str | None) -> str:
    """The normalized id of the operator acting (``--by``, ``officer_id``).

    While the register is empty any well-formed id acts; once it is in use only an active
    registered operator. IdentifierError (exit 2) for a malformed id, OperatorRefused (exit 1)."""
    oid = normalize_operator_id(operator_id)
    s = uow.session
    assert s is not None
    if not register_in_use(s):
        return oid
    op = s.get(Operator, oid)
    if op is None:
        raise OperatorRefused(f"operator {oid} is not in the operator register")
    if not op.active:
        raise OperatorRefused(f"operator {oid} is inactive")
    return oid


def check_approval(
    uow: UnitOfWork, *, requested_by: str, approved_by: str | None, otp: str | None, at: datetime,
    policy: Policy | None = None,
) -> str:
    """The approver's normalized id, if this approval counts; ApprovalRefused naming why if not.

    ``at`` is the wall-clock moment of the approval (timezone-aware), for the one-time password."""
    requester = normalize_operator_id(requested_by)
    if approved_by is None or not approved_by.strip():
        raise ApprovalRefused("this needs an approver (--approved-by): an active manager other than the requester")
    approver = normalize_operator_id(approved_by)
    if approver == requester:
        raise ApprovalRefused(f"the approver must not be the requester: {approved_by.strip()!r} is {requester} once normalized")
    s = uow.session
    assert s is not None
    if not register_in_use(s):
        return approver
    check_actor(uow, requester)
    op = s.get(Operator, approver)
    if op is None:
        raise ApprovalRefused(f"approver {approver} is not in the operator register")
    if not op.active:
        raise ApprovalRefused(f"approver {approver} is inactive")
    if op.role not in APPROVER_ROLES:
        raise ApprovalRefused(f"approver {approver} is {'an' if op.role[0] in 'aeiou' else 'a'} {op.role}: only an active manager approves")
    policy = policy or load_policy()
    if policy.approvals.require_otp and op.otp_secret_encrypted is not None:
        verify(uow, approver, otp, at=at, policy=policy)
    return approver


# --- the second factor -------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they were stored as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _fernet():  # cryptography's Fernet
    from cryptography.fernet import Fernet

    key = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not key:
        raise RuleViolation(f"{SECRET_KEY_ENV} is not set: one-time-password secrets are stored encrypted with it")
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise RuleViolation(f"{SECRET_KEY_ENV} is not a Fernet key (32 url-safe base64-encoded bytes)") from None


def enroll(uow: UnitOfWork, operator_id: str, *, qr_path: Path | None = None, reset: bool = False) -> Enrolment:
    """Give the operator a new TOTP secret, stored encrypted; the URI and QR code are shown once.

    Refused without ``$NPL_SECRET_KEY``, for an operator not registered, and for one already
    enrolled unless ``reset``. The PNG (default ``./otp-<id>.png``) is written owner-only."""
    import pyotp
    import segno

    fernet = _fernet()
    oid = normalize_operator_id(operator_id)
    op = _get(uow, oid)
    if op.otp_secret_encrypted is not None and not reset:
        raise RuleViolation(f"operator {oid} is already enrolled for one-time passwords; --reset replaces the secret")
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=op.display_id, issuer_name=ISSUER)
    path = Path(qr_path) if qr_path is not None else Path(f"otp-{oid}.png")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            segno.make(uri, error="m").save(f, kind="png", scale=8)
    except OSError as exc:
        raise BadInput(f"cannot write the QR code to {path}: {exc.strerror}") from None
    op.otp_secret_encrypted = fernet.encrypt(secret.encode("ascii")).decode("ascii")
    op.otp_last_counter = None
    op.failed_attempts = 0
    op.locked_until = None
    try:
        uow.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Enrolment(operator_id=oid, uri=uri, qr_png_path=path)


def verify(uow: UnitOfWork, operator_id: str, code: str | None, *, at: datetime, policy: Policy | None = None) -> None:
    """Accept the enrolled operator's current code (one step either side), once; else ApprovalRefused.

    Runs and commits in its own transaction on the unit of work's engine, so that the attempt
    record, the consumed time step and the failure count stay even when the caller rolls back."""
    rules = (policy or load_policy()).approvals
    at = _utc(at)
    oid = normalize_operator_id(operator_id)
    _refuse_after_a_write(uow)
    with Session(uow.engine) as s:
        with s.begin():
            op = s.execute(select(Operator).where(Operator.operator_id == oid).with_for_update()).scalar_one_or_none()
            if op is None or op.otp_secret_encrypted is None:
                raise ApprovalRefused(f"operator {oid} is not enrolled for one-time passwords")
            reason, message = _judge(s, op, code, at, rules)
            s.add(OtpAttempt(operator_id=oid, at=at, ok=reason == "ok", reason=reason))
    if message is not None:
        raise ApprovalRefused(message)


def _refuse_after_a_write(uow: UnitOfWork) -> None:
    """On SQLite (one writer at a time) the check's own transaction would wait 30 s behind the
    caller's pending write and then fail: say at once that the hook is called too late."""
    if uow.session is None or uow.dialect != "sqlite":
        return
    uow.session.flush()
    raw = uow.session.connection().connection.dbapi_connection
    if getattr(raw, "in_transaction", False):
        raise RuntimeError("services.operators: check the approval before the unit of work's first write")


def _judge(s: Session, op: Operator, code: str | None, at: datetime, rules) -> tuple[str, str | None]:
    """(reason recorded, refusal message or None); updates the counter, failures and lockout."""
    import pyotp
    from cryptography.fernet import InvalidToken

    oid = op.operator_id
    if op.locked_until is not None and at < _utc(op.locked_until):
        return "locked", f"approver {oid} is locked out of approvals until {_utc(op.locked_until):%Y-%m-%d %H:%M} UTC after wrong one-time passwords"
    if code is None or not code.strip():
        return "missing", f"approver {oid} is enrolled for one-time passwords: add --otp CODE"
    try:
        secret = _fernet().decrypt(op.otp_secret_encrypted.encode("ascii")).decode("ascii")
    except InvalidToken:
        return "unreadable", f"approver {oid}'s one-time-password secret cannot be read with this {SECRET_KEY_ENV}"
    totp = pyotp.TOTP(secret)
    given = "".join(code.split())
    now_step = totp.timecode(at)
    matched = None
    if given.isascii() and given.isdigit() and len(given) == totp.digits:
        matched = next((step for step in (now_step - 1, now_step, now_step + 1)
                        if pyotp.utils.strings_equal(given, totp.generate_otp(step))), None)
    if matched is not None:
        consumed = s.execute(
            update(Operator)
            .where(Operator.operator_id == oid)
            .where((Operator.otp_last_counter.is_(None)) | (Operator.otp_last_counter < matched))
            .values(otp_last_counter=matched, failed_attempts=0, locked_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if consumed == 1:
            return "ok", None
        reason, what = "replayed", "was already used"
    else:
        reason, what = "wrong", "is wrong or expired"
    failures = (op.failed_attempts or 0) + 1
    if failures >= rules.otp_max_failures:
        until = at + timedelta(minutes=rules.otp_lockout_minutes)
        op.failed_attempts, op.locked_until = 0, until
        return reason, f"approver {oid}'s one-time password {what}; locked out until {until:%Y-%m-%d %H:%M} UTC after {failures} failures"
    op.failed_attempts = failures
    return reason, f"approver {oid}'s one-time password {what} ({failures} of {rules.otp_max_failures} failures before lockout)"
