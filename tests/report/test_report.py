"""The report's data stage against numbers, its JSON, its HTML structure, and ``accord report``."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DawidSkene, MajorityVote
from accord.cli import main
from accord.datasets import load_dataset
from accord.quality.agreement import fleiss_kappa, krippendorff_alpha
from accord.report import FORMAT_VERSION, build_report, error_by_labels_per_item, render_html, write_report
from accord.report.data import cross_table, size_histogram
from accord.report.render import SECTIONS
from accord.report.svg import heatmap, line_chart, nice_ticks

# Seed 000's table "Accuracy vs hidden truth" per annotator.
SEED_ANNOTATOR_ACCURACY = {
    "Shapiro": 0.990,
    "D'Agostino": 0.950,
    "Jarque-Bera": 0.960,
    "KS": 0.565,
    "Random 1": 0.495,
    "Random 2": 0.505,
    "Random 3": 0.515,
    "Random 4": 0.500,
    "Bad 1": 0.085,
    "Bad 2": 0.110,
}


@pytest.fixture(scope="module")
def rsip(data_dir):
    return load_dataset(data_dir / "rsip_pneumonia")


@pytest.fixture(scope="module")
def rsip_report(rsip):
    model = DawidSkene(alpha=0.5, min_iter=8, max_iter=12, tol=1e-6)
    return build_report(rsip.annotations, method=model, gold=rsip.gold, redundancy_repeats=2)


def tiny() -> Annotations:
    rows = [
        ("i1", "a", "x"),
        ("i1", "b", "x"),
        ("i1", "c", "y"),
        ("i2", "a", "y"),
        ("i2", "b", "y"),
        ("i3", "a", "x"),
        ("i3", "b", "y"),
        ("i3", "c", "y"),
        ("i3", "d", "y"),
        ("i4", "c", "x"),
    ]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


# ---------------------------------------------------------------------------------------------------- seed 00
def test_per_iteration_accuracy_reproduces_seed_000(rsip_report):
    acc = rsip_report.convergence["accuracy"]
    assert acc[:3] == pytest.approx([0.675, 0.900, 0.975])
    assert acc[5] == pytest.approx(0.990)  # "after posterior refinement", iteration 6
    assert rsip_report.convergence["iterations"][:3] == [1, 2, 3]
    assert rsip_report.convergence["final_accuracy"] == pytest.approx(0.99)
    assert rsip_report.convergence["converged"] is False  # seed's max_iter=12 stops before tol=1e-6


def test_log_likelihood_per_iteration_rises(rsip_report):
    ll = np.array(rsip_report.convergence["log_likelihood"])
    assert len(ll) == 12 and np.all(np.diff(ll) > -1e-6)
    assert rsip_report.convergence["log_likelihood_per_annotation"][0] == pytest.approx(ll[0] / 2000)


def test_gold_figures_and_seed_annotator_accuracies(rsip_report):
    gold = rsip_report.gold
    assert gold["n_gold"] == 200
    assert gold["mv_accuracy"] == pytest.approx(0.675)
    assert gold["accuracy"] == pytest.approx(0.99)
    assert gold["n_wrong"] == 2
    by_name = {r["annotator"]: r for r in rsip_report.annotators}
    for name, acc in SEED_ANNOTATOR_ACCURACY.items():
        assert by_name[name]["gold_accuracy"] == pytest.approx(acc), name
        assert by_name[name]["n_gold"] == 200
    quality = [r["quality"] for r in rsip_report.annotators]
    assert quality == sorted(quality, reverse=True)
    assert rsip_report.annotators[0]["annotator"] == "Shapiro"
    assert {r["annotator"] for r in rsip_report.annotators[-2:]} == {"Bad 1", "Bad 2"}


def test_summary_agreement_and_confidence(rsip, rsip_report):
    s = rsip_report.summary
    assert (s["n_items"], s["n_annotators"], s["n_annotations"], s["n_classes"]) == (200, 10, 2000, 2)
    assert s["consensus_label_counts"] == [95, 105]  # seed: final No Pneumonia 95, Pneumonia 105
    assert sum(s["raw_label_counts"]) == 2000
    assert rsip_report.labels_per_item == [{"lo": 10, "hi": 10, "label": "10", "count": 200}]
    a = rsip_report.agreement
    assert a["fleiss_kappa"] == pytest.approx(fleiss_kappa(rsip.annotations))
    assert a["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(rsip.annotations))
    c = rsip_report.confidence
    assert sum(c["counts"]) == 200 and c["edges"][0] == pytest.approx(0.5) and c["edges"][-1] == 1.0
    assert c["below_0_9"] == 3


def test_confusions_and_crosstables(rsip, rsip_report):
    assert len(rsip_report.confusions) == 10
    for entry in rsip_report.confusions:
        np.testing.assert_allclose(np.array(entry["matrix"]).sum(axis=1), 1.0)
    gold = rsip_report.gold
    # Raw labels against gold: every one of the 2000 annotations counted once.
    assert np.sum(gold["raw_vs_gold"]["counts"]) == 2000
    assert np.array(gold["consensus_vs_gold"]["counts"]).trace() == 198
    assert np.array(gold["mv_vs_gold"]["counts"]).trace() == 135  # 0.675 * 200
    np.testing.assert_allclose(np.array(rsip_report.raw_vs_consensus["shares"]).sum(axis=1), 1.0)


def test_review_lists_lowest_confidence_first(rsip_report):
    review = rsip_report.review
    assert len(review) == 20
    conf = [r["confidence"] for r in review]
    assert conf == sorted(conf)
    assert all(sum(r["votes"].values()) == r["n_annotations"] == 10 for r in review)
    assert all(r["gold"] in ("No Pneumonia", "Pneumonia") for r in review)


def test_redundancy_curve_shape(rsip_report):
    r = rsip_report.gold["redundancy"]
    assert r["k"] == list(range(1, 11))
    assert set(r["series"]) == {"single annotator", "majority vote", "Dawid-Skene"}
    single = r["series"]["single annotator"]["error"]
    assert len(set(np.round(single, 12))) == 1  # a flat line: one label per item whatever k
    # One random label per item is right as often as the annotators are on average (seed: mean 0.5675).
    assert single[0] == pytest.approx(1 - np.mean(list(SEED_ANNOTATOR_ACCURACY.values())), abs=0.04)
    ds = r["series"]["Dawid-Skene"]["error"]
    assert ds[-1] == pytest.approx(0.01)  # all 10 labels: the full-data fit
    assert ds[-1] < r["series"]["majority vote"]["error"][-1]


# ---------------------------------------------------------------------------------------------------- tiny ca
def test_tiny_case_by_hand():
    ann = tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = build_report(
            ann, method="mv", gold={"i1": "x", "i2": "y", "i3": "x"}, redundancy=False, n_review=2
        )
    # Majority vote: i1 x (2:1), i2 y, i3 y (3:1), i4 x.
    assert data.summary["consensus_label_counts"] == [2, 2]
    assert data.summary["unanimous_items"] == 2  # i2 and i4
    assert [b["count"] for b in data.labels_per_item] == [1, 1, 1, 1]  # sizes 1, 2, 3, 4
    assert data.gold["accuracy"] == pytest.approx(2 / 3)
    assert data.gold["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    # Lowest MV confidence: i1 (2/3) then i3 (3/4).
    assert [r["item"] for r in data.review] == ["i1", "i3"]
    assert data.review[0]["votes"] == {"x": 2, "y": 1}
    assert data.convergence["iterative"] is False
    assert data.gold["redundancy"] is None
    by_name = {r["annotator"]: r for r in data.annotators}
    # Gold i1 x, i2 y, i3 x: a says x, y, x (3/3); b says x, y, y (2/3); c says y on i1 and i3 (0/2; i4 has no
    # gold); d says y on i3 (0/1).
    assert by_name["a"]["gold_accuracy"] == pytest.approx(1.0)
    assert by_name["b"]["gold_accuracy"] == pytest.approx(2 / 3)
    assert by_name["c"]["gold_accuracy"] == pytest.approx(0.0) and by_name["c"]["n_gold"] == 2
    assert by_name["d"]["gold_accuracy"] == pytest.approx(0.0) and by_name["d"]["n_gold"] == 1


def test_cross_table_by_hand():
    ann = tiny()
    table = cross_table(ann, np.array([0, 1, 1, 0]))  # reference: i1 x, i2 y, i3 y, i4 x
    # Rows = reference class, columns = raw label: x-items (i1, i4) got x, x, y, x; y-items got y, y, x, y,
    # y, y.
    assert table["counts"] == [[3, 1], [1, 5]]
    np.testing.assert_allclose(table["shares"], [[0.75, 0.25], [1 / 6, 5 / 6]])


def test_size_histogram_groups_wide_ranges():
    sizes = np.arange(1, 101)
    bins = size_histogram(sizes, max_bins=10)
    assert len(bins) == 10 and bins[0]["label"] == "1-10" and sum(b["count"] for b in bins) == 100


def test_redundancy_curve_with_perfect_annotators_is_zero():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 60)
    rows = [(f"i{i}", f"a{a}", str(truth[i])) for i in range(60) for a in range(4)]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    gold = (np.arange(60), ann.encode_labels([str(t) for t in truth]).astype(np.int64))
    curve = error_by_labels_per_item(ann, gold, repeats=2)
    assert curve["k"] == [1, 2, 3, 4]
    for series in curve["series"].values():
        assert series["error"] == pytest.approx([0.0] * 4)


def test_prefitted_model_is_reused(rsip):
    model = MajorityVote().fit(rsip.annotations)
    data = build_report(rsip.annotations, method=model, redundancy=False)
    assert data.method == "MajorityVote" and data.gold is None


# ---------------------------------------------------------------------------------------------------- outputs
def test_json_round_trip(rsip_report, tmp_path):
    path = write_report(rsip_report, tmp_path / "r.json")
    text = path.read_text()
    assert text.lstrip().startswith('{\n "format_version"')
    loaded = json.loads(text)
    assert loaded["format_version"] == FORMAT_VERSION
    assert loaded["convergence"]["accuracy"][:3] == pytest.approx([0.675, 0.9, 0.975])
    assert "NaN" not in text


def test_html_is_self_contained_with_every_section(rsip_report):
    html = render_html(rsip_report)
    for sid in SECTIONS:
        assert f'data-section="{sid}"' in html, sid
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)  # nothing fetched from outside
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") >= 10
    assert "0.675" in html and "0.990" in html


def test_html_escapes_user_text():
    rows = [("<b>x</b>", "<script>alert(1)</script>", "a&b"), ("<b>x</b>", "w2", "c"), ("y", "w2", "a&b")]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    html = render_html(build_report(ann, method="mv", redundancy=False))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html


def test_svg_helpers():
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 87)[-1] >= 87
    chart = line_chart([1, 2, 3], {"a": [0.1, None, 0.3]}, title="t")
    assert chart.count("<circle") == 2
    hm = heatmap([[1.0, 0.0], [0.25, 0.75]], ["x", "y"], ["x", "y"])
    assert hm.count("<rect") == 4 and "0.75" in hm


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_report_html_and_json(data_dir, tmp_path, capsys):
    folder = data_dir / "rsip_pneumonia"
    out = tmp_path / "r.html"
    code = main(
        [
            "report",
            str(folder / "annotations.csv"),
            "--gold",
            str(folder / "gold.csv"),
            "-o",
            str(out),
            "--repeats",
            "1",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "accuracy on 200 gold items" in printed and "wrote" in printed
    assert 'data-section="gold"' in out.read_text()
    code = main(
        [
            "report",
            str(folder / "annotations.csv"),
            "--format",
            "json",
            "-o",
            str(tmp_path / "r.txt"),
            "--no-curves",
            "-q",
        ]
    )
    assert code == 0 and capsys.readouterr().out == ""
    assert json.loads((tmp_path / "r.txt").read_text())["gold"] is None


def test_cli_report_from_export_uses_its_gold(tmp_path, capsys):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "toloka_assignments.tsv"
    out = tmp_path / "t.json"
    assert main(["report", str(fixture), "--from", "toloka", "-o", str(out), "--no-curves"]) == 0
    data = json.loads(out.read_text())
    assert data["gold"]["n_gold"] == 1 and data["summary"]["n_annotations"] == 7
    assert "skipped 3 record(s): assignment with status REJECTED" in capsys.readouterr().err


def test_cli_report_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("accord: error: no item column")


# ---------------------------------------------------------------------------------------------------- layout
def test_confusions_show_the_worst_annotators_not_only_the_most_active():
    from accord.report.data import confusion_section

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 60)
    rows = []
    for a in range(30):
        n = 60 if a < 20 else 12  # the worst annotators label the fewest items
        labels = truth[:n] if a < 28 else 1 - truth[:n]
        rows += [(i, f"a{a:02d}", int(lab)) for i, lab in enumerate(labels)]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    consensus = MajorityVote().fit(ann).consensus_
    shown = confusion_section(consensus, max_annotators=6)
    assert [c["shown_as"] for c in shown] == ["worst"] * 3 + ["most active"] * 3
    assert {"a28", "a29"} <= {c["annotator"] for c in shown[:3]}
    assert len({c["annotator"] for c in shown}) == 6


def test_no_inner_scroll_boxes_and_titles_fit_their_figures():
    from accord.report import render, svg

    assert "max-height" not in render.CSS
    title = "a-very-long-annotator-identifier@example.com (12,345 labels)"
    chart = svg.heatmap([[1.0, 0.0], [0.0, 1.0]], ["x", "y"], ["x", "y"], title=title, cell=16)
    width = float(chart.split('width="', 1)[1].split('"', 1)[0])
    assert width >= svg.TITLE_CHAR_WIDTH * len(title)
