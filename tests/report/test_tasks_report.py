"""``accord report FILE --task TYPE``: one self-contained HTML page per task type, and its pieces.

Every page is parsed with :mod:`html.parser`: tags balance, the task's section is there, and nothing is
loaded from outside (no scripts, no links, no images by URL).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord.cli import main
from accord.errors import InvalidParameterError
from accord.report.tasks import box_overlay, mask_overlay, render_task_report, scatter_chart
from accord.tasks import aggregate_masks, aggregate_ratings_frame

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
SVG_LEAVES = {"rect", "circle", "line", "polyline", "path"}


class Page(HTMLParser):
    """Collects the sections and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.sections: list[str] = []
        self.tags: dict[str, int] = {}
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        values = dict(attrs)
        if "data-section" in values:
            self.sections.append(str(values["data-section"]))
        if tag in ("script", "iframe", "object") or (
            tag in ("img", "link") and values.get("src", values.get("href"))
        ):
            self.problems.append(f"external or active content: <{tag}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert html.startswith("<!DOCTYPE html>")
    assert not page.problems, page.problems[:5]
    assert not page.stack, page.stack
    return page


def _files(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    """One small input per task, with the extra flags it needs."""
    ratings = tmp_path / "ratings.csv"
    pd.DataFrame(
        {
            "item": ["x", "x", "x", "y", "y", "y", "z", "z", "z"],
            "annotator": ["a", "b", "c"] * 3,
            "value": [1, 3, 2, 5, 7, 6, 8, 9, 10],
        }
    ).to_csv(ratings, index=False)
    multilabel = tmp_path / "multilabel.csv"
    pd.DataFrame(
        {
            "item": ["i1", "i1", "i1", "i2", "i2", "i2"],
            "annotator": ["a", "b", "c"] * 2,
            "label": [json.dumps(s) for s in (["cat", "dog"], ["cat"], ["cat", "dog"], [], ["dog"], [])],
        }
    ).to_csv(multilabel, index=False)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame(
        {
            "annotator": ["a", "b", "a", "b", "c"],
            "left": ["x", "y", "x", "y", "z"],
            "right": ["y", "x", "z", "z", "x"],
            "winner": ["x", "x", "x", "y", "x"],
        }
    ).to_csv(pairs, index=False)
    boxes = tmp_path / "boxes.csv"
    pd.DataFrame(
        {
            "item": ["img1"] * 4 + ["img2"] * 2,
            "annotator": ["a", "b", "c", "c", "a", "b"],
            "label": ["car"] * 4 + ["person"] * 2,
            "x": [10, 12, 11, 300, 50, 52],
            "y": [10, 11, 9, 300, 60, 61],
            "width": [100, 98, 101, 20, 30, 29],
            "height": [50, 52, 50, 20, 80, 78],
        }
    ).to_csv(boxes, index=False)
    masks = tmp_path / "masks"
    truth = np.zeros((80, 100), dtype=np.uint8)
    truth[20:60, 10:70] = 1
    for item in ("m1", "m2"):
        (masks / item).mkdir(parents=True)
        for k, name in enumerate(("a", "b", "c")):
            mask = truth.copy()
            mask[:, 70 : 70 + 4 * k] = 1  # c draws 8 columns too many, b 4
            np.save(masks / item / f"{name}.npy", mask)
    return {
        "rating": (ratings, []),
        "multilabel": (multilabel, []),
        "pairwise": (pairs, []),
        "boxes": (boxes, []),
        "segmentation": (masks, []),
    }


@pytest.mark.parametrize("task", ["rating", "multilabel", "pairwise", "boxes", "segmentation"])
def test_report_page_per_task(tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str) -> None:
    path, extra = _files(tmp_path)[task]
    out = tmp_path / "report.html"
    assert main(["report", str(path), "--task", task, "-o", str(out), *extra]) == 0, capsys.readouterr().err
    assert f"wrote {out}" in capsys.readouterr().out
    page = parse(out.read_text(encoding="utf-8"))
    assert page.sections == [f"task-{task}"]
    assert page.tags.get("svg", 0) >= 1 and page.tags.get("table", 0) >= 1


def test_report_drawings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path)
    out = tmp_path / "boxes.html"
    assert main(["report", str(files["boxes"][0]), "--task", "boxes", "-o", str(out), "-q"]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('stroke-dasharray="4 2"') == 6  # every raw box drawn
    assert html.count('stroke-width="2.4"') == 2  # the two consensus boxes
    out = tmp_path / "masks.html"
    assert (
        main(["report", str(files["segmentation"][0]), "--task", "segmentation", "-o", str(out), "-q"]) == 0
    )
    html = out.read_text(encoding="utf-8")
    assert "#cc6633" in html  # b's and c's extra columns are drawn as "annotator only"
    assert html.count("% agree") == 6
    assert capsys.readouterr().out == ""


def test_report_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_files(tmp_path)["rating"][0])
    assert main(["report", path, "--task", "rating", "--format", "json", "-o", str(tmp_path / "r.json")]) == 2
    assert "HTML only" in capsys.readouterr().err
    assert main(["report", path, "--task", "rating", "-m", "staple", "-o", str(tmp_path / "r.html")]) == 2
    assert "bias_noise" in capsys.readouterr().err


def test_render_refuses_other_results() -> None:
    with pytest.raises(InvalidParameterError, match="no task report"):
        render_task_report(object())


def test_render_with_notes_and_title() -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "value": [1, 2, 3, 5]})
    html = render_task_report(aggregate_ratings_frame(df, "median"), title="T <1>", notes=["Pearson 0.9"])
    page = parse(html)
    assert page.sections == ["task-rating"]
    assert "<title>T &lt;1&gt;</title>" in html and "Pearson 0.9" in html


def test_scatter_draws_every_point_and_groups_others() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    group = np.arange(50) % 10  # more groups than colours: the last ones are "others"
    svg = scatter_chart(x, x + 1, np.minimum(group, 7), [f"g{i}" for i in range(10)])
    assert svg.count('r="2.6"') == 50
    assert "others" in svg


def test_mask_overlay_runs_cover_the_mask() -> None:
    mask = np.zeros((200, 300), dtype=np.int64)
    mask[50:150, 30:120] = 1
    svg = mask_overlay(mask, {1: "#123456"})
    # downsampled to 64 cells on the long side (step 5): 20 rows of one run each
    assert svg.count('fill="#123456"') == 20


def test_box_overlay_uses_extent() -> None:
    raw = pd.DataFrame({"annotator": ["a"], "x": [0.0], "y": [0.0], "width": [50.0], "height": [50.0]})
    cons = raw.assign(label="car").drop(columns="annotator")
    svg = box_overlay(raw, cons, ["a"], extent=(100.0, 100.0), size=200)
    assert 'width="100"' in svg  # a box half the canvas wide is 100 of its 200 pixels


def test_segmentation_report_from_arrays() -> None:
    truth = np.zeros((6, 6), dtype=int)
    truth[1:4, 1:4] = 1
    result = aggregate_masks({"img": {"a": truth, "b": truth, "c": np.zeros_like(truth)}}, method="mv")
    page = parse(render_task_report(result))
    assert page.sections == ["task-segmentation"]
