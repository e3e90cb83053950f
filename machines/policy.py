"""Time limits, lead days and thresholds: one TOML file of defaults, validated at load."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models.domain.errors import BadInput
from models.domain.interest import validate_uplift
from models.domain.restructuring import check_policy as check_observation_policy
from models.domain.vocabulary import CREDIT_RATINGS, PRODUCTS, RATE_SCALE

DEFAULTS_PATH = Path(__file__).with_name("policy.toml")
RATINGS = CREDIT_RATINGS  # best first


class PolicyError(BadInput):
    """The policy file is invalid; the message names the key."""


@dataclass(frozen=True)
class Approvals:
    """``[approvals]``: the second factor for approvals (off for the demo only)."""

    require_otp: bool = True
    otp_max_failures: int = 5
    otp_lockout_minutes: int = 15
    stale_days: int = 3  # a request waiting longer emits npl.approval.stale (flows/approvals.py)


def _approvals(table: dict[str, Any]) -> Approvals:
    if not isinstance(table["require_otp"], bool):
        raise PolicyError(f"policy: approvals.require_otp must be true or false, got {table['require_otp']!r}")
    for key in ("otp_max_failures", "otp_lockout_minutes", "stale_days"):
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PolicyError(f"policy: approvals.{key} must be a positive whole number, got {value!r}")
    return Approvals(table["require_otp"], table["otp_max_failures"], table["otp_lockout_minutes"], table["stale_days"])


FEED_KINDS = ("loans", "guarantors", "collateral", "repayments")  # the import's file kinds
MAX_WAIT_MINUTES = 720  # a scheduled run never waits more than twelve hours for its export


@dataclass(frozen=True)
class Feed:
    """``[feed]``: what a night's export must contain, and how long the scheduled run waits for it."""

    wait_minutes: float = 30
    expect: tuple[str, ...] = ("loans",)


def _feed(table: dict[str, Any]) -> Feed:
    wait = table["wait_minutes"]
    if not isinstance(wait, (int, float)) or isinstance(wait, bool) or not (0 <= wait <= MAX_WAIT_MINUTES):
        raise PolicyError(f"policy: feed.wait_minutes must be a number of minutes from 0 to {MAX_WAIT_MINUTES}, got {wait!r}")
    expect = table["expect"]
    if not isinstance(expect, list) or any(k not in FEED_KINDS for k in expect) or len(set(expect)) != len(expect):
        raise PolicyError(f"policy: feed.expect must list distinct file kinds from {FEED_KINDS}, got {expect!r}")
    return Feed(wait, tuple(expect))


@dataclass(frozen=True)
class Bounds:
    """Plausibility bounds on imported rows (issue 16 part 2): a row outside one is rejected
    with the bound named. Amounts in integer fen, the rate in ppm (RATE_SCALE)."""

    earliest_date: date = date(1949, 10, 1)
    max_term_years: int = 50
    max_amount_fen: int = 10_000_000_000_00
    max_rate_ppm: int = 360_000


@dataclass(frozen=True)
class ActionBounds:
    """``[bounds]`` on what operators record (issue 16 part 2): a value outside one is refused
    (exit 2) naming the bound, before anything is written. The importer's bounds share the table."""

    promise_within_days: int = 365
    judgment_perform_within_years: int = 5
    plan_max_months: int = 120
    max_amount_fen: int = 10_000_000_000_00


def _action_bounds(table: dict[str, Any]) -> ActionBounds:
    whole = {}
    for key, low, high in (("promise_within_days", 1, 3660), ("judgment_perform_within_years", 1, 30),
                           ("plan_max_months", 1, 600)):
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise PolicyError(f"policy: bounds.{key} must be a whole number from {low} to {high}, got {value!r}")
        whole[key] = value
    text = table["max_amount"]
    try:
        amount = Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**13:
        raise PolicyError("policy: bounds.max_amount must be a positive decimal string of yuan with at most two decimals, "
                          f"below 10000000000000, got {text!r}")
    return ActionBounds(max_amount_fen=int(amount * 100), **whole)


@dataclass(frozen=True)
class Policy:
    limits: dict[str, int]
    lead_days: dict[str, int]
    revitalization_min_rating: str
    revitalization_products: tuple[str, ...]
    observation_months: int
    penalty_uplift: Decimal
    approvals: Approvals = Approvals()
    bounds: Bounds = field(default_factory=lambda: Bounds())
    feed: Feed = Feed()
    action_bounds: ActionBounds = ActionBounds()
    # issue 15: the observation of a restructured asset (2023 measures Art. 20: ≥ 2 periods, ≥ 12 months)
    observation_min_periods: int = 2
    observation_min_months: int = 12
    letters: dict[str, int] = field(default_factory=lambda: {"pay_within_days": 15})  # [letters]
    # issue 15 rule 4 (PBoC 2003 notice, item 三): compound interest on contractual interest unpaid
    # when due (on by default), and the uplift of a loan used against its agreed purpose (50–100 %)
    compound_interest: bool = True
    misused_penalty_uplift: Decimal = Decimal("1")

    def uplift_for(self, misused: bool) -> Decimal:
        """The penalty uplift of a loan: the misused-loan uplift when it was used against its purpose."""
        return self.misused_penalty_uplift if misused else self.penalty_uplift

    def limit(self, name: str) -> int:
        return self.limits[name]

    def lead(self, name: str) -> int:
        return self.lead_days[name]

    def rating_ok(self, rating: str | None) -> bool:
        """The rating is at or above the revitalization threshold."""
        if rating not in RATINGS:
            return False
        return RATINGS.index(rating) <= RATINGS.index(self.revitalization_min_rating)


