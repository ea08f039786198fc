"""The contract test's renaming check, for LIA: shuffled rows, renamed annotators and permuted class names
give the same posterior (renamed), on the contract's own synthetic data and feature rule.

LIA skips the shared ``test_permutation_invariance`` (it compiles per data shape); here the binary case runs
on the shape of the contract's ``binary`` fixture (padded shapes: no new compilation) and the three-class
case on one more shape, with a tolerance far tighter than the contract's 5e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

from accord import Annotations

from .test_contract import _permuted, _without_vote_ties, fit, synthetic

pytest.importorskip("jax")
pytest.importorskip("optax")


@pytest.mark.parametrize("k", [2, 3])
def test_lia_renaming_and_class_permutation_invariance(k):
    frame, _ = synthetic(k, n_items=80 if k == 2 else 90, seed=3 if k == 2 else 5)
    frame = _without_vote_ties(frame)
    base = fit("lia", Annotations.from_frame(frame)).consensus_
    shuffled, perm = _permuted(frame, k)
    other = fit("lia", Annotations.from_frame(shuffled)).consensus_
    assert (other.labels.loc[base.labels.index] == base.labels.map(perm)).all()
    back = other.proba.loc[base.proba.index, [perm[c] for c in base.proba.columns]].to_numpy()
    np.testing.assert_allclose(back, base.proba.to_numpy(), atol=1e-4)
