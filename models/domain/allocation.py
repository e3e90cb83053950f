"""Payment allocation: costs → penalty → compound → interest → principal (Civil Code Art. 561),
then the doubled interest for delayed performance of a judgment (SPC 2014 interpretation Art. 4)."""

from __future__ import annotations

from dataclasses import dataclass

# Civil Code Art. 561: "(一)实现债权的有关费用;(二)利息;(三)主债务" — costs, then interest (penalty
# interest first, then compound interest, then contractual interest: the bank's order within
# "利息"), then principal; the doubled delayed-performance interest last (SPC 2014 Art. 4, below).
ORDER = ("costs", "penalty", "compound", "interest", "principal", "delayed")
# the four components an agreed order may name (compound follows penalty, delayed comes last)
CORE = ("costs", "penalty", "interest", "principal")


def _complete(order: tuple[str, ...]) -> tuple[str, ...]:
    """An agreed order naming only the four core components, with compound interest right after
    penalty and the delayed-performance interest last; any other order as given."""
    if sorted(order) != sorted(CORE):
        return order
    completed: list[str] = []
    for name in order:
        completed.append(name)
        if name == "penalty":
            completed.append("compound")
    return (*completed, "delayed")


@dataclass(frozen=True)
class Balances:
    """What a debtor owes, in integer fen."""

    principal: int = 0
    interest: int = 0
    penalty: int = 0
    costs: int = 0
    compound: int = 0  # compound interest on contractual interest unpaid when due (PBoC 2003 notice)
    delayed: int = 0  # doubled interest for delayed performance of a judgment (Civil Procedure Law Art. 264)

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.costs + self.compound + self.delayed

    def minus(self, other: "Balances") -> "Balances":
        return Balances(
            self.principal - other.principal,
            self.interest - other.interest,
            self.penalty - other.penalty,
            self.costs - other.costs,
            self.compound - other.compound,
            self.delayed - other.delayed,
        )


@dataclass(frozen=True)
class Allocation:
    """How one payment was applied; ``remainder`` is what the debt could not absorb."""

    costs: int
    penalty: int
    interest: int
    principal: int
    remainder: int
    compound: int = 0
    delayed: int = 0

    @property
    def applied(self) -> Balances:
        return Balances(self.principal, self.interest, self.penalty, self.costs, self.compound, self.delayed)

    @property
    def total(self) -> int:
        """The parts and the remainder: the payment, exactly."""
        return self.applied.total + self.remainder


def _take_in_order(amount_fen: int, owed: object, order: tuple[str, ...], names: tuple[str, ...]) -> tuple[dict[str, int], int]:
    """Take ``amount_fen`` from the components of ``owed`` in ``order`` (each of ``names`` once):
    the part taken from each and what is left over, which add up to the payment exactly."""
    if amount_fen < 0:
        raise ValueError("a payment cannot be negative")
    if sorted(order) != sorted(names):
        raise ValueError(f"allocation order must name each of {names} once")
    left = amount_fen
    parts: dict[str, int] = {}
    for name in order:
        take = min(left, max(getattr(owed, name), 0))
        parts[name] = take
        left -= take
    return parts, left


def allocate(amount_fen: int, owed: Balances, order: tuple[str, ...] = ORDER) -> Allocation:
    """Apply ``amount_fen`` to ``owed`` in ``order`` (an agreed order may name the four core
    components only); the parts and remainder add up exactly. On a judgment debt the default
    order is ``allocate_judgment``'s: the judgment's money debt first, ``delayed`` last."""
    parts, left = _take_in_order(amount_fen, owed, _complete(order), ORDER)
    return Allocation(remainder=left, **parts)


# --- a payment on a judgment debt (SPC 2014 delayed-performance interpretation, Art. 4) --------------

# Art. 4 of 法释〔2014〕8号: "被执行人的财产不足以清偿全部债务的，应当先清偿生效法律文书确定的金钱债务，再清偿
# 加倍部分债务利息，但当事人对清偿顺序另有约定的除外" — the money debt the judgment determined first,
# the doubled part of the delayed-performance interest last, unless the parties agreed otherwise.
# Within the judgment's money debt the Civil Code Art. 561 order above still applies.
JUDGMENT_ORDER = CORE + ("delayed",)  # ORDER without compound (JudgmentBalances counts it in penalty)


@dataclass(frozen=True)
class JudgmentBalances:
    """What a judgment debtor owes, in integer fen: the judgment's money debt by component
    (``costs`` including the litigation costs the judgment put on the debtor, ``penalty``
    including compound interest, ``interest`` including the ordinary interest for the delay
    the judgment's method gives) and ``delayed``, the doubled part of the interest for delayed
    performance (Civil Procedure Law Art. 264)."""

    principal: int = 0
    interest: int = 0
    penalty: int = 0
    costs: int = 0
    delayed: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.costs + self.delayed


@dataclass(frozen=True)
class JudgmentAllocation:
    """How one payment on a judgment debt was applied; ``remainder`` is what it could not absorb."""

    costs: int
    penalty: int
    interest: int
    principal: int
    delayed: int
    remainder: int

    @property
    def total(self) -> int:
        return self.costs + self.penalty + self.interest + self.principal + self.delayed + self.remainder


def allocate_judgment(
    amount_fen: int, owed: JudgmentBalances, order: tuple[str, ...] = JUDGMENT_ORDER
) -> JudgmentAllocation:
    """Apply ``amount_fen`` to a judgment debt: the judgment's money debt in the Art. 561 order,
    then the doubled delayed-performance interest (SPC 2014 interpretation, Art. 4). Another
    ``order`` only where the parties agreed one; the parts and remainder add up exactly."""
    parts, left = _take_in_order(amount_fen, owed, order, JUDGMENT_ORDER)
    return JudgmentAllocation(remainder=left, **parts)
