"""Pairwise comparisons: validation, Bradley-Terry (MM, prior, standard errors) and the noisy variant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.tasks.pairwise import (
    BradleyTerry,
    Comparisons,
    NoisyBradleyTerry,
    PairwiseConsensus,
    aggregate_pairwise_frame,
)


def two_items(w: int, lose: int) -> pd.DataFrame:
    rows = [("a", "x", "y", "x")] * w + [("b", "y", "x", "y")] * lose
    return pd.DataFrame(rows, columns=["annotator", "left", "right", "winner"])


def synthetic(
    seed: int = 0, n_items: int = 15, n: int = 900, spammers: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Good annotators answer from Bradley-Terry with scores ``truth``; spammers always pick the left item."""
    rng = np.random.default_rng(seed)
    truth = np.linspace(-2, 2, n_items)
    names = [f"w{k}" for k in range(6)] + [f"s{k}" for k in range(spammers)]
    rows = []
    for _ in range(n):
        i, j = rng.choice(n_items, 2, replace=False)
        who = names[rng.integers(len(names))]
        left_wins = who.startswith("s") or rng.random() < 1 / (1 + np.exp(truth[j] - truth[i]))
        rows.append((who, f"i{i}", f"i{j}", f"i{i}" if left_wins else f"i{j}"))
    return pd.DataFrame(rows, columns=["annotator", "left", "right", "winner"]), truth


def log_posterior(theta: np.ndarray, c: Comparisons, prior: float) -> float:
    p = np.exp(theta)
    value = np.sum(theta[c.winner] - np.logaddexp(theta[c.winner], theta[c.loser]))
    return float(value + np.sum(prior * theta - prior * p))  # Gamma(1 + prior, prior), up to a constant


# ------------------------------------------------------------------ container
def test_from_frame_and_crowdkit_columns() -> None:
    df = pd.DataFrame({"worker": ["a", "b"], "left": ["x", "y"], "right": ["y", "z"], "label": ["y", "y"]})
    c = Comparisons.from_frame(df)
    assert list(c.items) == ["x", "y", "z"] and c.left_won.tolist() == [False, True]
    assert c.wins().tolist() == [0, 2, 0] and c.losses().tolist() == [1, 0, 1]
    assert c.to_frame().equals(df.rename(columns={"worker": "annotator", "label": "winner"}))


def test_numbers_read_back_as_text_match() -> None:
    df = pd.DataFrame({"annotator": ["a"], "left": [1], "right": [2], "winner": ["2"]})
    assert Comparisons.from_frame(df).left_won.tolist() == [False]


def test_validation_errors() -> None:
    df = pd.DataFrame(
        {
            "annotator": ["a", "b", "c"],
            "left": ["x", "x", "y"],
            "right": ["y", "y", "x"],
            "winner": ["x", "tie", "z"],
        },
        index=[3, 4, 5],
    )
    with pytest.raises(InvalidAnnotationsError, match=r"left or the right item.*rows 4, 5 it is 'tie', 'z'"):
        Comparisons.from_frame(df)
    same = pd.DataFrame({"annotator": ["a"], "left": ["x"], "right": ["x"], "winner": ["x"]})
    with pytest.raises(InvalidAnnotationsError, match="compared with itself on row 0"):
        Comparisons.from_frame(same)
    missing = pd.DataFrame({"annotator": ["a"], "left": ["x"], "right": ["y"], "winner": [None]})
    with pytest.raises(InvalidAnnotationsError, match="winner column 'winner' is missing on row 0.*tie"):
        Comparisons.from_frame(missing)
    with pytest.raises(InvalidAnnotationsError, match="no right column"):
        Comparisons.from_frame(missing.drop(columns="right"))
    with pytest.raises(InvalidAnnotationsError, match="empty"):
        Comparisons.from_frame(missing.iloc[:0])


