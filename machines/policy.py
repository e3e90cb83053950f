"""Time limits, lead days and thresholds: one TOML file of defaults, validated at load."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models.domain.errors import BadInput
from models.domain.vocabulary import CREDIT_RATINGS, PRODUCTS

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


@dataclass(frozen=True)
class Policy:
    limits: dict[str, int]
    lead_days: dict[str, int]
    revitalization_min_rating: str
    revitalization_products: tuple[str, ...]
    observation_months: int
    penalty_uplift: Decimal
    approvals: Approvals = Approvals()

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
    return Policy(
        limits=_days(data["limits"], "limits"),
        lead_days=_days(data["lead_days"], "lead_days"),
        revitalization_min_rating=rating,
        revitalization_products=tuple(products),
        observation_months=months,
        penalty_uplift=uplift,
        approvals=_approvals(data["approvals"]),
    )


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
