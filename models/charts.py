"""Report charts as PNG files, drawn with matplotlib's Agg canvas (no display, no pyplot).

Figures are built with ``matplotlib.figure.Figure`` and an explicit ``FigureCanvasAgg`` so no
global pyplot state or GUI backend is involved: safe in Prefect worker threads and headless.
Amounts are plotted in yuan; the float conversion happens here, for drawing only.

Every word on a chart comes from ``label`` (the caller's ``flows.i18n.t``: models never import
flows). Chinese needs a CJK font: the first of ``CJK_FONTS`` matplotlib finds (fonts-wqy-zenhei,
installed by scripts/setup-test-env) is each text's font (it has Latin letters
and digits too); :func:`cjk_font` says whether there is one, so a caller without one
can draw the chart in English rather than in empty boxes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

STRATEGY_COLOURS: dict[str, str] = {
    "early": "#9ecae1",
    "visit": "#4292c6",
    "guarantor": "#fd8d3c",
    "court": "#d94801",
    "installment": "#74c476",
    "revitalization": "#238b45",
}
CATEGORY_COLOURS: dict[str, str] = {
    "normal": "#41ab5d",
    "special_mention": "#fdd049",
    "substandard": "#fd8d3c",
    "doubtful": "#e6550d",
    "loss": "#a50f15",
}
_YUAN = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", "Microsoft YaHei")
Label = Callable[..., str]


@functools.cache
def cjk_font() -> str | None:
    """The first of ``CJK_FONTS`` installed (as matplotlib's font manager sees it), else None.
    matplotlib keeps its list of fonts in a cache built once per machine: a font installed after
    that (``make test`` installs one) is missing from it, so the letters' font files are added
    when the list has none of ``CJK_FONTS``."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in names), None)
    if found is None:
        from models.letters.render import FONT_CANDIDATES

        for path in FONT_CANDIDATES:
            if Path(path).is_file():
                font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in names), None)
    return found


def _font() -> dict[str, Any]:
    """The font of every text on a chart: the CJK font when there is one (its Latin letters and
    digits too), at its one weight (500: asking for 400 makes matplotlib log a warning per text)."""
    cjk = cjk_font()
    return {"family": cjk, "weight": 500} if cjk else {"family": "DejaVu Sans"}


def _text() -> dict[str, Any]:
    """``_font`` as the keyword arguments of a text (``fontfamily=``, ``fontweight=``)."""
    return {f"font{k}": v for k, v in _font().items()}


def _new_figure() -> Figure:
    figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | PathLike[str]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png")
    return target


def _no_data(axes, message: str) -> None:  # type: ignore[no-untyped-def]
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, transform=axes.transAxes, **_text())
    axes.set_xticks([])
    axes.set_yticks([])


def _yuan(fen: Sequence[int] | pd.Series) -> list[float]:
    return [int(v) / 100 for v in fen]


def recoveries_chart(by_month: pd.DataFrame, path: str | PathLike[str], label: Label) -> Path:
    """Bar chart of money recovered per month, stacked by strategy; returns the PNG's path.

    ``by_month`` is ``portfolio.recoveries_by_month``'s frame: ``month`` and ``amount_fen``,
    plus ``<strategy>_fen`` columns when available (stacked then; a single bar otherwise).
    """
    figure = _new_figure()
    axes = figure.add_subplot()
    text = _text()
    axes.set_title(label("chart.recoveries"), **text)
    if by_month.empty:
        _no_data(axes, label("chart.no_recoveries"))
        return _save(figure, path)
    months = [str(m) for m in by_month["month"]]
    positions = list(range(len(months)))
    stacks = [s for s in STRATEGY_COLOURS if f"{s}_fen" in by_month.columns]
    if stacks:
        bottom = [0.0] * len(months)
        for strategy in stacks:
            heights = _yuan(by_month[f"{strategy}_fen"])
            axes.bar(positions, heights, bottom=bottom, label=label(f"strategy.{strategy}"), color=STRATEGY_COLOURS[strategy])
            bottom = [b + h for b, h in zip(bottom, heights)]
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncols=len(stacks), frameon=False,
                    prop={**_font(), "size": "small"})
    else:
        axes.bar(positions, _yuan(by_month["amount_fen"]), color="#4292c6", label=label("report.recovered"))
    axes.set_xticks(positions, months, rotation=45 if len(months) > 6 else 0, ha="right" if len(months) > 6 else "center")
    axes.yaxis.set_major_formatter(_YUAN)
    axes.set_ylabel(label("chart.yuan"), **text)
    # Zero-height top layers pin the autoscale (bars make their bottoms sticky): set the top.
    highest = max(_yuan(by_month["amount_fen"]), default=0.0) if "amount_fen" in by_month else 0.0
    if stacks:
        highest = max(highest, max(bottom, default=0.0))
    if highest > 0:
        axes.set_ylim(0, highest * 1.08)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def classification_mix_chart(by_class: pd.DataFrame, path: str | PathLike[str], label: Label) -> Path:
    """Bar chart of open balance per regulatory category, loan counts on the bars.

    ``by_class`` is ``portfolio.by_classification``'s frame: ``classification, count,
    balance_fen``. Returns the PNG's path.
    """
    figure = _new_figure()
    axes = figure.add_subplot()
    text = _text()
    axes.set_title(label("chart.classification"), **text)
    if by_class.empty or int(by_class["count"].sum()) == 0:
        _no_data(axes, label("chart.no_open_loans"))
        return _save(figure, path)
    names = [str(c) for c in by_class["classification"]]
    positions = list(range(len(names)))
    heights = _yuan(by_class["balance_fen"])
    bars = axes.bar(positions, heights, color=[CATEGORY_COLOURS.get(n, "#888888") for n in names])
    axes.bar_label(bars, labels=[label("chart.loans", count=int(c)) for c in by_class["count"]], padding=3, fontsize="small",
                   **text)
    axes.set_xticks(positions, [label(f"class.{n}") for n in names], **text)
    axes.yaxis.set_major_formatter(_YUAN)
    axes.set_ylabel(label("chart.yuan"), **text)
    axes.margins(y=0.12)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)
