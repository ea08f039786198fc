"""Hand-written inline SVG charts: vertical bars, horizontal bars, lines and heat maps.

Each function returns one ``<svg>`` element as text, sized by its ``viewBox`` so it scales with the page. No
JavaScript, no external fonts or files: the charts render offline and print. Every text is escaped.

>>> svg = bar_chart(["1", "2", "3"], [4, 10, 2], title="labels per item")
>>> svg.startswith("<svg") and svg.count("<rect") >= 3
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["PALETTE", "bar_chart", "hbar_chart", "heatmap", "line_chart", "nice_ticks"]

PALETTE = ("#3465a4", "#cc6633", "#4e9a06", "#75507b", "#c4a000", "#06989a", "#a40000", "#555753")
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'
_AXIS = "#888"
_GRID = "#e4e4e4"


def _num(x: float) -> str:
    """Coordinates with two decimals at most."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _text(
    x: float,
    y: float,
    s: str,
    *,
    size: int = 11,
    anchor: str = "start",
    color: str = "#333",
    weight: str = "normal",
    rotate: float | None = None,
) -> str:
    transform = f' transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"' if rotate is not None else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
        f'font-weight="{weight}"{transform}>{escape(str(s))}</text>'
    )


def _open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="{_num(width)}" height="{_num(height)}" role="img" aria-label="{escape(label)}" {_FONT}>'
        f"<title>{escape(label)}</title>"
    )


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(n, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi - step * 1e-9:
        ticks.append(round(t, 12))
    return ticks


def _fmt_tick(v: float) -> str:
    if abs(v) >= 10000:
        return f"{v:,.0f}"
    if float(v).is_integer():
        return str(int(v))
    return f"{v:g}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: float = 520,
    height: float = 240,
    color: str = PALETTE[0],
    value_format: str = "{:,.0f}",
    show_values: bool | None = None,
) -> str:
    """Vertical bars (a histogram when ``labels`` are bins). Values are written above the bars when there are
    few bars (``show_values``)."""
    n = len(values)
    left, right, top, bottom = 52, 12, 26 if title else 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max([float(v) for v in values] + [0.0])
    ticks = nice_ticks(0.0, vmax if vmax > 0 else 1.0)
    ymax = ticks[-1]
    parts = [_open(width, height, title or y_label or "bar chart")]
    if title:
        parts.append(_text(left, 16, title, size=13, weight="600"))
    parts += _y_axis(ticks, ymax, left, top, plot_w, plot_h)
    show = (n <= 16) if show_values is None else show_values
    slot = plot_w / max(n, 1)
    bar_w = min(max(1.0, slot * 0.8), 64.0)
    label_every = max(1, math.ceil(n / 16))
    for i, (lab, v) in enumerate(zip(labels, values, strict=False)):
        h = plot_h * float(v) / ymax if ymax > 0 else 0.0
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" fill="{color}">'
            f"<title>{escape(str(lab))}: {escape(value_format.format(v))}</title></rect>"
        )
        if show and v:
            parts.append(_text(x + bar_w / 2, y - 3, value_format.format(v), size=9, anchor="middle"))
        if i % label_every == 0:
            parts.append(_text(x + bar_w / 2, top + plot_h + 14, str(lab), size=10, anchor="middle"))
    parts += _axis_titles(x_label, y_label, left, top, plot_w, plot_h, height)
    parts.append("</svg>")
    return "".join(parts)


