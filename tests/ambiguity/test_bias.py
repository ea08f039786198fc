"""Proposal-bias correction: reading proposals, the offset delta, the ML inversion against brute force and
the authors' formula, simulated recovery of delta and of the true distributions, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from accord import Annotations, DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from accord.ambiguity.bias import (
    OffsetEstimate,
    cleverlabel,
    cleverlabel_correction,
    correct_bias,
    estimate_offset,
    proposal_codes,
    simulate_proposal_annotations,
)
from accord.ambiguity.blending import class_blending
from accord.ambiguity.soft import mean_kl_divergence, soft_labels

CLASSES = ["x", "y", "z"]


def frame(rows) -> Annotations:
    df = pd.DataFrame(rows, columns=["item", "annotator", "label", "proposal"])
    return Annotations.from_frame(df, classes=CLASSES, extra=["proposal"])


def brute_force(rows, delta: float) -> np.ndarray:
    """Maximise the item's likelihood under the acceptance model numerically (softmax parametrisation)."""
    code = {c: i for i, c in enumerate(CLASSES)}

    def nll(theta):
        p = np.exp(theta - theta.max())
        p /= p.sum()
        out = 0.0
        for _, _, label, prop in rows:
            k = code[label]
            accept = delta if (prop is not None and code[prop] == k) else 0.0
            out -= np.log(accept + (1 - delta) * p[k] if prop is not None else p[k])
        return out

    best = min(
        (
            minimize(
                nll, x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
            )
            for x0 in (np.zeros(3), np.array([1.0, -1.0, 0.5]))
        ),
        key=lambda r: r.fun,
    )
    p = np.exp(best.x - best.x.max())
    return p / p.sum()


# ---------------------------------------------------------------------------------------------------- reading
def test_proposal_codes_from_extra_columns():
    rows = [("i", "a", "x", None), ("i", "b", "x", "y"), ("i", "c", "y", "y"), ("j", "a", "z", "")]
    ann = frame(rows)
    assert proposal_codes(ann).tolist() == [-1, 1, 1, -1]
    df = ann.to_frame()
    df["proposal_shown"] = ["no", "yes", "false", "0"]
    shown = Annotations.from_frame(df, classes=CLASSES, extra=["proposal", "proposal_shown"])
    assert proposal_codes(shown).tolist() == [-1, 1, -1, -1]  # the flag wins over the class column


def test_proposal_reading_errors():
    plain = Annotations.from_frame(pd.DataFrame({"item": [1], "annotator": ["a"], "label": ["x"]}))
    with pytest.raises(InvalidAnnotationsError, match="no 'proposal' column"):
        proposal_codes(plain)
    df = pd.DataFrame(
        {
            "item": [1, 2],
            "annotator": ["a", "a"],
            "label": ["x", "y"],
            "proposal": [None, "x"],
            "proposal_shown": ["yes", "maybe"],
        }
    )
    ann = Annotations.from_frame(df, extra=["proposal", "proposal_shown"])
    with pytest.raises(InvalidAnnotationsError, match="true/false"):
        proposal_codes(ann)
    df["proposal_shown"] = [True, True]
    ann = Annotations.from_frame(df, extra=["proposal", "proposal_shown"])
    with pytest.raises(InvalidAnnotationsError, match="column is empty"):
        proposal_codes(ann)
    df["proposal"] = ["x", "w"]
    ann = Annotations.from_frame(df, extra=["proposal", "proposal_shown"])
    with pytest.raises(InvalidAnnotationsError, match="not among the declared classes"):
        proposal_codes(ann)


# ------------------------------------------------------------------------------------------------------ delta
def test_offset_by_hand():
    rows = [("i", f"u{j}", lab, None) for j, lab in enumerate("xxyy")]  # P_without(x) = 0.5
    rows += [("i", f"p{j}", lab, "x") for j, lab in enumerate("xxxy")]  # P_with(x) = 0.75
    est = estimate_offset(frame(rows))
    # (0.75 - 0.5) / (1 - 0.5) = 0.5; pooled: sum r = 3 * 0.5 - 0.5 = 1, sum d = 4 * 0.5 = 2
    assert est.delta == pytest.approx(0.5)
    assert est.n_annotations == 4 and est.n_items == 1
    assert est.se == pytest.approx(np.sqrt(3 * 0.25**2 + 0.75**2) / 2)


