"""HTML report sections for the task types beyond class labels: ratings, label sets, pairwise comparisons,
bounding boxes and segmentation masks.

:func:`render_task_report` takes the result of any task (a ``RatingConsensus``, ``MultiLabelConsensus``,
``PairwiseConsensus``, ``BoxConsensus`` or ``SegmentationConsensus``) and returns one self-contained HTML page
(inline CSS and SVG, no scripts, no external files): summary cards, the task's figures and its annotator
table. The figures need no images:

- ratings: each rating against the item's consensus value (a scatter, coloured by annotator, with the
  diagonal), so that biased annotators sit above or below it and noisy ones far from it;
- label sets: how often each class is in the consensus sets, and each annotator's sensitivity and
  specificity;
- pairwise comparisons: item scores with their intervals, best first;
- boxes: every item drawn on a plain canvas in the input's units, the annotators' boxes in thin dashed
  colours and the consensus boxes in black;
- masks: the consensus mask of each item and every annotator's mask against it (agreement, extra and missed
  pixels), downsampled to a grid of SVG rectangles.

>>> import pandas as pd
>>> from accord.tasks import aggregate_ratings_frame
>>> df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "value": [1, 2, 3, 5]})
>>> html = render_task_report(aggregate_ratings_frame(df, "mean"))
>>> html.startswith("<!DOCTYPE html>") and 'data-section="task-rating"' in html
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import InvalidParameterError
from ..tasks import (
    BoxConsensus,
    MultiLabelConsensus,
    PairwiseConsensus,
    RatingConsensus,
    SegmentationConsensus,
)
from .render import CSS
from .svg import PALETTE, bar_chart, hbar_chart, nice_ticks

__all__ = [
    "MAX_ITEMS_DRAWN",
    "box_overlay",
    "interval_chart",
    "mask_overlay",
    "render_task_report",
    "scatter_chart",
    "task_sections",
]

MAX_ITEMS_DRAWN = 12  # items drawn as box canvases or mask overlays
MAX_MASK_ANNOTATORS = 6  # annotators' masks shown per item
MAX_POINTS = 4000  # points of the rating scatter
MAX_TABLE_ROWS = 100
MASK_GRID = 64  # a mask is drawn on at most MASK_GRID x MASK_GRID cells
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'
_OTHERS = "#b0b0b0"
# Mask overlay codes: 1 = both label the pixel the same (foreground), 2 = the annotator only (or another
# class), 3 = the consensus only (missed).
_OVERLAY_COLORS = {1: "#3465a4", 2: "#cc6633", 3: "#f2b8b8"}


# ---------------------------------------------------------------------------------------- svg bits
def _n(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{escape(label)}" {_FONT}>'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _label(
    x: float, y: float, text: str, *, size: int = 10, anchor: str = "start", color: str = "#555"
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}">'
        f"{escape(str(text))}</text>"
    )


def _tick(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e6 else f"{v:.3g}"


def _range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def scatter_chart(
    x: np.ndarray,
    y: np.ndarray,
    group: np.ndarray,
    names: Sequence[str],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    diagonal: bool = True,
    width: float = 560,
    height: float = 400,
) -> str:
    """Points ``(x, y)`` coloured by ``group`` (codes into ``names``; a code ``>= len(PALETTE) - 1`` is drawn
    grey as "others"), with the ``y = x`` diagonal.

    >>> svg = scatter_chart(np.array([1.0, 2.0]), np.array([1.5, 2.5]), np.array([0, 1]), ["a", "b"])
    >>> svg.count('r="2.6"')
    2
    """
    x, y, group = np.asarray(x, float), np.asarray(y, float), np.asarray(group, int)
    left, right, top, bottom = 56, 130, 28 if title else 10, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = _range(np.concatenate([x, y]) if diagonal else x)
    x_ticks = nice_ticks(lo, hi)
    y_lo, y_hi = (lo, hi) if diagonal else _range(y)
    y_ticks = nice_ticks(y_lo, y_hi)
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def px(v: np.ndarray | float) -> Any:
        return left + plot_w * (np.asarray(v) - x0) / ((x1 - x0) or 1.0)

    def py(v: np.ndarray | float) -> Any:
        return top + plot_h - plot_h * (np.asarray(v) - y0) / ((y1 - y0) or 1.0)

    parts = [_label(left, 17, title, size=13, color="#222")] if title else []
    for t in y_ticks:
        yy = float(py(t))
        parts.append(
            f'<line x1="{left}" y1="{_n(yy)}" x2="{_n(left + plot_w)}" y2="{_n(yy)}" stroke="#e4e4e4"/>'
        )
        parts.append(_label(left - 5, yy + 4, _tick(t), anchor="end"))
    for t in x_ticks:
        parts.append(_label(float(px(t)), top + plot_h + 14, _tick(t), anchor="middle"))
    if diagonal:
        a, b = max(x0, y0), min(x1, y1)
        parts.append(
            f'<line x1="{_n(float(px(a)))}" y1="{_n(float(py(a)))}" x2="{_n(float(px(b)))}" '
            f'y2="{_n(float(py(b)))}" stroke="#888" stroke-dasharray="4 3"/>'
        )
    n_colours = len(PALETTE) - 1
    colours = np.array([*PALETTE[:n_colours], _OTHERS], dtype=object)[np.minimum(group, n_colours)]
    for cx, cy, colour in zip(px(x).tolist(), py(y).tolist(), colours.tolist(), strict=True):
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="2.6" fill="{colour}" fill-opacity="0.6"/>')
    shown = [*names[:n_colours], "others"] if len(names) > n_colours else list(names)
    for i, name in enumerate(shown):
        colour = PALETTE[i] if i < n_colours else _OTHERS
        ly = top + 6 + 16 * i
        parts.append(f'<circle cx="{_n(left + plot_w + 14)}" cy="{_n(ly)}" r="4" fill="{colour}"/>')
        parts.append(_label(left + plot_w + 22, ly + 4, _short(name, 16), color="#333"))
    parts.append(_label(left + plot_w / 2, height - 6, x_label, size=11, anchor="middle"))
    parts.append(
        f'<text x="12" y="{_n(top + plot_h / 2)}" font-size="11" text-anchor="middle" fill="#555" '
        f'transform="rotate(-90 12 {_n(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    return _svg(width, height, title or "scatter plot", parts)


def interval_chart(
    labels: Sequence[str],
    centre: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    title: str = "",
    width: float = 560,
    row: float = 20,
) -> str:
    """One row per label: a dot at ``centre`` and a line from ``lower`` to ``upper`` (scores with intervals).

    >>> svg = interval_chart(["x", "y"], np.array([1.0, 0.0]), np.array([0.5, -1]), np.array([1.5, 1]))
    >>> svg.count("<circle")
    2
    """
    label_w = min(180.0, 12 + 6.4 * max([len(str(s)) for s in labels] + [4]))
    top = 26 if title else 8
    height = top + len(labels) * row + 26
    lo, hi = _range(np.concatenate([np.asarray(lower, float), np.asarray(upper, float)]))
    ticks = nice_ticks(lo, hi)
    x0, x1 = ticks[0], ticks[-1]
    plot_w = width - label_w - 16

    def px(v: float) -> float:
        return label_w + plot_w * (v - x0) / ((x1 - x0) or 1.0)

    parts = [_label(8, 16, title, size=13, color="#222")] if title else []
    bottom = top + len(labels) * row
    for t in ticks:
        parts.append(
            f'<line x1="{_n(px(t))}" y1="{top - 2}" x2="{_n(px(t))}" y2="{_n(bottom)}" stroke="#e4e4e4"/>'
        )
        parts.append(_label(px(t), bottom + 14, _tick(t), anchor="middle"))
    for i, (name, c, a, b) in enumerate(zip(labels, centre, lower, upper, strict=True)):
        yy = top + i * row + row / 2
        parts.append(_label(label_w - 6, yy + 4, _short(str(name), 28), anchor="end", color="#333"))
        if math.isfinite(a) and math.isfinite(b):
            parts.append(
                f'<line x1="{_n(px(a))}" y1="{_n(yy)}" x2="{_n(px(b))}" y2="{_n(yy)}" stroke="{PALETTE[0]}" '
                'stroke-width="2" stroke-opacity="0.5"/>'
            )
        parts.append(
            f'<circle cx="{_n(px(c))}" cy="{_n(yy)}" r="3.5" fill="{PALETTE[0]}"><title>{escape(str(name))}: '
            f"{c:.3f} [{a:.3f}, {b:.3f}]</title></circle>"
        )
    return _svg(width, height, title or "intervals", parts)


def box_overlay(
    raw: pd.DataFrame,
    consensus: pd.DataFrame,
    annotators: Sequence[Any],
    *,
    title: str = "",
    extent: tuple[float, float] | None = None,
    size: float = 300,
) -> str:
    """One item's boxes on a plain canvas: the annotators' (``raw``: annotator, x, y, width, height) as thin
    dashed outlines coloured by annotator, the consensus boxes (``consensus``: label, x, y, width, height) in
    black with their label. ``extent`` is the canvas (width, height) in the boxes' units (default: the
    boxes' extent).

    >>> raw = pd.DataFrame({"annotator": ["a", "b"], "x": [0, 1], "y": [0, 1], "width": [10, 9],
    ...                     "height": [5, 5]})
    >>> cons = pd.DataFrame({"label": ["car"], "x": [0.5], "y": [0.5], "width": [9.5], "height": [5]})
    >>> box_overlay(raw, cons, ["a", "b"]).count("<rect")
    4
    """
    frames = [f for f in (raw, consensus) if len(f)]
    if extent is None:
        right = max([float((f["x"] + f["width"]).max()) for f in frames] + [1.0])
        bottom = max([float((f["y"] + f["height"]).max()) for f in frames] + [1.0])
        extent = (right * 1.05, bottom * 1.05)
    scale = size / max(extent[0], extent[1], 1e-9)
    top = 22 if title else 4
    width, height = extent[0] * scale + 8, extent[1] * scale + top + 4
    parts = [_label(4, 15, title, size=12, color="#222")] if title else []
    parts.append(
        f'<rect x="4" y="{top}" width="{_n(extent[0] * scale)}" height="{_n(extent[1] * scale)}" '
        'fill="#f7f7f7" stroke="#ccc"/>'
    )
    colour_of = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(annotators)}
    for r in raw.itertuples(index=False):
        parts.append(
            f'<rect x="{_n(4 + r.x * scale)}" y="{_n(top + r.y * scale)}" width="{_n(r.width * scale)}" '
            f'height="{_n(r.height * scale)}" fill="none" stroke="{colour_of.get(r.annotator, _OTHERS)}" '
            f'stroke-width="1.2" stroke-dasharray="4 2"><title>{escape(str(r.annotator))}</title></rect>'
        )
    for r in consensus.itertuples(index=False):
        x, y = 4 + r.x * scale, top + r.y * scale
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(r.width * scale)}" height="{_n(r.height * scale)}" '
            f'fill="none" stroke="#111" stroke-width="2.4"><title>consensus: {escape(str(r.label))}</title>'
            "</rect>"
        )
        parts.append(_label(x + 2, y + 11, _short(str(r.label), 14), size=10, color="#111"))
    return _svg(width, height, title or "boxes", parts)


def _downsample(mask: np.ndarray) -> np.ndarray:
    step = max(1, math.ceil(max(mask.shape) / MASK_GRID))
    return mask[::step, ::step]


def _runs(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of equal non-zero codes: row, start column, length, code."""
    h, w = grid.shape
    change = np.ones((h, w), dtype=bool)
    change[:, 1:] = grid[:, 1:] != grid[:, :-1]
    rows, starts = np.nonzero(change)
    flat = rows * w + starts
    ends = np.minimum(np.append(flat[1:], h * w), (rows + 1) * w) - rows * w
    codes = grid[rows, starts]
    keep = codes != 0
    return rows[keep], starts[keep], (ends - starts)[keep], codes[keep]


