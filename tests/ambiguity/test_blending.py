"""Class blending: transition-matrix estimates and blends by hand, variants, errors, and KL on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, Consensus, DataQualityWarning, InvalidParameterError
from accord.ambiguity.blending import blend, class_blending, estimate_transition
from accord.ambiguity.soft import mean_kl_divergence, soft_labels
from accord.datasets import load_dataset


def small() -> Annotations:
    rows = [
        ("i1", "a", "x"),
        ("i1", "b", "x"),
        ("i1", "c", "y"),
        ("i1", "d", "x"),
        ("i2", "a", "x"),
        ("i2", "b", "y"),
        ("i3", "c", "y"),
    ]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


# ------------------------------------------------------------------------------------------------- estimation
def test_transition_mean_by_hand():
    c = estimate_transition(small())
    # x: i1 + half of the tied i2 = [1.0, 0.5] / 1.5; y: half of i2 + i3 = [0.25, 1.25] / 1.5
    np.testing.assert_allclose(c.to_numpy(), [[2 / 3, 1 / 3], [1 / 6, 5 / 6]])
    assert list(c.index) == ["x", "y"] and c.index.name == "main" and c.columns.name == "label"


def test_transition_loo_by_hand():
    c = estimate_transition(small(), method="loo")
    # label x of i1 (x3) -> rest [2,1] main x; of i2 -> rest [0,1] main y.
    # label y of i1 -> rest [3,0] main x; of i2 -> rest [1,0] main x; i3 has no other annotation.
    np.testing.assert_allclose(c.to_numpy(), [[3 / 5, 2 / 5], [1.0, 0.0]])


def test_transition_gold_and_identity_row_for_unused_class():
    with pytest.warns(DataQualityWarning, match="never the main class"):
        c = estimate_transition(small(), method="gold", gold={"i1": "y", "i3": "y"})
    np.testing.assert_allclose(c.to_numpy(), [[1.0, 0.0], [0.375, 0.625]])


def test_transition_from_distributions_matches_annotations():
    soft = soft_labels(small())
    np.testing.assert_allclose(estimate_transition(soft).to_numpy(), estimate_transition(small()).to_numpy())
    np.testing.assert_allclose(
        estimate_transition(soft.proba).to_numpy(), estimate_transition(small()).to_numpy()
    )


def test_items_without_annotations_are_ignored():
    ann = small()
    fewer = ann.take(ann.item != 1)  # i2 (the tied item) keeps its place but has no annotation
    np.testing.assert_allclose(estimate_transition(fewer).to_numpy(), [[0.75, 0.25], [0.0, 1.0]])


def test_transition_errors():
    with pytest.raises(InvalidParameterError, match="method"):
        estimate_transition(small(), method="median")
    with pytest.raises(InvalidParameterError, match="needs the annotations"):
        estimate_transition(soft_labels(small()).proba, method="loo")
    with pytest.raises(InvalidParameterError, match="needs gold"):
        estimate_transition(small(), method="gold")


# --------------------------------------------------------------------------------------------------- blending
C = np.array([[0.9, 0.1], [0.2, 0.8]])


def test_blend_by_hand():
    p = np.array([[1.0, 0.0], [0.3, 0.7]])
    np.testing.assert_allclose(blend(p, C, mu=0.5), [[0.95, 0.05], [0.25, 0.75]])
    np.testing.assert_allclose(blend(p, C), 0.75 * p + 0.25 * C[[0, 1]])  # the authors' default mu
    np.testing.assert_allclose(blend(p, C, variant="only"), C[[0, 1]])
    np.testing.assert_allclose(blend(p, C, variant="balanced"), blend(p, C, mu=0.5))
    np.testing.assert_allclose(blend(p, C, mu=1.0), p)


def test_tie_averages_the_tied_rows():
    np.testing.assert_allclose(blend(np.array([[0.5, 0.5]]), C, variant="only"), [[0.55, 0.45]])


def test_shrink_weights_by_number_of_annotations():
    soft = soft_labels(small())
    out = blend(soft, C, variant="shrink", strength=2.0)
    mu = np.array([4 / 6, 2 / 4, 1 / 3])[:, None]
    anchor = np.array([C[0], (C[0] + C[1]) / 2, C[1]])
    np.testing.assert_allclose(out.proba_array, mu * soft.proba_array + (1 - mu) * anchor)
    np.testing.assert_allclose(
        blend(soft.proba_array, C, variant="shrink", n_annotations=[4, 2, 1]), out.proba_array
    )


def test_empty_item_uses_the_anchor():
    p = np.array([[0.5, 0.5], [0.2, 0.8]])
    out = blend(p, C, variant="only", n_annotations=[0, 3], empty_anchor=[0, -1])
    np.testing.assert_allclose(out, [C[0], C[1]])


def test_types_are_kept():
    soft = soft_labels(small())
    out = blend(soft, estimate_transition(small()))
    assert isinstance(out, Consensus) and out.method == "soft+blend"
    assert out.params["blend_mu"] == 0.75
    np.testing.assert_allclose(out.proba_array.sum(axis=1), 1.0)
    frame = blend(soft.proba, pd.DataFrame(C[::-1, ::-1], index=["y", "x"], columns=["y", "x"]))
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["x", "y"]
    np.testing.assert_allclose(frame.to_numpy(), blend(soft.proba_array, C))  # the labelled c is realigned
    np.testing.assert_allclose(class_blending(small()).proba_array, out.proba_array)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variant": "softer"}, "variant"),
        ({"mu": 1.5}, "mu must be"),
        ({"variant": "shrink", "strength": 0}, "strength"),
        ({"variant": "shrink"}, "number of annotations"),
        ({"transition": np.ones((2, 2))}, "rows that sum to 1"),
        ({"transition": np.eye(3)}, "2 x 2"),
        ({"n_annotations": [1, 2, 3]}, "n_annotations"),
    ],
)
def test_blend_errors(kwargs, match):
    args = {"transition": C, **kwargs}
    transition = args.pop("transition")
    with pytest.raises(InvalidParameterError, match=match):
        blend(np.array([[0.5, 0.5], [0.1, 0.9]]), transition, **args)


# -------------------------------------------------------------------------------------------------- real data
@pytest.mark.parametrize("name", ["dog", "sentiment", "bluebirds", "temp"])
@pytest.mark.parametrize("per_item", [3, 5])
def test_blending_lowers_kl_to_all_annotations(data_dir, name, per_item):
    """Soft labels from 3 or 5 annotations per item are closer (KL) to the all-annotations distribution after
    class blending, with c estimated from the subsample alone (no peeking at the reference)."""
    ann = load_dataset(data_dir / name).annotations
    reference = soft_labels(ann)
    sub = ann.subsample(per_item, random_state=0)
    plain = mean_kl_divergence(reference, soft_labels(sub))
    for variant in ("blend", "balanced", "shrink"):
        blended = class_blending(sub, variant=variant, method="loo")
        assert mean_kl_divergence(reference, blended) < 0.5 * plain
