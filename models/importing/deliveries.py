"""The deliveries file: the mail room's (or the courier's) confirmations that demand letters
reached their party, one letter per row (CONTRACT.md extension, issue 14 part 6):
``letter_no, delivered_on`` [, ``tracking``, ``method``].

Each row records the letter as served — a demand act, exactly as ``npl served`` does. The
recording is the letters service's: the use case passes it in as
``loading.services["deliveries"]``, called once per row in date order with the row's
:class:`Delivery`; it answers None when recorded, else ``(column, reason)`` (an unknown letter
number, a letter already served, a date before the letter or after the last business date run).
An empty ``method`` means the method the letter was planned for (its register's ``method``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from models.importing.fields import Field, RowParser, choice_field, date_field, text_field
from models.importing.files import Source
from models.importing.loaders import Kind, Loading, read_rows
from models.importing.rejects import Rejects
METHODS = ("in_person", "mail", "electronic", "announcement")  # as models.letters.METHODS (npl served --method)

REQUIRED = ("letter_no", "delivered_on")
OPTIONAL = ("tracking", "method")

DELIVERY_FIELDS: tuple[Field, ...] = (
    ("letter_no", text_field(64), True),
    ("delivered_on", date_field, True),
    ("tracking", text_field(200), False),
    ("method", choice_field(METHODS), False),
)


@dataclass(frozen=True)
class Delivery:
    letter_no: str
    delivered_on: date
    tracking: str | None
    method: str | None


Record = Callable[[Session, Delivery], "tuple[str, str] | None"]


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    record: Record | None = loading.services.get("deliveries")
    if record is None:
        raise RuntimeError("a deliveries file is recorded through the letters service: import it through services.importing")
    parse = RowParser(DELIVERY_FIELDS, source)
    accepted: list[tuple[int, list[str], Delivery]] = []
    for line, row in read_rows(source, rejects):
        values, problems = parse(row)
        if problems:
            rejects.add(line, row, problems)
            continue
        accepted.append((line, row, Delivery(*values)))
    imported = 0
    for line, row, delivery in sorted(accepted, key=lambda item: (item[2].delivered_on, item[0])):
        refused = record(loading.store.session, delivery)
        if refused is not None:
            rejects.add(line, row, [refused])
            continue
        imported += 1
    rejects.flush()
    return imported


KIND = Kind("deliveries", REQUIRED, OPTIONAL, load)
