"""The policy file: defaults, user overrides, and validation that names the offending key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from machines.policy import PolicyError, load_policy
from models.domain.errors import BadInput


@pytest.fixture(autouse=True)
def no_policy_env(monkeypatch):
    monkeypatch.delenv("NPL_POLICY", raising=False)


@pytest.fixture
def policy_file(tmp_path):
    def write(text: str):
        path = tmp_path / "policy.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_defaults_load_with_the_documented_limits():
    policy = load_policy()
    assert policy.limits == {
        "overdue": 3,
        "internal_review": 7,
        "internal_review_insider": 90,
        "visit": 30,
        "guarantor_pressure": 60,
        "installment_grace": 15,
        "revitalization_term": 365,
    }
    assert policy.lead_days == {"guarantee": 30, "limitation": 60, "enforcement": 60, "foreclosed_asset": 90}
    assert policy.observation_months == 12
    assert policy.penalty_uplift == Decimal("0.5")
    assert policy.revitalization_min_rating == "BBB"
    assert policy.limit("visit") == 30
    assert policy.lead("guarantee") == 30


def test_user_file_overrides_one_key_and_keeps_the_other_defaults(policy_file):
    policy = load_policy(policy_file("[limits]\nvisit = 45\n"))
    assert policy.limit("visit") == 45
    assert policy.limit("overdue") == 3
    assert policy.lead("limitation") == 60


def test_policy_path_can_come_from_the_environment(policy_file, monkeypatch):
    monkeypatch.setenv("NPL_POLICY", str(policy_file('[money]\npenalty_uplift = "0.3"\n')))
    assert load_policy().penalty_uplift == Decimal("0.3")


def test_rating_threshold_accepts_ratings_at_or_above_it():
    policy = load_policy()
    assert policy.rating_ok("AAA")
    assert policy.rating_ok("BBB")
    assert not policy.rating_ok("BB")
    assert not policy.rating_ok(None)
    assert not policy.rating_ok("unrated")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[limits]\nvsit = 30\n", "limits.vsit"),
        ("[limitz]\nvisit = 30\n", "limitz"),
        ("[limits]\nvisit = -1\n", "limits.visit"),
        ('[limits]\nvisit = "30"\n', "limits.visit"),
        ("[limits]\nvisit = true\n", "limits.visit"),
        ("[limits]\nvisit = 30.5\n", "limits.visit"),
        ("[lead_days]\nguarantee = -30\n", "lead_days.guarantee"),
        ("limits = 3\n", "limits"),
        ('[thresholds]\nrevitalization_min_rating = "AAAA"\n', "thresholds.revitalization_min_rating"),
        ('[thresholds]\nrevitalization_products = ["fishing"]\n', "thresholds.revitalization_products"),
        ("[thresholds]\nobservation_months = -1\n", "thresholds.observation_months"),
        ("[thresholds]\nobservation_months = true\n", "thresholds.observation_months"),
        ('[money]\npenalty_uplift = "1.5"\n', "money.penalty_uplift"),
        ('[money]\npenalty_uplift = "-0.1"\n', "money.penalty_uplift"),
        ('[money]\npenalty_uplift = "half"\n', "money.penalty_uplift"),
        ('[money]\npenalty_uplift = "NaN"\n', "money.penalty_uplift"),
        ("[money]\npenalty_uplift = 0.5\n", "money.penalty_uplift"),
    ],
)
def test_invalid_policy_is_refused_with_a_message_naming_the_key(policy_file, text, key):
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        load_policy(policy_file(text))


def test_policy_errors_are_bad_input():
    assert issubclass(PolicyError, BadInput)


def test_missing_policy_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_malformed_toml_is_a_policy_error(policy_file):
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(policy_file("[limits\nvisit = \n"))


def test_default_bounds_are_the_documented_plausibility_bounds():
    from datetime import date

    bounds = load_policy().bounds
    assert (bounds.earliest_date, bounds.max_term_years) == (date(1949, 10, 1), 50)
    assert (bounds.max_amount_fen, bounds.max_rate_ppm) == (1_000_000_000_000, 360_000)


def test_a_bound_may_be_overridden_and_a_toml_date_is_accepted(policy_file):
    from datetime import date

    bounds = load_policy(policy_file('[bounds]\nearliest_date = 1950-01-01\nmax_amount = "500.50"\n')).bounds
    assert (bounds.earliest_date, bounds.max_amount_fen) == (date(1950, 1, 1), 50_050)
    with pytest.raises(PolicyError, match="bounds.earliest_date"):
        load_policy(policy_file("[bounds]\nearliest_date = 1950-01-01T00:00:00\n"))


# --- issue 15: observation of restructured assets, penalty uplift bounds ---------------------------


def test_an_observation_shorter_than_two_periods_or_a_year_is_refused_at_load(tmp_path):
    from models.domain.errors import ObservationBelowStatute

    for body in ("[restructuring]\nmin_periods = 1\n", "[restructuring]\nmin_months = 6\n"):
        path = tmp_path / "p.toml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(ObservationBelowStatute, match="Art. 20"):
            load_policy(path)
    path = tmp_path / "longer.toml"
    path.write_text("[restructuring]\nmin_periods = 3\nmin_months = 18\n", encoding="utf-8")
    longer = load_policy(path)
    assert (longer.observation_min_periods, longer.observation_min_months) == (3, 18)


def test_a_penalty_uplift_outside_30_to_50_percent_is_refused_at_load(tmp_path):
    from models.domain.errors import PenaltyUpliftOutOfRange

    for uplift in ("0.2", "0.6"):
        path = tmp_path / "p.toml"
        path.write_text(f'[money]\npenalty_uplift = "{uplift}"\n', encoding="utf-8")
        with pytest.raises(PenaltyUpliftOutOfRange):
            load_policy(path)
    path = tmp_path / "ok.toml"
    path.write_text('[money]\npenalty_uplift = "0.3"\n', encoding="utf-8")
    assert str(load_policy(path).penalty_uplift) == "0.3"


# --- issue 15 rule 4: compound interest switch and the misused-loan uplift --------------------------


def test_compound_interest_is_on_by_default_and_a_policy_may_switch_it_off(tmp_path):
    assert load_policy().compound_interest is True
    path = tmp_path / "p.toml"
    path.write_text("[money]\ncompound = false\n", encoding="utf-8")
    assert load_policy(path).compound_interest is False
    path.write_text('[money]\ncompound = "no"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="money.compound"):
        load_policy(path)


def test_a_misused_loan_takes_its_own_uplift_validated_to_50_to_100_percent(tmp_path):
    from models.domain.errors import PenaltyUpliftOutOfRange

    policy = load_policy()
    assert (policy.uplift_for(False), policy.uplift_for(True)) == (Decimal("0.5"), Decimal("1"))
    path = tmp_path / "p.toml"
    for uplift in ("0.4", "1.01"):
        path.write_text(f'[money]\nmisused_penalty_uplift = "{uplift}"\n', encoding="utf-8")
        with pytest.raises(PenaltyUpliftOutOfRange, match="used against its agreed purpose"):
            load_policy(path)
    path.write_text('[money]\nmisused_penalty_uplift = "0.75"\n', encoding="utf-8")
    assert load_policy(path).uplift_for(True) == Decimal("0.75")
    path.write_text("[money]\nmisused_penalty_uplift = 0.75\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="money.misused_penalty_uplift"):
        load_policy(path)
