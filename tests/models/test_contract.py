"""One contract for every model in ``accord.METHODS``: the same checks, on tiny synthetic data made here.

- probabilities are finite, in [0, 1], one row per item and one column per declared class, rows summing to 1;
- permuting the annotation rows, renaming annotators and permuting the class names change nothing (for Auto,
  whose hidden annotations are drawn by item and annotator id, rows and class names);
- a perfect annotator among noisy ones gets the top quality score;
- an item with a single annotator gets a proper row;
- a declared class nobody chose keeps its column and is never the consensus (or, for a binary-only model, a
  clear error);
- the same seed gives the same result;
- every iterative model speaks one vocabulary (``max_iter``, ``tol``, ``random_state``; ``n_iter_``,
  ``converged_``, a ``history_`` DataFrame with the driver's columns, labelled ``confusions_``);
- inputs other than the annotations are keyword-only: ``fit(ann, gold)`` is an error, not a misreading.
"""

from __future__ import annotations

import inspect
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord._kernel.driver import HISTORY_COLUMNS
from accord._kernel.fitted import Confusions
from accord.errors import ConvergenceWarning, DataQualityWarning, InvalidParameterError
from accord.models._base import IterativeAggregator
from accord.models.registry import METHODS, make_model

BINARY_ONLY = {"kos"}


def _needs_pred_probs(name: str) -> bool:
    return "pred_probs" in METHODS[name].requires


def _pred_probs(ann: Annotations) -> pd.DataFrame:
    """A weak, deterministic stand-in for a classifier: smoothed vote shares, by item id and class."""
    counts = ann.vote_counts()
    seen = counts.sum(axis=0) > 0
    shares = np.where(seen, counts + 1.0, 1e-3)  # a class no annotator used gets almost nothing
    return pd.DataFrame(shares / shares.sum(axis=1, keepdims=True), index=ann.items, columns=ann.classes)


def _needs_features(name: str) -> bool:
    return "features" in METHODS[name].requires


def _features(ann: Annotations) -> pd.DataFrame:
    """Uninformative item features keyed by item id (each id seeds its own row), so renaming is harmless."""
    rows = [np.random.default_rng(zlib.crc32(str(item).encode())).normal(size=3) for item in ann.items]
    return pd.DataFrame(np.asarray(rows), index=ann.items)


# small, fast settings for the models that compile a network (LIA: a linear truth model, short schedules)
FAST = {"lia": {"hidden": (), "m_step_iter": 40, "fine_tune_iter": 20, "max_iter": 4}}


# LIA compiles its JAX network once per data shape (about 10 s each on 2 cores): it runs the checks on the
# ``binary`` fixture's shape (compiled once) and skips the checks that need other shapes;
# tests/models/test_lia.py covers recovery, row-order invariance and the oracle annotators on its own data.
COMPILES_PER_SHAPE = {"lia"}


def skip_other_shapes(name: str) -> None:
    if name in COMPILES_PER_SHAPE:
        pytest.skip(f"{name} compiles per data shape (~10 s each): checked on the binary fixture only")


def fit(name: str, ann: Annotations, **params):
    model = make_model(name, **{**FAST.get(name, {}), **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataQualityWarning)
        if _needs_features(name):
            return model.fit(ann, features=_features(ann))
        if _needs_pred_probs(name):
            return model.fit(ann, pred_probs=_pred_probs(ann))
        return model.fit(ann)


def synthetic(
    k: int = 2,
    n_items: int = 80,
    accuracies=(0.85, 0.8, 0.8, 0.75, 0.7, 0.7),
    per_item: int | None = 4,
    seed: int = 3,
) -> tuple[pd.DataFrame, pd.Series]:
    """One-coin annotators; each item labelled by ``per_item`` random annotators (all when None)."""
    rng = np.random.default_rng(seed)
    names = [f"c{j}" for j in range(k)]
    truth = rng.integers(0, k, size=n_items)
    rows = []
    n_ann = len(accuracies)
    for i in range(n_items):
        who = np.arange(n_ann) if per_item is None else rng.choice(n_ann, size=per_item, replace=False)
        for a in who:
            right = rng.random() < accuracies[a]
            label = truth[i] if right else rng.choice([c for c in range(k) if c != truth[i]])
            rows.append((f"item{i:03d}", f"ann{a}", names[label]))
    frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return frame, pd.Series(np.asarray(names)[truth], index=[f"item{i:03d}" for i in range(n_items)])


def applicable(name: str, k: int) -> bool:
    return not (name in BINARY_ONLY and k > 2)


ALL = sorted(METHODS)


@pytest.fixture(scope="module")
def binary() -> Annotations:
    return Annotations.from_frame(synthetic(2)[0])


@pytest.fixture(scope="module")
def ternary() -> Annotations:
    return Annotations.from_frame(synthetic(3, n_items=90, seed=5)[0])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("k", [2, 3])
def test_probabilities(name, k, binary, ternary):
    if k == 3:
        skip_other_shapes(name)
    ann = binary if k == 2 else ternary
    if not applicable(name, k):
        with pytest.raises(InvalidParameterError, match="binary"):
            fit(name, ann)
        return
    consensus = fit(name, ann).consensus_
    proba = consensus.proba
    assert proba.shape == (ann.n_items, ann.n_classes)
    assert list(proba.columns) == list(ann.classes)
    values = proba.to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1 + 1e-12).all()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-9)
    assert set(consensus.labels.unique()) <= set(ann.classes)
    assert list(consensus.labels.index) == list(ann.items)


