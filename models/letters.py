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

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib import textsplit as _rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import paragraph as _rl_paragraph
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from models.privacy import neutralize as neutralize_formula
from models.spreadsheets import _display_width, _print_ready, _save, neutralize

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

FONT_ENV = "NPL_LETTER_FONT"
FONT_NAME = "NplLetterCJK"
# Debian packages with TrueType-outline CJK faces reportlab can embed, first found wins.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei (what the test setup installs)
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)

_FEN = Decimal("0.01")

# reportlab's CJK line breaking keeps Japanese closing punctuation off the start of a line but
# not the Chinese full-width ， ； ： ？ ！ (it would start a line with "，"). Both of its wrapping
# paths read a module-level string at wrap time; extend them once (the mark then hangs in the
# right margin, as in print).
_CHINESE_CANNOT_START = "\uff0c\uff1b\uff1a\uff1f\uff01\u201d\u2019\u300b"
for _module in (_rl_textsplit, _rl_paragraph):
    if not set(_CHINESE_CANNOT_START) <= set(_module.ALL_CANNOT_START):
        _module.ALL_CANNOT_START += _CHINESE_CANNOT_START


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

    ``principal``, ``interest``, ``penalty`` (penalty / overdue interest) and ``costs`` are owed
    as of ``owed_as_of`` (default: ``issued_on``); ``total`` must be their sum. For a guarantor,
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
        for name in ("principal", "interest", "penalty", "costs", "total"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise LetterError(f"{name} must be a finite Decimal, got {value!r}")
            if value < 0:
                raise LetterError(f"{name} must not be negative, got {value}")
            if value != value.quantize(_FEN):
                raise LetterError(f"{name} must be exact to the fen (two places), got {value}")
        if self.principal + self.interest + self.penalty + self.costs != self.total:
            raise LetterError(
                f"total {self.total} is not principal + interest + penalty + costs "
                f"({self.principal + self.interest + self.penalty + self.costs})"
            )
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


# --- the font -------------------------------------------------------------------------------------


def font_path() -> Path:
    """The CJK TrueType font letters use: ``NPL_LETTER_FONT``, else the first Debian one present."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFound(f"{FONT_ENV}={override}: no such font file")
        return path
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontNotFound(
        "no CJK TrueType font for the letters: install Debian's fonts-wqy-zenhei "
        f"(`apt-get install fonts-wqy-zenhei`), or set {FONT_ENV} to a .ttf/.ttc file"
    )


@lru_cache(maxsize=4)
def _load_font(path: str) -> tuple[str, frozenset[int]]:
    """Register the font with reportlab once per file; its name and the code points it covers."""
    name = f"{FONT_NAME}-{uuid.uuid5(uuid.NAMESPACE_URL, path).hex[:8]}"
    font = TTFont(name, path, subfontIndex=0) if path.lower().endswith(".ttc") else TTFont(name, path)
    pdfmetrics.registerFont(font)
    return name, frozenset(font.face.charToGlyph)


def _font() -> tuple[str, frozenset[int]]:
    return _load_font(str(font_path()))


def missing_glyphs(text: str, covered: frozenset[int]) -> list[str]:
    """The characters of ``text`` the font cannot draw (whitespace aside), in order, once each."""
    seen: list[str] = []
    for ch in text:
        if not ch.isspace() and ord(ch) not in covered and ch not in seen:
            seen.append(ch)
    return seen


# --- the PDF --------------------------------------------------------------------------------------


class _CutLine(Flowable):
    """A dashed line across the frame with 沿此虚线剪下 in the middle: where the receipt comes off."""

    def __init__(self, font: str, label: str = "（沿此虚线剪下）") -> None:
        super().__init__()
        self.font = font
        self.label = label
        self.height = 6 * mm

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.height

    def draw(self) -> None:
        c = self.canv
        size = 8
        label_width = pdfmetrics.stringWidth(self.label, self.font, size)
        y = self.height / 2
        middle = self.width / 2
        c.saveState()
        c.setDash(4, 3)
        c.setLineWidth(0.6)
        c.setStrokeColor(colors.black)
        c.line(0, y, middle - label_width / 2 - 2 * mm, y)
        c.line(middle + label_width / 2 + 2 * mm, y, self.width, y)
        c.setFont(self.font, size)
        c.drawCentredString(middle, y - size / 3, self.label)
        c.restoreState()


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=16.5, wordWrap="CJK", alignment=TA_LEFT)
    return {
        "letterhead": ParagraphStyle("letterhead", parent=base, fontSize=13, leading=18, alignment=TA_CENTER),
        "sub": ParagraphStyle("sub", parent=base, fontSize=8.5, leading=12, alignment=TA_CENTER,
                              textColor=colors.HexColor("#333333")),
        "title": ParagraphStyle("title", parent=base, fontSize=19, leading=26, alignment=TA_CENTER, spaceBefore=4),
        "number": ParagraphStyle("number", parent=base, fontSize=10, leading=14, alignment=TA_RIGHT),
        "body": base,
        "indent": ParagraphStyle("indent", parent=base, firstLineIndent=22),
        "basis": ParagraphStyle("basis", parent=base, fontSize=9, leading=13.5, firstLineIndent=18),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10.5, leading=14),
        "cell_r": ParagraphStyle("cell_r", parent=base, fontSize=10.5, leading=14, alignment=TA_RIGHT),
        "slip_title": ParagraphStyle("slip_title", parent=base, fontSize=15, leading=20, alignment=TA_CENTER),
        "slip": ParagraphStyle("slip", parent=base, fontSize=10, leading=16),
    }


def _e(text: str) -> str:
    """Data into reportlab's paragraph markup: escaped, never read as tags."""
    return escape(text)


def _amount_table(letter: Letter, s: dict[str, ParagraphStyle], width: float) -> Table:
    rows = [
        ("项目", "金额（人民币元）"),
        ("尚欠本金", format_amount(letter.principal)),
        ("利息", format_amount(letter.interest)),
        ("罚息（逾期利息）", format_amount(letter.penalty)),
        ("实现债权的费用", format_amount(letter.costs)),
        ("合计", format_amount(letter.total)),
    ]
    data = [[Paragraph(_e(a), s["cell"]), Paragraph(_e(b), s["cell_r"])] for a, b in rows]
    table = Table(data, colWidths=[width * 0.55, width * 0.45], hAlign="CENTER")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), s["cell"].fontName),  # else a plain-text cell is Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _body(letter: Letter) -> list[str]:
    """The letter's paragraphs, as escaped markup."""
    bank = _e(letter.branch_name)
    contract = _e(letter.contract_no)
    dates = f"借款期限自{format_date(letter.disbursed_on)}至{format_date(letter.maturity_on)}"
    as_of = format_date(letter.as_of)
    pay_by = format_date(letter.pay_by)
    total = format_amount(letter.total)
    # before maturity (overdue interest or installments, an accelerated loan) nothing "fell due"
    matured = "借款到期后，" if letter.as_of > letter.maturity_on else ""
    if letter.kind == "borrower":
        return [
            f"贵方与我行{bank}签订编号为{contract}的借款合同，{dates}，"
            f"我行已于{format_date(letter.disbursed_on)}依约发放贷款。{matured}贵方未按合同约定履行还款义务。"
            f"截至{as_of}，贵方尚欠我行下列款项，合计人民币{total}元：",
            f"请贵方于{pay_by}前向我行归还上述全部欠款。上述利息、罚息计至{as_of}，"
            "此后按合同约定继续计收至全部清偿之日。逾期仍不履行的，我行将依法采取诉讼等措施追收，"
            "由此产生的实现债权的费用由贵方承担。",
        ]
    debtor = _e(letter.debtor_name)
    mode = GUARANTEE_LABELS[letter.guarantee_type or "general"]
    period_end = format_date(letter.guarantee_period_end) if letter.guarantee_period_end else ""
    opening = (
        f"借款人{debtor}与我行{bank}签订编号为{contract}的借款合同，{dates}。"
        f"贵方为该笔借款提供{mode}，保证期间至{period_end}。{matured}借款人未按合同约定履行还款义务。"
        f"截至{as_of}，借款人尚欠我行下列款项，合计人民币{total}元："
    )
    if letter.guarantee_type == "joint":
        demand = (
            f"请贵方于{pay_by}前在保证范围内向我行履行保证责任，代为清偿上述欠款。上述利息、罚息计至{as_of}，"
            "此后按合同约定继续计收至全部清偿之日。逾期仍不履行的，我行将依法向贵方追索。"
        )
    else:
        demand = (
            f"请贵方督促借款人于{pay_by}前向我行归还上述全部欠款。上述利息、罚息计至{as_of}，"
            "此后按合同约定继续计收至全部清偿之日。借款人经依法强制执行仍不能履行的，贵方应依法承担保证责任。"
        )
    return [opening, demand]