# ------------------------------------------------------------------ Bradley-Terry
@pytest.mark.parametrize("solver", ["newton", "mm"])
@pytest.mark.parametrize(("w", "lose"), [(7, 3), (1, 4), (5, 5)])
def test_two_items_closed_form(w: int, lose: int, solver: str) -> None:
    model = BradleyTerry(prior=0, solver=solver).fit(two_items(w, lose))
    s = model.scores_
    assert np.exp(s["x"] - s["y"]) == pytest.approx(w / lose, rel=1e-7)
    assert s.sum() == pytest.approx(0.0, abs=1e-9)  # centred without a prior
    # Fisher information of d = s_x - s_y is n q (1 - q); centred scores carry a quarter of its inverse.
    q = w / (w + lose)
    se = model.consensus_.item_quality["se"]
    assert se.to_numpy() == pytest.approx(np.full(2, np.sqrt(1 / (4 * (w + lose) * q * (1 - q)))), rel=1e-6)
    assert model.consensus_.win_probability("x", "y") == pytest.approx(q)


def test_map_scores_solve_the_posterior_and_match_a_generic_optimiser() -> None:
    df, _ = synthetic(n=300)
    model = BradleyTerry(prior=1.0, tol=1e-12).fit(df)
    c = model.comparisons_
    theta = model.scores_.to_numpy()
    grad = optimize.approx_fprime(theta, log_posterior, 1e-6, c, 1.0)
    assert np.abs(grad).max() < 1e-3
    best = optimize.minimize(lambda t: -log_posterior(t, c, 1.0), np.zeros(c.n_items), method="BFGS")
    assert theta == pytest.approx(best.x, abs=1e-4)


@pytest.mark.parametrize("prior", [0.0, 1.0])
def test_newton_and_mm_reach_the_same_maximum(prior: float) -> None:
    df, _ = synthetic(n=400)
    newton = BradleyTerry(prior=prior).fit(df)
    mm = BradleyTerry(prior=prior, solver="mm", max_iter=5000).fit(df)
    assert newton.scores_.to_numpy() == pytest.approx(mm.scores_.to_numpy(), abs=1e-6)
    assert newton.n_iter_ < 15 < mm.n_iter_
    for model in (newton, mm):
        assert np.all(np.diff(model.history_["objective"].to_numpy()) >= -1e-9)
    with pytest.raises(InvalidParameterError, match="solver must be 'newton' or 'mm'"):
        BradleyTerry(solver="lbfgs").fit(df)


def test_standard_errors_match_the_numerical_hessian() -> None:
    df, _ = synthetic(n=300)
    model = BradleyTerry(prior=2.0, tol=1e-12).fit(df)
    c, theta = model.comparisons_, model.scores_.to_numpy()
    eps, n = 1e-4, c.n_items
    hess = np.zeros((n, n))
    for k in range(n):
        step = np.zeros(n)
        step[k] = eps
        up = optimize.approx_fprime(theta + step, log_posterior, 1e-6, c, 2.0)
        down = optimize.approx_fprime(theta - step, log_posterior, 1e-6, c, 2.0)
        hess[:, k] = (up - down) / (2 * eps)
    expected = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert model.consensus_.item_quality["se"].to_numpy() == pytest.approx(expected, rel=1e-3)


def test_ranking_history_and_convergence() -> None:
    df, truth = synthetic()
    model = BradleyTerry().fit(df)
    order = [f"i{k}" for k in range(len(truth))]
    assert stats.spearmanr(model.scores_.loc[order], truth)[0] > 0.95
    assert model.ranking_.loc["i14"] == 1 and sorted(model.ranking_) == list(range(1, 16))
    h = model.history_
    assert list(h.columns) == ["iteration", "objective", "max_change"] and model.converged_
    assert np.all(np.diff(h["objective"].to_numpy()) >= -1e-9)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        assert BradleyTerry(max_iter=2).fit(df).n_iter_ == 2


def test_prior_keeps_unbeaten_items_finite_and_no_prior_says_why() -> None:
    df = pd.DataFrame(
        {
            "annotator": ["a", "a", "b"],
            "left": ["x", "y", "x"],
            "right": ["y", "z", "z"],
            "winner": ["x", "y", "x"],
        }
    )
    scores = BradleyTerry().fit(df).scores_
    assert np.isfinite(scores).all() and scores["x"] > scores["y"] > scores["z"]
    with pytest.raises(InvalidParameterError, match="split into 3 groups.*prior > 0"):
        BradleyTerry(prior=0).fit(df)


