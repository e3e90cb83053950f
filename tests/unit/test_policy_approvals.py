"""The policy's [approvals] keys: the second factor's switch and lockout, validated at load."""

from __future__ import annotations

import pytest

from machines.policy import PolicyError, load_policy


@pytest.fixture(autouse=True)
def no_policy_env(monkeypatch):
    monkeypatch.delenv("NPL_POLICY", raising=False)


def test_the_second_factor_is_on_by_default_with_five_failures_locking_for_fifteen_minutes():
    approvals = load_policy().approvals
    assert (approvals.require_otp, approvals.otp_max_failures, approvals.otp_lockout_minutes) == (True, 5, 15)


def test_a_user_policy_turns_the_second_factor_off(tmp_path):
    path = tmp_path / "demo.toml"
    path.write_text("[approvals]\nrequire_otp = false\n", encoding="utf-8")
    assert load_policy(path).approvals.require_otp is False


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('require_otp = "no"', "approvals.require_otp"),
        ("otp_max_failures = 0", "approvals.otp_max_failures"),
        ("otp_lockout_minutes = true", "approvals.otp_lockout_minutes"),
        ("otp_window = 2", "approvals.otp_window"),
    ],
)
def test_a_wrong_approvals_key_is_refused_naming_it(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(f"[approvals]\n{text}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=key):
        load_policy(path)
