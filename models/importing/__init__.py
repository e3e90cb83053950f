"""The core-banking export in: CSV files → validated rows → set-wise upsert, with rejects.

CONTRACT.md, "Import files". Which file is which is told by its header (names trimmed, case
ignored; unknown columns ignored). Every file is read whole first (valid UTF-8, a BOM allowed;
parseable CSV; a known header; at least one data row): one unreadable file refuses the call
with BadInput before anything is written. Then loans files are loaded, then guarantors, then
collateral (so guarantors may name loans from a loans file of the same call), in batches of
core ``INSERT ... ON CONFLICT DO UPDATE`` statements, in one transaction committed at the end.

The use case (open the unit of work, import, return the report) is ``services.importing``.
Here: ``files`` (whole-file checks, the kind told by the header), ``fields`` (cell rules),
one module per kind (``loans``, ``guarantors``, ``collateral``) on the shared ``loaders``,
``rejects``, ``upsert`` (set-wise writing) and ``load`` (one call, the kinds registry).

A row that fails validation is reported as a :class:`Rejected` (file, physical line where the
record starts, the first problem's column, every problem in the reason) and written to
``<stem>.rejects.csv`` beside its input: the original columns plus ``line,column,reason``
(cells a spreadsheet would run as formulas get a leading apostrophe there). Every valid row
lands; blank lines are skipped.

Rules worth knowing when reading the data:

- amounts are plain decimal text (``1234.5``): no sign, no thousands separators, at most two
  decimals; the annual rate is a fraction in [0, 1] with at most six decimals (``0.0657``);
  enumerations are matched case-insensitively;
- free text and identifiers must fit their column, hold no control characters, and not look
  like a spreadsheet formula (``= + - @``, or a leading tab or carriage return; a phone
  number may start with ``+`` and a digit);
- a blank optional identity or contact field of a person (id_number, phone, address, employer,
  employer_type, credit_rating, guarantor_id) never erases what is already on file, and a
  blank collateral status keeps the recorded one; every other field takes the export's value;
- a re-imported loan keeps its case (state, history, penalty, costs, and its assignee once it
  is in collection), is marked touched, its ``next_event_on`` only ever moves earlier, and its
  ``version`` is bumped so optimistic-locking writers see the change; a guarantor import
  touches (and bumps) its loans the same way.
"""

from models.importing.load import KINDS, import_files
from models.importing.loaders import BATCH_ROWS, Kind
from models.importing.report import ImportedFile, ImportReport, Rejected

__all__ = ["BATCH_ROWS", "KINDS", "ImportReport", "ImportedFile", "Kind", "Rejected", "import_files"]
