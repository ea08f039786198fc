"""``SegmentationConsensus``: consensus masks, probability maps and annotator quality of segmentation.

>>> import numpy as np
>>> from accord.tasks.segmentation import aggregate_masks
>>> square = np.zeros((4, 4), dtype=int); square[1:3, 1:3] = 1
>>> masks = {"img": {"a": square, "b": square, "c": np.zeros((4, 4), dtype=int)}}
>>> result = aggregate_masks(masks, method="mv")
>>> result.proba("img")[1, 1]
np.float64(0.6666666666666666)
>>> result.annotators_frame()[["annotator", "n_items", "empty_masks", "dice_consensus"]]
  annotator  n_items  empty_masks  dice_consensus
0         a        1            0             1.0
1         b        1            0             1.0
2         c        1            1             0.0
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accord.io.masks import has_pillow, write_mask

from ._staple import Layout, Patterns, expected_counts, smooth
from ._staple_metrics import dice_iou, mask_scores, overlap_counts
from ._tables import id_column

__all__ = ["SegmentationConsensus"]


class SegmentationConsensus:
    """Consensus of many annotators' masks: one label map per item, its probabilities, and who is reliable.

    Parameters
    ----------
    method : str
        Name of the method that produced it (``"staple"``, ``"mv"``).
    items, annotators : pandas.Index
        Item and annotator ids.
    shapes : list of (int, int)
        Image shape of every item.
    layout : Layout
        The votes of all masks as flat pixel arrays.
    patterns : Patterns
        Distinct vote rows and the map from pixel to row.
    proba : ndarray, shape (n_patterns, n_classes)
        Posterior over labels of every pattern (vote shares for majority vote).
    labels : ndarray, shape (n_patterns,)
        Consensus label of every pattern.
    gold : ndarray, shape (n_pixels,), optional
        Known true label of every pixel; ``n_classes`` for the pixels of items without a gold mask.
    alpha : float
        Pseudo-count added to every cell of the annotators' confusion counts.
    history : pandas.DataFrame, optional
        One row per EM iteration.
    params : dict, optional
        Parameters of the fit (shown in ``params``).
    """

    def __init__(
        self,
        method: str,
        items: pd.Index,
        annotators: pd.Index,
        shapes: list[tuple[int, int]],
        layout: Layout,
        patterns: Patterns,
        proba: np.ndarray,
        labels: np.ndarray,
        *,
        gold: np.ndarray | None = None,
        alpha: float = 0.5,
        history: pd.DataFrame | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.items = items
        self.annotators = annotators
        self.shapes = shapes
        self.layout = layout
        self.patterns = patterns
        self.proba_array = np.asarray(proba, dtype=np.float64)
        self.label_codes = np.asarray(labels, dtype=np.int64)
        self.gold = gold
        self.alpha = float(alpha)
        self.history = history if history is not None else pd.DataFrame()
        self.params = dict(params or {})

    def __repr__(self) -> str:
        return (
            f"SegmentationConsensus(method={self.method!r}, {len(self.items)} items, "
            f"{len(self.annotators)} annotators, {self.n_classes} classes)"
        )

    @property
    def n_classes(self) -> int:
        return self.layout.n_classes

    @property
    def has_gold(self) -> np.ndarray:
        """Boolean per item: a gold mask was given."""
        if self.gold is None:
            return np.zeros(len(self.items), dtype=bool)
        first = self.layout.offsets[:-1]
        return self.gold[first] < self.n_classes

    # ------------------------------------------------------------------ maps
    @cached_property
    def pixel_labels(self) -> np.ndarray:
        """Consensus label of every pixel of every item, concatenated (``uint8``/``uint16``)."""
        return self.label_codes.astype(self.layout.votes.dtype)[self.patterns.inverse]

    def _position(self, item: Any) -> int:
        pos = int(self.items.get_indexer([item])[0])
        if pos < 0:
            raise KeyError(f"unknown item {item!r}")
        return pos

    def _pixels(self, pos: int) -> slice:
        return slice(int(self.layout.offsets[pos]), int(self.layout.offsets[pos + 1]))

    def mask(self, item: Any) -> np.ndarray:
        """Consensus label map of one item, shape (height, width)."""
        pos = self._position(item)
        return self.pixel_labels[self._pixels(pos)].reshape(self.shapes[pos])

    @property
    def masks(self) -> dict[Any, np.ndarray]:
        """Consensus label map per item."""
        return {item: self.mask(item) for item in self.items}

    def proba(self, item: Any) -> np.ndarray:
        """Probability map of one item: P(foreground), (height, width), for binary masks, else (h, w, K)."""
        pos = self._position(item)
        rows = self.proba_array[self.patterns.inverse[self._pixels(pos)]]
        if self.n_classes == 2:
            return rows[:, 1].reshape(self.shapes[pos])
        return rows.reshape(*self.shapes[pos], self.n_classes)

    @property
    def probability_maps(self) -> dict[Any, np.ndarray]:
        """:meth:`proba` of every item."""
        return {item: self.proba(item) for item in self.items}

    # ------------------------------------------------------------------ per item
    def _per_item(self, values: np.ndarray) -> np.ndarray:
        p = self.patterns
        total = np.bincount(p.item, weights=p.weight * values, minlength=len(self.items))
        size = np.diff(self.layout.offsets).astype(np.float64)
        return np.divide(total, size, out=np.zeros_like(total), where=size > 0)

    @cached_property
    def gold_scores(self) -> pd.DataFrame:
        """Dice and IoU of the consensus against the gold mask per item (NaN without gold)."""
        n = len(self.items)
        if self.gold is None:
            return pd.DataFrame({"dice": np.full(n, np.nan), "iou": np.full(n, np.nan)}, index=self.items)
        counts = overlap_counts(self.pixel_labels, self.gold, self.layout.pixel_item, n, self.n_classes)
        dice, iou = dice_iou(*counts)
        missing = ~self.has_gold
        dice[missing], iou[missing] = np.nan, np.nan
        return pd.DataFrame({"dice": dice, "iou": iou}, index=self.items)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: item, foreground_fraction, mean_confidence, n_annotators (+ dice, iou)."""
        rows = np.arange(len(self.label_codes))
        frame = pd.DataFrame(
            {
                "item": self.items,
                "foreground_fraction": self._per_item((self.label_codes != 0).astype(np.float64)),
                "mean_confidence": self._per_item(self.proba_array[rows, self.label_codes]),
                "n_annotators": (self.layout.slot_annotator >= 0).sum(axis=1).astype(np.int64),
            }
        )
        if self.gold is not None:
            frame["dice"] = self.gold_scores["dice"].to_numpy()
            frame["iou"] = self.gold_scores["iou"].to_numpy()
        return frame

    # ------------------------------------------------------------------ per annotator
    @cached_property
    def _mask_counts(self) -> np.ndarray:
        """Expected confusion counts of every mask (item ``t``, slot ``s`` -> row ``t * S + s``)."""
        p, k, s = self.patterns, self.n_classes, self.layout.n_slots
        groups = p.item[:, None] * s + np.arange(s)[None, :]
        keys = groups * (k + 1) + p.votes.astype(np.int64)
        return expected_counts(keys, self.proba_array, p.weight, len(self.items) * s)

    @cached_property
    def confusions(self) -> np.ndarray:
        """``confusions[a, k, l]`` = P(annotator ``a`` labels a pixel ``l`` | its consensus class is ``k``).

        Estimated from the consensus posterior over all the annotator's pixels, with ``alpha`` pseudo-counts;
        for STAPLE with parameters shared over the dataset these are its fitted parameters.
        """
        k = self.n_classes
        codes = self.layout.slot_annotator.ravel()
        used = codes >= 0
        counts = np.zeros((len(self.annotators), k, k))
        np.add.at(counts, codes[used], self._mask_counts[used])
        return smooth(counts, self.alpha)

    def confusion_matrix(self, annotator: Any) -> pd.DataFrame:
        """Confusion matrix of one annotator: rows = consensus class, columns = label given."""
        pos = int(self.annotators.get_indexer([annotator])[0])
        if pos < 0:
            raise KeyError(f"unknown annotator {annotator!r}")
        labels = range(self.n_classes)
        return pd.DataFrame(
            self.confusions[pos], index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="given")
        )

    @cached_property
    def item_annotator_quality(self) -> pd.DataFrame:
        """One row per mask: item, annotator, foreground_fraction, sensitivity, specificity, dice_consensus
        (+ dice, iou against gold).

        ``sensitivity`` and ``specificity`` are this mask's rates against the consensus posterior of its item;
        ``foreground_fraction`` is the share of the image the mask labels non-zero (0 for an empty mask).
        """
        used = self.layout.slot_annotator.ravel() >= 0
        theta = smooth(self._mask_counts[used], self.alpha)
        item_pos = np.repeat(np.arange(len(self.items)), self.layout.n_slots)[used]
        frame = pd.DataFrame(
            {
                "item": self.items[item_pos],
                "annotator": self.annotators[self.layout.slot_annotator.ravel()[used]],
            }
        )
        lay = self.layout
        p = self.patterns
        frame["foreground_fraction"] = self._mask_foreground().ravel()[used]
        for name, values in _rates(theta).items():
            frame[name] = values
        dice_c, _ = mask_scores(p.votes, p.item, self.label_codes, len(self.items), self.n_classes, p.weight)
        frame["dice_consensus"] = dice_c.ravel()[used]
        if self.gold is not None:
            dice_g, iou_g = mask_scores(lay.votes, lay.pixel_item, self.gold, len(self.items), self.n_classes)
            has = np.repeat(self.has_gold, lay.n_slots)[used]
            frame["dice"] = np.where(has, dice_g.ravel()[used], np.nan)
            frame["iou"] = np.where(has, iou_g.ravel()[used], np.nan)
        return frame

    def _mask_foreground(self) -> np.ndarray:
        """Share of its item's pixels each mask (item, slot) labels non-zero; shape (n_items, S)."""
        p, k = self.patterns, self.n_classes
        drawn = (p.votes != 0) & (p.votes != k)
        return np.stack(
            [self._per_item(drawn[:, s].astype(np.float64)) for s in range(p.votes.shape[1])], axis=1
        )

    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator: n_items, empty_masks, sensitivity, specificity, accuracy (+ recall per
        class when K > 2), mean dice_consensus (+ mean dice, iou vs gold over their gold items).

        ``empty_masks`` counts the annotator's masks without any foreground: such an annotator gets a
        sensitivity near 0 and their background votes carry little weight, which is right if they skipped
        the work and wrong if the images are empty; check which.

        ``sensitivity`` is ``P(label = foreground | consensus foreground)`` for binary masks and the mean of
        ``P(label = k | consensus k)`` over the foreground classes otherwise; ``specificity`` is
        ``P(label = 0 | consensus background)``; ``accuracy`` is ``sum_k prior_k P(label = k | consensus k)``.
        """
        rates = _rates(self.confusions, self.priors)
        frame = pd.DataFrame(rates, index=self.annotators)
        per_mask = self.item_annotator_quality
        grouped = per_mask.groupby("annotator", sort=False)
        frame.insert(0, "n_items", grouped.size().reindex(self.annotators).fillna(0).astype(np.int64))
        empty = (per_mask["foreground_fraction"] == 0).groupby(per_mask["annotator"], sort=False).sum()
        frame.insert(1, "empty_masks", empty.reindex(self.annotators).fillna(0).astype(np.int64))
        means = grouped[[c for c in ("dice_consensus", "dice", "iou") if c in per_mask]].mean()
        return frame.join(means.reindex(self.annotators))

    @cached_property
    def priors(self) -> np.ndarray:
        """Share of all pixels the consensus posterior gives to each class."""
        p = self.patterns
        mass = (self.proba_array * p.weight[:, None]).sum(axis=0)
        return mass / max(float(mass.sum()), 1e-300)

    def annotators_frame(self) -> pd.DataFrame:
        """``annotator_quality`` with the annotator id as a column."""
        return id_column(self.annotator_quality, "annotator")

    # ------------------------------------------------------------------ output
    def save(self, directory: str | Path, proba: bool = False) -> list[Path]:
        """Everything, for the command line: the masks (:meth:`save_masks`) and three tables in ``directory``.

        ``items.csv`` (:meth:`to_frame`), ``annotators.csv`` (:meth:`annotators_frame`) and
        ``item_annotators.csv`` (:attr:`item_annotator_quality`), plus ``history.csv`` for an iterative
        method. Returns the paths written.
        """
        directory = Path(directory)
        written = self.save_masks(directory, proba=proba)
        tables = {
            "items.csv": self.to_frame(),
            "annotators.csv": self.annotators_frame(),
            "item_annotators.csv": self.item_annotator_quality,
        }
        if len(self.history):
            tables["history.csv"] = self.history
        for name, frame in tables.items():
            frame.to_csv(directory / name, index=False)
            written.append(directory / name)
        return written

    def save_masks(self, directory: str | Path, format: str = "auto", proba: bool = False) -> list[Path]:
        """Write ``DIRECTORY/<item>.png`` (``.npy`` when Pillow is missing or ``format="npy"``).

        With ``proba=True`` the probability maps go beside them as ``<item>_proba.npy`` (float32).
        """
        from accord.errors import InvalidParameterError

        if format not in ("auto", "png", "npy"):
            raise InvalidParameterError(f"format must be 'auto', 'png' or 'npy', got {format!r}")
        suffix = ".npy" if format == "npy" or (format == "auto" and not has_pillow()) else ".png"
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = [write_mask(directory / f"{item}{suffix}", self.mask(item)) for item in self.items]
        if proba:
            for item in self.items:
                path = directory / f"{item}_proba.npy"
                np.save(path, self.proba(item).astype(np.float32))
                written.append(path)
        return written


def _rates(theta: np.ndarray, priors: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Sensitivity, specificity (accuracy given priors, recall per class for K > 2) of confusion matrices."""
    diag = np.diagonal(theta, axis1=1, axis2=2)
    k = theta.shape[1]
    out = {"sensitivity": diag[:, 1:].mean(axis=1), "specificity": diag[:, 0]}
    if priors is not None:
        out["accuracy"] = diag @ priors
    if k > 2:
        for c in range(k):
            out[f"recall_{c}"] = diag[:, c]
    return out
