"""Demand letters as data: the :class:`Letter`, its legal basis, the labels and the formatting.

Part of :mod:`models.letters` (which re-exports every public name); the PDF is in
:mod:`models.letters.render`, the mail room's register in :mod:`models.letters.register`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from os import PathLike
from typing import Literal

PathArg = str | PathLike[str]
Kind = Literal["borrower", "guarantor"]
GuaranteeType = Literal["joint", "general", "unstated"]
Method = Literal["in_person", "mail", "electronic", "announcement"]

KINDS: tuple[str, ...] = ("borrower", "guarantor")
GUARANTEE_TYPES: tuple[str, ...] = ("joint", "general", "unstated")
METHODS: tuple[str, ...] = ("in_person", "mail", "electronic", "announcement")

TITLES = {"borrower": "逾期贷款催收通知书", "guarantor": "履行保证责任通知书"}
METHOD_LABELS = {
    "in_person": "直接送达",
    "mail": "邮寄送达",
    "electronic": "电子送达",
    "announcement": "公告送达",
}
GUARANTEE_LABELS = {"joint": "连带责任保证", "general": "一般保证", "unstated": "一般保证"}

_FEN = Decimal("0.01")


class LetterError(ValueError):
    """A letter that cannot be rendered faithfully (bad data, or a character the font lacks)."""


class FontNotFound(LetterError):
    """No CJK TrueType font on this machine."""


# --- the data -----------------------------------------------------------------------------------


def borrower_legal_basis() -> str:
    """The legal basis printed on a letter to the borrower (Civil Code, texts in shared/reference)."""
    # Civil Code Art. 667 (a loan contract: repay at maturity with interest), Art. 674 (pay
    # interest when agreed), Art. 675 (repay when agreed), Art. 676 (overdue interest when not
    # repaid on time); Art. 195(1): the creditor's demand interrupts the 3-year limitation of
    # Art. 188 — counted when the letter is signed for or arrives (SPC limitation rules 2020 Art. 8).
    return (
        "《中华人民共和国民法典》第六百六十七条、第六百七十四条、第六百七十五条规定，借款人应当按照约定的期限"
        "支付利息、返还借款；第六百七十六条规定，借款人未按照约定的期限返还借款的，应当按照约定或者国家有关规定"
        "支付逾期利息。本通知系我行依照该法第一百九十五条第（一）项向贵方提出的履行请求，自送达贵方之日起，"
        "第一百八十八条规定的诉讼时效中断，并重新计算。"
    )


def guarantor_legal_basis(guarantee_type: str) -> str:
    """The legal basis printed on a letter to a guarantor, by the guarantee's mode."""
    if guarantee_type == "joint":
        # Civil Code Art. 681 (the guarantee contract), Art. 688 (joint guarantee: the creditor may
        # ask the guarantor to perform when the debtor does not), Art. 693 para. 2 (a joint
        # guarantor is freed unless asked within the guarantee period).
        return (
            "《中华人民共和国民法典》第六百八十一条规定，当债务人不履行到期债务时，保证人按照约定履行债务或者承担责任；"
            "第六百八十八条规定，连带责任保证的债务人不履行到期债务的，债权人可以请求保证人在其保证范围内承担保证责任。"
            "本通知系我行依照该法第六百九十三条第二款在保证期间内向贵方提出的承担保证责任的请求。"
        )
    if guarantee_type in ("general", "unstated"):
        # Civil Code Art. 681; Art. 686 para. 2 (an unstated mode is a general guarantee);
        # Art. 687 (general guarantee: liable once enforcement against the debtor's assets fails,
        # defence of prior enforcement); Art. 693 para. 1 (the creditor must sue the debtor or
        # apply for arbitration within the guarantee period). A letter alone preserves nothing
        # against a general guarantor, and the text says no more than that.
        unstated = (
            "保证合同对保证方式没有约定或者约定不明确的，依照该法第六百八十六条第二款按照一般保证承担保证责任；"
            if guarantee_type == "unstated"
            else ""
        )
        return (
            "《中华人民共和国民法典》第六百八十一条规定，当债务人不履行到期债务时，保证人按照约定履行债务或者承担责任；"
            f"{unstated}第六百八十七条规定，一般保证的债务人不能履行债务时，由保证人承担保证责任。"
            "我行将依照该法第六百九十三条第一款对债务人依法主张权利，特此通知贵方。"
        )
    raise LetterError(f"unknown guarantee type {guarantee_type!r}; one of {', '.join(GUARANTEE_TYPES)}")