def test_invariant_to_side_swaps_renaming_and_row_order() -> None:
    df, _ = synthetic(n=200)
    base = BradleyTerry().fit(df).scores_
    other = df.rename(columns={"left": "right", "right": "left"}).sample(frac=1.0, random_state=1)
    other["annotator"] = "z" + other["annotator"]
    again = BradleyTerry().fit(other).scores_
    assert again.loc[base.index].to_numpy() == pytest.approx(base.to_numpy(), abs=1e-9)


# ------------------------------------------------------------------ noisy Bradley-Terry
def test_noisy_bt_finds_position_biased_spammers() -> None:
    df, truth = synthetic(n=1500, spammers=4)
    model = NoisyBradleyTerry().fit(df)
    table = model.consensus_.annotator_quality
    spam, good = table.loc[[f"s{k}" for k in range(4)]], table.loc[[f"w{k}" for k in range(6)]]
    assert spam["reliability"].max() < 0.2 < 0.8 < good["reliability"].min()
    assert spam["left_bias"].min() > 0.9
    order = [f"i{k}" for k in range(len(truth))]
    noisy = stats.pearsonr(model.scores_.loc[order], truth)[0]
    plain = stats.pearsonr(BradleyTerry().fit(df).scores_.loc[order], truth)[0]
    assert noisy > plain and noisy > 0.97
    assert np.all(np.diff(model.history_["objective"].to_numpy()) >= -1e-9) and model.converged_


def test_noisy_bt_on_clean_data_trusts_everyone() -> None:
    df, truth = synthetic(n=600)
    model = NoisyBradleyTerry().fit(df)
    assert model.reliability_.min() > 0.7
    order = [f"i{k}" for k in range(len(truth))]
    assert stats.spearmanr(model.scores_.loc[order], truth)[0] > 0.95


def test_parameters_and_not_fitted() -> None:
    df = two_items(3, 2)
    with pytest.raises(InvalidParameterError, match="prior must be a number >= 0"):
        BradleyTerry(prior=-1).fit(df)
    with pytest.raises(InvalidParameterError, match="needs prior > 0"):
        NoisyBradleyTerry(prior=0).fit(df)
    with pytest.raises(InvalidParameterError, match="reliability_prior"):
        NoisyBradleyTerry(reliability_prior=(0.5, 2.0)).fit(df)
    with pytest.raises(InvalidParameterError, match="reliability_prior"):
        NoisyBradleyTerry(reliability_prior="4,x").fit(df)  # type: ignore[arg-type]
    text = NoisyBradleyTerry(reliability_prior="4,2").fit(df).scores_  # type: ignore[arg-type]
    assert text.to_numpy() == pytest.approx(NoisyBradleyTerry().fit(df).scores_.to_numpy())
    with pytest.raises(NotFittedError):
        _ = BradleyTerry().scores_


# ------------------------------------------------------------------ outputs and CLI glue
def test_text_columns_as_read_from_csv(tmp_path: Path) -> None:
    df, _ = synthetic(n=100)
    df.to_csv(tmp_path / "pairs.csv", index=False)
    text = pd.read_csv(tmp_path / "pairs.csv", dtype=str)
    scores = aggregate_pairwise_frame(text, "bt").scores
    assert scores.to_numpy() == pytest.approx(BradleyTerry().fit(df).scores_.loc[scores.index].to_numpy())


def test_to_csv_and_cli_glue(tmp_path: Path) -> None:
    df = two_items(3, 1).rename(columns={"winner": "preferred_item"})
    c = aggregate_pairwise_frame(df, "noisy_bt", winner="preferred_item")
    assert isinstance(c, PairwiseConsensus)
    c.to_csv(tmp_path / "items.csv", annotators_path=tmp_path / "annotators.csv")
    items = pd.read_csv(tmp_path / "items.csv")
    assert list(items.columns) == [
        "item",
        "score",
        "se",
        "lower",
        "upper",
        "rank",
        "n_comparisons",
        "wins",
        "losses",
        "win_rate",
    ]
    assert items["item"].tolist() == ["x", "y"] and items["wins"].tolist() == [3, 1]
    annotators = pd.read_csv(tmp_path / "annotators.csv")
    assert list(annotators.columns) == ["annotator", "n_comparisons", "agreement", "reliability", "left_bias"]
    with pytest.raises(InvalidParameterError, match="unknown pairwise method 'elo'"):
        aggregate_pairwise_frame(df, "elo", winner="preferred_item")
