"""Demand letters as PDF: the CJK TrueType font and the reportlab rendering (see :mod:`models.letters`)."""

from __future__ import annotations

import copy
import io
import multiprocessing
import os
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib import textsplit as _rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import paragraph as _rl_paragraph
from reportlab.platypus.paraparser import ParaParser
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from models.letters.texts import (
    GUARANTEE_LABELS,
    GUARANTEE_TYPES,
    FontNotFound,
    Letter,
    LetterError,
    PathArg,
    borrower_legal_basis,
    format_amount,
    format_date,
    guarantor_legal_basis,
)

FONT_ENV = "NPL_LETTER_FONT"
FONT_NAME = "NplLetterCJK"
# Debian packages with TrueType-outline CJK faces reportlab can embed, first found wins.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei (what the test setup installs)
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)

# reportlab's CJK line breaking keeps Japanese closing punctuation off the start of a line but
# not the Chinese full-width ， ； ： ？ ！ (it would start a line with "，"). Both of its wrapping
# paths read a module-level string at wrap time; extend them once (the mark then hangs in the
# right margin, as in print).
_CHINESE_CANNOT_START = "\uff0c\uff1b\uff1a\uff1f\uff01\u201d\u2019\u300b"
for _module in (_rl_textsplit, _rl_paragraph):
    if not set(_CHINESE_CANNOT_START) <= set(_module.ALL_CANNOT_START):
        _module.ALL_CANNOT_START += _CHINESE_CANNOT_START

# Its CJK line breaking measures every character of a paragraph on each layout, one
# ``stringWidth`` call a character (about 1,200 a letter, a tenth of the letter's time). A
# character's width in a font at a size never changes: each is measured once per process.
_CHAR_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}


def _char_widths(word: str, font_name: str, font_size: float) -> list[float]:
    known = _CHAR_WIDTHS.setdefault((font_name, font_size), {})
    for ch in word:
        if ch not in known:
            known[ch] = pdfmetrics.stringWidth(ch, font_name, font_size)
    return [known[ch] for ch in word]


_rl_textsplit.getCharWidths = _char_widths


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
    # Each letter embeds a subset of the face, and reportlab cuts every subset from a fresh copy of
    # the table it needs, the glyph table included (megabytes for a CJK face, twice a letter). A
    # table's bytes never change: this face copies each once.
    font.face.get_table = lru_cache(maxsize=None)(font.face.get_table)
    _share_subsets(font)
    pdfmetrics.registerFont(font)
    return name, frozenset(font.face.charToGlyph)


@lru_cache(maxsize=8)
def _compressed(program: bytes) -> bytes:
    return zlib.compress(program)


