"""The operator register, approvals on normalized ids and the approver's one-time password,
on SQLite and PostgreSQL (issue 16, parts 3 and 4; CONTRACT.md "Operators and approvals")."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from machines.policy import load_policy
from models.domain.identifiers import IdentifierError
from models.store import UnitOfWork
from models.tables import Operator, OtpAttempt
from services.operators import (
    ApprovalRefused,
    OperatorRefused,
    check_actor,
    check_approval,
    enroll,
    upsert_operators,
)

NPL = Path(sys.executable).with_name("npl")
AT = datetime(2026, 11, 30, 9, 0, 10, tzinfo=timezone.utc)
STEP = timedelta(seconds=30)
SAME_AS_E01 = ["\uff25-01", "E\u201001", "E-01\u200b", "e\u221201", "\u00adE-01"]


@pytest.fixture(autouse=True)
def secret_key(monkeypatch):
    monkeypatch.delenv("NPL_POLICY", raising=False)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("NPL_SECRET_KEY", key)
    return key


def register(url: str, *rows: tuple[str, str, bool]) -> None:
    with UnitOfWork(url) as u:
        upsert_operators(u, [{"operator_id": oid, "name": f"name of {oid}", "role": role, "active": active}
                             for oid, role, active in rows])
        u.commit()


def approve(url: str, requested_by: str, approved_by: str | None, otp: str | None = None, at: datetime = AT, policy=None) -> str:
    with UnitOfWork(url) as u:
        return check_approval(u, requested_by=requested_by, approved_by=approved_by, otp=otp, at=at, policy=policy)


def enrolled(url: str, operator_id: str, tmp_path: Path, *, reset: bool = False) -> pyotp.TOTP:
    with UnitOfWork(url) as u:
        enrolment = enroll(u, operator_id, qr_path=tmp_path / f"{operator_id}.png", reset=reset)
    assert enrolment.qr_png_path.read_bytes().startswith(b"\x89PNG")
    return pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)


def window(totp: pyotp.TOTP, at: datetime) -> set[str]:
    """The three codes accepted at ``at`` (one step either side)."""
    return {totp.at(at + k * STEP) for k in (-1, 0, 1)}


def wrong_code(totp: pyotp.TOTP, at: datetime) -> str:
    """A well-formed code that is none of those accepted at ``at`` (never a chance match)."""
    return next(code for code in (f"{n:06d}" for n in range(0, 1_000_000, 111_111)) if code not in window(totp, at))


def attempts(url: str) -> list[tuple[str, bool, str]]:
    with UnitOfWork(url) as u:
        return [(a.operator_id, a.ok, a.reason) for a in u.session.execute(select(OtpAttempt).order_by(OtpAttempt.id)).scalars()]


# --- the register empty: any well-formed id, never the requester --------------------------------


def test_an_empty_register_accepts_any_well_formed_approver_and_returns_it_normalized(db_url):
    assert approve(db_url, "E-01", "\uff2d\u201001") == "m-01"
    assert approve(db_url, "E-01", "E-0l") == "e-0l"  # letter l: another id; the register decides who exists


@pytest.mark.parametrize("approver", SAME_AS_E01)
def test_an_approver_that_normalizes_to_the_requester_is_refused(db_url, approver):
    with pytest.raises(ApprovalRefused, match="must not be the requester.*e-01"):
        approve(db_url, "E-01", approver)


def test_a_look_alike_approver_is_refused_as_malformed_naming_the_character(db_url):
    with pytest.raises(IdentifierError, match="U\\+0421 CYRILLIC CAPITAL LETTER ES"):
        approve(db_url, "C-01", "\u0421-01")


def test_a_missing_approver_is_refused(db_url):
    with pytest.raises(ApprovalRefused, match="needs an approver"):
        approve(db_url, "E-01", "  ")


# --- the register in use: only an active manager other than the requester -----------------------


def test_once_operators_are_registered_only_an_active_manager_other_than_the_requester_approves(db_url):
    register(db_url, ("E-01", "officer", True), ("E-02", "officer", True), ("M-01", "manager", True),
             ("M-02", "manager", False), ("A-01", "admin", True), ("M-03", "manager", True))
    assert approve(db_url, "\uff25-01", "m\u201001\u200b") == "m-01"
    refusals = {
        "E-02": "is an officer: only an active manager approves",
        "A-01": "is an admin: only an active manager approves",
        "M-02": "approver m-02 is inactive",
        "M-0l": "approver m-0l is not in the operator register",
        "X-99": "approver x-99 is not in the operator register",
    }
    for approver, why in refusals.items():
        with pytest.raises(ApprovalRefused, match=why):
            approve(db_url, "E-01", approver)
    with pytest.raises(ApprovalRefused, match="must not be the requester"):
        approve(db_url, "M-01", "\uff2d-01")  # a manager's own request
    assert approve(db_url, "M-01", "M-03") == "m-03"  # ... is approved by another manager
    with pytest.raises(OperatorRefused, match="operator u-01 is not in the operator register"):
        approve(db_url, "U-01", "M-01")  # the requester must be registered too


def test_check_actor_accepts_anyone_well_formed_until_the_register_is_used_then_only_active_operators(db_url):
    with UnitOfWork(db_url) as u:
        assert check_actor(u, "\uff25\u201001") == "e-01"
    register(db_url, ("E-01", "officer", True), ("E-02", "officer", False))
    with UnitOfWork(db_url) as u:
        assert check_actor(u, "E-01\u200b") == "e-01"
        with pytest.raises(OperatorRefused, match="e-02 is inactive"):
            check_actor(u, "E-02")
        with pytest.raises(OperatorRefused, match="e-03 is not in the operator register"):
            check_actor(u, "E-03")
        with pytest.raises(IdentifierError):
            check_actor(u, "\u0415-01")  # Cyrillic Е


def test_the_register_refuses_two_rows_for_one_operator_and_keeps_an_enrolment_on_update(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    with UnitOfWork(db_url) as u, pytest.raises(Exception, match="same operator \\(e-01\\)"):
        upsert_operators(u, [{"operator_id": "E-01", "name": "a", "role": "officer"},
                             {"operator_id": "\uff25-01", "name": "b", "role": "officer"}])
    totp = enrolled(db_url, "M-01", tmp_path)
    register(db_url, ("m-01", "manager", True))  # re-loaded by the importer
    with UnitOfWork(db_url) as u:
        op = u.session.get(Operator, "m-01")
        assert op.display_id == "m-01" and op.otp_secret_encrypted is not None
    assert approve(db_url, "E-01", "M-01", totp.at(AT)) == "m-01"


# --- the second factor ---------------------------------------------------------------------------


def test_an_enrolled_approver_needs_the_current_code_used_once(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(db_url, "M-01", tmp_path)
    with pytest.raises(ApprovalRefused, match="enrolled for one-time passwords: add --otp CODE"):
        approve(db_url, "E-01", "M-01", None)
    with pytest.raises(ApprovalRefused, match="wrong or expired \\(1 of 5"):
        approve(db_url, "E-01", "M-01", wrong_code(totp, AT))
    assert approve(db_url, "E-01", "M-01", totp.at(AT)) == "m-01"
    with pytest.raises(ApprovalRefused, match="already used"):
        approve(db_url, "E-01", "M-01", totp.at(AT), at=AT + timedelta(seconds=5))  # the same code replayed
    with pytest.raises(ApprovalRefused, match="already used"):
        approve(db_url, "E-01", "M-01", totp.at(AT - STEP), at=AT + timedelta(seconds=5))  # an older step, still in the window
    assert approve(db_url, "E-01", "M-01", totp.at(AT + STEP), at=AT + STEP) == "m-01"  # the next step's code
    stale = next(totp.at(AT - k * STEP) for k in range(3, 20) if totp.at(AT - k * STEP) not in window(totp, AT + 2 * STEP))
    with pytest.raises(ApprovalRefused, match="wrong or expired"):
        approve(db_url, "E-01", "M-01", stale, at=AT + 2 * STEP)  # a code from minutes ago
    assert attempts(db_url) == [
        ("m-01", False, "missing"), ("m-01", False, "wrong"), ("m-01", True, "ok"),
        ("m-01", False, "replayed"), ("m-01", False, "replayed"), ("m-01", True, "ok"), ("m-01", False, "wrong"),
    ]


def test_a_code_one_step_either_side_is_accepted(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(db_url, "M-01", tmp_path)
    assert approve(db_url, "E-01", "M-01", totp.at(AT - STEP)) == "m-01"
    assert approve(db_url, "E-01", "M-01", " ".join([totp.at(AT + STEP)[:3], totp.at(AT + STEP)[3:]])) == "m-01"


def test_five_wrong_codes_in_a_row_lock_the_approver_out_for_fifteen_minutes(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(db_url, "M-01", tmp_path)
    wrong = wrong_code(totp, AT)
    for n in range(1, 5):
        with pytest.raises(ApprovalRefused, match=f"\\({n} of 5 failures"):
            approve(db_url, "E-01", "M-01", wrong, at=AT + n * timedelta(seconds=1))
    with pytest.raises(ApprovalRefused, match="locked out until 2026-11-30 09:15 UTC after 5 failures"):
        approve(db_url, "E-01", "M-01", "abc", at=AT + timedelta(seconds=5))
    later = AT + timedelta(minutes=14)
    with pytest.raises(ApprovalRefused, match="locked out of approvals until 2026-11-30 09:15 UTC"):
        approve(db_url, "E-01", "M-01", totp.at(later), at=later)  # even the right code, while locked
    after = AT + timedelta(minutes=15, seconds=10)
    assert approve(db_url, "E-01", "M-01", totp.at(after), at=after) == "m-01"
    reasons = [reason for _, _, reason in attempts(db_url)]
    assert reasons == ["wrong"] * 5 + ["locked", "ok"]


def test_the_code_check_stands_whatever_becomes_of_the_callers_work(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(db_url, "M-01", tmp_path)
    with UnitOfWork(db_url) as u:  # refused: the caller rolls back, the failed attempt stays
        with pytest.raises(ApprovalRefused):
            check_approval(u, requested_by="E-01", approved_by="M-01", otp=wrong_code(totp, AT), at=AT)
        u.rollback()
    with UnitOfWork(db_url) as u:  # accepted, then the caller writes and fails: the code stays used
        assert check_approval(u, requested_by="E-01", approved_by="M-01", otp=totp.at(AT), at=AT) == "m-01"
        u.session.get(Operator, "e-01").name = "changed by the caller"
        u.session.flush()
        u.rollback()
    with UnitOfWork(db_url) as u:
        assert u.session.get(Operator, "e-01").name == "name of E-01"
        assert u.session.get(Operator, "m-01").failed_attempts == 0
    with pytest.raises(ApprovalRefused, match="already used"):
        approve(db_url, "E-01", "M-01", totp.at(AT))
    assert attempts(db_url) == [("m-01", False, "wrong"), ("m-01", True, "ok"), ("m-01", False, "replayed")]


def test_on_sqlite_a_code_check_after_the_callers_first_write_fails_at_once(sqlite_db, tmp_path):
    register(sqlite_db, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(sqlite_db, "M-01", tmp_path)
    with UnitOfWork(sqlite_db) as u:
        u.session.get(Operator, "e-01").name = "written first"
        with pytest.raises(RuntimeError, match="before the unit of work's first write"):
            check_approval(u, requested_by="E-01", approved_by="M-01", otp=totp.at(AT), at=AT)
    assert attempts(sqlite_db) == []


def test_the_policy_switch_turns_the_second_factor_off(db_url, tmp_path):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    enrolled(db_url, "M-01", tmp_path)
    demo = tmp_path / "demo.toml"
    demo.write_text("[approvals]\nrequire_otp = false\n", encoding="utf-8")
    assert approve(db_url, "E-01", "M-01", None, policy=load_policy(demo)) == "m-01"
    with pytest.raises(ApprovalRefused, match="must not be the requester"):
        approve(db_url, "M-01", "\uff2d-01", None, policy=load_policy(demo))  # four eyes still hold
    assert attempts(db_url) == []


def test_an_unenrolled_manager_approves_without_a_code(db_url):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    assert approve(db_url, "E-01", "M-01", None) == "m-01"


def test_the_secret_is_stored_encrypted_and_appears_in_no_message(db_url, tmp_path, monkeypatch):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    totp = enrolled(db_url, "M-01", tmp_path)
    with UnitOfWork(db_url) as u:
        stored = u.session.get(Operator, "m-01").otp_secret_encrypted
    assert totp.secret not in stored
    messages = []
    for code in (None, "123", wrong_code(totp, AT)):
        with pytest.raises(ApprovalRefused) as refused:
            approve(db_url, "E-01", "M-01", code)
        messages.append(str(refused.value))
    monkeypatch.setenv("NPL_SECRET_KEY", Fernet.generate_key().decode())  # a key the secret was not enrolled with
    with pytest.raises(ApprovalRefused, match="cannot be read with this NPL_SECRET_KEY") as refused:
        approve(db_url, "E-01", "M-01", totp.at(AT))
    messages.append(str(refused.value))
    assert not any(totp.secret in m or stored in m for m in messages)


def test_enrolment_needs_the_key_a_registered_operator_and_reset_to_replace(db_url, tmp_path, monkeypatch):
    register(db_url, ("E-01", "officer", True), ("M-01", "manager", True))
    monkeypatch.delenv("NPL_SECRET_KEY")
    with UnitOfWork(db_url) as u, pytest.raises(Exception, match="^NPL_SECRET_KEY is not set"):
        enroll(u, "M-01", qr_path=tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()
    monkeypatch.setenv("NPL_SECRET_KEY", Fernet.generate_key().decode())
    with UnitOfWork(db_url) as u, pytest.raises(Exception, match="m-02 is not in the operator register"):
        enroll(u, "M-02", qr_path=tmp_path / "m.png")
    first = enrolled(db_url, "M-01", tmp_path)
    with UnitOfWork(db_url) as u, pytest.raises(Exception, match="already enrolled.*--reset"):
        enroll(u, "\uff2d-01", qr_path=tmp_path / "again.png")
    second = enrolled(db_url, "M-01", tmp_path, reset=True)
    assert second.secret != first.secret
    moment = next(AT + k * STEP for k in range(20) if first.at(AT + k * STEP) not in window(second, AT + k * STEP))
    with pytest.raises(ApprovalRefused, match="wrong or expired"):
        approve(db_url, "E-01", "M-01", first.at(moment), at=moment)  # the replaced secret's code
    assert approve(db_url, "E-01", "M-01", second.at(moment), at=moment) == "m-01"


# --- the command line ----------------------------------------------------------------------------


def npl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NPL), *args], capture_output=True, text=True, timeout=120, env=env)


def test_the_operator_commands_keep_the_register(db_url, tmp_path, secret_key):
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("NPL_SECRET_KEY", "NPL_POLICY")}
    db = ("--db", db_url)
    added = npl("operator", "add", "\uff2d\u201001", "--name", "Zhao Min", "--role", "manager", *db, env=base)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "operator m-01: manager, active"
    look_alike = npl("operator", "add", "\u041c-02", "--name", "X", "--role", "manager", *db, env=base)
    assert look_alike.returncode == 2 and "U+041C CYRILLIC CAPITAL LETTER EM" in look_alike.stderr
    bad_role = npl("operator", "add", "E-01", "--name", "Wang", "--role", "boss", *db, env=base)
    assert bad_role.returncode == 2 and "role must be one of officer, manager, admin" in bad_role.stderr
    assert npl("operator", "add", "E-01", "--name", "Wang", "--role", "officer", "--inactive", *db, env=base).returncode == 0

    no_key = npl("operator", "enroll", "M-01", "--qr", str(tmp_path / "m.png"), *db, env=base)
    assert no_key.returncode == 1
    assert no_key.stderr.strip().splitlines() == ["npl: NPL_SECRET_KEY is not set: one-time-password secrets are stored encrypted with it"]
    with_key = {**base, "NPL_SECRET_KEY": secret_key}
    enrolment = npl("operator", "enroll", "m-01", "--qr", str(tmp_path / "m.png"), *db, env=with_key)
    assert enrolment.returncode == 0, enrolment.stderr
    uri = next(line for line in enrolment.stdout.splitlines() if line.startswith("otpauth://totp/"))
    assert "issuer=npl-collect" in uri and (tmp_path / "m.png").read_bytes().startswith(b"\x89PNG")
    again = npl("operator", "enroll", "M-01", "--qr", str(tmp_path / "m2.png"), *db, env=with_key)
    assert again.returncode == 1 and "already enrolled" in again.stderr and "otpauth" not in again.stdout + again.stderr
    reset = npl("operator", "enroll", "M-01", "--qr", str(tmp_path / "m3.png"), "--reset", *db, env=with_key)
    assert reset.returncode == 0 and pyotp.parse_uri(uri).secret not in reset.stdout

    listed = npl("operator", "list", "--json", *db, env=base)
    assert listed.returncode == 0, listed.stderr
    assert [(r["operator_id"], r["display_id"], r["role"], r["active"], r["enrolled"]) for r in json.loads(listed.stdout)] == [
        ("e-01", "E-01", "officer", False, False), ("m-01", "M-01", "manager", True, True),
    ]
    assert "otp_secret" not in listed.stdout
    assert npl("operator", "deactivate", "M\u201001", *db, env=base).stdout.strip() == "operator m-01: inactive"
    unknown = npl("operator", "deactivate", "Z-09", *db, env=base)
    assert unknown.returncode == 1 and "z-09 is not in the operator register" in unknown.stderr
    plain = npl("operator", "list", *db, env=base)
    assert plain.stdout.splitlines() == ["e-01\tofficer\tinactive\t-\tWang", "m-01\tmanager\tinactive\totp\tZhao Min"]