def _merge(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        name = f"{path}{key}"
        if key not in base:
            raise PolicyError(f"policy: unknown key {name!r}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise PolicyError(f"policy: {name!r} must be a table")
            merged[key] = _merge(base[key], value, f"{name}.")
        else:
            merged[key] = value
    return merged


def _days(table: dict[str, Any], section: str) -> dict[str, int]:
    out = {}
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise PolicyError(f"policy: {section}.{key} must be a whole number of days, got {value!r}")
        if value < 0:
            raise PolicyError(f"policy: {section}.{key} must not be negative, got {value}")
        out[key] = value
    return out


def validate(data: dict[str, Any]) -> Policy:
    """A Policy from merged TOML data; PolicyError naming the key when anything is wrong."""
    thresholds = data["thresholds"]
    rating = thresholds["revitalization_min_rating"]
    if rating not in RATINGS:
        raise PolicyError(f"policy: thresholds.revitalization_min_rating must be one of {RATINGS}, got {rating!r}")
    products = thresholds["revitalization_products"]
    if not isinstance(products, list) or any(p not in PRODUCTS for p in products):
        raise PolicyError(f"policy: thresholds.revitalization_products must list products from {PRODUCTS}")
    months = thresholds["observation_months"]
    if not isinstance(months, int) or isinstance(months, bool) or months < 0:
        raise PolicyError(f"policy: thresholds.observation_months must be a non-negative integer, got {months!r}")
    uplift_text = data["money"]["penalty_uplift"]
    try:
        uplift = Decimal(str(uplift_text)) if isinstance(uplift_text, str) else None
    except InvalidOperation:
        uplift = None
    if uplift is None or not uplift.is_finite() or not (Decimal(0) <= uplift <= Decimal(1)):
        raise PolicyError(f"policy: money.penalty_uplift must be a decimal string between 0 and 1, got {uplift_text!r}")
    validate_uplift(uplift)  # PBoC 2003 notice: 30–50% on overdue loans (PenaltyUpliftOutOfRange)
    misused_text = data["money"]["misused_penalty_uplift"]
    misused = _decimal(misused_text)
    if misused is None:
        raise PolicyError(f"policy: money.misused_penalty_uplift must be a decimal string between 0.5 and 1, got {misused_text!r}")
    validate_uplift(misused, misused=True)  # PBoC 2003 notice: 50–100% on a loan used against its purpose
    compound = data["money"]["compound"]
    if not isinstance(compound, bool):
        raise PolicyError(f"policy: money.compound must be true or false, got {compound!r}")
    restructuring = data["restructuring"]
    periods, min_months = restructuring["min_periods"], restructuring["min_months"]
    for key, value in (("min_periods", periods), ("min_months", min_months)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PolicyError(f"policy: restructuring.{key} must be a whole number, got {value!r}")
    check_observation_policy(periods, min_months)  # ObservationBelowStatute under Art. 20's minima
    return Policy(
        bounds=_bounds(data["bounds"]),
        limits=_days(data["limits"], "limits"),
        lead_days=_days(data["lead_days"], "lead_days"),
        revitalization_min_rating=rating,
        revitalization_products=tuple(products),
        observation_months=months,
        penalty_uplift=uplift,
        approvals=_approvals(data["approvals"]),
        feed=_feed(data["feed"]),
        action_bounds=_action_bounds(data["bounds"]),
        observation_min_periods=periods,
        observation_min_months=min_months,
        letters=_days(data["letters"], "letters"),
        compound_interest=compound,
        misused_penalty_uplift=misused,
    )


def _bounds(table: dict[str, Any]) -> Bounds:
    earliest = table["earliest_date"]
    if isinstance(earliest, str):
        try:
            earliest = date.fromisoformat(earliest)
        except ValueError:
            pass
    if not isinstance(earliest, date) or hasattr(earliest, "hour"):
        raise PolicyError(f"policy: bounds.earliest_date must be a date YYYY-MM-DD, got {table['earliest_date']!r}")
    years = table["max_term_years"]
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100:
        raise PolicyError(f"policy: bounds.max_term_years must be a whole number of years from 1 to 100, got {years!r}")
    amount = _decimal(table["max_amount"])
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**13:
        raise PolicyError(
            "policy: bounds.max_amount must be a positive decimal string of yuan with at most two decimals, "
            f"below 10000000000000, got {table['max_amount']!r}"
        )
    rate = _decimal(table["max_annual_rate"])
    if rate is None or not Decimal(0) < rate <= Decimal(1) or rate != rate.quantize(Decimal("0.000001")):
        raise PolicyError(
            "policy: bounds.max_annual_rate must be a decimal string fraction in (0, 1] with at most six decimals, "
            f"got {table['max_annual_rate']!r}"
        )
    return Bounds(earliest, years, int(amount * 100), int(rate * RATE_SCALE))


def _decimal(text: Any) -> Decimal | None:
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """The shipped defaults, overridden by ``path`` (or ``$NPL_POLICY``) when given."""
    with DEFAULTS_PATH.open("rb") as f:
        data = tomllib.load(f)
    path = path or os.environ.get("NPL_POLICY") or None
    if path:
        try:
            with open(path, "rb") as f:
                override = tomllib.load(f)
        except FileNotFoundError:
            raise PolicyError(f"policy: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy: {path} is not valid TOML: {exc}") from None
        data = _merge(data, override)
    return validate(data)