class _SharedFlate(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's Flate filter for a font program, remembering the last few it compressed."""

    def encode(self, text: bytes) -> bytes:
        return _compressed(text)


def _share_subsets(font: TTFont) -> None:
    """Cut and compress each subset of the face once a process, not once a letter.

    reportlab embeds the face in 256-glyph subsets, numbered as the letter first draws each
    character; cutting a subset from the face (``makeSubset``) and compressing it were about a
    quarter of a letter's time. Every letter opens with the characters all letters print
    (:func:`_opening`), so its first subset is the same glyphs in the same order in every letter:
    the cut and the compressed bytes are kept and reused. The letter's own names and addresses fall
    in the next subsets, cut for each letter as before."""
    face = font.face
    make_subset = face.makeSubset
    cut = lru_cache(maxsize=8)(lambda glyphs: make_subset(list(glyphs)))
    face.makeSubset = lambda subset: cut(tuple(subset))
    add_subset_objects = face.addSubsetObjects

    def add_shared(doc: Any, fontname: str, subset: list[int]) -> Any:
        descriptor = add_subset_objects(doc, fontname, subset)
        program = doc.idToObject[doc.idToObject[descriptor.name].dict["FontFile2"].name]
        if program.filters:  # compressed documents only, as reportlab does
            program.filters = [_SharedFlate()]
        return descriptor

    face.addSubsetObjects = add_shared


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


@lru_cache(maxsize=4)
def _styles(font: str) -> dict[str, ParagraphStyle]:
    """The letters' paragraph styles in ``font`` (made once; reportlab only reads a style)."""
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


def _para(markup: str, style: ParagraphStyle) -> Paragraph:
    """``Paragraph(markup, style)``; plain text (no tag, no entity: nearly every paragraph of a
    letter) skips reportlab's markup parser, whose whole answer for it is one fragment: the
    style's, holding the text. That fragment is parsed once a style and copied (the parser was a
    tenth of every letter; the same bytes come out)."""
    if "<" in markup or "&" in markup:
        return Paragraph(markup, style)
    text = _rl_paragraph.cleanBlockQuotedText(markup)
    if not text:
        return Paragraph(markup, style)
    frag = copy.copy(_plain_fragment(style))
    frag.text = text
    frags = [frag]
    _rl_paragraph.textTransformFrags(frags, style)
    return Paragraph(text, style, frags=frags)


@lru_cache(maxsize=64)
def _plain_fragment(style: ParagraphStyle) -> Any:
    _, frags, _ = ParaParser().parse("x", style)
    assert frags is not None and len(frags) == 1
    return frags[0]


def _e(text: str) -> str:
    """Data into reportlab's paragraph markup: escaped, never read as tags."""
    return escape(text)


def _amount_table(letter: Letter, s: dict[str, ParagraphStyle], width: float) -> Table:
    rows = [
        ("项目", "金额（人民币元）"),
        ("尚欠本金", format_amount(letter.principal)),
        ("利息", format_amount(letter.interest)),
        ("罚息（逾期利息）", format_amount(letter.penalty)),
        *((("复利", format_amount(letter.compound)),) if letter.compound else ()),
        *((("迟延履行期间加倍部分债务利息", format_amount(letter.delayed)),) if letter.delayed else ()),
        ("实现债权的费用", format_amount(letter.costs)),
        ("合计", format_amount(letter.total)),
    ]
    data = [[_para(_e(a), s["cell"]), _para(_e(b), s["cell_r"])] for a, b in rows]
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
        _para(_e(letter.branch_name), s["letterhead"]),
        _para(f"地址：{_e(letter.branch_address)}", s["sub"]),
        Spacer(0, 2 * mm),
        _para(_e(letter.title), s["title"]),
        _para(f"编号：{number}", s["number"]),
        Spacer(0, 2 * mm),
        _para(f"{_e(letter.recipient_name)}：", s["body"]),
        _para(f"（地址：{_e(letter.recipient_address)}）", s["body"]),
    ]
    opening, demand = _body(letter)
    story += [
        _para(opening, s["indent"]),
        Spacer(0, 1.5 * mm),
        _amount_table(letter, s, min(width, 120 * mm)),
        Spacer(0, 1.5 * mm),
        _para(demand, s["indent"]),
        _para(f"法律依据：{_e(letter.legal_basis)}", s["basis"]),
        _para("特此通知。", s["indent"]),
    ]
    if letter.contact.strip():
        story.append(_para(f"联系方式：{_e(letter.contact)}", s["basis"]))
    story += [
        Spacer(0, 2 * mm),
        _para(f"{_e(letter.branch_name)}（公章）", s["right"]),
        _para(format_date(letter.issued_on), s["right"]),
        Spacer(0, 3 * mm),
    ]

    line = "_" * 18
    receipt_rows = [
        [_para(f"签收人（签名）：{line}", s["slip"]), _para(f"签收日期：{line}", s["slip"])],
    ]
    signature = Table(receipt_rows, colWidths=[width * 0.5, width * 0.5])
    signature.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    thumb = Table(
        [[_para("指印：", s["slip"]), ""]],
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
        _para("回　执", s["slip_title"]),
        _para(f"编号：{number}", s["number"]),
        _para(
            f"本人（本单位）{_e(letter.recipient_name)}作为{recipient_kind}，已收到{_e(letter.branch_name)}"
            f"于{format_date(letter.issued_on)}发出的《{_e(letter.title)}》，通知书编号{number}，"
            f"借款合同编号{_e(letter.contract_no)}，合计欠款人民币{format_amount(letter.total)}元。",
            s["slip"],
        ),
        Spacer(0, 2 * mm),
        signature,
        Spacer(0, 1 * mm),
        thumb,
        _para(f"请签收后将本回执交回{_e(letter.branch_name)}。", s["sub"]),
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


def _numbered_canvas(font: str, letter_no: str, opening: str, drawn: list[int] | None = None) -> type[Canvas]:
    """A canvas that holds each page until the document is complete, then draws every page's
    footer with the page count ("第 n 页 / 共 N 页"): the letter is laid out once (the reportlab
    recipe for "page n of N"; laying it out twice, once to count, cost half of every letter).

    The font's subsets begin with ``opening``'s characters, in its order (see :func:`_opening`);
    ``drawn``, when given, receives the code points the document drew, in the order it first
    drew them."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []
            if opening:
                pdfmetrics.getFont(font).splitString(opening, self._doc)

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for page in self._held:
                self.__dict__.update(page)
                self.saveState()
                self.setFont(font, 8)
                self.drawCentredString(A4[0] / 2, 10 * mm, f"编号 {letter_no}　第 {self._pageNumber} 页 / 共 {total} 页")
                self.restoreState()
                super().showPage()
            if drawn is not None:
                drawn.extend(pdfmetrics.getFont(font).state[self._doc].assignments)
            super().save()

    return NumberedCanvas


def _build(letter: Letter, font: str, target: str | BinaryIO, opening: str, drawn: list[int] | None = None) -> None:
    margin = 20 * mm
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
    doc.build(_story(letter, font, width), canvasmaker=_numbered_canvas(font, letter.letter_no, opening, drawn))


def _template_letters() -> list[Letter]:
    """A letter of each kind and guarantee mode, every optional line printed, its data ASCII."""
    borrower = Letter(
        letter_no="x", kind="borrower", branch_name="x", branch_address="x", recipient_name="x",
        recipient_address="x", loan_id="x", contract_no="x", disbursed_on=date(2000, 1, 1),
        maturity_on=date(2000, 6, 30), principal=Decimal("1.00"), interest=Decimal("1.00"),
        penalty=Decimal("1.00"), costs=Decimal("1.00"), compound=Decimal("1.00"), delayed=Decimal("1.00"),
        total=Decimal("6.00"), legal_basis=borrower_legal_basis(), pay_by=date(2001, 1, 31),
        issued_on=date(2001, 1, 1), contact="x",
    )
    guarantors = [
        replace(borrower, kind="guarantor", borrower_name="x", guarantee_type=mode,
                guarantee_period_end=date(2001, 6, 30), legal_basis=guarantor_legal_basis(mode))
        for mode in GUARANTEE_TYPES
    ]
    return [borrower, *guarantors]


@lru_cache(maxsize=4)
def _opening(font: str) -> str:
    """The characters every letter prints whatever its data, in the order the template letters
    first draw them (their data is ASCII, which the face's first subset always holds).

    Each letter draws these first, so its first subsets hold the same glyphs in the same order
    in every letter and are cut and compressed once a process (:func:`_share_subsets`). Found by
    laying the template letters out, so a new line of text is never left out; a character left
    out would only cost time, never a wrong letter."""
    drawn: list[int] = []
    for template in _template_letters():
        _build(template, font, io.BytesIO(), "", drawn)
    return "".join(chr(code) for code in dict.fromkeys(drawn) if code > 126)


def render_letter(letter: Letter, path: PathArg) -> Path:
    """Write ``letter`` as an A4 PDF at ``path`` (atomically); returns the path.

    Raises :class:`LetterError` when the font lacks one of the letter's characters, and
    :class:`FontNotFound` when no CJK font is installed.
    """
    font, covered = _font()
    _check_glyphs(letter, covered)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        _build(letter, font, str(temporary), _opening(font))
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


WORKERS_ENV = "NPL_LETTER_WORKERS"
PARALLEL_FROM = 40  # letters in a batch from which worker processes lay them out (one starts in about a second)


def letter_workers() -> int:
    """Processes a large batch of letters is laid out on: ``NPL_LETTER_WORKERS``, else the
    machine's cores."""
    chosen = os.environ.get(WORKERS_ENV, "").strip()
    if not chosen:
        return os.cpu_count() or 1
    if not chosen.isdigit():
        raise ValueError(f"{WORKERS_ENV} must be a whole number of processes, got {chosen!r}")
    return max(1, int(chosen))


def _render_batch(jobs: list[tuple[Letter, PathArg]]) -> list[Path]:
    return [render_letter(letter, path) for letter, path in jobs]


class LetterPress:
    """Letters laid out as the caller hands them in (``put``), while it builds the next ones.

    Laying a letter out is CPU work of its own (about 7–11 ms), and the first date after an import
    prints one per borrower and guarantor due a demand (about 1,900 at a million loans): a batch
    of ``PARALLEL_FROM`` letters or more (``size``, known beforehand) is laid out on ``workers``
    processes (spawned: the caller's threads and connections stay where they are), each sent a
    share of letters as soon as the caller has built it — the first ones start while the caller
    is still reading the rest from the database, rather than after. A smaller batch is laid out
    here, each letter as it comes. ``paths()`` waits for every letter and returns the paths in
    the order they were handed in; the first failure, in that order, is raised there as one
    process would raise it (:class:`LetterError`, :class:`FontNotFound`). Leaving the ``with``
    block stops the workers (on a failure, without laying out what is still waiting)."""

    def __init__(self, size: int, workers: int | None = None) -> None:
        workers = letter_workers() if workers is None else max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1 and size >= PARALLEL_FROM:
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self._share = max(1, size // (workers * 8))  # letters a worker is sent at a time: about 8 shares each
        self._waiting: list[tuple[Letter, PathArg]] = []
        self._sent: list[Future[list[Path]]] = []
        self._laid_out: list[Path] = []  # here, one process

    def __enter__(self) -> LetterPress:
        return self

    def __exit__(self, kind: type[BaseException] | None, _value: BaseException | None, _tb: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)

    def put(self, letter: Letter, path: PathArg) -> None:
        if self._pool is None:
            self._laid_out.append(render_letter(letter, path))
            return
        self._waiting.append((letter, path))
        if len(self._waiting) >= self._share:
            self._send()

    def _send(self) -> None:
        if self._waiting and self._pool is not None:
            self._sent.append(self._pool.submit(_render_batch, self._waiting))
            self._waiting = []

    def paths(self) -> list[Path]:
        self._send()
        for share in self._sent:
            self._laid_out += share.result()
        self._sent = []
        return self._laid_out


def render_letters(jobs: Sequence[tuple[Letter, PathArg]], workers: int | None = None) -> list[Path]:
    """Write each (letter, path) as :func:`render_letter` does; returns the paths, in order: a
    batch of ``PARALLEL_FROM`` letters or more on ``workers`` processes (:class:`LetterPress`)."""
    with LetterPress(len(jobs), workers) as press:
        for letter, path in jobs:
            press.put(letter, path)
        return press.paths()