def _y_axis(
    ticks: list[float],
    ymax: float,
    left: float,
    top: float,
    plot_w: float,
    plot_h: float,
    ymin: float = 0.0,
    fmt=_fmt_tick,
) -> list[str]:
    out = []
    span = (ymax - ymin) or 1.0
    for t in ticks:
        y = top + plot_h - plot_h * (t - ymin) / span
        out.append(
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" y2="{_num(y)}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        out.append(_text(left - 6, y + 4, fmt(t), size=10, anchor="end", color="#555"))
    out.append(
        f'<line x1="{_num(left)}" y1="{_num(top + plot_h)}" x2="{_num(left + plot_w)}" '
        f'y2="{_num(top + plot_h)}" stroke="{_AXIS}" stroke-width="1"/>'
    )
    return out


def _axis_titles(
    x_label: str, y_label: str, left: float, top: float, plot_w: float, plot_h: float, height: float
) -> list[str]:
    out = []
    if x_label:
        out.append(_text(left + plot_w / 2, height - 6, x_label, size=11, anchor="middle", color="#555"))
    if y_label:
        out.append(_text(12, top + plot_h / 2, y_label, size=11, anchor="middle", color="#555", rotate=-90))
    return out


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    width: float = 560,
    bar_height: float = 18,
    value_format: str = "{:.3f}",
    vmin: float = 0.0,
    vmax: float = 1.0,
    colors: Sequence[str] | None = None,
    gaps_after: Sequence[int] = (),
) -> str:
    """Horizontal bars with the label on the left and the value at the end of the bar (the annotator
    chart). ``gaps_after`` inserts a "..." row after those positions (to show the best and the worst only)."""
    label_w = min(200.0, 12 + 6.6 * max([len(str(s)) for s in labels] + [4]))
    top = 26 if title else 8
    rows = len(values) + len(gaps_after)
    axis_h = 22
    height = top + rows * (bar_height + 4) + axis_h + 6
    plot_w = width - label_w - 60
    parts = [_open(width, height, title or "bar chart")]
    if title:
        parts.append(_text(8, 16, title, size=13, weight="600"))
    span = (vmax - vmin) or 1.0
    y: float = top
    for i, (lab, v) in enumerate(zip(labels, values, strict=False)):
        w = max(0.0, plot_w * (float(v) - vmin) / span) if math.isfinite(float(v)) else 0.0
        color = colors[i] if colors else PALETTE[0]
        short = str(lab) if len(str(lab)) <= 30 else str(lab)[:29] + "…"
        parts.append(_text(label_w - 6, y + bar_height - 5, short, size=11, anchor="end"))
        parts.append(
            f'<rect x="{_num(label_w)}" y="{_num(y)}" width="{_num(w)}" height="{_num(bar_height)}" '
            f'fill="{color}"><title>{escape(str(lab))}: {escape(value_format.format(v))}</title></rect>'
        )
        parts.append(_text(label_w + w + 4, y + bar_height - 5, value_format.format(v), size=10))
        y += bar_height + 4
        if i in gaps_after:
            parts.append(_text(label_w - 6, y + bar_height - 5, "⋮", size=12, anchor="end", color="#888"))
            y += bar_height + 4
    for t in nice_ticks(vmin, vmax, 5):
        if t < vmin - 1e-12 or t > vmax + 1e-12:
            continue
        x = label_w + plot_w * (t - vmin) / span
        parts.append(
            f'<line x1="{_num(x)}" y1="{_num(top - 2)}" x2="{_num(x)}" y2="{_num(y)}" stroke="{_GRID}"/>'
        )
        parts.append(_text(x, y + 14, _fmt_tick(t), size=10, anchor="middle", color="#555"))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x: Sequence[float],
    series: dict[str, Sequence[float | None]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: float = 560,
    height: float = 280,
    y_range: tuple[float, float] | None = None,
    errors: dict[str, Sequence[float]] | None = None,
    annotate: bool = False,
    value_format: str = "{:.3f}",
    dashed: Sequence[str] = (),
) -> str:
    """Lines with markers, one per series (``None`` leaves a gap), optional error bars and value labels."""
    left, right, top, bottom = 62, 16, 30 if title else 12, 44
    legend_h = 18 if len(series) > 1 else 0
    top += legend_h
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [float(v) for ys in series.values() for v in ys if v is not None and math.isfinite(float(v))]
    if errors:
        finite += [
            float(v) + float(e)
            for name, ys in series.items()
            for v, e in zip(ys, errors.get(name, []), strict=False)
            if v is not None
        ]
    lo, hi = y_range if y_range else (min(finite, default=0.0), max(finite, default=1.0))
    ticks = nice_ticks(lo, hi)
    if not y_range:
        lo, hi = ticks[0], ticks[-1]
    ticks = [t for t in ticks if lo - 1e-12 <= t <= hi + 1e-12]
    xs = [float(v) for v in x]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_span = (x_hi - x_lo) or 1.0

    pad = 14.0

    def px(v: float) -> float:
        return left + pad + (plot_w - 2 * pad) * (v - x_lo) / x_span if len(xs) > 1 else left + plot_w / 2

    def py(v: float) -> float:
        return top + plot_h - plot_h * (v - lo) / ((hi - lo) or 1.0)

    parts = [_open(width, height, title or y_label or "line chart")]
    if title:
        parts.append(_text(left, 16, title, size=13, weight="600"))
    parts += _y_axis(ticks, hi, left, top, plot_w, plot_h, ymin=lo)
    label_every = max(1, math.ceil(len(xs) / 14))
    for i, v in enumerate(xs):
        if i % label_every == 0:
            parts.append(
                _text(px(v), top + plot_h + 14, _fmt_tick(v), size=10, anchor="middle", color="#555")
            )
    for s, (name, ys) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        dash = ' stroke-dasharray="5 4"' if name in dashed else ""
        pts = [
            (px(xv), py(float(yv)), yv)
            for xv, yv in zip(xs, ys, strict=False)
            if yv is not None and math.isfinite(float(yv))
        ]
        if len(pts) > 1:
            path = " ".join(f"{_num(a)},{_num(b)}" for a, b, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        errs = (errors or {}).get(name)
        for j, (a, b, yv) in enumerate(pts):
            if errs is not None and j < len(errs) and errs[j]:
                e = float(errs[j])
                parts.append(
                    f'<line x1="{_num(a)}" y1="{_num(py(float(yv) - e))}" x2="{_num(a)}" '
                    f'y2="{_num(py(float(yv) + e))}" stroke="{color}" stroke-width="1"/>'
                )
            parts.append(
                f'<circle cx="{_num(a)}" cy="{_num(b)}" r="3" fill="{color}">'
                f"<title>{escape(name)}: {escape(value_format.format(yv))}</title></circle>"
            )
            if annotate:
                parts.append(_text(a, b - 7, value_format.format(yv), size=9, anchor="middle", color=color))
        if len(series) > 1:
            lx = left + s * min(150, plot_w / len(series))
            parts.append(
                f'<rect x="{_num(lx)}" y="{_num(top - legend_h - 2)}" width="12" height="4" fill="{color}"/>'
            )
            parts.append(_text(lx + 16, top - legend_h + 3, name, size=10))
    parts += _axis_titles(x_label, y_label, left, top, plot_w, plot_h, height)
    parts.append("</svg>")
    return "".join(parts)


def _cell_color(v: float) -> str:
    """White (0) to deep blue (1)."""
    v = 0.0 if not math.isfinite(v) else min(max(v, 0.0), 1.0)
    r = round(255 - v * (255 - 33))
    g = round(255 - v * (255 - 84))
    b = round(255 - v * (255 - 150))
    return f"#{r:02x}{g:02x}{b:02x}"


TITLE_CHAR_WIDTH = 7.2  # px per character of a 12px semi-bold title (generous for wide glyphs)


def heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "",
    row_title: str = "",
    col_title: str = "",
    cell: float = 30,
    value_format: str = "{:.2f}",
    show_values: bool | None = None,
    max_label: int = 12,
) -> str:
    """A matrix of shares in [0, 1] as coloured cells (white = 0, blue = 1), values written inside when the
    matrix is small."""
    n_rows, n_cols = len(row_labels), len(col_labels)
    short = [str(s) if len(str(s)) <= max_label else str(s)[: max_label - 1] + "…" for s in row_labels]
    short_cols = [str(s) if len(str(s)) <= max_label else str(s)[: max_label - 1] + "…" for s in col_labels]
    label_w = 14 + 6.2 * max([len(s) for s in short] + [2]) + (14 if row_title else 0)
    rotate = any(6.2 * len(s) > cell - 2 for s in short_cols)
    col_label_h = 10 + 5.4 * max([len(s) for s in short_cols] + [2]) if rotate else 18
    top = (22 if title else 4) + (14 if col_title else 0) + col_label_h
    # A label rotated by -60 degrees from the last column's middle reaches cos(60) x its length to the right.
    overhang = 3 + 0.5 * 6.2 * len(short_cols[-1]) - cell / 2 if rotate and short_cols else 0.0
    # The title is one line of 12px semi-bold text: the figure is at least as wide as it, so that a small
    # multiple never clips its title (an annotator's long id, its label count).
    width = max(label_w + n_cols * cell + 8 + max(0.0, overhang), 8 + TITLE_CHAR_WIDTH * len(title))
    height = top + n_rows * cell + 6
    show = (n_cols <= 10 and cell >= 24) if show_values is None else show_values
    parts = [_open(width, height, title or "heat map")]
    if title:
        parts.append(_text(2, 14, title, size=12, weight="600"))
    if col_title:
        parts.append(
            _text(
                label_w + n_cols * cell / 2,
                (22 if title else 4) + 10,
                col_title,
                size=10,
                anchor="middle",
                color="#555",
            )
        )
    if row_title:
        parts.append(
            _text(10, top + n_rows * cell / 2, row_title, size=10, anchor="middle", color="#555", rotate=-90)
        )
    for j, lab in enumerate(short_cols):
        x = label_w + j * cell + cell / 2
        if rotate:
            parts.append(_text(x + 3, top - 4, lab, size=10, anchor="start", rotate=-60))
        else:
            parts.append(_text(x, top - 5, lab, size=10, anchor="middle"))
    for i, row in enumerate(matrix):
        y = top + i * cell
        parts.append(_text(label_w - 4, y + cell / 2 + 4, short[i], size=10, anchor="end"))
        for j, v in enumerate(row):
            v = float(v)
            x = label_w + j * cell
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(cell)}" height="{_num(cell)}" '
                f'fill="{_cell_color(v)}" stroke="#fff"><title>{escape(str(row_labels[i]))} → '
                f"{escape(str(col_labels[j]))}: {escape(value_format.format(v))}</title></rect>"
            )
            if show:
                ink = "#fff" if v > 0.55 else "#222"
                parts.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2 + 3.5,
                        value_format.format(v),
                        size=9,
                        anchor="middle",
                        color=ink,
                    )
                )
    parts.append("</svg>")
    return "".join(parts)
