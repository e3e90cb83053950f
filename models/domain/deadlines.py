"""Legal deadlines the bank must never let lapse (DOMAIN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from models.domain.dates import add_days, add_months, add_years

GUARANTEE_DEFAULT_MONTHS = 6  # Civil Code Art. 692
LIMITATION_YEARS = 3  # Civil Code Art. 188
ENFORCEMENT_YEARS = 2  # Civil Procedure Law (2023) Art. 250
FORECLOSED_DISPOSAL_YEARS = 2  # Commercial Bank Law Art. 42


class GuaranteeType(str, Enum):
    """Art. 686: a guarantee whose mode is not stated is a general guarantee."""

    joint = "joint"
    general = "general"


class RequiredAct(str, Enum):
    """What the creditor must do within the guarantee period (Art. 693)."""

    demand_guarantor = "demand_guarantor"  # joint guarantee
    sue_borrower = "sue_borrower"  # general guarantee


def guarantee_period_end(maturity_on: date, agreed_end: date | None) -> date:
    """Art. 692: the agreed end, unless none was agreed or it ends on or before maturity;
    then six months from the debt's maturity. Never interrupted or extended (Art. 695)."""
    if agreed_end is not None and agreed_end > maturity_on:
        return agreed_end
    return add_months(maturity_on, GUARANTEE_DEFAULT_MONTHS)


def required_act(kind: GuaranteeType) -> RequiredAct:
    """Art. 693: joint → demand the guarantor; general → sue (or arbitrate against) the borrower."""
    return RequiredAct.demand_guarantor if kind is GuaranteeType.joint else RequiredAct.sue_borrower


@dataclass(frozen=True)
class GuaranteeStatus:
    period_end: date
    act: RequiredAct
    act_done_on: date | None
    interrupted_on: date | None = None  # the latest demand on / payment by the guarantor

    @property
    def preserved(self) -> bool:
        """The required act was done within the period: the guarantor stays liable."""
        return self.act_done_on is not None and self.act_done_on <= self.period_end

    def debt_limitation_end(self) -> date | None:
        """Art. 694: once a joint guarantee is preserved by a demand, the guarantee debt has its
        own limitation: three years from that demand (Art. 188), restarting from each later
        demand on the guarantor or payment by them (Art. 195). None otherwise: an unpreserved
        guarantee ends with its period, and a general guarantee's limitation starts only when the
        guarantor's defence of prior enforcement ends, which is outside what the system records."""
        if self.act is not RequiredAct.demand_guarantor or not self.preserved:
            return None
        assert self.act_done_on is not None
        return limitation_end(self.act_done_on, [self.interrupted_on] if self.interrupted_on else [])

    def liable_on(self, day: date) -> bool:
        """The guarantor can still be held liable on ``day``."""
        if not self.preserved:
            return day <= self.period_end
        end = self.debt_limitation_end()
        return end is None or day <= end

    def lead_date(self, lead_days: int) -> date:
        """The day on which the daily run must act if the act is still not done."""
        return add_days(self.period_end, -lead_days)


def guarantee_status(
    kind: GuaranteeType,
    maturity_on: date,
    agreed_end: date | None,
    demanded_on: date | None,
    sued_on: date | None,
    interrupted_on: date | None = None,
) -> GuaranteeStatus:
    """The period, the act it requires, when (if ever) that act was done, and the latest
    interruption of the guarantee debt's limitation."""
    act = required_act(kind)
    done = demanded_on if act is RequiredAct.demand_guarantor else sued_on
    if done is not None and done < maturity_on and act is RequiredAct.demand_guarantor:
        done = None  # a demand before the debt fell due does not preserve the claim
    return GuaranteeStatus(guarantee_period_end(maturity_on, agreed_end), act, done, interrupted_on)


def limitation_end(maturity_on: date, interruptions: list[date] | tuple[date, ...] = ()) -> date:
    """Art. 188/195: three years from maturity, restarting from the latest interruption
    (a demand, the debtor's consent such as a part payment or an installment agreement, a suit)."""
    start = max([maturity_on, *interruptions])
    return add_years(start, LIMITATION_YEARS)


def enforcement_apply_by(perform_by: date) -> date:
    """Civil Procedure Law Art. 250: two years from the last day of the performance period."""
    return add_years(perform_by, ENFORCEMENT_YEARS)


def foreclosed_dispose_by(taken_on: date) -> date:
    """Commercial Bank Law Art. 42: property taken in settlement is disposed of within 2 years."""
    return add_years(taken_on, FORECLOSED_DISPOSAL_YEARS)
