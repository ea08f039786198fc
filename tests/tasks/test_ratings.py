"""Numeric ratings: the container's validation, mean / median / bias-noise models and their result table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.tasks.ratings import (
    BiasNoiseRating,
    MeanRating,
    MedianRating,
    RatingConsensus,
    Ratings,
    aggregate_ratings_frame,
)


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {"item": [1, 1, 2, 2, 2], "annotator": ["a", "b", "a", "b", "c"], "value": [1.0, 3.0, 5.0, 9.0, 4.0]}
    )


def synthetic(seed: int = 0, n_items: int = 300, n_annotators: int = 20, per_item: int = 5) -> tuple:
    rng = np.random.default_rng(seed)
    truth = rng.normal(50, 15, n_items)
    bias = np.linspace(-8, 8, n_annotators)
    noise = np.where(np.arange(n_annotators) % 4 == 0, 12.0, 2.0)
    rows = []
    for i in range(n_items):
        for a in rng.choice(n_annotators, per_item, replace=False):
            rows.append((f"i{i}", f"w{a}", truth[i] + bias[a] + rng.normal(0, noise[a])))
    df = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    return df, pd.Series(truth, index=[f"i{i}" for i in range(n_items)]), bias, noise


# ------------------------------------------------------------------ container
def test_from_frame_parses_numeric_text_and_aliases() -> None:
    df = pd.DataFrame({"task": ["x", "x"], "worker": ["a", "b"], "rating": ["4", " 2.5 "]})
    r = Ratings.from_frame(df)
    assert r.value.tolist() == [4.0, 2.5]
    assert list(r.items) == ["x"] and list(r.annotators) == ["a", "b"]
    assert not r.value.flags.writeable


def test_non_numeric_values_name_the_rows() -> None:
    df = pd.DataFrame(
        {"item": [1, 2, 3], "annotator": ["a", "a", "a"], "value": ["1", "high", "inf"]}, index=[10, 11, 12]
    )
    with pytest.raises(InvalidAnnotationsError, match=r"rows 11, 12 hold 'high', 'inf'"):
        Ratings.from_frame(df)


def test_duplicates_error_and_policies() -> None:
    df = pd.DataFrame({"item": [1, 1, 1], "annotator": ["a", "a", "b"], "value": [1.0, 3.0, 5.0]})
    with pytest.raises(InvalidAnnotationsError, match=r"\(1, 'a'\).*rows 0, 1.*duplicates='mean'"):
        Ratings.from_frame(df)
    assert sorted(Ratings.from_frame(df, duplicates="mean").value.tolist()) == [2.0, 5.0]
    assert sorted(Ratings.from_frame(df, duplicates="keep_last").value.tolist()) == [3.0, 5.0]
    first = Ratings.from_frame(df, duplicates="keep_first")
    assert sorted(first.value.tolist()) == [1.0, 5.0] and "keeping the first" in first.report[0]


def test_empty_missing_and_columns() -> None:
    with pytest.raises(InvalidAnnotationsError, match="empty"):
        Ratings.from_frame(pd.DataFrame({"item": [], "annotator": [], "value": []}))
    df = pd.DataFrame({"item": [1, 2], "annotator": ["a", "a"], "value": [1.0, None]})
    with pytest.raises(InvalidAnnotationsError, match=r"missing on row 1.*missing='drop'"):
        Ratings.from_frame(df)
    assert Ratings.from_frame(df, missing="drop").n_ratings == 1
    with pytest.raises(InvalidAnnotationsError, match="'score' is not in the table"):
        Ratings.from_frame(df, value="score")
    with pytest.raises(InvalidAnnotationsError, match="no value column"):
        Ratings.from_frame(df.rename(columns={"value": "v"}))
    with pytest.raises(InvalidAnnotationsError, match="item column 'item' is missing on row 1"):
        Ratings.from_frame(pd.DataFrame({"item": [1, None], "annotator": ["a", "b"], "value": [1, 2]}))
    with pytest.raises(InvalidParameterError, match="duplicates"):
        Ratings.from_frame(df, duplicates="drop")  # type: ignore[arg-type]


# ------------------------------------------------------------------ mean and median, by hand
def test_mean_by_hand() -> None:
    c = MeanRating().fit(small()).consensus_
    assert c.values.to_dict() == {1: 2.0, 2: 6.0}
    # pooled within-item variance: ((1 + 1) + (1 + 9 + 4)) / (1 + 2) = 16 / 3
    assert c.sd.to_numpy() == pytest.approx(np.sqrt(16 / 3 / np.array([2, 3])))
    q = c.item_quality
    assert q["upper"].to_numpy() - q["value"].to_numpy() == pytest.approx(
        1.959964 * c.sd.to_numpy(), rel=1e-6
    )
    assert q["n_annotations"].tolist() == [2, 3]
    assert q["spread"].to_numpy() == pytest.approx([1.0, np.sqrt(14 / 3)])


def test_median_by_hand_even_and_odd() -> None:
    assert MedianRating().fit(small()).values_.to_dict() == {1: 2.0, 2: 5.0}


def test_annotator_table_by_hand() -> None:
    table = MeanRating().fit(small()).consensus_.annotator_quality
    # residuals against the means (2, 6): a: -1, -1; b: 1, 3; c: -2
    assert table["bias"].to_dict() == pytest.approx({"a": -1.0, "b": 2.0, "c": -2.0})
    assert table["noise_sd"].to_dict() == pytest.approx({"a": 0.0, "b": 1.0, "c": 0.0})
    assert table["mae"].to_dict() == pytest.approx({"a": 1.0, "b": 2.0, "c": 2.0})
    assert table["correlation"]["a"] == pytest.approx(1.0)
    assert np.isnan(table["correlation"]["c"])  # one item: undefined
    assert table["n_labels"].tolist() == [2, 2, 1]


# ------------------------------------------------------------------ bias and noise model
def test_bias_noise_posterior_by_hand_without_bias() -> None:
    # A huge prior strength pins every noise variance at the pooled variance s0^2, so the consensus is the
    # normal-normal posterior mean (m0 / v0 + sum y / s0^2) / (1 / v0 + n / s0^2).
    df = small()
    model = BiasNoiseRating(prior_strength=1e9, fit_bias=False, item_prior_strength=None).fit(df)
    s0 = 16 / 3
    m0 = (2.0 + 6.0) / 2
    v0 = max(float(np.var([2.0, 6.0])), s0)  # 4 < 16/3
    expected = [(m0 / v0 + 4.0 / s0) / (1 / v0 + 2 / s0), (m0 / v0 + 18.0 / s0) / (1 / v0 + 3 / s0)]
    assert model.values_.to_numpy() == pytest.approx(expected, rel=1e-6)
    assert model.sd_.to_numpy() == pytest.approx(np.sqrt(1 / (1 / v0 + np.array([2, 3]) / s0)), rel=1e-6)
    assert model.bias_.tolist() == [0.0, 0.0, 0.0]


def test_item_difficulty_by_hand_and_its_limit() -> None:
    # With every prior pinned (huge strengths) the difficulties stay at their prior mode and the model is the
    # normal-normal one; with nu_d = 2, one EM step from d = 1 gives d_i = (2 + sum_a r_ia / s_a^2) /
    # (n_i + 4).
    df = small()
    pinned = BiasNoiseRating(prior_strength=1e9, fit_bias=False, item_prior_strength=1e9).fit(df)
    plain = BiasNoiseRating(prior_strength=1e9, fit_bias=False, item_prior_strength=None).fit(df)
    assert pinned.values_.to_numpy() == pytest.approx(plain.values_.to_numpy(), rel=1e-6)
    assert pinned.difficulty_.to_numpy() == pytest.approx([1.0, 1.0], abs=1e-6)
    one = BiasNoiseRating(prior_strength=1e9, fit_bias=False, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        one.fit(df)
    s0, m0, v0 = 16 / 3, 4.0, 16 / 3
    mu = np.array([(m0 / v0 + 4.0 / s0) / (1 / v0 + 2 / s0), (m0 / v0 + 18.0 / s0) / (1 / v0 + 3 / s0)])
    v = 1 / (1 / v0 + np.array([2, 3]) / s0)
    r1 = ((1 - mu[0]) ** 2 + (3 - mu[0]) ** 2 + 2 * v[0]) / s0
    r2 = ((5 - mu[1]) ** 2 + (9 - mu[1]) ** 2 + (4 - mu[1]) ** 2 + 3 * v[1]) / s0
    assert one.difficulty_.to_numpy() == pytest.approx([(2 + r1) / 6, (2 + r2) / 7], rel=1e-6)


def test_disputed_items_get_a_larger_difficulty_and_a_wider_interval() -> None:
    rng = np.random.default_rng(4)
    truth = rng.uniform(0, 10, 80)
    items, annotators = np.meshgrid(np.arange(80), np.arange(5), indexing="ij")
    spread = np.where(np.arange(80) < 10, 4.0, 0.5)[:, None]  # the first ten items are hard
    values = truth[items] + rng.normal(0, 1, items.shape) * spread
    df = pd.DataFrame({"item": items.ravel(), "annotator": annotators.ravel(), "value": values.ravel()})
    model = BiasNoiseRating().fit(df)
    d = model.difficulty_.sort_index().to_numpy()
    assert d[:10].min() > 2 * d[10:].max() and np.median(d[:10]) > 10 * np.median(d[10:])
    sd = model.sd_.sort_index().to_numpy()
    assert sd[:10].min() > sd[10:].max()
    assert np.all(np.diff(model.history_["objective"].to_numpy()) >= -1e-9)


def test_bias_noise_recovers_one_known_offset() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 10, 100)
    items, annotators = np.meshgrid(np.arange(100), np.arange(6), indexing="ij")
    keep = rng.random(items.shape) < 0.5  # an incomplete design, so that the offset matters for the values
    keep[:, 1] = True
    offset = np.where(annotators == 0, 3.0, 0.0)
    values = truth[items] + offset + rng.normal(0, 0.5, items.shape)
    df = pd.DataFrame({"item": items[keep], "annotator": annotators[keep], "value": values[keep]})
    model = BiasNoiseRating(bias_prior_sd=3.0).fit(df)
    est = model.bias_.sort_index().to_numpy()
    assert est[0] - est[1:].mean() == pytest.approx(3.0, abs=0.15)
    assert np.abs(est[1:] - est[1:].mean()).max() < 0.15
    err = model.values_.sort_index().to_numpy() + est[1:].mean() - truth  # y = t + b, gauge from the prior
    assert np.sqrt(np.mean(err**2)) < 0.5 * np.sqrt(
        np.mean((MeanRating().fit(df).values_.sort_index() - truth) ** 2)
    )


def test_bias_noise_recovers_offsets_and_noise() -> None:
    # A loose bias prior (3 pooled standard deviations): every annotator has 75 ratings, so the data speak;
    # the default (0.3) pulls the offsets of the noisy annotators in.
    df, truth, bias, noise = synthetic()
    model = BiasNoiseRating(bias_prior_sd=3.0).fit(df)
    ids = [f"w{a}" for a in range(len(bias))]
    est = model.bias_.reindex(ids).to_numpy()
    err = np.abs((est - est.mean()) - (bias - bias.mean()))
    assert err[noise < 5].max() < 0.8 and err[noise > 5].max() < 3 * 12 / np.sqrt(75)
    sd = model.noise_sd_.reindex(ids).to_numpy()
    assert sd[noise > 5].min() > 2 * sd[noise < 5].max()  # the noisy annotators are found
    weights = model.consensus_.annotator_quality["weight"].reindex(ids)
    assert weights[noise > 5].max() < weights[noise < 5].min()

    def rmse(values: pd.Series) -> float:
        centred = values.loc[truth.index] - values.mean() + truth.mean()
        return float(np.sqrt(np.mean((centred - truth) ** 2)))

    assert rmse(model.values_) < 0.6 * rmse(MeanRating().fit(df).values_)


def test_bias_noise_history_and_convergence() -> None:
    df = synthetic(n_items=60)[0]
    model = BiasNoiseRating().fit(df)
    h = model.history_
    assert list(h.columns[:2]) == ["iteration", "objective"] and len(h) == model.n_iter_
    assert model.converged_
    assert np.all(np.diff(h["objective"].to_numpy()) >= -1e-8 * np.abs(h["objective"]).max())
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        short = BiasNoiseRating(max_iter=2).fit(df)
    assert not short.converged_ and short.n_iter_ == 2


def test_few_labels_are_shrunk_toward_the_crowd() -> None:
    df, _, _, _ = synthetic(n_items=200)
    extra = pd.DataFrame({"item": ["i0", "i1"], "annotator": ["new", "new"], "value": [500.0, 480.0]})
    model = BiasNoiseRating().fit(pd.concat([df, extra], ignore_index=True))
    table = model.consensus_.annotator_quality
    assert table.loc["new", "n_labels"] == 2
    assert abs(table.loc["new", "bias"]) < 0.5 * (500 - 50)  # the normal prior holds the bias back


def test_invariant_to_row_order_and_renaming() -> None:
    df = synthetic(n_items=50)[0]
    base = BiasNoiseRating().fit(df).values_
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["annotator"] = "x" + shuffled["annotator"]
    again = BiasNoiseRating().fit(shuffled).values_
    assert again.loc[base.index].to_numpy() == pytest.approx(base.to_numpy(), rel=1e-7)


def test_parameters_and_not_fitted() -> None:
    with pytest.raises(InvalidParameterError, match="prior_strength"):
        BiasNoiseRating(prior_strength=0).fit(small())
    with pytest.raises(InvalidParameterError, match="max_iter"):
        BiasNoiseRating(max_iter=0).fit(small())
    with pytest.raises(InvalidParameterError, match="fit_bias must be True or False"):
        BiasNoiseRating(fit_bias="no").fit(small())  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="level"):
        MeanRating(level=1.5).fit(small())
    with pytest.raises(NotFittedError):
        _ = MeanRating().values_


# ------------------------------------------------------------------ outputs and CLI glue
def test_to_csv_and_frames(tmp_path: Path) -> None:
    c = BiasNoiseRating().fit(small()).consensus_
    assert isinstance(c, RatingConsensus)
    c.to_csv(tmp_path / "items.csv", annotators_path=tmp_path / "annotators.csv")
    items = pd.read_csv(tmp_path / "items.csv")
    assert list(items.columns) == [
        "item",
        "value",
        "sd",
        "lower",
        "upper",
        "n_annotations",
        "spread",
        "difficulty",
    ]
    annotators = pd.read_csv(tmp_path / "annotators.csv")
    assert list(annotators.columns) == [
        "annotator",
        "n_labels",
        "bias",
        "noise_sd",
        "mae",
        "correlation",
        "weight",
    ]
    assert c.annotation_quality.shape == (5, 4)


def test_aggregate_ratings_frame() -> None:
    df = small().rename(columns={"value": "answer_value"})
    c = aggregate_ratings_frame(df, "median", value="answer_value")
    assert c.values.to_dict() == {1: 2.0, 2: 5.0}
    with pytest.raises(InvalidParameterError, match="unknown rating method 'avg'"):
        aggregate_ratings_frame(df, "avg", value="answer_value")
    with pytest.raises(InvalidParameterError, match="bad parameter for mean"):
        aggregate_ratings_frame(df, "mean", value="answer_value", prior_strength=3)


def test_wordsim_mean_matches_the_published_figure(data_dir: Path) -> None:
    folder = data_dir / "wordsim"
    ratings = Ratings.from_frame(pd.read_csv(folder / "annotations.csv", dtype=str), value="label")
    gold = pd.read_csv(folder / "gold.csv", dtype={"item": str}).set_index("item")["label"]
    values = MeanRating().fit(ratings).values_
    assert np.corrcoef(values.loc[gold.index], gold)[0, 1] == pytest.approx(0.9519, abs=1e-4)
    assert np.corrcoef(BiasNoiseRating().fit(ratings).values_.loc[gold.index], gold)[0, 1] > 0.94