def _permuted(
    frame: pd.DataFrame, k: int, seed: int = 11, rename_annotators: bool = True
) -> tuple[pd.DataFrame, dict]:
    """Rows shuffled, annotators renamed (and so re-coded in another order), class names permuted."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    annotators = sorted(out["annotator"].unique())
    new_names = [f"z{j}" for j in rng.permutation(len(annotators))] if rename_annotators else annotators
    rename = dict(zip(annotators, new_names, strict=False))
    names = [f"c{j}" for j in range(k)]
    perm = dict(
        zip(names, np.asarray(names)[np.roll(np.arange(k), 1)], strict=False)
    )  # c0->c1, c1->c2, ..., last->c0
    out = out.assign(annotator=out["annotator"].map(rename), label=out["label"].map(perm))
    return out, perm


def _without_vote_ties(frame: pd.DataFrame) -> pd.DataFrame:
    counts = frame.groupby(["item", "label"]).size().unstack(fill_value=0).to_numpy()
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top).sum(axis=1) > 1
    items = frame.groupby(["item", "label"]).size().unstack(fill_value=0).index[tied]
    return frame[~frame["item"].isin(items)].reset_index(drop=True)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("k", [2, 3])
def test_permutation_invariance(name, k):
    skip_other_shapes(name)
    if not applicable(name, k):
        pytest.skip("binary-only model")
    frame, _ = synthetic(k, n_items=80 if k == 2 else 90, seed=3 if k == 2 else 5)
    frame = _without_vote_ties(
        frame
    )  # majority-vote ties are broken by class order, which a permutation changes
    base = fit(name, Annotations.from_frame(frame)).consensus_
    # Auto draws its hidden annotations by (item id, annotator id): renaming annotators hides other labels, a
    # different random draw, so for Auto only rows and class names are permuted
    shuffled, perm = _permuted(frame, k, rename_annotators=name != "auto")
    other = fit(name, Annotations.from_frame(shuffled)).consensus_
    labels = other.labels.loc[base.labels.index]
    expected = base.labels.map(perm)
    # a tie among the top posteriors is broken by class order (documented), which a permutation changes
    top2 = np.sort(base.proba.to_numpy(), axis=1)[:, -2:]
    untied = (top2[:, 1] - top2[:, 0]) > 1e-9
    assert (labels == expected)[untied].all()
    back = other.proba.loc[base.proba.index, [perm[c] for c in base.proba.columns]].to_numpy()
    np.testing.assert_allclose(back, base.proba.to_numpy(), atol=5e-3)


@pytest.mark.parametrize("name", ALL)
def test_perfect_annotator_recovered(name):
    skip_other_shapes(name)
    k = 2 if name in BINARY_ONLY else 3
    frame, truth = synthetic(
        k, n_items=80, accuracies=(1.0, 0.65, 0.6, 0.6, 0.55, 0.55), per_item=None, seed=7
    )
    ann = Annotations.from_frame(frame)
    consensus = fit(name, ann).consensus_
    quality = consensus.annotator_quality["quality"]
    assert quality.idxmax() == "ann0", quality.round(3).to_dict()
    accuracy = (consensus.labels == truth.loc[consensus.labels.index]).mean()
    assert accuracy >= 0.8


@pytest.mark.parametrize("name", ALL)
def test_single_annotator_item(name, binary):
    skip_other_shapes(name)
    frame = binary.to_frame()
    # a new item labelled once, by the best annotator, with the class that annotator uses least often
    lone = pd.DataFrame({"item": ["lonely"], "annotator": ["ann0"], "label": ["c1"]})
    ann = Annotations.from_frame(pd.concat([frame, lone], ignore_index=True))
    consensus = fit(name, ann).consensus_
    row = consensus.proba.loc["lonely"].to_numpy()
    assert np.isfinite(row).all() and abs(row.sum() - 1.0) < 1e-9
    assert consensus.labels.loc["lonely"] in ("c0", "c1")
    assert consensus.item_quality.loc["lonely", "n_annotations"] == 1


@pytest.mark.parametrize("name", ALL)
def test_class_nobody_chose(name):
    frame, _ = synthetic(2, seed=3)
    ann = Annotations.from_frame(frame, classes=["c0", "c1", "never"])
    if name in BINARY_ONLY:
        with pytest.raises(InvalidParameterError, match="binary"):
            fit(name, ann)
        return
    consensus = fit(name, ann).consensus_
    assert list(consensus.proba.columns) == ["c0", "c1", "never"]
    assert "never" not in set(consensus.labels)
    never = consensus.proba["never"].to_numpy()
    others = consensus.proba[["c0", "c1"]].to_numpy().max(axis=1)
    assert (never < others).all()


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_result(name, binary):
    if "random_state" not in inspect.signature(METHODS[name]).parameters:
        pytest.skip("no random_state")
    a = fit(name, binary, random_state=42).consensus_
    b = fit(name, binary, random_state=42).consensus_
    np.testing.assert_array_equal(a.proba.to_numpy(), b.proba.to_numpy())
    assert a.labels.equals(b.labels)


ITERATIVE = sorted(name for name, cls in METHODS.items() if issubclass(cls, IterativeAggregator))


def test_every_iterative_model_is_on_the_driver():
    expected = {"ds", "onecoin", "ibcc", "ds_model", "mmce", "glad", "mace", "zbs", "mmsr", "kos"}
    assert expected <= set(ITERATIVE)


@pytest.mark.parametrize("name", ITERATIVE)
def test_iterative_vocabulary(name, binary):
    params = inspect.signature(METHODS[name]).parameters
    assert {"max_iter", "tol", "random_state"} <= set(params)
    model = fit(name, binary)
    assert isinstance(model.n_iter_, int) and 0 <= model.n_iter_ <= model.max_iter
    assert isinstance(model.converged_, bool)
    history = model.history_
    assert isinstance(history, pd.DataFrame)
    if "stage" in history.columns:  # LIA: one row per EM iteration, then its fine-tuning row(s)
        assert set(history["stage"]) <= {"em", "fine_tune"}
        history = history[history["stage"] == "em"]
    assert len(history) == model.n_iter_
    assert list(history.columns[: len(HISTORY_COLUMNS)]) == list(HISTORY_COLUMNS)
    assert list(model.labels_.index) == list(binary.items)
    assert model.proba_.shape == (binary.n_items, binary.n_classes)
    confusions = getattr(model, "confusions_", None)
    if confusions is not None:
        assert isinstance(confusions, Confusions)
        first = binary.annotators[0]
        matrix = confusions.loc[first]
        assert list(matrix.index) == list(binary.classes) and list(matrix.columns) == list(binary.classes)
        np.testing.assert_allclose(matrix.to_numpy(), confusions.values[0])
        errors = model.errors_  # crowd-kit's layout: (annotator, given label) x true class
        np.testing.assert_allclose(errors.loc[first].to_numpy(), confusions.values[0].T)


@pytest.mark.parametrize("name", ["mace", "kos", "mmsr", "zbs"])  # the models that used to say n_iter
def test_deprecated_n_iter_still_works(name):
    with pytest.warns(DeprecationWarning, match="n_iter"):
        model = METHODS[name](n_iter=7)
    assert model.max_iter == 7
    with pytest.warns(DeprecationWarning, match="n_iter"):
        assert model.n_iter == 7


@pytest.mark.parametrize("name", ALL)
def test_extra_inputs_are_keyword_only(name, binary):
    cls = METHODS[name]
    assert set(cls.requires) <= set(cls.accepts)
    gold = pd.Series({binary.items[0]: binary.classes[0]})
    with pytest.raises(TypeError, match="keyword"):
        make_model(name).fit(binary, gold)
    with pytest.raises(TypeError, match="keyword"):
        make_model(name).fit_predict(binary, gold)


def test_crowdlab_with_gold_positionally_names_the_keywords(binary):
    with pytest.raises(TypeError, match="pred_probs=..., gold=..."):
        make_model("crowdlab").fit(binary, pd.Series({binary.items[0]: binary.classes[0]}))
