"""Safe retries: an operation run again with the same idempotency key returns what it recorded
the first time and books nothing.

A key is the Prefect flow run id (a "Retry" of a run keeps its id) or one the caller supplies
(``npl pay … --key K``, the form's ``key``). ``idempotent(operation)`` gives a service an
optional ``key`` argument: a key already recorded returns the recorded result, rebuilt as the
service's own result type; a new one is written in the operation's own transaction (the
service's ``finish``), so the operation and its key commit together or not at all. Two runs
racing with one key: the second's insert of the key fails, its whole transaction is rolled back,
and it returns what the first recorded.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields, is_dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import wraps
from typing import Any, Callable, TypeVar

from sqlalchemy.exc import IntegrityError

from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork
from models.tables import OperationKey

T = TypeVar("T")
KEY_MAX = 128
_PENDING = "npl.operation_key"  # session.info entry: the key the current operation records


# --- results to JSON and back ------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A result in JSON's terms: money as two-decimal strings, dates ISO (as the contract prints)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(kind: Any, data: Any) -> Any:
    """``data`` (from ``to_json``) as a value of type ``kind``: dataclasses, Decimal, date,
    optional values, tuples, plain JSON values."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(kind) if a is not type(None)]
        return from_json(inner, data)
    if origin in (tuple, list):
        inner = typing.get_args(kind)[0]
        return tuple(from_json(inner, v) for v in data)
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_json(hints[f.name], data[f.name]) for f in fields(kind) if f.name in data})
    if kind is Decimal:
        return Decimal(data)
    if kind is date:
        return date.fromisoformat(data)
    return data


# --- the key ------------------------------------------------------------------------------------------


def checked_key(key: str) -> str:
    key = key.strip()
    if not key:
        raise BadInput("{key} must not be empty")
    if len(key) > KEY_MAX or not key.isprintable():
        raise BadInput(f"{{key}} must be at most {KEY_MAX} printable characters")
    return key


def recorded(uow: UnitOfWork, key: str, operation: str | None = None, loan_id: str | None = None) -> OperationKey | None:
    """The row recorded under ``key``, if any; refused when it was recorded for another
    operation or loan (a key names one operation, once)."""
    row = uow.session.get(OperationKey, key)
    if row is None:
        return None
    if (operation is not None and row.operation != operation) or (loan_id is not None and row.loan_id != loan_id):
        raise RuleViolation(
            f"key {key!r} was already used for {row.operation} on {row.loan_id} ({row.recorded_at:%Y-%m-%d %H:%M} UTC): "
            "a key names one operation; use a new one")
    return row


def result_of(row: OperationKey, kind: type[T]) -> T:
    """The result recorded in ``row``, as the service's result type ``kind``."""
    return from_json(kind, json.loads(row.result_json))


def finish(uow: UnitOfWork, result: T) -> T:
    """Commit the operation, with its key row when it runs under a key (one transaction)."""
    pending = uow.session.info.get(_PENDING)  # kept for a retry after a lock conflict; the wrapper clears it
    if pending is not None:
        key, operation, loan_id = pending
        uow.session.add(OperationKey(key=key, operation=operation, loan_id=loan_id,
                                     result_json=json.dumps(to_json(result), ensure_ascii=False, sort_keys=True),
                                     recorded_at=datetime.now(timezone.utc)))
    uow.commit()
    return result


def idempotent(operation: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a service (``fn(uow, loan_id, …)`` that ends with ``finish``) an optional ``key``."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        result_type = typing.get_type_hints(fn)["return"]

        @wraps(fn)
        def wrapper(uow: UnitOfWork, loan_id: str, *args: Any, key: str | None = None, **kwargs: Any) -> T:
            if key is None:
                return fn(uow, loan_id, *args, **kwargs)
            key = checked_key(key)
            row = recorded(uow, key, operation, loan_id)
            if row is not None:
                uow.rollback()  # nothing to write: end the read
                return result_of(row, result_type)
            uow.session.info[_PENDING] = (key, operation, loan_id)
            try:
                return fn(uow, loan_id, *args, **kwargs)
            except IntegrityError:  # another run recorded the same key first: its result stands
                uow.rollback()
                row = recorded(uow, key, operation, loan_id)
                if row is None:
                    raise
                return result_of(row, result_type)
            finally:
                uow.session.info.pop(_PENDING, None)

        return wrapper

    return decorate