@dataclass(frozen=True)
class Letter:
    """One demand letter, as plain data. Amounts are ``Decimal`` yuan, exact to the fen.

    ``principal``, ``interest``, ``penalty`` (penalty / overdue interest), ``costs``, ``compound``
    and ``delayed`` are owed as of ``owed_as_of`` (default: ``issued_on``); ``total`` must be their sum. For a guarantor,
    ``borrower_name`` names the debtor whose loan is guaranteed, and ``guarantee_type`` and
    ``guarantee_period_end`` are required. ``method`` is how the mail room will serve it.
    """

    letter_no: str
    kind: Kind
    branch_name: str
    branch_address: str
    recipient_name: str
    recipient_address: str
    loan_id: str
    contract_no: str
    disbursed_on: date
    maturity_on: date
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    costs: Decimal
    total: Decimal
    legal_basis: str
    pay_by: date
    issued_on: date
    borrower_name: str | None = None
    guarantee_type: GuaranteeType | None = None
    guarantee_period_end: date | None = None
    owed_as_of: date | None = None
    method: Method = "mail"
    contact: str = ""
    # issue 15 rule 4: compound interest (PBoC 2003 notice item 三) and the doubled interest for
    # delayed performance of a judgment (Civil Procedure Law Art. 264); part of ``total``
    compound: Decimal = Decimal("0.00")
    delayed: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LetterError(f"letter kind must be one of {KINDS}, got {self.kind!r}")
        if self.method not in METHODS:
            raise LetterError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("letter_no", "branch_name", "branch_address", "recipient_name", "recipient_address",
                     "loan_id", "contract_no", "legal_basis"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise LetterError(f"{name} must be a non-empty text")
        if any(c in self.letter_no for c in "\r\n\t"):
            raise LetterError("letter_no must be one line")
        for name in ("disbursed_on", "maturity_on", "pay_by", "issued_on"):
            if not isinstance(getattr(self, name), date):
                raise LetterError(f"{name} must be a date")
        for name in ("principal", "interest", "penalty", "costs", "total", "compound", "delayed"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise LetterError(f"{name} must be a finite Decimal, got {value!r}")
            if value < 0:
                raise LetterError(f"{name} must not be negative, got {value}")
            if value != value.quantize(_FEN):
                raise LetterError(f"{name} must be exact to the fen (two places), got {value}")
        parts = self.principal + self.interest + self.penalty + self.costs + self.compound + self.delayed
        if parts != self.total:
            raise LetterError(f"total {self.total} is not principal + interest + penalty + costs + compound + delayed ({parts})")
        if self.maturity_on < self.disbursed_on:
            raise LetterError("maturity_on is before disbursed_on")
        if self.pay_by < self.issued_on:
            raise LetterError("pay_by is before issued_on")
        if self.owed_as_of is not None and self.owed_as_of > self.issued_on:
            raise LetterError("owed_as_of is after issued_on")
        if self.kind == "guarantor":
            if self.guarantee_type not in GUARANTEE_TYPES:
                raise LetterError(f"a guarantor letter needs guarantee_type, one of {GUARANTEE_TYPES}")
            if not isinstance(self.guarantee_period_end, date):
                raise LetterError("a guarantor letter needs guarantee_period_end")
            if not self.borrower_name or not self.borrower_name.strip():
                raise LetterError("a guarantor letter needs borrower_name (the debtor)")
        elif self.guarantee_type is not None or self.guarantee_period_end is not None:
            raise LetterError("a borrower letter has no guarantee_type or guarantee_period_end")

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def debtor_name(self) -> str:
        """Whose debt it is: the borrower named on a guarantor's letter, else the recipient."""
        if self.kind == "guarantor" and self.borrower_name:
            return self.borrower_name
        return self.recipient_name

    @property
    def as_of(self) -> date:
        return self.owed_as_of or self.issued_on


# --- formatting -----------------------------------------------------------------------------------


def format_amount(amount: Decimal) -> str:
    """``Decimal('49000')`` → ``49,000.00``: thousands separators, two places, never rounded away."""
    if amount != amount.quantize(_FEN):
        raise LetterError(f"amount {amount} is not exact to the fen")
    return f"{amount.quantize(_FEN):,.2f}"


def format_date(day: date) -> str:
    """``2008-12-30`` → ``2008年12月30日``."""
    return f"{day.year}年{day.month}月{day.day}日"