def _story(letter: Letter, font: str, width: float) -> list[Flowable]:
    s = _styles(font)
    number = _e(letter.letter_no)
    story: list[Flowable] = [
        Paragraph(_e(letter.branch_name), s["letterhead"]),
        Paragraph(f"地址：{_e(letter.branch_address)}", s["sub"]),
        Spacer(0, 2 * mm),
        Paragraph(_e(letter.title), s["title"]),
        Paragraph(f"编号：{number}", s["number"]),
        Spacer(0, 2 * mm),
        Paragraph(f"{_e(letter.recipient_name)}：", s["body"]),
        Paragraph(f"（地址：{_e(letter.recipient_address)}）", s["body"]),
    ]
    opening, demand = _body(letter)
    story += [
        Paragraph(opening, s["indent"]),
        Spacer(0, 1.5 * mm),
        _amount_table(letter, s, min(width, 120 * mm)),
        Spacer(0, 1.5 * mm),
        Paragraph(demand, s["indent"]),
        Paragraph(f"法律依据：{_e(letter.legal_basis)}", s["basis"]),
        Paragraph("特此通知。", s["indent"]),
    ]
    if letter.contact.strip():
        story.append(Paragraph(f"联系方式：{_e(letter.contact)}", s["basis"]))
    story += [
        Spacer(0, 2 * mm),
        Paragraph(f"{_e(letter.branch_name)}（公章）", s["right"]),
        Paragraph(format_date(letter.issued_on), s["right"]),
        Spacer(0, 3 * mm),
    ]

    line = "_" * 18
    receipt_rows = [
        [Paragraph(f"签收人（签名）：{line}", s["slip"]), Paragraph(f"签收日期：{line}", s["slip"])],
    ]
    signature = Table(receipt_rows, colWidths=[width * 0.5, width * 0.5])
    signature.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    thumb = Table(
        [[Paragraph("指印：", s["slip"]), ""]],
        colWidths=[14 * mm, 17 * mm],
        rowHeights=[17 * mm],
        hAlign="LEFT",
    )
    thumb.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("BOX", (1, 0), (1, 0), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
    ]))
    recipient_kind = "借款人" if letter.kind == "borrower" else "保证人"
    slip: list[Flowable] = [
        _CutLine(font),
        Paragraph("回　执", s["slip_title"]),
        Paragraph(f"编号：{number}", s["number"]),
        Paragraph(
            f"本人（本单位）{_e(letter.recipient_name)}作为{recipient_kind}，已收到{_e(letter.branch_name)}"
            f"于{format_date(letter.issued_on)}发出的《{_e(letter.title)}》，通知书编号{number}，"
            f"借款合同编号{_e(letter.contract_no)}，合计欠款人民币{format_amount(letter.total)}元。",
            s["slip"],
        ),
        Spacer(0, 2 * mm),
        signature,
        Spacer(0, 1 * mm),
        thumb,
        Paragraph(f"请签收后将本回执交回{_e(letter.branch_name)}。", s["sub"]),
    ]
    story.append(KeepTogether(slip))
    return story


