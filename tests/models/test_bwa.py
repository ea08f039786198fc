"""BWA: the vectorised steps against a per-annotation loop, the log density never falls, gold, invariances,
parameter errors and the published accuracy on public sets."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, InvalidParameterError
from accord.models.bwa import BWA


def random_annotations(seed: int = 0, n_items: int = 30, n_annotators: int = 7, k: int = 3) -> Annotations:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(n_annotators, size=rng.integers(1, n_annotators + 1), replace=False):
            label = truth[i] if rng.random() < 0.3 + 0.1 * a else rng.integers(0, k)
            rows.append((f"i{i}", f"a{a}", f"c{label}"))
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def reference_bwa(ann: Annotations, n_iter: int, a_v: float = 15.0, lam: float = 1.0):
    """One class at a time, one loop over the annotations per sum (the paper's updates as written)."""
    n_items, n_ann, k = ann.n_items, ann.n_annotators, ann.n_classes
    triples = list(zip(ann.item, ann.annotator, ann.label, strict=True))
    scores = np.zeros((n_items, k))
    objectives = np.zeros(n_iter)
    for c in range(k):
        ones, sizes = np.zeros(n_items), np.zeros(n_items)
        workload = np.zeros(n_ann)
        for i, a, lab in triples:
            ones[i] += lab == c
            sizes[i] += 1
            workload[a] += 1
        z = ones / sizes
        b_v = a_v * sum(sizes[i] * z[i] * (1 - z[i]) for i in range(n_items)) / len(triples) * 4 * (1 - 1 / k)
        b_v = max(b_v, 1e-6 * a_v)
        for t in range(n_iter):
            mean = z.mean()
            resid = np.zeros(n_ann)
            for i, a, lab in triples:
                resid[a] += (z[i] - (lab == c)) ** 2
            v = (a_v + workload) / (b_v + resid)
            num, den = np.full(n_items, lam * mean), np.full(n_items, lam)
            for i, a, lab in triples:
                num[i] += v[a] * (lab == c)
                den[i] += v[a]
            z = num / den
            value = sum(0.5 * np.log(v[a]) - 0.5 * v[a] * ((lab == c) - z[i]) ** 2 for i, a, lab in triples)
            value += sum(0.5 * a_v * np.log(v) - 0.5 * b_v * v) - 0.5 * lam * ((z - mean) ** 2).sum()
            objectives[t] += value
        scores[:, c] = z
    return scores, objectives


def test_matches_per_annotation_loop():
    ann = random_annotations()
    n_iter = 6
    model = BWA(max_iter=n_iter, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(ann)
    scores, objectives = reference_bwa(ann, n_iter)
    np.testing.assert_allclose(model.scores_.to_numpy(), scores, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        model.proba_.to_numpy(), scores / scores.sum(axis=1, keepdims=True), atol=1e-10
    )
    np.testing.assert_allclose(model.history_["objective"].to_numpy(), objectives, rtol=1e-10)


def test_objective_never_decreases_and_converges():
    ann = random_annotations(seed=1, n_items=60)
    model = BWA(tol=1e-10, max_iter=2000)
    model.fit(ann)
    values = model.history_["objective"].to_numpy()
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values).max())
    assert model.converged_
    assert ((model.scores_.to_numpy() >= 0) & (model.scores_.to_numpy() <= 1)).all()


def test_gold_clamped():
    ann = random_annotations(seed=2)
    gold = pd.Series({"i0": "c2", "i3": "c1"})
    model = BWA(tol=1e-9, max_iter=2000)
    model.fit(ann, gold=gold)
    assert model.labels_["i0"] == "c2" and model.labels_["i3"] == "c1"
    assert model.scores_.loc["i0"].tolist() == [0.0, 0.0, 1.0]
    values = model.history_["objective"].to_numpy()
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values).max())


def test_row_order_and_names_do_not_matter():
    ann = random_annotations(seed=3)
    frame = ann.to_frame().sample(frac=1.0, random_state=2).reset_index(drop=True)
    frame["annotator"] = "w" + frame["annotator"].astype(str)
    a = BWA().fit(ann).proba_
    b = BWA().fit(Annotations.from_frame(frame)).proba_
    np.testing.assert_allclose(b.loc[a.index, a.columns].to_numpy(), a.to_numpy(), atol=1e-12)


def test_unanimous_data_stay_finite():
    frame = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxyy")})
    proba = BWA().fit(Annotations.from_frame(frame)).proba_
    assert np.isfinite(proba.to_numpy()).all()
    assert proba.idxmax(axis=1).tolist() == ["x", "y"]


@pytest.mark.parametrize(
    "params, match", [({"a_v": 0.0}, "a_v"), ({"lam": -1.0}, "lam"), ({"tol": -1}, "tol")]
)
def test_bad_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        BWA(**params).fit(random_annotations())


@pytest.mark.parametrize("name, published", [("sentiment", 0.956), ("rte", 0.9275), ("dog", 0.8315)])
def test_published_accuracy(data_dir, name, published):
    """The authors' table (repository yuan-li/truth-inference-at-scale, test_bwa.ipynb)."""
    data = load_dataset(data_dir / name)
    labels = BWA().fit(data.annotations).labels_
    gold = data.gold
    accuracy = float((labels.loc[gold.index].astype(str) == gold.astype(str)).mean())
    assert accuracy == pytest.approx(published, abs=2e-3)
