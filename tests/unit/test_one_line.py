"""A refused operation is logged as one line without a stack trace; a bug keeps its traceback."""

from __future__ import annotations

import logging
import sys

from flows.one_line import OneLineRefusals
from models.domain.errors import RuleViolation


def record_of(exc: BaseException, msg: str = "Encountered exception during execution: %r") -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, msg, (exc,), info)


def test_a_refusal_is_one_line_without_a_traceback() -> None:
    record = record_of(RuleViolation("a judgment is recorded for a case in litigation"))
    assert OneLineRefusals().filter(record)
    text = logging.Formatter().format(record)
    assert text == "refused: a judgment is recorded for a case in litigation"


def test_a_bug_keeps_its_traceback() -> None:
    record = record_of(ZeroDivisionError("division by zero"))
    OneLineRefusals().filter(record)
    assert "Traceback" in logging.Formatter().format(record)


def test_a_parameter_that_does_not_validate_is_one_line() -> None:
    record = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "%s %s",
                               ("Validation of flow parameters failed with error:", "1 validation error\namount\n  Value error, amount: …"), None)
    OneLineRefusals().filter(record)
    assert "\n" not in record.getMessage() and "amount: …" in record.getMessage()