def mask_overlay(
    codes: np.ndarray, colors: dict[int, str], *, title: str = "", size: float = 150, caption: str = ""
) -> str:
    """A label map (0 = nothing) as SVG rectangles, one per horizontal run of equal codes, on a grid of at
    most ``MASK_GRID`` cells a side.

    >>> m = np.zeros((4, 4), dtype=int); m[1:3, 1:3] = 1
    >>> mask_overlay(m, {1: "#000"}).count('fill="#000"')
    2
    """
    grid = _downsample(np.asarray(codes))
    h, w = grid.shape
    cell = size / max(h, w, 1)
    top = 18 if title else 2
    parts = [_label(2, 12, _short(title, 24), size=11, color="#222")] if title else []
    parts.append(
        f'<rect x="2" y="{top}" width="{_n(w * cell)}" height="{_n(h * cell)}" fill="#fff" stroke="#ccc"/>'
    )
    rows, starts, lengths, values = _runs(grid)
    for r, s, n, v in zip(rows.tolist(), starts.tolist(), lengths.tolist(), values.tolist(), strict=True):
        parts.append(
            f'<rect x="{_n(2 + s * cell)}" y="{_n(top + r * cell)}" width="{_n(n * cell)}" '
            f'height="{_n(cell)}" fill="{colors.get(int(v), _OTHERS)}"/>'
        )
    if caption:
        parts.append(_label(2, top + h * cell + 12, _short(caption, 30), size=9))
    return _svg(w * cell + 4, top + h * cell + (16 if caption else 4), title or "mask", parts)


