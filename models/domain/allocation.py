"""Payment allocation: costs → penalty → interest → principal (Civil Code Art. 561)."""

from __future__ import annotations

from dataclasses import dataclass

ORDER = ("costs", "penalty", "interest", "principal")


@dataclass(frozen=True)
class Balances:
    """What a debtor owes, in integer fen."""

    principal: int = 0
    interest: int = 0
    penalty: int = 0
    costs: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.costs

    def minus(self, other: "Balances") -> "Balances":
        return Balances(
            self.principal - other.principal,
            self.interest - other.interest,
            self.penalty - other.penalty,
            self.costs - other.costs,
        )


@dataclass(frozen=True)
class Allocation:
    """How one payment was applied; ``remainder`` is what the debt could not absorb."""

    costs: int
    penalty: int
    interest: int
    principal: int
    remainder: int

    @property
    def applied(self) -> Balances:
        return Balances(self.principal, self.interest, self.penalty, self.costs)


def allocate(amount_fen: int, owed: Balances, order: tuple[str, ...] = ORDER) -> Allocation:
    """Apply ``amount_fen`` to ``owed`` in ``order``; the parts and remainder add up exactly."""
    if amount_fen < 0:
        raise ValueError("a payment cannot be negative")
    if sorted(order) != sorted(ORDER):
        raise ValueError(f"allocation order must name each of {ORDER} once")
    left = amount_fen
    parts: dict[str, int] = {}
    for name in order:
        take = min(left, max(getattr(owed, name), 0))
        parts[name] = take
        left -= take
    return Allocation(remainder=left, **parts)
