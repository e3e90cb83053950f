"""The project's exception hierarchy: one root, translated to exit codes only at the edge."""


class NplError(Exception):
    """Root of every error npl-collect raises on purpose."""


class RuleViolation(NplError):
    """A business rule refused the operation (the CLI exits 1)."""


class BadInput(NplError):
    """The input itself is malformed (the CLI exits 2)."""


class NotFound(RuleViolation):
    """The loan, guarantor or asset named does not exist."""


class ConcurrentUpdate(RuleViolation):
    """Someone else changed the case meanwhile; nothing was written."""


class ClassificationBetterThanFloor(RuleViolation):
    """Staff asked for a category better than the regulator's floor (worse only, never better)."""

    def __init__(self, requested: str, floor: str, reason: str) -> None:
        self.requested, self.floor, self.reason = requested, floor, reason
        super().__init__(f"cannot classify {requested}: the floor is {floor} ({reason}); staff may classify worse, never better")


class PenaltyUpliftOutOfRange(RuleViolation):
    """A penalty-rate uplift outside what the PBoC 2003 notice (item 三) allows."""

    def __init__(self, uplift: object, lower: object, upper: object, misused: bool) -> None:
        self.uplift, self.lower, self.upper, self.misused = uplift, lower, upper, misused
        kind = "a loan used against its agreed purpose" if misused else "an overdue loan"
        bound = f"at least {lower}" if _below(uplift, lower) else f"at most {upper}"
        super().__init__(f"penalty uplift {uplift} for {kind} must be {bound} (allowed {lower}-{upper}; PBoC 2003 notice item 三)")


def _below(value: object, bound: object) -> bool:
    try:
        return value < bound  # type: ignore[operator]
    except TypeError:  # pragma: no cover - both are Decimals in practice
        return False


class ObservationBelowStatute(BadInput):
    """A restructured-asset observation policy shorter than the 2023 measures' minimum (Art. 20)."""