def test_offset_recovered_from_10000_simulated_annotations():
    """500 items x (10 without + 10 with a proposal) = 10,000 annotations, true delta 0.3."""
    rng = np.random.default_rng(0)
    truth = rng.dirichlet(np.full(4, 0.5), size=500)
    ann = simulate_proposal_annotations(
        truth, n_without=10, n_with=10, delta=0.3, proposal=rng.integers(0, 4, 500), random_state=rng
    )
    assert ann.n_annotations == 10_000
    est = estimate_offset(ann)
    assert isinstance(est, OffsetEstimate)
    assert abs(est.delta - 0.3) < 0.02
    assert abs(est.delta - 0.3) < 3 * est.se < 0.05
    per_annotator = estimate_offset(ann, by="annotator")
    assert per_annotator["n_annotations"].sum() == 5000
    assert per_annotator["delta"].dropna().between(0.15, 0.45).all()  # 10 proposal slots, each ~0.3


def test_offset_needs_items_with_both_kinds():
    rows = [("i", "a", "x", None), ("j", "a", "x", "x")]
    with pytest.raises(InvalidAnnotationsError, match="none has both"):
        estimate_offset(frame(rows))
    with pytest.raises(InvalidParameterError, match="by must be"):
        estimate_offset(frame([("i", "a", "x", None), ("i", "b", "y", "x")]), by="item")


def test_negative_raw_offset_is_clipped_with_a_warning():
    rows = [("i", "a", "x", None), ("i", "b", "y", None), ("i", "c", "y", "x"), ("i", "d", "y", "x")]
    with pytest.warns(DataQualityWarning, match="clipped"):
        assert estimate_offset(frame(rows)).delta == 0.0


# ------------------------------------------------------------------------------------------------- correction
def test_zero_offset_gives_vote_fractions():
    rows = [("i", "a", "x", None), ("i", "b", "y", "y"), ("i", "c", "y", "y"), ("j", "a", "z", "x")]
    plain = soft_labels(frame(rows)).proba_array
    np.testing.assert_allclose(correct_bias(frame(rows), 0.0).proba_array, plain)


def test_proposal_only_item_matches_the_closed_form_and_the_authors_code():
    rows = [("i", f"p{j}", lab, "x") for j, lab in enumerate("xxxxxxyyz")]  # 6 x, 2 y, 1 z of 9
    out = correct_bias(frame(rows), 0.2).proba_array[0]
    x = (6 / 9 - 0.2) / 0.8
    np.testing.assert_allclose(out, [x, (1 - x) * 2 / 3, (1 - x) / 3])
    counts = np.array([[6.0, 2.0, 1.0]])
    np.testing.assert_allclose(cleverlabel_correction(counts, [0], 0.2), out[None])
    authors = cleverlabel_correction(counts, [0], 0.2, denominator=0.99)[0]  # their constant
    assert authors[0] == pytest.approx((6 / 9 - 0.2) / 0.79)


def test_correction_clips_below_the_offset():
    rows = [("i", f"p{j}", lab, "x") for j, lab in enumerate("xyyyyyyyyy")]  # P_obs(x) = 0.1 < delta
    np.testing.assert_allclose(correct_bias(frame(rows), 0.3).proba_array[0], [0.0, 1.0, 0.0])


def test_mixed_item_is_the_maximum_likelihood_solution():
    rows = [("i", "u0", "x", None), ("i", "u1", "x", None), ("i", "u2", "y", None)]
    rows += [("i", f"p{j}", lab, "x") for j, lab in enumerate("xxxyz")]
    out = correct_bias(frame(rows), 0.3).proba_array[0]
    np.testing.assert_allclose(out, brute_force(rows, 0.3), atol=1e-5)


def test_several_proposals_on_one_item_by_em():
    rows = [("i", "u0", "x", None), ("i", "u1", "y", None)]
    rows += [("i", "p0", "x", "x"), ("i", "p1", "x", "x"), ("i", "p2", "y", "x")]
    rows += [("i", "q0", "z", "z"), ("i", "q1", "x", "z"), ("i", "q2", "z", "z")]
    rows += [("j", "u0", "y", None)]
    result = correct_bias(frame(rows), 0.25)
    np.testing.assert_allclose(result.proba_array[0], brute_force(rows[:8], 0.25), atol=1e-5)
    np.testing.assert_allclose(result.proba_array[1], [0.0, 1.0, 0.0])
    assert result.item_quality.loc["i", "n_with_proposal"] == 6
    assert result.item_quality.loc["i", "proposal"] == "x"
    assert pd.isna(result.item_quality.loc["j", "proposal"])
    assert result.method == "bias_corrected" and result.params["delta"] == 0.25