# --------------------------------------------------------------------------------------- html bits
def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "n/a" if not math.isfinite(float(v)) else f"{float(v):.3f}"
    return str(v)


def _cards(pairs: Sequence[tuple[str, Any]]) -> str:
    cards = "".join(
        f'<div class="card"><div class="v">{escape(_fmt(v))}</div><div class="k">{escape(k)}</div></div>'
        for k, v in pairs
    )
    return f'<div class="cards">{cards}</div>'


def _table(frame: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    shown = frame.head(max_rows)
    head = "".join(f'<th class="{"l" if j == 0 else ""}">{escape(str(c))}</th>' for j, c in enumerate(shown))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if j == 0 else ""}">{escape(_fmt(v))}</td>' for j, v in enumerate(row))
        + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = f'<p class="note">… {len(frame) - max_rows} more rows</p>' if len(frame) > max_rows else ""
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'
    )


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}" data-section="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _figure(chart: str, caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{chart}{cap}</figure>"


def _top_codes(codes: np.ndarray, n_names: int, keep: int) -> tuple[np.ndarray, list[int]]:
    """Recode ``codes``: the ``keep`` most frequent become ``0 .. keep - 1``, the others ``keep``."""
    counts = np.bincount(codes, minlength=n_names)
    order = np.argsort(-counts, kind="stable")[:keep]
    recode = np.full(n_names, keep, dtype=np.int64)
    recode[order] = np.arange(len(order))
    return recode[codes], order.tolist()


# ---------------------------------------------------------------------------------------- sections
def _rating_sections(result: RatingConsensus) -> list[str]:
    r = result.ratings
    items = result.to_frame()
    cards = _cards(
        [
            ("items", r.n_items),
            ("annotators", r.n_annotators),
            ("ratings", r.n_ratings),
            ("method", result.method),
            ("mean interval width", float((items["upper"] - items["lower"]).mean())),
        ]
    )
    sample = np.arange(r.n_ratings)
    if len(sample) > MAX_POINTS:
        sample = np.sort(np.random.default_rng(0).choice(len(sample), MAX_POINTS, replace=False))
    group, order = _top_codes(r.annotator, r.n_annotators, len(PALETTE) - 1)
    names = [str(r.annotators[i]) for i in order] + (["others"] if r.n_annotators > len(order) else [])
    scatter = scatter_chart(
        result.values_array[r.item][sample],
        r.value[sample],
        group[sample],
        names,
        title="ratings against the consensus value",
        x_label="consensus value of the item",
        y_label="the annotator's rating",
    )
    caption = (
        "Each dot is one rating; the dashed line is rating = consensus. An annotator above or below it is "
        "biased; one far from it on both sides is noisy."
        + (f" {MAX_POINTS} of {r.n_ratings} ratings drawn." if r.n_ratings > MAX_POINTS else "")
    )
    aq = result.annotators_frame().sort_values("noise_sd", kind="stable")
    wide = items.sort_values("sd", ascending=False, kind="stable").head(20)
    body = (
        cards
        + _figure(scatter, caption)
        + "<h3>Annotators (least noisy first)</h3>"
        + _table(aq)
        + "<h3>Least certain items</h3>"
        + _table(wide)
    )
    return [_section("task-rating", "Ratings: consensus values and annotator bias and noise", body)]


def _multilabel_sections(result: MultiLabelConsensus) -> list[str]:
    a = result.annotations
    iq = result.item_quality
    classes = [str(c) for c in a.classes]
    cards = _cards(
        [
            ("items", a.n_items),
            ("annotators", a.n_annotators),
            ("classes", a.n_classes),
            ("method", result.method),
            ("mean set size", float(iq["n_labels"].mean())),
            ("mean confidence", float(iq["confidence"].mean())),
        ]
    )
    chosen = result.decisions.sum(axis=0).astype(float)
    votes = a.selection_counts().sum(axis=0) / np.maximum(a.item_sizes().sum(), 1)
    counts = bar_chart(
        classes, chosen.tolist(), title="items with the class in their consensus set", width=440
    )
    shares = bar_chart(
        classes, votes.tolist(), title="share of answers choosing the class", value_format="{:.2f}", width=440
    )
    aq = result.annotators_frame().sort_values("quality", ascending=False, kind="stable")
    shown = aq.head(40)
    low = min(0.0, float(np.nanmin(shown["quality"].to_numpy()))) if len(shown) else 0.0
    quality = hbar_chart(
        [str(v) for v in shown["annotator"]],
        shown["quality"].tolist(),
        title="annotator quality (sensitivity + specificity - 1)",
        vmin=low,
    )
    unsure = result.to_frame(proba=False).sort_values("confidence", kind="stable").head(20)
    body = (
        cards
        + f'<div class="row">{_figure(counts)}{_figure(shares)}</div>'
        + _figure(quality, "1 = perfect, 0 = choosing at random; shared across the classes.")
        + "<h3>Annotators</h3>"
        + _table(aq)
        + "<h3>Least certain items</h3>"
        + _table(unsure)
    )
    return [_section("task-multilabel", "Label sets: per-class consensus and annotator quality", body)]


def _pairwise_sections(result: PairwiseConsensus) -> list[str]:
    c = result.comparisons
    items = result.to_frame()
    cards = _cards(
        [
            ("items", c.n_items),
            ("annotators", c.n_annotators),
            ("comparisons", c.n_comparisons),
            ("method", result.method),
        ]
    )
    shown = items.head(40)
    chart = interval_chart(
        [str(v) for v in shown["item"]],
        shown["score"].to_numpy(),
        shown["lower"].to_numpy(),
        shown["upper"].to_numpy(),
        title="item scores with intervals, best first",
    )
    caption = "P(i beats j) = expit(score_i - score_j)." + (
        f" The first 40 of {len(items)} items." if len(items) > 40 else ""
    )
    aq = result.annotators_frame().sort_values("agreement", ascending=False, kind="stable")
    body = (
        cards
        + _figure(chart, caption)
        + "<h3>Ranking</h3>"
        + _table(items)
        + "<h3>Annotators</h3>"
        + _table(aq)
    )
    return [_section("task-pairwise", "Pairwise comparisons: scores and ranking", body)]


def _box_extent(result: BoxConsensus, item: Any) -> tuple[float, float] | None:
    b = result.boxes
    if b.units == "percent":
        return (100.0, 100.0)
    sizes = b.image_sizes
    if sizes is not None and b.units == "px" and item in sizes.index:
        w, h = float(sizes.loc[item, "width"]), float(sizes.loc[item, "height"])
        if w > 0 and h > 0:
            return (w, h)
    return None


def _boxes_sections(result: BoxConsensus) -> list[str]:
    b = result.boxes
    consensus = result.to_frame()
    raw = b.to_frame()
    cards = _cards(
        [
            ("consensus boxes", len(consensus)),
            ("boxes drawn", b.n_boxes),
            ("items", b.n_items),
            ("annotators", b.n_annotators),
            ("classes", b.n_classes),
            ("units", b.units or "as given"),
        ]
    )
    annotators = list(b.annotators)
    drawn = []
    for item in list(b.items)[:MAX_ITEMS_DRAWN]:
        chart = box_overlay(
            raw[raw["item"] == item],
            consensus[consensus["item"] == item],
            annotators,
            title=_short(str(item), 40),
            extent=_box_extent(result, item),
        )
        drawn.append(_figure(chart))
    legend = ", ".join(
        f'<span style="color:{PALETTE[i % len(PALETTE)]}">{escape(str(a))}</span>'
        for i, a in enumerate(annotators[:24])
    )
    note = (
        f'<p class="note">Dashed: the annotators\' boxes ({legend}); black: consensus boxes. '
        f"{min(b.n_items, MAX_ITEMS_DRAWN)} of {b.n_items} items drawn.</p>"
    )
    body = (
        cards
        + note
        + f'<div class="grid">{"".join(drawn)}</div>'
        + "<h3>Annotators</h3>"
        + _table(result.annotators_frame())
        + "<h3>Consensus boxes</h3>"
        + _table(consensus)
    )
    return [_section("task-boxes", "Bounding boxes: consensus boxes and annotator quality", body)]


def _overlay_codes(annotator: np.ndarray, consensus: np.ndarray) -> np.ndarray:
    both = (annotator == consensus) & (consensus != 0)
    extra = (annotator != 0) & (annotator != consensus)
    missed = (consensus != 0) & (annotator == 0)
    return np.select([both, extra, missed], [1, 2, 3], default=0)


def _segmentation_sections(result: SegmentationConsensus) -> list[str]:
    lay = result.layout
    k = result.n_classes
    per_item = result.to_frame()
    cards = _cards(
        [
            ("items", len(result.items)),
            ("annotators", len(result.annotators)),
            ("classes", k),
            ("method", result.method),
            ("mean confidence", float(per_item["mean_confidence"].mean())),
        ]
    )
    class_colors = {c: PALETTE[(c - 1) % len(PALETTE)] for c in range(1, k)}
    rows = []
    for pos, item in enumerate(list(result.items)[:MAX_ITEMS_DRAWN]):
        shape = result.shapes[pos]
        consensus = result.mask(item)
        figures = [mask_overlay(consensus, class_colors, title=f"{item}: consensus")]
        pixels = slice(int(lay.offsets[pos]), int(lay.offsets[pos + 1]))
        slots = [s for s in range(lay.n_slots) if lay.slot_annotator[pos, s] >= 0][:MAX_MASK_ANNOTATORS]
        for s in slots:
            mask = lay.votes[pixels, s].reshape(shape).astype(np.int64)
            codes = _overlay_codes(mask, consensus.astype(np.int64))
            agree = float((mask == consensus).mean())
            name = result.annotators[lay.slot_annotator[pos, s]]
            figures.append(
                mask_overlay(codes, _OVERLAY_COLORS, title=str(name), caption=f"{agree:.1%} agree")
            )
        rows.append(f'<div class="grid">{"".join(_figure(f) for f in figures)}</div>')
    legend = (
        f'<p class="note">Annotators\' masks against the consensus: <span style="color:{_OVERLAY_COLORS[1]}">'
        f'same label</span>, <span style="color:{_OVERLAY_COLORS[2]}">the annotator only (or another class)'
        f'</span>, <span style="color:#c77">missed</span>. Masks downsampled to at most {MASK_GRID} cells a '
        f"side; {min(len(result.items), MAX_ITEMS_DRAWN)} of {len(result.items)} items drawn.</p>"
    )
    body = (
        cards
        + legend
        + "".join(rows)
        + "<h3>Annotators</h3>"
        + _table(result.annotators_frame())
        + "<h3>Items</h3>"
        + _table(per_item)
    )
    return [_section("task-segmentation", "Segmentation masks: consensus and annotator overlays", body)]


_SECTIONS: dict[type, tuple[str, Callable[[Any], list[str]]]] = {
    RatingConsensus: ("rating", _rating_sections),
    MultiLabelConsensus: ("multilabel", _multilabel_sections),
    PairwiseConsensus: ("pairwise", _pairwise_sections),
    BoxConsensus: ("boxes", _boxes_sections),
    SegmentationConsensus: ("segmentation", _segmentation_sections),
}


def _builder(result: Any) -> tuple[str, Callable[[Any], list[str]]]:
    for cls, entry in _SECTIONS.items():
        if isinstance(result, cls):
            return entry
    raise InvalidParameterError(
        f"no task report for {type(result).__name__}; expected the result of a rating, multi-label, "
        "pairwise, box or segmentation aggregation (for class labels use accord.report.build_report)"
    )


def task_sections(result: Any) -> tuple[str, list[str]]:
    """The task type (``"rating"``, ``"multilabel"``, ``"pairwise"``, ``"boxes"``, ``"segmentation"``) of
    ``result`` and its report sections as HTML fragments."""
    task, build = _builder(result)
    return task, build(result)


def render_task_report(result: Any, *, title: str | None = None, notes: Sequence[str] = ()) -> str:
    """One self-contained HTML page (inline CSS and SVG, no scripts) for the result of a task.

    Parameters
    ----------
    result : RatingConsensus, MultiLabelConsensus, PairwiseConsensus, BoxConsensus or SegmentationConsensus
    title : str, optional
        The page title (default: "accord report: <task>").
    notes : sequence of str
        Lines shown under the title (e.g. the correlation with gold values).
    """
    task, sections = task_sections(result)
    title = title or f"accord report: {task}"
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"task {escape(task)} · accord {escape(__version__)} · {escape(created)}"
    extra = "".join(f'<p class="meta">{escape(line)}</p>' for line in notes)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="meta">{meta}</p>{extra}</header>'
        f"<main>{''.join(sections)}</main>"
        "<footer>Made with accord. Self-contained: no scripts, no network.</footer></body></html>\n"
    )
