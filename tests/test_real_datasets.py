"""Every classification dataset in ../shared/data: MV and DS run, give valid output, and reach known
accuracy."""

import warnings

import numpy as np
import pytest

from accord import ConvergenceWarning, DawidSkene, MajorityVote
from accord.datasets import load_dataset
from accord.evaluation import accuracy

from .conftest import DATA

# Accuracy of our DawidSkene (defaults) measured with benchmarks/accuracy.py; a drop below is a regression.
DS_FLOOR = {
    "bluebirds": 0.89,
    "product": 0.935,
    "relevance": 0.60,
    "sentiment": 0.955,
    "mre_treat": 0.85,
    "rsip_pneumonia": 0.99,
    "dog": 0.84,
    "rte": 0.925,
}


def datasets():
    if not DATA.is_dir():
        return []
    out = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        if (folder / "gold.csv").exists():  # numeric rating sets too: their values are classes here
            out.append(folder.name)
    return out


def test_the_datasets_are_there(data_dir):
    """Skips without ../shared/data on a developer's machine, fails under CI (see conftest.py)."""
    assert datasets(), f"no dataset folder with a gold.csv under {data_dir}"


@pytest.mark.parametrize("name", datasets())
def test_mv_and_ds_on_real_dataset(name):
    data = load_dataset(DATA / name)
    mv = MajorityVote().fit(data.annotations)
    cleanlab_rule = "mv_accuracy_cleanlab_tie_rule" in data.meta.get(
        "expected", {}
    )  # ties to the rarest class
    if data.meta.get("mv_accuracy") is not None and not cleanlab_rule:
        assert accuracy(mv.labels_, data.gold) == pytest.approx(float(data.meta["mv_accuracy"]), abs=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ds = DawidSkene().fit(data.annotations)
    proba = ds.proba_.to_numpy()
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if data.meta.get("task_type", "classification") == "classification":
        assert accuracy(ds.labels_, data.gold) >= DS_FLOOR.get(name, 0.0) - 1e-9
