"""MMCE: block gradients against finite differences, the fitted point against loop-written stationarity
conditions, EM invariants, precision, and accuracy on real data (seed 004's Table 2 lists MMCE)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, InvalidParameterError
from accord.evaluation import accuracy
from accord.models.mmce import (
    MMCE,
    MmceData,
    MmceWork,
    annotator_counts,
    default_lambdas,
    e_step,
    item_counts,
    make_block,
)


def confusion_data(n_items=60, k=3, per_item=4, seed=0, n_annotators=8):
    """Annotators with random class-dependent confusions (accuracy 0.55-0.9), ``per_item`` per item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n_items)
    theta = rng.dirichlet(np.ones(k), size=(n_annotators, k)) * 0.3
    theta[:, np.arange(k), np.arange(k)] += rng.uniform(0.5, 0.7, size=(n_annotators, 1))
    theta /= theta.sum(axis=2, keepdims=True)
    rows = []
    for i in range(n_items):
        for a in rng.choice(n_annotators, per_item, replace=False):
            rows.append((i, f"a{a}", int(rng.choice(k, p=theta[a, truth[i]]))))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth


def fit(frame, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MMCE(**params).fit(frame)


@pytest.mark.parametrize("block", ["annotators", "items"])
def test_block_gradient_matches_finite_differences(block):
    frame, _ = confusion_data(n_items=8, k=3, per_item=3, seed=1, n_annotators=5)
    ann = Annotations.from_frame(frame)
    data = MmceData.of(ann)
    rng = np.random.default_rng(2)
    post = rng.dirichlet(np.ones(3), size=ann.n_items)
    sig, tau = rng.normal(size=(3, 3, ann.n_annotators)), rng.normal(size=(3, 3, ann.n_items))
    if block == "annotators":
        blk = make_block(
            data,
            post,
            data.annot,
            data.by_annotator,
            tau,
            data.item,
            annotator_counts(data, post),
            0.7,
            ann.n_annotators,
        )
    else:
        blk = make_block(
            data, post, data.item, data.by_item, sig, data.annot, item_counts(data, post), 1.3, ann.n_items
        )
    u = rng.normal(size=blk.counts.size)
    _, grad = blk.objective(u)
    eps = 1e-6
    numeric = [
        (blk.objective(u + eps * e)[0] - blk.objective(u - eps * e)[0]) / (2 * eps) for e in np.eye(u.size)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def _loop_logp(sigma, tau, a, i):
    s = sigma[a] + tau[i]
    return s - logsumexp(s, axis=1, keepdims=True)  # log P(l | k), rows k


def test_fitted_point_is_a_fixed_point_of_map_em():
    """At convergence: mu is the E-step posterior of (sigma, tau), and the gradients of F(mu) vanish."""
    frame, _ = confusion_data(n_items=30, k=3, per_item=3, seed=3, n_annotators=6)
    ann = Annotations.from_frame(frame)
    model = fit(ann, tol=1e-9, max_iter=500, m_step_tol=1e-10, m_step_max_iter=200)
    assert model.converged_
    sigma, tau, mu = model.sigma_, model.tau_, model.proba_.to_numpy()
    lam_w, lam_t = model.lambdas_
    log_u = np.full((ann.n_items, 3), -np.log(3))
    g_sig, g_tau = -lam_w * sigma, -lam_t * tau
    for n in range(ann.n_annotations):
        a, i, lab = ann.annotator[n], ann.item[n], ann.label[n]
        logp = _loop_logp(sigma, tau, a, i)
        log_u[i] += logp[:, lab]
        resid = -mu[i][:, None] * np.exp(logp)
        resid[:, lab] += mu[i]
        g_sig[a] += resid
        g_tau[i] += resid
    np.testing.assert_allclose(mu, np.exp(log_u - logsumexp(log_u, axis=1, keepdims=True)), atol=1e-8)
    assert np.abs(g_sig).max() < 1e-6 and np.abs(g_tau).max() < 1e-6


def test_default_lambdas_follow_the_benchmark():
    frame, _ = confusion_data(n_items=40, k=3, per_item=4, seed=4, n_annotators=8)
    ann = Annotations.from_frame(frame)
    lam_w, lam_t = default_lambdas(ann)
    assert lam_w == 0.25 * 9
    assert lam_t == pytest.approx(lam_w * (160 / 8) / (160 / 40))
    assert fit(ann, lambda_annotator=1.0).lambdas_ == pytest.approx((1.0, 1.0 * 5))


def test_objective_never_decreases_and_rows_sum_to_one():
    frame, _ = confusion_data(n_items=80, k=3, per_item=4, seed=5)
    model = fit(frame, tol=0.0, max_iter=25)
    objective = model.consensus_.history["objective"].to_numpy()
    assert len(objective) == 25
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))
    np.testing.assert_allclose(model.proba_.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(model.consensus_.confusions.sum(axis=2), 1.0, atol=1e-12)


def test_perfect_annotator_recovered_and_determinism():
    frame, truth = confusion_data(n_items=90, k=3, per_item=3, seed=6)
    rows = pd.DataFrame({"item": np.arange(90), "annotator": "perfect", "label": truth})
    frame = pd.concat([frame, rows], ignore_index=True)
    a, b = fit(frame), fit(frame)
    pd.testing.assert_frame_equal(a.proba_, b.proba_)
    quality = a.consensus_.annotator_quality["quality"]
    assert quality.idxmax() == "perfect"
    assert np.mean(a.labels_.sort_index().to_numpy() == truth) >= 0.95


def test_class_nobody_chose_gets_prior_zero():
    frame, _ = confusion_data(n_items=30, k=2, per_item=3, seed=7)
    ann = Annotations.from_frame(frame, classes=[0, 1, 2])
    model = fit(ann)
    assert list(model.proba_.columns) == [0, 1, 2]
    assert (model.proba_[2] == 0).all() and 2 not in set(model.labels_)


def test_float32_agrees_with_float64():
    frame, _ = confusion_data(n_items=150, k=4, per_item=4, seed=8)
    p64 = fit(frame, precision="float64").proba_.to_numpy()
    p32 = fit(frame, precision="float32").proba_.to_numpy()
    assert np.abs(p64 - p32).max() < 1e-3


def test_gold_items_are_clamped():
    frame, truth = confusion_data(n_items=30, k=3, per_item=3, seed=9)
    model = MMCE().fit(frame, gold=pd.Series({0: (truth[0] + 1) % 3}))
    assert model.labels_[0] == (truth[0] + 1) % 3 and model.proba_.loc[0].max() == 1.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lambda_annotator": 0.0}, "must be > 0"),
        ({"precision": "float16"}, "precision"),
        ({"m_step_max_iter": 0}, "m_step_max_iter"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_parameters(params, match):
    frame, _ = confusion_data(n_items=5, per_item=2)
    with pytest.raises(InvalidParameterError, match=match):
        MMCE(**params).fit(frame)


# Accuracy on gold with the benchmark's settings, measured with this implementation (which reproduces a
# loop-by-loop port of the benchmark's MATLAB to 3e-7 in the posteriors), and seed 004's Table 2 MMCE at full
# redundancy (its own preprocessing of the same public sets).
REAL = [
    ("bluebirds", 0.9167, 0.796),
    ("rte", 0.9237, 0.927),
    ("temp", 0.9437, None),
    ("slr_use_of_tech", 0.7900, None),
]


@pytest.mark.parametrize("name, ours, seed004", REAL)
def test_accuracy_on_real_datasets(data_dir, name, ours, seed004):
    data = load_dataset(data_dir / name)
    assert accuracy(fit(data.annotations).labels_, data.gold) == pytest.approx(ours, abs=0.0021)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_buffers_give_the_fresh_arrays_values(dtype):
    """The fit's buffers (MmceWork: layouts, score tensors, parameter arrays) change no value: the E-step
    and both blocks' objective and gradient equal the buffer-free code to the bit, also when reused."""
    frame, _ = confusion_data(n_items=40, k=3, per_item=3, seed=11, n_annotators=6)
    ann = Annotations.from_frame(frame)
    data = MmceData.of(ann, dtype)
    work = MmceWork(data)
    rng = np.random.default_rng(5)
    log_prior = np.log(np.full(3, 1 / 3))
    for _ in range(2):  # the second round reuses every buffer
        post = rng.dirichlet(np.ones(3), size=ann.n_items)
        sig, tau = rng.normal(size=(3, 3, ann.n_annotators)), rng.normal(size=(3, 3, ann.n_items))
        for got, want in zip(
            e_step(data, sig, tau, log_prior, work), e_step(data, sig, tau, log_prior), strict=True
        ):
            np.testing.assert_array_equal(got, want)
        for prepared, args in (
            (
                work.annotators,
                (data.annot, data.by_annotator, tau, data.item, annotator_counts(data, post), 0.7),
            ),
            (work.items, (data.item, data.by_item, sig, data.annot, item_counts(data, post), 1.3)),
        ):
            n_members = ann.n_annotators if prepared is work.annotators else ann.n_items
            fresh = make_block(data, post, *args, n_members)
            reused = make_block(data, post, *args, n_members, prepared)
            u = rng.normal(size=fresh.counts.size)
            f0, g0 = fresh.objective(u)
            f1, g1 = reused.objective(u)
            assert f0 == f1
            np.testing.assert_array_equal(g0, g1)


def test_item_chunks_split_the_block_exactly(monkeypatch):
    """The item block cut into chunks of items: the chunks' gradients put together are the whole block's
    (to the bit), their values add up to its value, and a fit on chunks stays close to the one-chunk fit
    with a never-decreasing objective."""
    from accord.models import mmce

    frame, _ = confusion_data(n_items=50, k=3, per_item=3, seed=12, n_annotators=6)
    ann = Annotations.from_frame(frame)
    data = MmceData.of(ann)
    work = MmceWork(data)
    rng = np.random.default_rng(7)
    post = rng.dirichlet(np.ones(3), size=ann.n_items)
    sig = rng.normal(size=(3, 3, ann.n_annotators))
    args = (data.item, data.by_item, sig, data.annot, item_counts(data, post), 1.3, ann.n_items)
    whole = make_block(data, post, *args)
    u = rng.normal(size=whole.counts.shape)
    f_whole, g_whole = whole.objective(u.ravel())
    chunks = mmce.item_chunks(work.items.layout, work.items.work, chunk_vars=9 * 12)
    assert len(chunks) == 5 and sum(c.items.stop - c.items.start for c in chunks) == ann.n_items
    blk = make_block(data, post, *args, work.items)
    values, grads = [], []
    for part in chunks:
        f, g = blk.chunk(part).objective(np.ascontiguousarray(u[:, :, part.items]).ravel())
        values.append(f)
        grads.append(g.reshape(3, 3, -1))
    np.testing.assert_array_equal(np.concatenate(grads, axis=2).ravel(), g_whole)
    assert sum(values) == pytest.approx(f_whole, rel=1e-12)

    one = fit(ann, tol=0.0, max_iter=8)
    monkeypatch.setattr(mmce, "ITEM_CHUNK_VARS", 9 * 7)
    many = fit(ann, tol=0.0, max_iter=8)
    assert np.abs(one.proba_.to_numpy() - many.proba_.to_numpy()).max() < 1e-2
    objective = many.consensus_.history["objective"].to_numpy()
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_streamed_fit_evaluates_the_same_sums(monkeypatch, dtype):
    """With the item block in chunks the fit is streamed (annotators in segments, the E-step by chunks of
    items, buffers of the largest one's size): the E-step equals the one-pass E-step to the bit, the
    annotator block's gradient too, and its value up to rounding."""
    from accord.models import mmce

    frame, _ = confusion_data(n_items=60, k=3, per_item=3, seed=13, n_annotators=9)
    ann = Annotations.from_frame(frame)
    data = MmceData.of(ann, dtype)
    monkeypatch.setattr(mmce, "ITEM_CHUNK_VARS", 9 * 11)
    work = MmceWork(data)
    assert (
        work.streamed and len(work.annotators.segments) > 1 and work.items.work.scores.shape[2] < len(frame)
    )
    rng = np.random.default_rng(3)
    log_prior = np.log(np.full(3, 1 / 3))
    for _ in range(2):
        post = rng.dirichlet(np.ones(3), size=ann.n_items)
        sig, tau = rng.normal(size=(3, 3, ann.n_annotators)), rng.normal(size=(3, 3, ann.n_items))
        for got, want in zip(
            e_step(data, sig, tau, log_prior, work), e_step(data, sig, tau, log_prior), strict=True
        ):
            np.testing.assert_array_equal(got, want)
        args = (data.annot, data.by_annotator, tau, data.item, annotator_counts(data, post), 0.7)
        fresh = make_block(data, post, *args, ann.n_annotators)
        streamed = make_block(data, post, *args, ann.n_annotators, work.annotators)
        u = rng.normal(size=fresh.counts.size)
        f0, g0 = fresh.objective(u)
        f1, g1 = streamed.objective(u)
        assert f1 == pytest.approx(f0, rel=1e-12)
        np.testing.assert_array_equal(g0, g1)


def test_segments_hold_whole_members():
    from accord.models.mmce import segment_bounds

    sizes = np.array([3, 0, 2, 9, 1, 1, 0, 4])
    bounds = segment_bounds(sizes, 5)
    assert bounds == [(0, 5), (5, 14), (14, 16), (16, 20)]
    assert segment_bounds(np.array([0, 0]), 5) == [] and segment_bounds(sizes, 100) == [(0, 20)]
