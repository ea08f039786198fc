"""Consensus of segmentation masks: per-pixel majority vote and STAPLE (binary and multi-class).

Input is a :class:`~accord.io.masks.MaskSet` (or the folder ``masks/<item>/<annotator>.png`` it is read from):
every annotator's label map of every image. Both methods return a :class:`SegmentationConsensus` with the
consensus mask and probability map of every item, a table per item and per annotator, and, given gold masks,
Dice and IoU against them.

>>> import numpy as np
>>> truth = np.zeros((8, 8), dtype=int); truth[2:6, 2:6] = 1
>>> noisy = truth.copy(); noisy[0, :] = 1
>>> masks = {"img": {"a": truth, "b": truth, "c": noisy}}
>>> result = aggregate_masks(masks, method="staple")
>>> bool((result.mask("img") == truth).all())
True
>>> result.to_frame()[["item", "foreground_fraction", "n_annotators"]]
  item  foreground_fraction  n_annotators
0  img                 0.25             3
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.io.masks import MaskSet, read_gold_masks, read_label_studio_masks, read_masks

from ._staple import (
    EMResult,
    Layout,
    Patterns,
    build_layout,
    build_patterns,
    m_step,
    pattern_keys,
    run_em,
    vote_counts,
)
from .segmentation_result import SegmentationConsensus

__all__ = ["METHODS", "STAPLE", "PixelMajorityVote", "SegmentationConsensus", "aggregate_masks", "load_masks"]

MaskSource = MaskSet | str | Path | Mapping[Any, Mapping[Any, Any]]
GoldSource = str | Path | Mapping[Any, Any] | None
PRIORS = ("fit", "item", "global")
POOLINGS = ("dataset", "item")
INITS = ("mv", "confident")
TIE_RULES = ("lowest", "highest")


def load_masks(masks: MaskSource, n_classes: int | None = None) -> MaskSet:
    """A :class:`MaskSet` from a MaskSet, a folder, a Label Studio brush export (``.json``), or
    ``{item: {annotator: array}}``."""
    if isinstance(masks, MaskSet):
        if n_classes is not None and n_classes != masks.n_classes:
            raise InvalidParameterError(
                f"n_classes={n_classes} but the MaskSet has {masks.n_classes} classes"
            )
        return masks
    if isinstance(masks, Mapping):
        return MaskSet.from_arrays(masks, n_classes=n_classes)
    if _is_json(masks):
        return load_masks(read_label_studio_masks(masks).masks, n_classes)
    return read_masks(masks, n_classes=n_classes)


def _is_json(source: Any) -> bool:
    return isinstance(source, str | Path) and Path(source).suffix.lower() == ".json"


def gold_pixels(gold: GoldSource, masks: MaskSet, layout: Layout) -> np.ndarray | None:
    """Gold labels of every pixel (``K`` for the pixels of items without a gold mask), validated."""
    if gold is None:
        return None
    known = read_gold_masks(gold)
    k = masks.n_classes
    out = np.full(layout.votes.shape[0], k, dtype=np.int64)
    positions = {str(item): pos for pos, item in enumerate(masks.items)}
    positions.update({item: pos for pos, item in enumerate(masks.items)})
    for item, arr in known.items():
        pos = positions.get(item)
        if pos is None:
            raise InvalidAnnotationsError(
                f"gold mask for item {item!r}, which has no annotator masks; gold items must be among "
                f"{list(masks.items[:5])}{' ...' if len(masks.items) > 5 else ''}"
            )
        shape = (masks.stacks[pos].shape[1], masks.stacks[pos].shape[2])
        if arr.shape != shape:
            raise InvalidAnnotationsError(
                f"gold mask for item {item!r} is {arr.shape[0]}x{arr.shape[1]}, its "
                f"annotators' masks are {shape[0]}x{shape[1]}; use the image's size"
            )
        if arr.size and int(arr.max()) >= k:
            raise InvalidAnnotationsError(
                f"gold mask for item {item!r} has the label {int(arr.max())}, out of "
                f"range for the {k} classes of the masks (0..{k - 1})"
            )
        out[layout.offsets[pos] : layout.offsets[pos + 1]] = arr.ravel()
    return out


def _check_number(name: str, value: Any, minimum: float) -> None:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value >= minimum):
        raise InvalidParameterError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidParameterError(f"{name} must be one of {choices}, got {value!r}")


class _PixelModel:
    """Shared fit surface: read and lay out the masks, build the result."""

    method = ""
    consensus_: SegmentationConsensus

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet (no {name}); call fit(masks) first"
            )
        raise AttributeError(name)

    def _prepare(self, masks: MaskSource, n_classes: int | None) -> tuple[MaskSet, Layout]:
        mask_set = load_masks(masks, n_classes)
        return mask_set, build_layout(mask_set.stacks, mask_set.raters, mask_set.n_classes)

    def _result(
        self,
        mask_set: MaskSet,
        layout: Layout,
        patterns: Patterns,
        proba: np.ndarray,
        labels: np.ndarray,
        gold: GoldSource,
        alpha: float,
        history: pd.DataFrame | None,
        params: dict[str, Any],
    ) -> SegmentationConsensus:
        shapes = list(mask_set.shapes.values())
        return SegmentationConsensus(
            self.method,
            mask_set.items,
            mask_set.annotators,
            shapes,
            layout,
            patterns,
            proba,
            labels,
            gold=gold_pixels(gold, mask_set, layout),
            alpha=alpha,
            history=history,
            params=params,
        )

    def fit_predict(
        self, masks: MaskSource, gold: GoldSource = None, n_classes: int | None = None
    ) -> SegmentationConsensus:
        """Fit, and return the :class:`SegmentationConsensus`."""
        self.fit(masks, gold=gold, n_classes=n_classes)
        return self.consensus_

    def fit(self, masks: MaskSource, gold: GoldSource = None, n_classes: int | None = None) -> Any:
        raise NotImplementedError


class PixelMajorityVote(_PixelModel):
    """Per-pixel majority vote over the masks of each item.

    Parameters
    ----------
    tie_break : {"lowest", "highest"}, default "lowest"
        The label a pixel gets when labels tie for the most votes: the lowest label code (for binary masks:
        background, so a 2-2 split stays background), or the highest (foreground).

    Notes
    -----
    With ``n_t(i, k)`` the number of masks of item ``t`` giving pixel ``i`` label ``k``, the consensus is
    ``argmax_k n_t(i, k)`` and its probability map the vote shares ``n_t(i, k) / sum_l n_t(i, l)``.
    """

    method = "mv"

    def __init__(self, *, tie_break: str = "lowest") -> None:
        self.tie_break = tie_break

    def fit(
        self, masks: MaskSource, gold: GoldSource = None, n_classes: int | None = None
    ) -> PixelMajorityVote:
        """Fit on masks (a MaskSet, a folder or a mapping); ``gold`` adds Dice and IoU against known masks."""
        _check_choice("tie_break", self.tie_break, TIE_RULES)
        mask_set, layout = self._prepare(masks, n_classes)
        patterns = build_patterns(layout)
        counts = vote_counts(patterns.votes, layout.n_classes)
        shares = counts / counts.sum(axis=1, keepdims=True)
        if self.tie_break == "lowest":
            labels = counts.argmax(axis=1)
        else:
            labels = layout.n_classes - 1 - counts[:, ::-1].argmax(axis=1)
        self.consensus_ = self._result(
            mask_set, layout, patterns, shares, labels, gold, 0.5, None, {"tie_break": self.tie_break}
        )
        return self


class STAPLE(_PixelModel):
    """STAPLE: simultaneous truth and performance level estimation, by EM over all pixels.

    Parameters
    ----------
    prior : {"fit", "item", "global"} or mapping, default "fit"
        Prior probability of each label at a pixel. ``"fit"``: re-estimated per item after each M-step, as the
        mean posterior over its pixels (STAPLE is then Dawid-Skene with pixels as items); ``"item"``: fixed,
        the share of the item's mask pixels given each label (the classical choice, ITK's default, computed
        per image); ``"global"``: fixed, the same share over all items; a mapping ``{item: array}``: a fixed
        per-pixel prior (e.g. a probabilistic atlas), shape (height, width) with P(foreground) for binary
        masks or (height, width, K) with rows summing to 1. See Notes for why ``"fit"`` is the default.
    pooling : {"dataset", "item"}, default "dataset"
        ``"dataset"``: one set of performance parameters per annotator, shared over all items (a crowd
        annotator is equally reliable on every image); ``"item"``: one set per item and annotator (the
        original per-image STAPLE).
    init : {"mv", "confident"}, default "mv"
        Starting parameters: one M-step on the per-pixel vote shares, or every annotator 99% correct.
    alpha : float, default 0.5
        Pseudo-count added to every cell of the confusion counts, so no parameter is exactly 0 or 1.
    max_iter : int, default 500
        EM converges linearly; on strongly disagreeing masks this takes a few hundred iterations (each costs
        little: it runs on the distinct vote patterns).
    tol : float, default 1e-5
        Stop when no pixel's posterior changes by more than ``tol`` in an iteration.

    Attributes
    ----------
    consensus_ : SegmentationConsensus
    theta_ : ndarray, shape (n_groups, K, K)
        ``theta_[g, k, l]`` = P(label ``l`` | true label ``k``) of parameter group ``g`` (an annotator, or a
        mask under ``pooling="item"``).
    sensitivity_, specificity_ : pandas.Series
        ``theta_[g, 1, 1]`` (mean over foreground labels when K > 2) and ``theta_[g, 0, 0]``, indexed by
        annotator, or by (item, annotator) under ``pooling="item"``.
    n_iter_ : int
    converged_ : bool
    history_ : pandas.DataFrame
        One row per iteration: ``iteration``, ``log_likelihood`` (of the masks under the parameters of that
        E-step), ``max_delta`` (largest posterior change), ``n_changed`` (pixels whose label changed).

    Notes
    -----
    Pixel ``i`` of an item has an unknown true label ``T_i`` with prior ``f_i(k)``; annotator ``j`` labels it
    ``D_ij = l`` with probability ``theta_j[k, l]`` given ``T_i = k``, independently of the other annotators.
    For binary masks ``theta_j = [[q_j, 1 - q_j], [1 - p_j, p_j]]``, with sensitivity ``p_j`` and specificity
    ``q_j``. EM alternates

    .. math::

        W_{ik} = \\frac{f_i(k) \\prod_j \\theta_j[k, D_{ij}]}{\\sum_m f_i(m) \\prod_j \\theta_j[m, D_{ij}]},
        \\qquad
        \\theta_j[k, l] = \\frac{\\alpha + \\sum_{i: D_{ij} = l} W_{ik}}{K\\alpha + \\sum_i W_{ik}},

    where the sums run over the pixels annotator ``j`` labelled; in the binary case
    ``p_j = sum_i W_i1 D_ij / sum_i W_i1`` and ``q_j = sum_i W_i0 (1 - D_ij) / sum_i W_i0`` (with
    ``alpha = 0``). The consensus mask is ``argmax_k W_ik`` (``W_i1 > 0.5`` for binary masks; an exact tie
    goes to the lowest label). The E-step runs in log space on the distinct vote patterns of each item, which
    gives the same posterior as running it on every pixel when the prior is constant over an item.

    The prior moves the result. A fixed prior equal to the share of foreground votes is inflated by careless
    annotators (flipping 30% of the pixels turns a 10% foreground into 34% of a careless annotator's mask),
    and EM then enlarges the consensus to match it. On synthetic masks with two careful and three careless
    annotators (``benchmarks/segmentation.py``) the mean Dice is 0.82 for majority vote, 0.85 with the fixed
    prior and 0.98 with the re-estimated one; when annotators differ only at boundaries or in missed
    structures the two priors agree (and majority vote does as well or better: STAPLE models independent pixel
    errors, not shifted boundaries or dropped objects). Hence the default ``prior="fit"``.

    Background dominates large images: the many easy background pixels push every specificity towards 1;
    compare annotators on sensitivity, or on Dice.

    References
    ----------
    S. K. Warfield, K. H. Zou and W. M. Wells (2004). Simultaneous truth and performance level estimation
    (STAPLE): an algorithm for the validation of image segmentation. IEEE Transactions on Medical Imaging
    23(7):903-921. https://doi.org/10.1109/TMI.2004.828354

    T. Rohlfing, D. B. Russakoff and C. R. Maurer (2004). Performance-based classifier combination in
    atlas-based image segmentation using expectation-maximization parameter estimation. IEEE Transactions on
    Medical Imaging 23(8):983-994. https://doi.org/10.1109/TMI.2004.830803
    """

    method = "staple"

    def __init__(
        self,
        *,
        prior: str | Mapping[Any, Any] = "fit",
        pooling: str = "dataset",
        init: str = "mv",
        alpha: float = 0.5,
        max_iter: int = 500,
        tol: float = 1e-5,
    ) -> None:
        self.prior = prior
        self.pooling = pooling
        self.init = init
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def _validate(self) -> None:
        if not isinstance(self.prior, Mapping):
            _check_choice("prior", self.prior, PRIORS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("init", self.init, INITS)
        _check_number("alpha", self.alpha, 0.0)
        _check_number("tol", self.tol, 0.0)
        if (
            not isinstance(self.max_iter, int | np.integer)
            or isinstance(self.max_iter, bool)
            or self.max_iter < 1
        ):
            raise InvalidParameterError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")

    def fit(self, masks: MaskSource, gold: GoldSource = None, n_classes: int | None = None) -> STAPLE:
        """Fit on masks (a MaskSet, a folder or a mapping); ``gold`` adds Dice and IoU against known masks."""
        self._validate()
        mask_set, layout = self._prepare(masks, n_classes)
        k = layout.n_classes
        patterns = build_patterns(layout, compress=not isinstance(self.prior, Mapping))
        slot_group = self._slot_groups(layout)
        n_groups = int(slot_group.max()) + 1
        keys = pattern_keys(patterns, slot_group, k)
        counts = vote_counts(patterns.votes, k)
        w0 = counts / counts.sum(axis=1, keepdims=True)
        theta0 = (
            m_step(keys, w0, patterns.weight, n_groups, self.alpha)
            if self.init == "mv"
            else _confident(n_groups, k)
        )
        log_prior = self._log_prior(mask_set, layout, patterns, counts)
        em = run_em(
            keys,
            patterns.weight,
            patterns.item,
            log_prior,
            w0,
            theta0,
            alpha=self.alpha,
            max_iter=int(self.max_iter),
            tol=float(self.tol),
        )
        self._store(em, mask_set, layout, slot_group)
        labels = em.w.argmax(axis=1)
        self.consensus_ = self._result(
            mask_set, layout, patterns, em.w, labels, gold, self.alpha, self.history_, self._params()
        )
        return self

    def _params(self) -> dict[str, Any]:
        prior = "pixel" if isinstance(self.prior, Mapping) else self.prior
        return {
            "prior": prior,
            "pooling": self.pooling,
            "init": self.init,
            "alpha": self.alpha,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    def _slot_groups(self, layout: Layout) -> np.ndarray:
        """Parameter group of every (item, slot): the annotator, or the mask itself; 0 for empty slots."""
        if self.pooling == "dataset":
            return np.maximum(layout.slot_annotator, 0)
        used = layout.slot_annotator >= 0
        groups = np.zeros(layout.slot_annotator.shape, dtype=np.int64)
        groups[used] = np.arange(int(used.sum()))
        return groups

    def _log_prior(
        self, mask_set: MaskSet, layout: Layout, patterns: Patterns, counts: np.ndarray
    ) -> np.ndarray | None:
        if isinstance(self.prior, Mapping):
            return np.log(np.maximum(pixel_prior(self.prior, mask_set, layout), 1e-300))
        if self.prior == "fit":
            return None
        n_items = len(mask_set.items)
        weighted = counts * patterns.weight[:, None]
        mass = np.stack(
            [
                np.bincount(patterns.item, weights=weighted[:, c], minlength=n_items)
                for c in range(layout.n_classes)
            ],
            axis=1,
        )
        if self.prior == "global":
            mass = np.broadcast_to(mass.sum(axis=0), mass.shape)
        f = mass / mass.sum(axis=1, keepdims=True)
        return np.log(np.maximum(f, 1e-300))[patterns.item]

    def _store(self, em: EMResult, mask_set: MaskSet, layout: Layout, slot_group: np.ndarray) -> None:
        self.theta_ = em.theta
        self.n_iter_ = em.n_iter
        self.converged_ = em.converged
        self.history_ = pd.DataFrame(
            em.history, columns=["iteration", "log_likelihood", "max_delta", "n_changed"]
        )
        diag = np.diagonal(em.theta, axis1=1, axis2=2)
        if self.pooling == "dataset":
            index: pd.Index = mask_set.annotators
        else:
            used = layout.slot_annotator >= 0
            item_pos = np.nonzero(used)[0]
            index = pd.MultiIndex.from_arrays(
                [mask_set.items[item_pos], mask_set.annotators[layout.slot_annotator[used]]],
                names=["item", "annotator"],
            )
        self.sensitivity_ = pd.Series(diag[:, 1:].mean(axis=1), index=index, name="sensitivity")
        self.specificity_ = pd.Series(diag[:, 0], index=index, name="specificity")
        if not em.converged:
            warnings.warn(
                f"STAPLE stopped at max_iter={self.max_iter} before the posterior changed by less "
                f"than tol={self.tol} (last change {em.history[-1]['max_delta']:.3g}); raise max_iter "
                "or tol",
                ConvergenceWarning,
                stacklevel=3,
            )


def _confident(n_groups: int, k: int, accuracy: float = 0.99) -> np.ndarray:
    theta = np.full((n_groups, k, k), (1.0 - accuracy) / (k - 1))
    theta[:, np.arange(k), np.arange(k)] = accuracy
    return theta


def pixel_prior(prior: Mapping[Any, Any], mask_set: MaskSet, layout: Layout) -> np.ndarray:
    """Per-pixel prior ``(n_pixels, K)`` from ``{item: (h, w) P(foreground) or (h, w, K) array}``."""
    k = layout.n_classes
    out = np.empty((layout.votes.shape[0], k))
    by_text = {str(key): value for key, value in prior.items()}
    for pos, item in enumerate(mask_set.items):
        value = prior[item] if item in prior else by_text.get(str(item))
        if value is None:
            raise InvalidParameterError(f"prior has no map for item {item!r}; give one array per item")
        out[layout.offsets[pos] : layout.offsets[pos + 1]] = _prior_rows(
            np.asarray(value, dtype=np.float64), item, mask_set.shapes[item], k
        )
    return out


def _prior_rows(value: np.ndarray, item: Any, shape: tuple[int, int], k: int) -> np.ndarray:
    if k == 2 and value.shape == shape:
        value = np.stack([1.0 - value, value], axis=-1)
    if value.shape != (*shape, k):
        raise InvalidParameterError(
            f"prior map of item {item!r} has shape {value.shape}; expected {shape} "
            f"(P(foreground), binary masks) or {(*shape, k)}"
        )
    rows = value.reshape(-1, k)
    if not np.isfinite(rows).all() or rows.min() < 0 or not np.allclose(rows.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidParameterError(
            f"prior map of item {item!r} must hold probabilities in [0, 1] that sum to 1 "
            "over the labels at every pixel"
        )
    return rows


METHODS: dict[str, type[_PixelModel]] = {
    "staple": STAPLE,
    "mv": PixelMajorityVote,
    "majority": PixelMajorityVote,
}


def aggregate_masks(
    masks: MaskSource,
    method: str = "staple",
    gold: GoldSource = None,
    n_classes: int | None = None,
    **params: Any,
) -> SegmentationConsensus:
    """Consensus of segmentation masks, for the CLI and for scripts.

    Parameters
    ----------
    masks : MaskSet, folder, ``.json`` file or mapping
        ``masks/<item>/<annotator>.png`` (or ``.npy``), a Label Studio JSON export with brush annotations
        (its ``ground_truth`` annotations are the gold masks unless ``gold`` is given), a
        :class:`~accord.io.masks.MaskSet`, or ``{item: {annotator: array}}``.
    method : {"staple", "mv"}, default "staple"
    gold : folder or mapping, optional
        Known true masks, ``gold/<item>.png`` or ``{item: array}``; adds Dice and IoU per item and annotator.
    n_classes : int, optional
        Number of labels, background included (default: the highest value seen plus one).
    **params
        Keyword arguments of the method (e.g. ``max_iter=200``, ``prior="global"``, ``tie_break="highest"``).

    Returns
    -------
    SegmentationConsensus
    """
    if method not in METHODS:
        raise InvalidParameterError(
            f"unknown segmentation method {method!r}; choose one of {sorted(METHODS)}"
        )
    try:
        model = METHODS[method](**params)
    except TypeError as exc:
        raise InvalidParameterError(f"method {method!r}: {exc}") from None
    if _is_json(masks):
        imported = read_label_studio_masks(Path(str(masks)))
        masks, gold = imported.masks, gold if gold is not None or not imported.gold else imported.gold
    return model.fit_predict(masks, gold=gold, n_classes=n_classes)