def _check_glyphs(letter: Letter, covered: frozenset[int]) -> None:
    texts = [letter.letter_no, letter.branch_name, letter.branch_address, letter.recipient_name,
             letter.recipient_address, letter.contract_no, letter.legal_basis, letter.contact,
             letter.borrower_name or "", *_body(letter)]
    missing = missing_glyphs("".join(texts), covered)
    if missing:
        shown = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing)
        raise LetterError(f"letter {letter.letter_no}: the font cannot draw {shown}; it would print as a box")


def _build(letter: Letter, font: str, target: io.BytesIO | str, total_pages: int | None) -> int:
    margin = 20 * mm
    pages = 0

    def footer(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        nonlocal pages
        pages = doc.page
        canvas.saveState()
        canvas.setFont(font, 8)
        of = f" / 共 {total_pages} 页" if total_pages else ""
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"编号 {letter.letter_no}　第 {doc.page} 页{of}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{letter.title} {letter.letter_no}",
        author=letter.branch_name,
        subject=f"{letter.loan_id} {letter.recipient_name}",
        creator="npl-collect",
        initialFontName=font,
        invariant=1,  # no wall-clock time in the file: the same letter gives the same bytes
    )
    width = A4[0] - 2 * margin - 12  # the frame pads 6 pt a side
    doc.build(_story(letter, font, width), onFirstPage=footer, onLaterPages=footer)
    return pages


