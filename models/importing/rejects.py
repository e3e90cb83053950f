"""Rejected rows: reported (file, line, column, reason) and written to ``<stem>.rejects.csv``.

The rejects file sits beside its input: the original columns plus ``line,column,reason``
(cells a spreadsheet would run as formulas get a leading apostrophe there; ``id_number`` and
``phone`` are masked as ``models.privacy`` masks them everywhere). It is written to
a temporary file and put in place only when the import commits; a stale one is removed.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Protocol

from models.domain.errors import BadInput
from models.importing.fields import FORMULA_RAW, FORMULA_TEXT
from models.importing.files import Source
from models.importing.report import Rejected
from models.privacy import mask_id, mask_phone

# personal data echoed into a rejects file is masked as in every other output (issue 16 part 8)
MASKED = {"id_number": mask_id, "phone": mask_phone}

def cell_for_spreadsheet(value: str) -> str:
    """Echoed cells that a spreadsheet would run as a formula get a leading apostrophe."""
    if value[:1] and value[0] in FORMULA_RAW + FORMULA_TEXT and not SIGNED_NUMBER(value):
        return "'" + value
    return value


SIGNED_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?").fullmatch


RejectedRow = tuple[int, list[str], list[tuple[str, str]]]  # (line, cells, problems) of a row not taken


class RejectSink(Protocol):
    """Where a reader reports a row it does not take."""

    def add(self, line: int, row: list[str], problems: list[tuple[str, str]]) -> None: ...


class RejectsBuffer:
    """Rows rejected while a batch is read (or written), until they are written in line order."""

    def __init__(self) -> None:
        self.pending: list[RejectedRow] = []

    def add(self, line: int, row: list[str], problems: list[tuple[str, str]]) -> None:
        self.pending.append((line, row, problems))

    def take(self) -> list[RejectedRow]:
        taken, self.pending = self.pending, []
        return taken


class Rejects(RejectsBuffer):
    """Collects one file's rejected rows; writes them, line-ordered, to a temp file beside it."""

    def __init__(self, source: Source, out: list[Rejected]):
        super().__init__()
        self.source = source
        self.out = out
        self.count = 0
        self._tmp: Path | None = None
        self._handle: Any = None
        self._writer: Any = None

    def flush(self) -> None:
        """Write the pending rejects, in line order."""
        self.write(self.take())

    def write(self, rejected: list[RejectedRow]) -> None:
        """Write ``rejected`` (a batch's, read and written: ``loaders.in_batches``) in line order."""
        if not rejected:
            return
        if self._writer is None:
            self._open()
        width = len(self.source.header)
        masks = [(at, MASKED[name]) for name, at in self.source.index.items() if name in MASKED and at < width]
        rejected.sort(key=lambda item: item[0])
        for line, row, problems in rejected:
            column, reason = problems[0]
            if len(problems) > 1:
                reason += "; also " + "; ".join(f"{col}: {why}" for col, why in problems[1:])
            cells = [cell_for_spreadsheet(cell) for cell in row[:width]]
            cells += [""] * (width - len(cells))
            for at, mask in masks:
                cells[at] = mask(cells[at].strip()) or cells[at]
            self._writer.writerow([*cells, line, column, reason])
            self.out.append(Rejected(self.source.name, line, column, reason))
        self.count += len(rejected)

    def _open(self) -> None:
        final = self.source.rejects_path
        try:
            fd, tmp = tempfile.mkstemp(prefix=final.name + ".", suffix=".tmp", dir=final.parent)
        except OSError as error:
            raise BadInput(f"{self.source.name}: cannot write rejects file {final}: {error.strerror}") from None
        self._tmp = Path(tmp)
        encoding = "utf-8-sig" if self.source.bom else "utf-8"
        self._handle = os.fdopen(fd, "w", encoding=encoding, newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*self.source.header, "line", "column", "reason"])

    def publish(self) -> Path | None:
        """Put the rejects file in place (or remove a stale one when nothing was rejected)."""
        final = self.source.rejects_path
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tmp is None:
            final.unlink(missing_ok=True)
            return None
        try:  # mkstemp makes it private; give it the input's permissions instead
            os.chmod(self._tmp, stat.S_IMODE(self.source.path.stat().st_mode))
        except OSError:  # pragma: no cover - best effort
            pass
        os.replace(self._tmp, final)
        self._tmp = None
        return final

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


