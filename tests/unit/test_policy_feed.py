"""The policy's [feed] keys: how long the scheduled run waits for the night's export and which
kinds of file that export must contain, validated at load."""

from __future__ import annotations

import pytest

from machines.policy import PolicyError, load_policy


@pytest.fixture(autouse=True)
def no_policy_env(monkeypatch):
    monkeypatch.delenv("NPL_POLICY", raising=False)


def test_the_scheduled_run_waits_thirty_minutes_for_a_loans_file_by_default():
    feed = load_policy().feed
    assert (feed.wait_minutes, feed.expect) == (30, ("loans",))


def test_a_user_policy_sets_a_fraction_of_a_minute_and_the_expected_kinds(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[feed]\nwait_minutes = 0.5\nexpect = ["loans", "repayments"]\n', encoding="utf-8")
    feed = load_policy(path).feed
    assert (feed.wait_minutes, feed.expect) == (0.5, ("loans", "repayments"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("wait_minutes = -1", "feed.wait_minutes"),
        ("wait_minutes = 721", "feed.wait_minutes"),  # never an unbounded (or day-long) wait
        ('wait_minutes = "30"', "feed.wait_minutes"),
        ("wait_minutes = true", "feed.wait_minutes"),
        ('expect = ["loans", "payments"]', "feed.expect"),
        ('expect = "loans"', "feed.expect"),
        ('expect = ["loans", "loans"]', "feed.expect"),
        ("poll = 3", "feed.poll"),
    ],
)
def test_a_bad_feed_key_fails_the_load_naming_it(tmp_path, text, key):
    path = tmp_path / "p.toml"
    path.write_text(f"[feed]\n{text}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        load_policy(path)
