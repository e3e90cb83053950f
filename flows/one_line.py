"""A refused operation ends its run Failed with ONE line saying why: no stack trace in its logs.

The services raise ``NplError`` subclasses (``RuleViolation``, ``BadInput``, ``NotFound``) for a
request the rules refuse; Prefect's engine logs any exception a flow raises with its traceback
("Encountered exception during execution"; a parameter that does not validate, as "Engine
execution exited with unexpected exception") and a parameter that does not validate as pydantic's
several-line report. ``install()`` adds a filter to the flow-run logger that writes those records
as one line (the refusal's own message; the validation errors joined with "; "); any other
exception keeps its traceback — a bug must stay visible.
"""

from __future__ import annotations

import logging

from models.domain.errors import NplError

VALIDATION = "Validation of flow parameters failed with error:"


def one_line(text: object) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


class OneLineRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # imported here: ``flows`` installs this filter as it is imported, and importing prefect
        # then would fix its settings before the command line's defaults (flows.prefect_env) are set
        from prefect.exceptions import ParameterTypeError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (NplError, ParameterTypeError)):
            record.msg, record.args = "refused: %s", (one_line(exc),)
            record.exc_info = record.exc_text = None
        elif isinstance(record.args, tuple) and record.args and record.args[0] == VALIDATION:
            record.msg, record.args = "%s", (one_line(" ".join(str(a) for a in record.args)),)
        return True


_FILTER = OneLineRefusals()


def install() -> None:
    """Idempotent: the filter is added once to each logger Prefect's flow engine writes through
    (``prefect.flow_runs`` in a run; ``prefect.engine`` before the run's context exists)."""
    for name in ("prefect.flow_runs", "prefect.engine"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
