"""Property-based tests (hypothesis) of the builders, readers, importers and every registered model.

For any input: only an ``AccordError`` for bad input (never a bare ``TypeError``/``KeyError``/...), no NaN,
probabilities that sum to one, nothing dropped without a line in the report, and the same result when the ids
are renamed and the rows shuffled. CI-sized: about a minute in all; ``benchmarks/fuzz.py`` runs the same
generators on more than ten thousand inputs.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accord import AccordError, Annotations, io
from accord.io.tables import read_annotations
from accord.models.registry import METHODS, make_model

# Deterministic (derandomize, no example database), so that CI sees the same inputs on every run.
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FAST = settings(SETTINGS, max_examples=8)
# Model fits are the slow part: no shrinking of a failing example (its first form is reported as found).
MODEL_SETTINGS = settings(FAST, phases=[Phase.explicit, Phase.generate])

# Text that real exports contain: NA-like strings, blanks, formulas, unicode, numbers as text.
TEXT = st.sampled_from(
    [
        "a",
        "b",
        "c",
        "NA",
        "N/A",
        "#N/A",
        "None",
        "null",
        "nan",
        "<NA>",
        "",
        " ",
        "=1+1",
        "-1",
        "1",
        "1.0",
        "007",
        "é",
        "x y",
    ]  # fmt: skip
)
CELL = st.one_of(
    TEXT, st.none(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=False, width=16)
)


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def dropped(report: list[str]) -> int:
    """Annotations the report says were dropped."""
    return sum(
        int(m.group(1))
        for line in report
        for m in [re.search(r"dropped (\d+) (?:annotation|repeated)", line)]
        if m
    )


@st.composite
def long_tables(draw: st.DrawFn, cells: st.SearchStrategy[Any] = CELL) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    return pd.DataFrame(
        {
            "item": draw(st.lists(cells, min_size=n, max_size=n)),
            "annotator": draw(st.lists(cells, min_size=n, max_size=n)),
            "label": draw(st.lists(cells, min_size=n, max_size=n)),
        }
    )


@st.composite
def valid_annotations(draw: st.DrawFn, max_classes: int = 3) -> pd.DataFrame:
    """A valid long table: every item has an annotation, at least two classes appear."""
    n_items = draw(st.integers(2, 12))
    n_ann = draw(st.integers(2, 6))
    k = draw(st.integers(2, max_classes))
    rows = []
    for i in range(n_items):
        who = draw(st.lists(st.integers(0, n_ann - 1), min_size=1, max_size=n_ann, unique=True))
        rows += [(f"i{i}", f"a{a}", f"c{draw(st.integers(0, k - 1))}") for a in who]
    frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    if frame["label"].nunique() < 2:
        frame.loc[0, "label"] = "c0" if frame.loc[0, "label"] != "c0" else "c1"
    return frame


# ====================================================================== builders
@SETTINGS
@given(long_tables(), st.sampled_from(["error", "drop"]), st.sampled_from(["error", "keep_last", "keep_all"]))
def test_from_frame_only_accord_errors_and_every_drop_reported(frame, missing, duplicates):
    try:
        ann = quiet(Annotations.from_frame, frame, missing=missing, duplicates=duplicates)
    except AccordError:
        return
    assert ann.n_annotations + dropped(ann.report) == len(frame)
    labels = ann.to_frame()["label"]
    assert not labels.isna().any() and not any(isinstance(v, str) and not v.strip() for v in labels)
    assert ann.label.min() >= 0 and ann.label.max() < ann.n_classes


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=8))
def test_from_wide_only_accord_errors(rows):
    try:
        ann = quiet(Annotations.from_wide, pd.DataFrame(rows, columns=["a", "b", "c"]), empty_items="drop")
    except AccordError:
        return
    assert ann.n_annotations == int(ann.to_wide().notna().to_numpy().sum()) or ann.n_annotations > 0


# ====================================================================== readers
@SETTINGS
@given(long_tables(TEXT), st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_text_tables_read_back_exactly(tmp_path_factory, frame, suffix):
    path = tmp_path_factory.mktemp("t") / f"a{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    try:
        ann = quiet(read_annotations, path, missing="drop", duplicates="keep_all")
    except AccordError:
        return
    assert set(ann.to_frame()["label"]) <= set(frame["label"])  # labels kept exactly as written
    assert ann.n_annotations + dropped(ann.report) == len(frame)


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_any_bytes_give_annotations_or_an_accord_error(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("b") / f"a{suffix}"
    path.write_bytes(data)
    try:
        quiet(read_annotations, path)
    except AccordError:
        pass


# ====================================================================== importers
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "annotations",
                    "result",
                    "value",
                    "choices",
                    "completed_by",
                    "from_name",
                    "annotator",
                    "label",
                    "answer",
                    "accept",
                    "options",
                    "_annotator_id",
                    "_input_hash",
                    "was_cancelled",
                    "annotationsFromAllWorkers",
                    "annotationData",
                    "content",
                    "workerId",
                    "source-ref",
                    "lab",
                    "lab-metadata",
                    "class-name",
                    "answers",
                    "answerContent",
                ]
            ),  # fmt: skip
            inner,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


@SETTINGS
@given(JSON)
def test_label_studio_importer_only_accord_errors(data):
    try:
        result = quiet(io.label_studio.read, data)
    except AccordError:
        return
    assert result.annotations.n_annotations > 0


@SETTINGS
@given(st.lists(JSON, min_size=1, max_size=5), st.sampled_from(["prodigy", "sagemaker"]))
def test_jsonl_importers_only_accord_errors(tmp_path_factory, records, fmt):
    path = tmp_path_factory.mktemp("j") / ("a.jsonl" if fmt == "prodigy" else "a.manifest")
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    try:
        quiet(io.read, path, format=fmt)
    except AccordError:
        pass


@FAST
@given(st.lists(st.lists(TEXT, min_size=4, max_size=4), max_size=6), st.sampled_from(["mturk", "toloka"]))
def test_table_importers_only_accord_errors(tmp_path_factory, rows, fmt):
    columns = (
        ["HITId", "WorkerId", "AssignmentStatus", "Answer.label"]
        if fmt == "mturk"
        else ["INPUT:x", "OUTPUT:y", "GOLDEN:y", "ASSIGNMENT:worker_id"]
    )
    path = tmp_path_factory.mktemp("m") / ("a.csv" if fmt == "mturk" else "a.tsv")
    pd.DataFrame(rows, columns=columns).to_csv(path, sep="," if fmt == "mturk" else "\t", index=False)
    try:
        quiet(io.read, path, format=fmt)
    except AccordError:
        pass


# ====================================================================== models
# Models that need item features compile a JAX network per data shape (LIA: ~10 s per generated example on 2
# cores), too slow for generated data; tests/models/test_lia.py and the contract tests cover them.
NEEDS_FEATURES = sorted(m for m in METHODS if "features" in (getattr(METHODS[m], "requires", ()) or ()))
SKIP_FEATURES = pytest.mark.skip(reason="needs item features; compiles a network per data shape: too slow")
MODELS = [
    pytest.param(m, marks=SKIP_FEATURES) if m in NEEDS_FEATURES else m
    for m in sorted(m for m in METHODS if m not in ("auto", "kos"))
]
# Parameters that keep the CI budget (MACE's default is 10 random restarts).
PARAMS: dict[str, dict[str, Any]] = {"mace": {"n_restarts": 2}, "mmsr": {"max_iter": 300}}
# Models whose invariance to renaming ids and shuffling rows is not checked (their probabilities still are).
# Empty: every model agrees to 1e-7. (MACE once drew its restarts in annotator-code order, and MMSR broke an
# exact tie in its overall sign by rounding; both are fixed, the MMSR case is kept in COUNTEREXAMPLES.)
NOT_INVARIANT: set[str] = set()


def fit(name: str, frame: pd.DataFrame, pred_probs: pd.DataFrame | None) -> pd.DataFrame:
    ann = Annotations.from_frame(frame)
    model = make_model(name, **PARAMS.get(name, {}))
    extra = {"pred_probs": pred_probs} if getattr(model, "accepts_pred_probs", False) else {}
    if getattr(model, "requires_pred_probs", False) and pred_probs is None:
        pytest.skip("needs pred_probs")
    quiet(model.fit, ann, **extra)
    return model.proba_


def pred_probs_for(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    items = pd.unique(frame["item"])
    classes = sorted(pd.unique(frame["label"]))
    p = np.random.default_rng(seed).dirichlet(np.ones(len(classes)), len(items))
    return pd.DataFrame(p, index=items, columns=classes)


@pytest.mark.parametrize("name", MODELS)
@MODEL_SETTINGS
@given(frame=valid_annotations(), seed=st.integers(0, 2**16))
def test_every_model_probabilities_and_invariance(name, frame, seed):
    pp = pred_probs_for(frame, seed)
    try:
        proba = fit(name, frame, pp)
    except AccordError:  # e.g. CROWDLAB on items with one annotation each: refused with a reason
        return
    values = proba.to_numpy()
    assert np.isfinite(values).all() and (values >= -1e-12).all()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-9)
    if name in NOT_INVARIANT:
        return
    assert_invariant(name, frame, pp, proba, seed)


def assert_invariant(
    name: str, frame: pd.DataFrame, pp: pd.DataFrame, proba: pd.DataFrame, seed: int
) -> None:
    """Renamed annotators and items, shuffled rows: the same posterior for the same item."""
    values = proba.to_numpy()
    rng = np.random.default_rng(seed)
    other = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    other = other.assign(annotator="w-" + other["annotator"], item="t-" + other["item"])
    pp2 = pp.rename(index=lambda i: f"t-{i}")
    proba2 = fit(name, other, pp2)
    proba2.index = [i[2:] for i in proba2.index]
    np.testing.assert_allclose(values, proba2.loc[proba.index, proba.columns].to_numpy(), atol=1e-7)


COUNTEREXAMPLES = {
    "mmsr": (
        [("i0", "a0", "c1"), ("i0", "a4", "c1"), ("i1", "a4", "c0"), ("i1", "a3", "c1"), ("i1", "a0", "c0"),
         ("i1", "a2", "c0"), ("i1", "a1", "c1"), ("i1", "a5", "c1"), ("i2", "a5", "c1"), ("i2", "a0", "c1")],
        44280,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COUNTEREXAMPLES))
def test_known_renaming_counterexamples(name):
    rows, seed = COUNTEREXAMPLES[name]
    frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    pp = pred_probs_for(frame, seed)
    assert_invariant(name, frame, pp, fit(name, frame, pp), seed)


@settings(MODEL_SETTINGS, max_examples=3)
@given(frame=valid_annotations(max_classes=2))
def test_kos_and_auto_give_probabilities(frame):
    for name, params in (("kos", {}), ("auto", {"candidates": "mv,ds"})):
        model = make_model(name, **params)
        try:
            quiet(model.fit, Annotations.from_frame(frame))
        except AccordError:
            continue
        values = model.proba_.to_numpy()
        assert np.isfinite(values).all()
        np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-9)


def test_fuzz_benchmark_exists():
    assert (Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py").is_file()
