"""Operator and loan identifiers: one spelling per identity, from a safe alphabet.

People type ids; spreadsheets and phones rewrite them. ``Ｅ-01`` (full-width), ``E‐01`` (U+2010
hyphen) and ``E-01`` followed by a zero-width space are all the operator ``e-01``. The rule:

1. invisible characters (Unicode category Cf: zero-width space and joiners, U+00AD soft hyphen,
   U+2060 word joiner, U+FEFF byte-order mark, bidi controls …) are removed;
2. Unicode NFKC (full-width and compatibility forms become their plain letters and digits);
3. every dash-like character (category Pd — U+2010–U+2015, U+FE58, U+FE63, U+FF0D … — and the
   minus signs U+2212, U+207B, U+208B, U+2796) becomes '-';
4. case-folded (then NFKC again, as Unicode's NFKC_Casefold does), surrounding whitespace stripped;
5. the result must use only ASCII letters, digits, '-', '_' and '.'; any other character is
   refused, naming it by code point. A look-alike that NFKC does not map into ASCII — Cyrillic
   'С' (U+0421), Greek 'Ε' (U+0395) — is refused, not guessed at.

By design no "confusable" folding is done beyond that: ``E-0l`` (letter l) and ``E-01`` (digit
one) are different, well-formed ids. The operator register decides who exists; an id that is not
registered does not act once the register is in use.
"""

from __future__ import annotations

import unicodedata

from models.domain.errors import BadInput

MAX_LENGTH = 64  # the width of every id column
SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
MINUS_SIGNS = frozenset("\u2212\u207b\u208b\u2796")


class IdentifierError(BadInput):
    """An id that cannot be made well-formed; the message names the offending character."""


def _plain(text: str) -> str:
    """Steps 1–3: invisibles removed, NFKC, one kind of dash; case kept."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    composed = unicodedata.normalize("NFKC", visible)
    return "".join("-" if ch in MINUS_SIGNS or unicodedata.category(ch) == "Pd" else ch for ch in composed).strip()


def _fold(text: str) -> str:
    """Steps 1–4 without the alphabet check (also used per character to find the culprit)."""
    return unicodedata.normalize("NFKC", _plain(text).casefold()).strip()


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _normalize(text: str | None, what: str) -> str:
    if text is None:
        raise IdentifierError(f"{what} is empty")
    folded = _fold(text)
    if not folded:
        raise IdentifierError(f"{what} is empty")
    bad = next((ch for ch in folded if ch not in SAFE), None)
    if bad is not None:
        # Name the character as it was given (the Cyrillic capital, not its folded small form).
        original = next((ch for ch in text if any(c not in SAFE for c in _fold(ch))), bad)
        raise IdentifierError(
            f"{what} {text.strip()!r} contains {_describe(original)}: ids use only ASCII letters, digits, '-', '_' and '.'"
        )
    if len(folded) > MAX_LENGTH:
        raise IdentifierError(f"{what} is longer than {MAX_LENGTH} characters")
    return folded


def normalize_operator_id(text: str | None) -> str:
    """The operator id as compared and stored (see the module rule); IdentifierError if not well-formed."""
    return _normalize(text, "operator id")


def display_id(text: str, what: str = "id") -> str:
    """How a well-formed id is shown and may be stored: ``Ｅ‐01`` → ``E-01`` (steps 1–3, case kept).

    Refuses exactly what normalize_* refuses; compare and look up with normalize_*."""
    _normalize(text, what)
    return _plain(text)


def normalize_loan_id(text: str | None) -> str:
    """The loan id by the same rule as operator ids; IdentifierError naming a look-alike character."""
    return _normalize(text, "loan id")
