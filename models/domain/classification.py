"""Five-category risk classification (2023 measures; in force 2023-07-01) and days past due."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import TYPE_CHECKING

from models.domain.dates import add_months
from models.domain.errors import BadInput, ClassificationBetterThanFloor

if TYPE_CHECKING:  # pragma: no cover - for the annotation only (restructuring imports this module)
    from models.domain.restructuring import Restructured


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


# --- days past due from the oldest amount still unpaid (issue 15 rule 2) ------------------------


def oldest_unpaid_amount(
    fell_due: Iterable[tuple[date, int]], payments: Iterable[tuple[date, int]], as_of: date
) -> date | None:
    """The due date of the oldest amount still unpaid at ``as_of``, or None when all are paid.

    ``fell_due``: ``(due date, fen)`` of each amount of principal or interest the loan owes;
    ``payments``: ``(date, fen)`` applied to those amounts, oldest amount first. Only payments
    made on or before ``as_of`` count, and only amounts due before ``as_of`` are overdue (the
    debtor has the whole due date). So a payment that clears the oldest overdue amount moves
    the date forward to the next unpaid one, and clearing every overdue amount gives None
    (0 days past due; DOMAIN.md §3: days past due count from the oldest amount still unpaid).
    """
    paid = sum(fen for on, fen in payments if on <= as_of)
    for due_on, fen in sorted(fell_due, key=lambda a: a[0]):
        if paid >= fen:
            paid -= fen
            continue
        return due_on if due_on < as_of else None
    return None


# --- classification with staff judgement (issue 15 rules 3 and 8) -------------------------------


@dataclass(frozen=True)
class Classified:
    """A loan's category, the floor it may not be better than, and why it is what it is."""

    category: Category
    floor: Category
    reason: str


def classify_with_judgement(
    dpd: int,
    *,
    restructured: Restructured | None = None,
    staff: Category | None = None,
    staff_reason: str | None = None,
    closed: bool = False,
) -> Classified | None:
    """The category from the DPD floor, the restructured floor and staff's judgement.

    The floor is the worse of the DPD floor and the restructured asset's floor (2023 measures,
    Art. 20 and DOMAIN.md §3). Staff may classify worse than the floor, never better: a better
    category raises :class:`ClassificationBetterThanFloor` naming the floor; a worse one needs
    a reason. A closed loan has no current classification: None (the caller keeps the one it
    had at close, issue 15 rule 8).
    """
    if dpd < 0:
        raise BadInput(f"days past due cannot be negative: {dpd}")
    if closed:
        return None
    dpd_category = dpd_floor(dpd)
    floor, reason = dpd_category, _dpd_reason(dpd, dpd_category)
    if restructured is not None and restructured.floor.rank > floor.rank:
        floor = restructured.floor
        reason = (
            f"restructured on {restructured.on}, in observation {restructured.observation_from}"
            f"..{restructured.observation_until}: at least {floor.value}"
        )
    if staff is None or staff == floor:
        return Classified(floor, floor, reason)
    if staff.rank < floor.rank:
        raise ClassificationBetterThanFloor(staff.value, floor.value, reason)
    if not staff_reason or not staff_reason.strip():
        raise BadInput(f"classifying {staff.value}, worse than the floor {floor.value}, needs a reason")
    return Classified(staff, floor, f"staff judgement: {staff_reason.strip()} (floor {floor.value}: {reason})")


def _dpd_reason(dpd: int, category: Category) -> str:
    if dpd == 0:
        return "nothing past due"
    return f"{dpd} {'day' if dpd == 1 else 'days'} past due: at least {category.value}"


# --- a non-retail debtor's claims together (2023 measures Art. 7 para. 2) ------------------------

DEBTOR_NPL_SHARE = Fraction(1, 10)


def debtor_floor(
    claims: Iterable[tuple[Category, int | Decimal]], *, retail: bool, recognised_enhancement: bool = False
) -> Category | None:
    """Substandard for every claim on a non-retail debtor when more than 10% of its claims at
    the bank are non-performing, else None (no debtor-wide floor).

    2023 measures Art. 7 para. 2: "商业银行对非零售债务人在本行的债权超过10%被分为不良的，对该债务人在
    本行的所有债权均应归为不良。经国务院金融管理部门认可的增信方式除外。" ``claims``: ``(category,
    outstanding principal)`` of the debtor's open claims; the share is by principal (the text
    does not say by what; principal is what rule 7 measures). Exactly 10% is not "more than".
    ``recognised_enhancement``: a credit enhancement the State Council's financial regulator
    recognises, the article's exception.
    """
    if retail or recognised_enhancement:
        return None
    bad = total = Fraction(0)
    for category, principal in claims:
        total += Fraction(principal)
        if category.non_performing:
            bad += Fraction(principal)
    if total > 0 and bad / total > DEBTOR_NPL_SHARE:
        return Category.substandard
    return None


# --- NPL ratio (issue 15 rule 7) -------------------------------------------------------------------

RATIO_PLACES = Decimal("0.0001")


def npl_ratio(loans: Iterable[tuple[Category | None, int | Decimal]]) -> Decimal | None:
    """Principal of substandard + doubtful + loss loans ÷ principal of all open loans.

    ``loans``: ``(category, outstanding principal)`` of each loan; a closed loan (category
    None) counts in neither sum. The result is a fraction (0.1234 = 12.34%), quantized to four
    places half-up; None when the open loans owe no principal (the ratio is undefined). Only
    principal counts: interest receivable is reported apart (issue 15 rule 7; Art. 6 of the 2023
    measures names substandard, doubtful and loss together as non-performing).
    """
    bad = total = Decimal(0)
    for category, principal in loans:
        if category is None:
            continue
        amount = Decimal(principal)
        if amount < 0:
            raise BadInput(f"outstanding principal cannot be negative: {principal}")
        total += amount
        if category.non_performing:
            bad += amount
    if total == 0:
        return None
    # exact quotient first, then one rounding (no intermediate rounding at the context's precision)
    scaled = Fraction(bad) / Fraction(total) * 10_000
    return (Decimal(int(scaled + Fraction(1, 2))) / 10_000).quantize(RATIO_PLACES)
