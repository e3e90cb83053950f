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
