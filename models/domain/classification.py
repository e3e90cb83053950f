"""Five-category risk classification (2023 measures; in force 2023-07-01) and days past due."""

from __future__ import annotations

from datetime import date
from enum import Enum

from models.domain.dates import add_months


class Category(str, Enum):
    """The five categories, best first."""

    normal = "normal"
    special_mention = "special_mention"
    substandard = "substandard"
    doubtful = "doubtful"
    loss = "loss"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def non_performing(self) -> bool:
        return self.rank >= Category.substandard.rank


_ORDER = list(Category)

# (lowest DPD, category): the floor for a DPD is the last entry whose bound it reaches.
DPD_FLOORS: tuple[tuple[int, Category], ...] = (
    (0, Category.normal),
    (1, Category.special_mention),
    (91, Category.substandard),
    (271, Category.doubtful),
    (361, Category.loss),
)


def days_past_due(as_of: date, oldest_unpaid_due: date | None) -> int:
    """Days from the date the oldest unpaid amount fell due to ``as_of``; 0 when nothing is due."""
    if oldest_unpaid_due is None or as_of <= oldest_unpaid_due:
        return 0
    return (as_of - oldest_unpaid_due).days


def oldest_unpaid_due(
    maturity_on: date,
    overdue_since: date | None,
    as_of: date,
    unpaid_installments: list[date] | tuple[date, ...] = (),
) -> date | None:
    """The date the oldest unpaid amount fell due, as of ``as_of``.

    Under an installment schedule, the oldest unpaid line that has fallen due; otherwise the
    core banking system's ``overdue_since`` or the final maturity, whichever is earlier among
    those that have passed (an unpaid maturity is never ignored because of a later date).
    """
    if unpaid_installments:
        due = [d for d in unpaid_installments if d < as_of]
        return min(due) if due else None
    due = [d for d in (overdue_since, maturity_on) if d is not None and d < as_of]
    return min(due) if due else None


def dpd_floor(dpd: int) -> Category:
    """The classification floor the regulator sets for a number of days past due."""
    floor = Category.normal
    for bound, category in DPD_FLOORS:
        if dpd >= bound:
            floor = category
    return floor


def worst(*categories: Category | None) -> Category:
    """The worst of the categories given (ignoring None)."""
    present = [c for c in categories if c is not None]
    return max(present, key=lambda c: c.rank) if present else Category.normal


def classify(
    dpd: int,
    *,
    as_of: date,
    staff: Category | None = None,
    restructured_on: date | None = None,
    restructured_while_npl: bool = False,
    observation_months: int = 12,
) -> Category:
    """The category: the DPD floor, raised by the restructuring floor and by staff's own view.

    A loan restructured (installment agreement) while non-performing stays at least
    substandard until its observation period ends. Staff may classify worse, never better.
    """
    floor = dpd_floor(dpd)
    if (
        restructured_on is not None
        and restructured_while_npl
        and as_of <= add_months(restructured_on, observation_months)
    ):
        floor = worst(floor, Category.substandard)
    return worst(floor, staff)


def first_day_of(category: Category, oldest_due: date) -> date:
    """The first date on which a loan whose oldest unpaid amount fell due on ``oldest_due``
    reaches ``category``'s DPD floor."""
    from models.domain.dates import add_days

    bound = dict((c, b) for b, c in DPD_FLOORS)[category]
    return add_days(oldest_due, bound)
