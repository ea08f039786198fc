"""The HTML (and JSON) report: :func:`build_report` collects the numbers, :func:`render_html` draws them.

>>> from accord.datasets import load_demo
>>> from accord.report import build_report, render_html
>>> demo = load_demo()
>>> data = build_report(demo.annotations, gold=demo.gold, redundancy=False)
>>> round(data.gold["mv_accuracy"], 3)
0.675
>>> html = render_html(data)                     # one self-contained page: inline CSS and SVG, no scripts
>>> html.startswith("<!DOCTYPE html>")
True
"""

from .data import FORMAT_VERSION, ReportData, build_report, error_by_labels_per_item, redundancy_curve
from .render import render_html, write_report

__all__ = [
    "FORMAT_VERSION",
    "ReportData",
    "build_report",
    "error_by_labels_per_item",
    "redundancy_curve",
    "render_html",
    "write_report",
]
