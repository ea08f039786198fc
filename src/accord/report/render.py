"""The render stage: :class:`~accord.report.data.ReportData` -> one self-contained HTML page (or JSON).

The page has inline CSS and inline SVG (:mod:`accord.report.svg`), no scripts, no web fonts, no links to
anything outside the file: it opens offline, prints, and can be mailed as one attachment. Every section is a
``<section id=... data-section=...>`` so tests (and people) can find it. Nothing here computes statistics: the
numbers all come from the data stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError
from . import svg
from .data import ReportData

__all__ = ["SECTIONS", "render_html", "write_report"]

SECTIONS = (
    "summary",
    "agreement",
    "confidence",
    "annotators",
    "confusions",
    "raw-vs-consensus",
    "convergence",
    "gold",
    "review",
    "notes",
)
MAX_TABLE_ROWS = 100
MAX_BARS = 40

CSS = """
:root { --ink:#222; --muted:#666; --line:#ddd; --accent:#3465a4; --bad:#a40000; --good:#4e9a06; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fafafa;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
header { background:#fff; border-bottom:1px solid var(--line); padding:18px 28px 10px; }
header h1 { margin:0 0 4px; font-size:22px; }
.meta { color:var(--muted); margin:0 0 8px; }
nav a { margin-right:12px; color:var(--accent); text-decoration:none; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 28px 40px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; margin:18px 0; padding:14px 20px;
} section h2 { margin:2px 0 10px; font-size:18px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:6px 0 12px; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:120px;
background:#fcfcfc; } .card .v { font-size:20px; font-weight:600; }
.card .k { color:var(--muted); font-size:12px; }
.row { display:flex; flex-wrap:wrap; gap:18px; align-items:flex-start; }
.grid { display:flex; flex-wrap:wrap; gap:10px 16px; }
.grid figure { margin:0; }
figure figcaption { color:var(--muted); font-size:12px; max-width:560px; }
table { border-collapse:collapse; font-size:13px; margin:6px 0; }
th, td { padding:3px 9px; border-bottom:1px solid #eee; text-align:right; }
th { background:#f3f3f3; position:sticky; top:0; }
td.l, th.l { text-align:left; }
.scroll { overflow-x:auto; max-width:100%; }
.note { color:var(--muted); }
.bad { color:var(--bad); } .good { color:var(--good); }
ul.notes li { margin:2px 0; }
svg { max-width:100%; height:auto; }
footer { color:var(--muted); text-align:center; font-size:12px; padding:10px; }
"""


# ---------------------------------------------------------------------------------------------------- helpers
def _f(value: Any, fmt: str = "{:.3f}", missing: str = "n/a") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return fmt.format(value)


def _card(key: str, value: str) -> str:
    return f'<div class="card"><div class="v">{escape(value)}</div><div class="k">{escape(key)}</div></div>'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: Sequence[int] = (0,)) -> str:
    head = "".join(
        f'<th class="{"l" if j in left else ""}">{escape(str(h))}</th>' for j, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"l" if j in left else ""}">{escape(str(c))}</td>' for j, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}" data-section="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _figure(chart: str, caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{chart}{cap}</figure>"


# ---------------------------------------------------------------------------------------------------- section
def _summary(d: ReportData) -> str:
    s = d.summary
    cards = "".join(
        [
            _card("items", f"{s['n_items']:,}"),
            _card("annotators", f"{s['n_annotators']:,}"),
            _card("classes", f"{s['n_classes']:,}"),
            _card("annotations", f"{s['n_annotations']:,}"),
            _card("labels per item (mean)", f"{s['labels_per_item_mean']:.2f}"),
            _card("unanimous items", f"{s['unanimous_items']:,}"),
        ]
    )
    rows = [
        (c, f"{r:,}", f"{r / max(s['n_annotations'], 1):.1%}", f"{n:,}", f"{n / max(s['n_items'], 1):.1%}")
        for c, r, n in zip(s["classes"], s["raw_label_counts"], s["consensus_label_counts"], strict=False)
    ]
    table = _table(["class", "raw labels", "share", "consensus items", "share"], rows)
    hist = d.labels_per_item
    chart = svg.bar_chart(
        [b["label"] for b in hist],
        [b["count"] for b in hist],
        title="Labels per item",
        x_label="annotations on the item",
        y_label="items",
    )
    return (
        f'<div class="cards">{cards}</div><div class="row"><div>{table}</div>'
        f"{_figure(chart, 'How many annotations each item received.')}</div>"
    )


def _agreement(d: ReportData) -> str:
    a = d.agreement
    cards = "".join(
        [
            _card("Fleiss' kappa", _f(a.get("fleiss_kappa"))),
            _card("Krippendorff's alpha (nominal)", _f(a.get("krippendorff_alpha"))),
            _card("observed pairwise agreement", _f(a.get("observed_agreement"))),
            _card("items with 2+ annotations", f"{a.get('n_items_used', 0):,}"),
        ]
    )
    text = (
        "<p class='note'>Chance-corrected agreement between annotators, computed on the items with at least "
        "two annotations: 1 = perfect agreement, 0 = what chance alone gives, below 0 = systematic "
        "disagreement. Fleiss' kappa averages per-item pair agreement; Krippendorff's alpha pools all "
        "pairable annotations.</p>"
    )
    return f'<div class="cards">{cards}</div>{text}'


def _confidence(d: ReportData) -> str:
    c = d.confidence
    edges = c["edges"]
    labels = [f"{edges[i]:.2f}" for i in range(len(c["counts"]))]
    chart = svg.bar_chart(
        labels,
        c["counts"],
        title="Consensus confidence",
        x_label="posterior of the chosen class (bin start)",
        y_label="items",
        color=svg.PALETTE[1],
        show_values=False,
    )
    cards = "".join(
        [
            _card("mean confidence", _f(c["mean"])),
            _card("median", _f(c["median"])),
            _card("items below 0.9", f"{c['below_0_9']:,}"),
            _card("items below 0.6", f"{c['below_0_6']:,}"),
        ]
    )
    return (
        f'<div class="cards">{cards}</div>{_figure(chart, "How sure the model is of each consensus label.")}'
    )


def _quality_color(q: float, chance: float) -> str:
    if q is None or not math.isfinite(q):
        return "#999"
    if q < chance:
        return "#a40000"
    return "#4e9a06" if q >= 0.8 else "#3465a4"


def _annotators(d: ReportData) -> str:
    rows = d.annotators
    chance = 1.0 / max(d.summary["n_classes"], 1)
    shown: list[Any] = rows
    gaps: tuple[int, ...] = ()
    if len(rows) > MAX_BARS:
        half = MAX_BARS // 2
        shown, gaps = rows[:half] + rows[-half:], (half - 1,)
    values = [r["quality"] if r["quality"] is not None else float("nan") for r in shown]
    chart = svg.hbar_chart(
        [r["annotator"] for r in shown],
        values,
        title="Estimated annotator quality",
        colors=[_quality_color(v, chance) for v in values],
        gaps_after=gaps,
    )
    caption = (
        f"Quality as estimated by {d.method} (expected accuracy unless the model defines its own score); "
        f"red bars are below chance ({chance:.2f})."
    )
    if gaps:
        caption += f" Showing the {MAX_BARS // 2} best and the {MAX_BARS // 2} worst of {len(rows):,}."
    gold = any("gold_accuracy" in r for r in rows)
    header = ["annotator", "labels", "quality", "agrees with consensus", "expected accuracy", "worst class"]
    header += ["gold items", "gold accuracy"] if gold else []
    table_rows = (
        rows if len(rows) <= MAX_TABLE_ROWS else rows[: MAX_TABLE_ROWS // 2] + rows[-MAX_TABLE_ROWS // 2 :]
    )
    body = []
    for r in table_rows:
        row = [
            r["annotator"],
            f"{r['n_labels']:,}",
            _f(r["quality"]),
            _f(r["agreement_with_consensus"]),
            _f(r["expected_accuracy"]),
            r["worst_class"],
        ]
        if gold:
            row += [f"{r.get('n_gold', 0):,}", _f(r.get("gold_accuracy"))]
        body.append(row)
    more = ""
    if len(rows) > MAX_TABLE_ROWS:
        more = (
            f"<p class='note'>Table: the {MAX_TABLE_ROWS // 2} best and {MAX_TABLE_ROWS // 2} worst of "
            f"{len(rows):,} annotators (all are in the JSON report).</p>"
        )
    table = f'<div class="scroll">{_table(header, body, left=(0, 5))}</div>'
    return f"{_figure(chart, caption)}{more}{table}"


def _confusions(d: ReportData) -> str:
    classes = d.summary["classes"]
    cell = 30 if len(classes) <= 4 else 22 if len(classes) <= 8 else 16
    figs = [
        _figure(
            svg.heatmap(
                c["matrix"],
                classes,
                classes,
                title=f"{c['annotator']} ({c['n_labels']:,} labels)",
                row_title="true",
                col_title="given",
                cell=cell,
            ),
            f"{c.get('shown_as', 'most active')}; quality {_f(c.get('quality'))}",
        )
        for c in d.confusions
    ]
    n_worst = sum(c.get("shown_as") == "worst" for c in d.confusions)
    which = (
        f"the {n_worst} worst (lowest quality) and the {len(d.confusions) - n_worst} most active of the other"
        if n_worst
        else f"all {len(d.confusions)}"
        if len(d.confusions) == d.summary["n_annotators"]
        else f"the {len(d.confusions)} most active"
    )
    note = (
        f"<p class='note'>Estimated confusion matrices P(label given | true class) of {which} annotators (of "
        f"{d.summary['n_annotators']:,}); rows sum to 1.</p>"
    )
    return note + f'<div class="grid">{"".join(figs)}</div>'


def _cross(title: str, table: dict[str, Any], classes: list[str], rows_title: str) -> str:
    return svg.heatmap(
        table["shares"],
        classes,
        classes,
        title=title,
        row_title=rows_title,
        col_title="raw label" if "raw" in title.lower() else "predicted",
        cell=34 if len(classes) <= 6 else 24,
    )


def _raw_vs_consensus(d: ReportData) -> str:
    classes = d.summary["classes"]
    figs = [
        _figure(
            _cross("Raw labels vs consensus", d.raw_vs_consensus, classes, "consensus"),
            "For the items of each consensus class (rows), the share of raw annotations per label.",
        )
    ]
    if d.gold is not None:
        g = d.gold
        figs += [
            _figure(_cross("Raw labels vs gold", g["raw_vs_gold"], classes, "gold")),
            _figure(_cross("Majority vote vs gold", g["mv_vs_gold"], classes, "gold")),
            _figure(_cross(f"{d.method} vs gold", g["consensus_vs_gold"], classes, "gold")),
        ]
    return f'<div class="grid">{"".join(figs)}</div>'


def _convergence(d: ReportData) -> str:
    c = d.convergence
    if not c.get("iterative"):
        return f"<p class='note'>{escape(d.method)} is not iterative: there is no convergence to show.</p>"
    it = c["iterations"]
    figs = [
        _figure(
            svg.line_chart(
                it,
                {"log-likelihood": c["log_likelihood"]},
                title="Log-likelihood per iteration",
                x_label="iteration",
                y_label="log-likelihood",
                value_format="{:,.1f}",
            ),
            "Observed-data log-likelihood of the parameters fitted in each iteration.",
        )
    ]
    if c.get("accuracy"):
        acc = c["accuracy"]
        lo = max(0.0, math.floor(min(acc) * 10) / 10 - 0.1)
        figs.append(
            _figure(
                svg.line_chart(
                    it[: len(acc)],
                    {"accuracy": acc},
                    title="Consensus accuracy over EM iterations",
                    x_label="iteration",
                    y_label="accuracy on gold",
                    y_range=(lo, 1.0),
                    annotate=len(acc) <= 16,
                    value_format="{:.3f}",
                ),
                "Accuracy on the gold items of the labels entering each iteration "
                "(iteration 1 = the majority-vote start).",
            )
        )
    status = (
        "converged" if c.get("converged") else "stopped at max_iter" if c.get("converged") is False else ""
    )
    text = f"<p class='note'>{c.get('n_iter')} iterations{', ' + status if status else ''}.</p>"
    return text + f'<div class="row">{"".join(figs)}</div>'


def _gold(d: ReportData) -> str:
    g = d.gold
    if g is None:
        return (
            "<p class='note'>No gold labels were given. With gold labels (<code>--gold gold.csv</code>) this "
            "section shows accuracy, macro-F1, and how the error falls as labels per item grow.</p>"
        )
    cards = "".join(
        [
            _card(f"{d.method} accuracy", _f(g["accuracy"])),
            _card(f"{d.method} macro-F1", _f(g["macro_f1"])),
            _card("majority-vote accuracy", _f(g["mv_accuracy"])),
            _card("majority-vote macro-F1", _f(g["mv_macro_f1"])),
            _card("gold items", f"{g['n_gold']:,}"),
            _card("wrong consensus labels", f"{g['n_wrong']:,}"),
        ]
    )
    body = f'<div class="cards">{cards}</div>'
    r = g.get("redundancy")
    if r:
        series = {name: s["error"] for name, s in r["series"].items()}
        errs = {name: s["std"] for name, s in r["series"].items()}
        chart = svg.line_chart(
            r["k"],
            series,
            errors=errs,
            title="Error vs labels per item",
            x_label="labels per item (subsampled)",
            y_label="error on gold",
            dashed=("single annotator",),
            width=600,
            height=300,
        )
        body += _figure(
            chart,
            f"Each point: mean over {r['repeats']} random subsample{'s' if r['repeats'] != 1 else ''} "
            f"keeping at most k labels per item ({r['n_items']:,} items, {r['n_gold']:,} with gold); "
            "bars: one standard deviation. Models are refitted on every subsample; at k = 1 there is "
            "nothing to aggregate, so every method returns the item's one label.",
        )
    return body


def _review(d: ReportData) -> str:
    if not d.review:
        return "<p class='note'>No items.</p>"
    gold = any("gold" in r for r in d.review)
    header = ["item", "consensus", "confidence", "annotations", "votes"] + (["gold"] if gold else [])
    rows = []
    for r in d.review:
        votes = ", ".join(f"{c}: {n}" for c, n in sorted(r["votes"].items(), key=lambda kv: -kv[1]))
        row = [r["item"], r["label"], _f(r["confidence"]), r["n_annotations"], votes]
        if gold:
            row.append("" if r.get("gold") is None else r["gold"])
        rows.append(row)
    note = (
        "<p class='note'>The items the consensus is least sure of (lowest posterior of the chosen class): "
        "the best candidates for an expert's look or more annotations.</p>"
    )
    return note + f'<div class="scroll">{_table(header, rows, left=(0, 1, 4, 5))}</div>'


def _notes(d: ReportData) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(d.params.items()) if v is not None) or "defaults"
    items = [f"Method: {d.method} ({params})."] + list(d.notes)
    return "<ul class='notes'>" + "".join(f"<li>{escape(str(n))}</li>" for n in items) + "</ul>"


_BUILDERS = {
    "summary": ("Summary", _summary),
    "agreement": ("Agreement between annotators", _agreement),
    "confidence": ("Consensus confidence", _confidence),
    "annotators": ("Annotators", _annotators),
    "confusions": ("Annotator confusion matrices", _confusions),
    "raw-vs-consensus": ("Raw annotations vs consensus", _raw_vs_consensus),
    "convergence": ("EM convergence", _convergence),
    "gold": ("Against gold labels", _gold),
    "review": ("Items worth reviewing", _review),
    "notes": ("Notes", _notes),
}


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no scripts, no external resources)."""
    sections = [_section(sid, title, build(data)) for sid, (title, build) in _BUILDERS.items()]
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, (title, _) in _BUILDERS.items())
    meta = (
        f"{escape(data.method)} on {data.summary['n_annotations']:,} annotations · accord "
        f"{escape(data.accord_version)} · {escape(data.created)} · report format {data.format_version}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(data.title)}</h1><p class="meta">{meta}</p><nav>{nav}</nav></header>'
        f"<main>{''.join(sections)}</main>"
        "<footer>Made with accord. Self-contained: no scripts, no network.</footer></body></html>\n"
    )


def write_report(data: ReportData, path: str | Path, format: str | None = None) -> Path:
    """Write ``data`` as HTML or JSON (``format``; default from the suffix: ``.json`` -> JSON, else HTML)."""
    path = Path(path)
    fmt = (format or ("json" if path.suffix.lower() == ".json" else "html")).lower()
    if fmt not in ("html", "json"):
        raise InvalidParameterError(f"report format must be 'html' or 'json', got {format!r}")
    text = data.to_json() if fmt == "json" else render_html(data)
    path.write_text(text, encoding="utf-8")
    return path