def render_letter(letter: Letter, path: PathArg) -> Path:
    """Write ``letter`` as an A4 PDF at ``path`` (atomically); returns the path.

    Raises :class:`LetterError` when the font lacks one of the letter's characters, and
    :class:`FontNotFound` when no CJK font is installed.
    """
    font, covered = _font()
    _check_glyphs(letter, covered)
    pages = _build(letter, font, io.BytesIO(), None)  # first pass: count the pages for the footer
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        _build(letter, font, str(temporary), pages)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


# --- the register ---------------------------------------------------------------------------------

REGISTER_COLUMNS = ("letter_no", "loan_id", "kind", "recipient", "address", "amount", "method")
REGISTER_HEADERS_ZH = ("通知书编号", "贷款编号", "类别", "收件人", "地址", "金额（元）", "送达方式")


def register_rows(letters: Iterable[Letter]) -> list[dict[str, object]]:
    """One row per letter, in the order given: the mail room's register."""
    return [
        {
            "letter_no": letter.letter_no,
            "loan_id": letter.loan_id,
            "kind": letter.kind,
            "recipient": letter.recipient_name,
            "address": letter.recipient_address,
            "amount": letter.total,
            "method": letter.method,
        }
        for letter in letters
    ]


def write_register(letters: Sequence[Letter], xlsx_path: PathArg, csv_path: PathArg) -> tuple[Path, Path]:
    """Write the batch register as an xlsx workbook and a CSV file; returns both paths.

    Columns: ``letter_no, loan_id, kind, recipient, address, amount, method`` — ``method`` as
    ``npl served --method`` takes it, so the mail room's confirmations map back. The CSV is
    UTF-8 with a BOM (Excel then reads the Chinese right), the amount plain (``49000.00``); the
    workbook holds the amount as a number shown ``#,##0.00``, with a second header row in
    Chinese. Text that a spreadsheet would run as a formula (starting ``= + - @``, tab or CR)
    gets a leading apostrophe in both files, as in every other export (models/privacy.py).
    """
    numbers = [letter.letter_no for letter in letters]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise LetterError(f"letter numbers repeat in the batch: {', '.join(duplicates)}")
    rows = register_rows(letters)

    csv_target = Path(csv_path)
    csv_target.parent.mkdir(parents=True, exist_ok=True)
    temporary = csv_target.with_name(f".{csv_target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(REGISTER_COLUMNS)
            for row in rows:
                writer.writerow(
                    [f"{row[c]:.2f}" if c == "amount" else neutralize_formula(str(row[c])) for c in REGISTER_COLUMNS]
                )
        os.replace(temporary, csv_target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "register"
    sheet.append(list(REGISTER_COLUMNS))
    sheet.append(list(REGISTER_HEADERS_ZH))
    for cell in (*sheet[1], *sheet[2]):
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(vertical="center")
    widths = [max(_display_width(a), _display_width(b)) for a, b in zip(REGISTER_COLUMNS, REGISTER_HEADERS_ZH)]
    for row in rows:
        values: list[object] = [row[c] if c == "amount" else neutralize(str(row[c])) for c in REGISTER_COLUMNS]
        sheet.append(values)
        sheet.cell(row=sheet.max_row, column=REGISTER_COLUMNS.index("amount") + 1).number_format = "#,##0.00"
        for i, value in enumerate(values):
            shown = format_amount(value) if isinstance(value, Decimal) else str(value)
            widths[i] = max(widths[i], _display_width(shown))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
    sheet.freeze_panes = "A3"
    _print_ready(sheet, "Letter register")
    sheet.print_title_rows = "1:2"
    return _save(workbook, xlsx_path), csv_target
