"""The loop with a model: consensus -> out-of-sample ``pred_probs`` -> better consensus -> ... (needs
scikit-learn).

The "virtuous cycle" of cleanlab's multi-annotator tutorial (Goh et al. 2022): train any scikit-learn
classifier on the current consensus labels, get
**out-of-sample** predicted probabilities by K-fold cross-validation, recompute the consensus with them
(:class:`~accord.models.crowdlab.CrowdLab` by default), and repeat. scikit-learn is imported only here, when
the loop runs: ``pip install 'accord[ml]'``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._kernel.ids import match_index
from .._kernel.votes import vote_shares
from .._utils import check_positive_int, check_random_state
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import AccordError, InvalidAnnotationsError, InvalidParameterError
from ..evaluation.metrics import accuracy
from ..models._base import as_annotations
from ..models.crowdlab import cleanlab_majority_vote
from ..models.registry import make_model

__all__ = ["LoopResult", "cross_val_pred_probs", "model_loop", "split_features"]


def _sklearn() -> Any:
    try:
        import sklearn.base
        import sklearn.linear_model
        import sklearn.model_selection
    except ImportError:
        raise AccordError("the model loop needs scikit-learn: pip install 'accord[ml]'") from None
    return sklearn


@dataclass
class LoopResult:
    """What :func:`model_loop` returns.

    Attributes
    ----------
    consensus : Consensus
        The consensus after the last round.
    pred_probs : DataFrame
        The out-of-sample predicted probabilities of the last round (annotated items x classes).
    history : DataFrame
        One row per round (round 0 = majority vote): ``n_changed`` (labels changed from the round before),
        ``model_agreement`` (share of items where the model's top class is the consensus), ``model_weight``,
        and ``accuracy`` / ``model_accuracy`` against gold when gold was given.
    classifier : fitted estimator
        A copy of the classifier fitted on all annotated items with the final consensus labels.
    pred_probs_unlabeled : DataFrame or None
        That classifier's predicted probabilities for the items of ``features`` that have no annotation.
    """

    consensus: Consensus
    pred_probs: pd.DataFrame
    history: pd.DataFrame
    classifier: Any
    pred_probs_unlabeled: pd.DataFrame | None = None

    @property
    def labels(self) -> pd.Series:
        return self.consensus.labels


def split_features(features: Any, annotations: Annotations) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Features of the annotated items (in ``annotations.items`` order) and, separately, of the other items.

    ``features`` is a DataFrame indexed by item id (or with an ``item`` column), or an array whose rows are in
    ``annotations.items`` order.
    """
    if isinstance(features, pd.DataFrame):
        frame = features.set_index("item") if "item" in features.columns else features
        if frame.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"features has repeated item ids, e.g. {list(frame.index[frame.index.duplicated()][:5])}"
            )
        rows = match_index(annotations.items, pd.Index(frame.index))
        if (rows < 0).any():
            raise InvalidAnnotationsError(
                f"features has no row for {int((rows < 0).sum())} annotated item(s), "
                f"e.g. {list(annotations.items[rows < 0][:5])}"
            )
        rest = np.setdiff1d(np.arange(len(frame)), rows)
        unlabeled = frame.iloc[rest] if len(rest) else None
        return frame.to_numpy()[rows], unlabeled
    x = np.asarray(features)
    if x.ndim < 1 or len(x) != annotations.n_items:
        raise InvalidAnnotationsError(
            f"features has {len(x) if x.ndim else 0} rows but there are "
            f"{annotations.n_items} annotated items; pass one row per item in "
            "annotations.items order, or a DataFrame indexed by item id"
        )
    return x, None