def test_correction_recovers_true_distributions_better_than_the_raw_vote():
    """Simulated with known delta and distributions; delta estimated from the data. KL to the truth is lower
    after correction (both sides smoothed by 0.5: without smoothing the clipped zeros of either estimate
    dominate KL, see the bias module notes)."""
    rng = np.random.default_rng(1)
    truth = rng.dirichlet(np.full(4, 0.5), size=500)
    ann = simulate_proposal_annotations(
        truth, n_without=5, n_with=15, delta=0.3, proposal=rng.integers(0, 4, 500), random_state=rng
    )
    corrected = correct_bias(ann, smoothing=0.5)
    assert abs(corrected.params["delta"] - 0.3) < 0.03
    raw = soft_labels(ann, smoothing=0.5)
    kl_corrected = mean_kl_divergence(truth, corrected.proba_array)
    kl_raw = mean_kl_divergence(truth, raw.proba_array)
    assert kl_corrected < 0.8 * kl_raw
    l1 = np.abs(corrected.proba_array - truth).sum(axis=1).mean()
    assert l1 < np.abs(raw.proba_array - truth).sum(axis=1).mean()


def test_cleverlabel_beats_blending_alone_and_the_raw_vote():
    """Correction then blending (c from the annotations without proposal): lowest KL to the truth."""
    rng = np.random.default_rng(2)
    truth = rng.dirichlet(np.full(4, 0.5), size=500)
    ann = simulate_proposal_annotations(
        truth, n_without=5, n_with=15, delta=0.3, proposal=rng.integers(0, 4, 500), random_state=rng
    )
    result = cleverlabel(ann)
    assert result.method == "bias_corrected+blend"
    kl_clever = mean_kl_divergence(truth, result)
    kl_blend = mean_kl_divergence(truth, class_blending(ann, method="loo"))
    kl_raw = mean_kl_divergence(truth, soft_labels(ann))
    assert kl_clever < 0.8 * kl_blend < 0.8 * kl_raw


def test_cleverlabel_with_a_given_transition_matrix():
    rows = [("i", "a", "x", "x"), ("i", "b", "x", "x"), ("j", "a", "y", "y"), ("j", "b", "z", "y")]
    ann = frame(rows)
    empty = ann.take(ann.item == 0)  # j keeps its place, without annotations
    c = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    out = cleverlabel(empty, 0.2, transition=c, variant="only")
    np.testing.assert_allclose(out.proba_array[0], c[0])
    np.testing.assert_allclose(out.proba_array[1], c.mean(axis=0))  # nothing known: all classes tied
    mixed = cleverlabel(ann, 0.2, transition=c, mu=0.5).proba_array[1]
    corrected = correct_bias(ann, 0.2).proba_array[1]  # y 0.375, z 0.625: the main class becomes z
    np.testing.assert_allclose(mixed, 0.5 * corrected + 0.5 * c[2])


@pytest.mark.parametrize("delta, match", [(1.0, "in \\[0, 1\\)"), (-0.1, "in \\[0, 1\\)"), (np.nan, "in")])
def test_correction_errors(delta, match):
    rows = [("i", "a", "x", None), ("i", "b", "y", "y")]
    with pytest.raises(InvalidParameterError, match=match):
        correct_bias(frame(rows), delta)


def test_cleverlabel_correction_errors():
    with pytest.raises(InvalidParameterError, match="one class code per item"):
        cleverlabel_correction(np.ones((2, 3)), [0], 0.1)
    with pytest.raises(InvalidParameterError, match="delta < denominator"):
        cleverlabel_correction(np.ones((1, 3)), [0], 0.995, denominator=0.99)


# ------------------------------------------------------------------------------------------------- simulation
def test_simulation_follows_the_model():
    truth = np.array([[0.0, 1.0], [0.5, 0.5]])
    ann = simulate_proposal_annotations(
        truth, n_without=3, n_with=200, delta=1.0, proposal=[0, 0], classes=["a", "b"], random_state=0
    )
    frame_ = ann.to_frame()
    with_prop = frame_[frame_["proposal_shown"]]
    assert (with_prop["label"] == "a").all()  # delta = 1: every proposal accepted
    assert (frame_[~frame_["proposal_shown"] & (frame_["item"] == 0)]["label"] == "b").all()
    assert list(ann.classes) == ["a", "b"] and ann.n_annotations == 2 * 203
