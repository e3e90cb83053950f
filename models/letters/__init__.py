"""Demand letters as PDF, in Chinese, and the batch register for the mail room.

A pure rendering layer: it takes plain data (a :class:`Letter`) and writes files. It decides
nothing — which letters are due, their numbers and the amounts owed come from the caller (the
acts/clocks code and the same money code as ``npl show``).

- to the borrower: 逾期贷款催收通知书 (overdue loan demand notice);
- to a guarantor: 履行保证责任通知书 (notice to perform the guarantee);

each on A4, one page (two when the addresses or the legal basis are long), with a tear-off
receipt slip (回执) below a dashed cut line: signature, date and thumbprint, which is the
evidence that makes the demand count (SPC limitation rules 2020 Art. 8(1): the recipient signs,
seals or thumb-prints the document).

Library and font: reportlab (pure Python; its TrueType support embeds a subset of the glyphs
used, with a ToUnicode map, so the Chinese prints on any machine and extracts as text) and
WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``, TrueType outlines in a .ttc collection, which
reportlab reads with ``subfontIndex``). ``NPL_LETTER_FONT`` names another TrueType font file
(a .ttf, or a .ttc whose first face is used). CFF-based OpenType fonts (e.g. Noto CJK .otf/.ttc)
are not supported by reportlab's embedding, hence the TrueType one.

A character the font lacks would print as an empty box; a legal notice with a mangled name is
worse than none, so :func:`render_letter` refuses it (:class:`LetterError`) instead.
"""

# The package: the data (texts), the PDF (render) and the mail room's register (register); every
# public name is re-exported here, so ``from models.letters import X`` stays the way to reach them.
# The PDF's and the register's names are loaded when first used (``__getattr__``): reportlab,
# openpyxl and pandas cost a second of every `npl daily`'s start on the test machine, and a date
# with no letter due needs none of them.
from importlib import import_module
from typing import TYPE_CHECKING, Any

from models.letters.texts import (
    GUARANTEE_LABELS,
    GUARANTEE_TYPES,
    KINDS,
    METHOD_LABELS,
    METHODS,
    TITLES,
    FontNotFound,
    GuaranteeType,
    Kind,
    Letter,
    LetterError,
    Method,
    PathArg,
    borrower_legal_basis,
    format_amount,
    format_date,
    guarantor_legal_basis,
)

if TYPE_CHECKING:
    from models.letters.register import REGISTER_COLUMNS, REGISTER_HEADERS_ZH, register_rows, write_register
    from models.letters.render import (
        FONT_CANDIDATES, FONT_ENV, FONT_NAME, WORKERS_ENV, LetterPress, font_path, letter_workers, missing_glyphs,
        render_letter, render_letters,
    )

_LOADED_WHEN_USED = {
    **dict.fromkeys(("REGISTER_COLUMNS", "REGISTER_HEADERS_ZH", "register_rows", "write_register"), "models.letters.register"),
    **dict.fromkeys(("FONT_CANDIDATES", "FONT_ENV", "FONT_NAME", "WORKERS_ENV", "LetterPress", "font_path", "letter_workers",
                     "missing_glyphs", "render_letter", "render_letters"), "models.letters.render"),
}


def __getattr__(name: str) -> Any:
    module = _LOADED_WHEN_USED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FONT_CANDIDATES",
    "FONT_ENV",
    "FONT_NAME",
    "GUARANTEE_LABELS",
    "GUARANTEE_TYPES",
    "KINDS",
    "METHODS",
    "METHOD_LABELS",
    "REGISTER_COLUMNS",
    "REGISTER_HEADERS_ZH",
    "TITLES",
    "WORKERS_ENV",
    "FontNotFound",
    "GuaranteeType",
    "Kind",
    "Letter",
    "LetterError",
    "LetterPress",
    "Method",
    "PathArg",
    "borrower_legal_basis",
    "font_path",
    "format_amount",
    "format_date",
    "guarantor_legal_basis",
    "letter_workers",
    "missing_glyphs",
    "register_rows",
    "render_letter",
    "render_letters",
    "write_register",
]