def cross_val_pred_probs(
    classifier: Any,
    x: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    n_folds: int = 5,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Out-of-fold ``predict_proba`` of ``classifier`` trained on ``labels`` (codes), as an items x classes
    array.

    Folds are stratified (scikit-learn's ``StratifiedKFold``, as ``cross_val_predict(cv=n_folds)`` uses). A
    class missing from a training fold gets probability 0 in that fold's predictions.
    """
    sk = _sklearn()
    n_folds = check_positive_int("n_folds", n_folds, minimum=2)
    seed = int(rng.integers(2**31 - 1)) if (shuffle and rng is not None) else None
    folds = sk.model_selection.StratifiedKFold(n_splits=n_folds, shuffle=shuffle, random_state=seed)
    out = np.zeros((len(labels), n_classes))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(folds.split(x, labels))
    for train, test in splits:
        model = sk.base.clone(classifier).fit(x[train], labels[train])
        out[np.ix_(test, np.asarray(model.classes_, dtype=np.int64))] = model.predict_proba(x[test])
    sums = out.sum(axis=1, keepdims=True)
    return np.divide(out, sums, out=np.full_like(out, 1.0 / n_classes), where=sums > 0)


def _round_row(
    r: int,
    codes: np.ndarray,
    previous: np.ndarray | None,
    pred_probs: np.ndarray | None,
    consensus: Consensus,
    gold: Any,
    model_weight: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {"round": r, "n_changed": 0 if previous is None else int((codes != previous).sum())}
    row["model_agreement"] = (
        np.nan if pred_probs is None else float(np.mean(pred_probs.argmax(axis=1) == codes))
    )
    row["model_weight"] = model_weight
    if gold is not None:
        row["accuracy"] = accuracy(consensus.labels, gold)
        if pred_probs is not None:
            model_labels = pd.Series(
                np.asarray(consensus.classes, dtype=object)[pred_probs.argmax(axis=1)],
                index=consensus.labels.index,
            )
            row["model_accuracy"] = accuracy(model_labels, gold)
        else:
            row["model_accuracy"] = np.nan
    return row


def model_loop(
    annotations: Annotations | pd.DataFrame,
    features: Any,
    classifier: Any = None,
    *,
    n_rounds: int = 1,
    n_folds: int = 5,
    method: str = "crowdlab",
    method_params: dict[str, Any] | None = None,
    gold: Any = None,
    shuffle: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> LoopResult:
    """Alternate a classifier and a model-assisted consensus for ``n_rounds`` rounds.

    Parameters
    ----------
    annotations : Annotations or DataFrame
    features : DataFrame indexed by item (or with an ``item`` column), or array in ``annotations.items`` order
        Item features for the classifier. Rows for items without annotations are scored at the end
        (``pred_probs_unlabeled``), e.g. for :func:`accord.planning.active.next_batch`.
    classifier : scikit-learn classifier, default ``LogisticRegression()``
        Anything with ``fit`` and ``predict_proba``; it is cloned for every fold.
    n_rounds : int, default 1
        Rounds of (cross-validated pred_probs -> consensus) after the starting majority vote; the loop stops
        early when a round changes no label. On the data of cleanlab's multi-annotator tutorial the first
        round does nearly all the work (majority vote 0.858 -> 0.980); later rounds move 2-3 of 296 labels
        back and forth (0.970-0.976).
    n_folds : int, default 5
    method : str, default "crowdlab"
        A method that takes ``pred_probs`` (``"crowdlab"`` or ``"ds_model"``), with ``method_params``.
    gold : Series (item -> label), optional
        Only to report accuracy per round in ``history``; never used for fitting.
    shuffle : bool, default False
        Shuffle before making folds (with ``random_state``); False reproduces
        ``cross_val_predict(cv=n_folds)``.
    random_state : int, Generator or None

    Returns
    -------
    LoopResult

    Notes
    -----
    Round 0 is the majority vote (cleanlab's tie rule: rarest class, then annotator agreement, then random).
    Round ``r`` trains on round ``r-1``'s consensus. Predictions are always out-of-fold, as CROWDLAB requires.

    References
    ----------
    H. W. Goh, U. Tkachenko and J. Mueller (2022). CROWDLAB: Supervised learning to infer consensus labels and
    quality scores for data with multiple annotators. arXiv:2210.06812
    """
    sk = _sklearn()
    ann = as_annotations(annotations)
    n_rounds = check_positive_int("n_rounds", n_rounds, minimum=0)
    rng = check_random_state(random_state)
    if classifier is None:
        classifier = sk.linear_model.LogisticRegression()
    if not hasattr(classifier, "predict_proba"):
        raise InvalidParameterError(
            f"classifier {type(classifier).__name__} has no predict_proba; use a "
            "probabilistic classifier (e.g. LogisticRegression)"
        )
    x, x_unlabeled = split_features(features, ann)
    codes = cleanlab_majority_vote(ann, None, rng)
    consensus = Consensus(ann, vote_shares(ann.vote_counts()), "MajorityVote", labels=codes)
    history = [_round_row(0, codes, None, None, consensus, gold, np.nan)]
    pred_probs = None
    for r in range(1, n_rounds + 1):
        pred_probs = cross_val_pred_probs(
            classifier, x, codes, ann.n_classes, n_folds=n_folds, shuffle=shuffle, rng=rng
        )
        model = make_model(method, **(method_params or {}))
        if not getattr(model, "accepts_pred_probs", False):
            raise InvalidParameterError(
                f"method {method!r} does not take pred_probs; use 'crowdlab' or 'ds_model'"
            )
        consensus = model.fit(ann, pred_probs=pred_probs).consensus_  # type: ignore[call-arg]
        previous, codes = codes, consensus.label_codes
        history.append(
            _round_row(
                r,
                codes,
                previous,
                pred_probs,
                consensus,
                gold,
                float(getattr(model, "model_weight_", np.nan)),
            )
        )
        if r > 1 and history[-1]["n_changed"] == 0:
            break  # a fixed point: further rounds would repeat this one
    final = sk.base.clone(classifier).fit(x, codes)
    unlabeled = None
    if x_unlabeled is not None:
        proba = np.zeros((len(x_unlabeled), ann.n_classes))
        proba[:, np.asarray(final.classes_, dtype=np.int64)] = final.predict_proba(x_unlabeled.to_numpy())
        unlabeled = pd.DataFrame(proba, index=x_unlabeled.index, columns=ann.classes)
    frame = None if pred_probs is None else pd.DataFrame(pred_probs, index=ann.items, columns=ann.classes)
    return LoopResult(consensus, frame, pd.DataFrame(history), final, unlabeled)
