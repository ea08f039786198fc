"""``method="auto"``: choose among the truth-inference models without gold labels.

Hide a random tenth of the annotations (never an item's or an annotator's last one), fit every candidate on
the rest, and let the hidden labels judge: by default the chance-corrected agreement (Cohen's kappa) between
each candidate's consensus and the labels it never saw; optionally the held-out predictive log-likelihood of
those labels (ALGORITHMS.md section 14) or a stacking of the posteriors. Because neither score can see a
label-permuted or collapsed solution (both are invariant to permuting the classes), two guards first set aside
any candidate whose labels agree with majority vote no better than chance, or that puts items in a class whose
label the annotators give those items less often than chance. When some true labels are known (20 or more gold
items), they judge instead of the hidden annotations, from fits made without them.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from .._kernel.votes import break_ties
from .._utils import check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import AccordError, ConvergenceWarning, DataQualityWarning, InvalidParameterError
from ._base import Aggregator
from .registry import METHODS, make_model, register

__all__ = [
    "DEFAULT_CANDIDATES",
    "Auto",
    "heldout_likelihood",
    "holdout_splits",
    "kappa_with",
    "stacking_weights",
    "unrecognised_classes",
]

#: Candidates tried by default, when present in ``accord.METHODS``. MMCE is left out for its cost (about 100 s
#: a fit at 150,000 annotations when this was measured) and because adding it did not change the stacked
#: accuracy on the public datasets; pass ``candidates=`` to include it.
DEFAULT_CANDIDATES = ("mv", "wawa", "onecoin", "ds", "ibcc", "glad", "mace", "mmsr")
LOG_FLOOR = 1e-12
#: A class the consensus gives to at least this share of items is checked by :func:`unrecognised_classes`.
UNRECOGNISED_MIN_SHARE = 0.02


# ---------------------------------------------------------------------- hiding annotations
def _canonical_order(annotations: Annotations) -> np.ndarray:
    """Annotation positions sorted by (item id, annotator id) as text: the same pairs in the same order
    whatever the row order of the input."""
    item_rank = np.argsort(np.argsort(annotations.items.astype(str), kind="stable"), kind="stable")
    ann_rank = np.argsort(np.argsort(annotations.annotators.astype(str), kind="stable"), kind="stable")
    return np.lexsort((ann_rank[annotations.annotator], item_rank[annotations.item]))


def holdout_splits(
    annotations: Annotations, fraction: float, n_splits: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``n_splits`` disjoint random sets of annotation positions to hide, each about ``fraction`` of all.

    One annotation of every item and one of every annotator (chosen at random) is never hidden, so every item
    and annotator keeps at least one visible label in every split. The draw is made on the annotations sorted
    by (item id, annotator id), so the same seed hides the same (item, annotator) pairs whatever the row
    order. Fewer splits are returned when the data run out of hideable annotations.
    """
    n = annotations.n_annotations
    order = _canonical_order(annotations)[rng.permutation(n)]
    anchor = np.zeros(n, dtype=bool)
    for codes in (annotations.item, annotations.annotator):
        _, first = np.unique(codes[order], return_index=True)
        anchor[order[first]] = True
    hideable = order[~anchor[order]]
    size = max(round(fraction * n), 1)
    return [
        hideable[j * size : (j + 1) * size]
        for j in range(n_splits)
        if len(hideable[j * size : (j + 1) * size])
    ]


def label_likelihood(
    model: Aggregator, item: np.ndarray, annotator: np.ndarray, label: np.ndarray
) -> np.ndarray:
    """``P(label[n] | true class k)`` for each annotation ``n`` under a fitted model (annotations x K).

    A model may define ``label_likelihood(item, annotator, label)`` itself (for item-dependent noise);
    GLAD-style models with ``abilities_`` and ``difficulties_`` use ``sigmoid(ability / difficulty)`` on the
    diagonal and the rest spread evenly; every other model uses its confusion matrices
    ``consensus_.confusions[a, :, label]``.
    """
    own = getattr(model, "label_likelihood", None)
    if callable(own):
        return np.asarray(own(item, annotator, label), dtype=np.float64)
    consensus = model.consensus_
    k = consensus.proba_array.shape[1]
    if hasattr(model, "abilities_") and hasattr(model, "difficulties_") and k > 1:
        right = expit(model.abilities_.to_numpy()[annotator] / model.difficulties_.to_numpy()[item])
        hit = np.arange(k)[None, :] == label[:, None]
        return np.where(hit, right[:, None], ((1.0 - right) / (k - 1))[:, None])
    return consensus.confusions[annotator, :, label]


def heldout_likelihood(model: Aggregator, annotations: Annotations, hidden: np.ndarray) -> np.ndarray:
    """Predictive probability of every hidden annotation under ``model`` fitted on the visible ones:
    ``p[n] = sum_k post_visible[item[n], k] * P(label[n] | k, annotator[n])``."""
    item, annotator, label = (
        annotations.item[hidden],
        annotations.annotator[hidden],
        annotations.label[hidden],
    )
    post = model.consensus_.proba_array[item]
    return np.sum(post * label_likelihood(model, item, annotator, label), axis=1)


def kappa_with(labels: np.ndarray, reference: np.ndarray, k: int) -> float:
    """Cohen's kappa between two labellings of the same items (1 = identical, 0 = chance, < 0 = worse)."""
    if len(labels) == 0:
        return 1.0
    agree = float(np.mean(labels == reference))
    chance = (
        float(np.dot(np.bincount(labels, minlength=k), np.bincount(reference, minlength=k)))
        / len(labels) ** 2
    )
    return 1.0 if chance >= 1.0 else (agree - chance) / (1.0 - chance)


def unrecognised_classes(
    labels: np.ndarray, annotations: Annotations, min_share: float = UNRECOGNISED_MIN_SHARE
) -> list[int]:
    """Classes ``k`` that the consensus ``labels`` gives to at least ``min_share`` of the items although the
    annotators label those items ``k`` less often than chance, ``1/K``.

    Majority vote can never do this (a plurality is at least ``1/K``). A model that does has turned class
    ``k`` into something the annotators do not call ``k`` -- for instance a home for the items they disagree
    on -- which no annotator model with better-than-random recognition of ``k`` allows: with ``pi_k`` the
    share of items in class ``k`` and ``q_k`` the share of labels ``k``, ``q_k >= pi_k * mean_a theta_a[k,
    k]``.
    """
    k = annotations.n_classes
    if k < 2 or annotations.n_items == 0:
        return []
    given = labels[annotations.item]
    counts = np.bincount(given * k + annotations.label, minlength=k * k).reshape(k, k).astype(np.float64)
    share = np.bincount(labels, minlength=k) / annotations.n_items
    own = np.diag(counts) / np.maximum(counts.sum(axis=1), 1.0)
    return [int(c) for c in np.flatnonzero((share >= min_share) & (own < 1.0 / k))]


def stacking_weights(p: np.ndarray, max_iter: int = 1000, tol: float = 1e-10) -> np.ndarray:
    """Weights on the simplex maximising ``sum_n log sum_m w_m p[n, m]`` (the held-out log score of the
    mixture of the candidates' predictive distributions; Yao et al. 2018), by the EM fixed point ``w_m <-
    mean_n w_m p[n,m] / sum_m' w_m' p[n,m']``, which never decreases the score."""
    m = p.shape[1]
    w = np.full(m, 1.0 / m)
    p = np.maximum(p, LOG_FLOOR)
    for _ in range(max_iter):
        mix = p @ w
        new = (p * w[None, :] / mix[:, None]).mean(axis=0)
        if np.abs(new - w).max() < tol:
            return new
        w = new
    return w


def _applicable(name: str, annotations: Annotations) -> bool:
    cls = METHODS.get(name)
    if cls is None or cls is Auto:
        return False
    return "pred_probs" not in inspect.signature(cls.fit).parameters


class Auto(Aggregator):
    r"""Choose the truth-inference model for the data at hand, without gold labels.

    Every candidate is fitted on the full data and, ``n_splits`` times, on the data with a random ``holdout``
    share of the annotations hidden (one label of every item and of every annotator always stays visible).
    The hidden labels, which those fits never saw, then judge the candidates:

    - ``criterion="stack"`` (default): the candidates' posteriors are averaged with the stacking weights that
      maximise the held-out log score of the mixture of their predictive distributions (Yao et al. 2018).
      Complementary models share the weight; a model that adds nothing gets none.
    - ``criterion="loglik"``: keep the candidate with the best mean log predictive probability of the hidden
      labels (ALGORITHMS.md section 14). It measures how well a model predicts *annotations*, so it favours
      models that describe annotator habits (full confusion matrices) even where their consensus is less
      accurate.
    - ``criterion="kappa"``: keep the candidate whose consensus (fitted without them) agrees best with the
      hidden labels, chance-corrected (Cohen's kappa; ties: the higher log-likelihood). Hidden labels are
      noisy judges of the consensus; with class-dependent annotator bias they favour a consensus that shares
      the bias.

    On the 26 public classification datasets (``benchmarks/auto_selection.py``, three seeds) stacking gives
    0.8307 +- 0.0002 mean accuracy, ``loglik`` 0.8301 +- 0.0006 and ``kappa`` 0.8317 +- 0.0010 but with five
    times the spread across seeds and fewer datasets near the best; Dawid-Skene alone gives 0.8295, and
    picking the best candidate with all the gold 0.8483. Where the rules miss (the zencrowd sets, ducks,
    fact_eval) the hidden labels themselves favour the model that gold does not: there, every annotation-based
    score prefers full confusion matrices, which describe the annotators better but recover the gold labels
    worse. Fifty known labels fix most of that (``benchmarks/auto_gold.py``, three seeds, scored on the other
    gold items): 0.8414 mean accuracy against 0.8278 without them, within a point of the best candidate on
    20-22 of 26 datasets against 13-15.
    Both scores are invariant to permuting the classes, so a label-switched or collapsed fit is caught by a
    separate guard: a candidate whose consensus has Cohen's kappa with majority vote below ``min_kappa`` is
    neither chosen nor stacked. A second guard sets aside a candidate that gives a class to at least 2% of the
    items although the annotators label those items with that class less often than chance, ``1/K``
    (:func:`unrecognised_classes`; e.g. Bayesian DS on fact_eval, which fills a class that holds 0.1% of the
    labels with 12% of the items). When every candidate is caught, none is set aside.

    Parameters
    ----------
    candidates : sequence of str or comma-separated str, optional
        Method names from ``accord.METHODS``; default :data:`DEFAULT_CANDIDATES` that are registered.
        Candidates that do not apply to the data (a binary-only model on three classes, a model that needs
        ``pred_probs``) are left out with a note.
    criterion : {"stack", "loglik", "kappa"}, default "stack"
    holdout : float, default 0.1
        Share of the annotations hidden in each split.
    n_splits : int, default 3
        Number of disjoint hidden sets.
    min_kappa : float, default 0.2
        Guard against collapsed or label-switched solutions (kappa with majority vote on the full data).
    min_gold : int, default 20
        With at least this many gold items (``fit(annotations, gold=...)``), the gold labels judge the
        candidates instead of the hidden annotations: each criterion is computed on the gold items, from the
        candidates fitted on the visible annotations *without* the gold labels (so the judge is out of
        sample), and the full fits that produce the result are clamped to gold as usual. ALGORITHMS.md section
        14.2: "if a small gold set exists, prefer log loss or accuracy on gold". Fewer gold items are only
        clamped.
    random_state : int, Generator or None
        Draws the hidden sets and seeds every candidate.

    Attributes
    ----------
    chosen_ : str
        The chosen method, or ``"stack"``.
    weights_ : Series
        The weight of each candidate in the result (stacking weights, or 1 for the chosen one).
    reason_ : str
        One sentence saying why.
    scores_ : DataFrame
        One row per candidate: ``heldout_kappa``, ``heldout_loglik`` (mean log predictive probability of a
        hidden label), ``se_loglik`` (standard error of its paired difference with the best log-likelihood),
        ``kappa_mv`` and ``degenerate`` (the kappa guard), ``unrecognised`` (the classes caught by the second
        guard, comma-separated), ``gold_loglik`` and ``gold_kappa`` (mean log-probability of, and Cohen's
        kappa with, the gold labels, when gold was given), ``weight`` (1 for the chosen one, or the stacking
        weight), ``seconds`` (all fits of the candidate), ``note``.
    models_ : dict of str -> fitted model
        The candidates fitted on all the data.
    labels_, proba_, consensus_
        The stacked posterior (``consensus_.method`` ``"Auto(stack)"``), or those of the chosen candidate
        (``"Auto(<name>)"``); ``consensus_.params`` holds ``chosen``, ``reason`` and the score table.

    Notes
    -----
    With ``H`` the hidden annotations, :math:`\hat y_i` the consensus fitted without them and :math:`p_k`,
    :math:`q_k` the shares of class ``k`` among :math:`\hat y_{i_n}` and among the hidden labels :math:`l_n`:

    .. math::

        \kappa = \frac{a - c}{1 - c},\quad a = \frac{1}{|H|} \sum_{n \in H} [\hat y_{i_n} = l_n],\quad
        c = \sum_k p_k q_k;\qquad
        S = \frac{1}{|H|} \sum_{n \in H} \log \sum_k p^{(-)}_{i_n k}\, P(l_n \mid t = k, a_n)

    averaged over the splits. Stacking weights :math:`w` maximise
    :math:`\sum_{n \in H} \log \sum_m w_m \hat p^{(m)}_n` on the simplex and the result is
    :math:`\sum_m w_m p^{(m)}_{ik}` with each candidate's full-data posterior.

    References
    ----------
    J. Cohen (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement
    20(1):37-46.
    Y. Yao, A. Vehtari, D. Simpson and A. Gelman (2018). Using stacking to average Bayesian predictive
    distributions. Bayesian Analysis 13(3):917-1007. doi:10.1214/17-BA1091

    Examples
    --------
    >>> from accord.datasets import load_demo
    >>> ann = load_demo().annotations
    >>> Auto(candidates=["mv", "ds", "onecoin"], criterion="loglik").fit(ann).chosen_
    'ds'
    >>> Auto(candidates=["mv", "ds", "onecoin"]).fit(ann).weights_.round(2).to_dict()
    {'mv': 0.04, 'ds': 0.96, 'onecoin': 0.0}
    """

    name = "auto"

    def __init__(
        self,
        *,
        candidates: Sequence[str] | None = None,
        criterion: str = "stack",
        holdout: float = 0.1,
        n_splits: int = 3,
        min_kappa: float = 0.2,
        min_gold: int = 20,
        random_state: int | np.random.Generator | None = None,
    ):
        self.candidates = candidates
        self.criterion = criterion
        self.holdout = holdout
        self.n_splits = n_splits
        self.min_kappa = min_kappa
        self.min_gold = min_gold
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check(self) -> tuple[float, int]:
        if self.criterion not in ("kappa", "loglik", "stack"):
            raise InvalidParameterError(
                f"criterion must be 'kappa', 'loglik' or 'stack', got {self.criterion!r}"
            )
        try:
            holdout = float(self.holdout)
        except (TypeError, ValueError):
            holdout = float("nan")
        if not 0.0 < holdout < 0.5:
            raise InvalidParameterError(f"holdout must lie in (0, 0.5), got {self.holdout!r}")
        check_positive_int("min_gold", self.min_gold)
        return holdout, check_positive_int("n_splits", self.n_splits)

    def _candidate_names(self) -> list[str]:
        if self.candidates is None:
            return [m for m in DEFAULT_CANDIDATES if m in METHODS]
        if isinstance(self.candidates, str):  # "mv,ds,onecoin", as the CLI's -p candidates=... passes it
            names = [name.strip() for name in self.candidates.split(",") if name.strip()]
        else:
            names = list(self.candidates)
        unknown = [m for m in names if m not in METHODS or m == "auto"]
        if unknown or not names:
            raise InvalidParameterError(
                f"unknown or invalid candidate(s) {unknown or names}; choose among "
                f"{', '.join(m for m in METHODS if m != 'auto')}"
            )
        return names

    # ------------------------------------------------------------------ fitting
    @staticmethod
    def _fit_one(name: str, seed: int, annotations: Annotations, gold: pd.Series | None = None) -> Aggregator:
        takes_seed = "random_state" in inspect.signature(METHODS[name]).parameters
        model = make_model(name, **({"random_state": seed} if takes_seed else {}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DataQualityWarning)
            model.fit(annotations, gold=gold)
        return model

    def _fit_candidates(
        self, names: list[str], annotations: Annotations, seed: int, gold: pd.Series | None
    ) -> tuple[dict[str, Aggregator], dict[str, float], dict[str, str]]:
        models, seconds, notes = {}, {}, {}
        for name in names:
            if not _applicable(name, annotations):
                notes[name] = "needs more than annotations (e.g. pred_probs)"
                continue
            start = time.perf_counter()
            try:
                models[name] = self._fit_one(name, seed, annotations, gold)
            except AccordError as exc:
                notes[name] = f"not applicable: {exc}"
                continue
            seconds[name] = time.perf_counter() - start
        if not models:
            raise InvalidParameterError(f"no candidate applies to these data: {notes}")
        return models, seconds, notes

    def _heldout(
        self,
        names: list[str],
        annotations: Annotations,
        splits: list[np.ndarray],
        seed: int,
        seconds: dict[str, float],
        gold: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, np.ndarray]]:
        """Predictive probability of every hidden label, the mean held-out kappa, and (with gold) the
        probability that each split's fit, made without the gold labels, gives to every gold label -- per
        candidate."""
        probs: dict[str, list[np.ndarray]] = {name: [] for name in names}
        kappas: dict[str, list[float]] = {name: [] for name in names}
        on_gold: dict[str, list[np.ndarray]] = {name: [] for name in names}
        k = annotations.n_classes
        for hidden in splits:
            keep = np.ones(annotations.n_annotations, dtype=bool)
            keep[hidden] = False
            visible = annotations.take(keep)
            truth_proxy = annotations.label[hidden]
            for name in names:
                start = time.perf_counter()
                model = self._fit_one(name, seed, visible)
                probs[name].append(heldout_likelihood(model, annotations, hidden))
                predicted = model.consensus_.label_codes[annotations.item[hidden]]
                kappas[name].append(kappa_with(predicted, truth_proxy, k))
                if gold is not None:
                    on_gold[name].append(model.consensus_.proba_array[gold[0]])
                seconds[name] += time.perf_counter() - start
        return (
            {name: np.concatenate(parts) for name, parts in probs.items()},
            {name: float(np.mean(values)) for name, values in kappas.items()},
            {name: np.concatenate(parts) for name, parts in on_gold.items() if parts},
        )  # (splits x gold) x K

    def _fit(self, annotations, rng, gold):
        holdout, n_splits = self._check()
        names = self._candidate_names()
        seed = int(rng.integers(2**31 - 1))
        gold_series = None
        if gold is not None:
            gold_series = pd.Series(
                np.asarray(annotations.classes, dtype=object)[gold[1]], index=annotations.items[gold[0]]
            )
        models, seconds, notes = self._fit_candidates(names, annotations, seed, gold_series)
        fitted = list(models)
        splits = holdout_splits(annotations, holdout, n_splits, rng)
        judge_gold = gold if gold is not None and len(gold[0]) >= self.min_gold else None
        on_gold: dict[str, np.ndarray] = {}
        if splits:
            probs, heldout_kappa, on_gold = self._heldout(
                fitted, annotations, splits, seed, seconds, judge_gold
            )
        else:  # nothing can be hidden (every item and annotator has a single label): no evidence either way
            probs = {name: np.ones(1) for name in fitted}
            heldout_kappa = {name: 0.0 for name in fitted}
        mv = break_ties(annotations.vote_counts(), "lowest", rng)
        guard = {
            name: kappa_with(models[name].consensus_.label_codes, mv, annotations.n_classes)
            for name in fitted
        }
        classes = np.asarray(annotations.classes, dtype=object)
        unrecognised = {
            name: ", ".join(
                str(c)
                for c in classes[unrecognised_classes(models[name].consensus_.label_codes, annotations)]
            )
            for name in fitted
        }
        table = self._score_table(fitted, probs, heldout_kappa, guard, seconds, notes)
        table["unrecognised"] = pd.Series(unrecognised).reindex(table.index).fillna("")
        judge = f"{sum(len(h) for h in splits)} hidden labels"
        if on_gold:  # the gold labels judge instead: probability of, and kappa with, every gold label
            truth = np.tile(judge_gold[1], len(splits))
            probs = {name: rows[np.arange(len(truth)), truth] for name, rows in on_gold.items()}
            gold_kappa = {
                name: kappa_with(rows.argmax(axis=1), truth, annotations.n_classes)
                for name, rows in on_gold.items()
            }
            table["gold_loglik"] = pd.Series(
                {name: float(np.mean(np.log(np.maximum(p, LOG_FLOOR)))) for name, p in probs.items()}
            )
            table["gold_kappa"] = pd.Series(gold_kappa)
            judge = (
                f"{len(judge_gold[0])} gold labels, each candidate fitted without them {len(splits)} times"
            )
        return self._decide(annotations, models, probs, table, len(splits) > 0, judge, bool(on_gold))

    # ------------------------------------------------------------------ deciding
    def _score_table(
        self,
        names: list[str],
        probs: dict[str, np.ndarray],
        heldout_kappa: dict[str, float],
        guard: dict[str, float],
        seconds: dict[str, float],
        notes: dict[str, str],
    ) -> pd.DataFrame:
        logs = {name: np.log(np.maximum(probs[name], LOG_FLOOR)) for name in names}
        best = max(names, key=lambda name: logs[name].mean())
        rows = []
        for name in names:
            diff = logs[name] - logs[best]
            se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
            rows.append(
                {
                    "method": name,
                    "heldout_kappa": heldout_kappa[name],
                    "heldout_loglik": float(logs[name].mean()),
                    "se_loglik": se,
                    "kappa_mv": guard[name],
                    "degenerate": bool(guard[name] < self.min_kappa),
                    "weight": 0.0,
                    "seconds": seconds.get(name, float("nan")),
                    "note": "",
                }
            )
        for name, note in notes.items():
            rows.append(
                {
                    "method": name,
                    "heldout_kappa": float("nan"),
                    "heldout_loglik": float("nan"),
                    "se_loglik": float("nan"),
                    "kappa_mv": float("nan"),
                    "degenerate": False,
                    "weight": 0.0,
                    "seconds": float("nan"),
                    "note": note,
                }
            )
        return pd.DataFrame(rows).set_index("method")

    def _decide(
        self,
        annotations: Annotations,
        models: dict[str, Aggregator],
        probs: dict[str, np.ndarray],
        table: pd.DataFrame,
        any_hidden: bool,
        judge: str,
        by_gold: bool,
    ) -> Consensus:
        fitted = table[table["note"] == ""]
        strange_mask = fitted["unrecognised"] != ""
        caught = fitted["degenerate"] | strange_mask
        if caught.all():  # every candidate is caught: set none aside rather than have nothing to choose from
            caught[:] = False
        usable = fitted.index[~caught].tolist()
        dropped = fitted.index[caught & fitted["degenerate"]].tolist()
        strange = fitted.index[caught & ~fitted["degenerate"]].tolist()
        if self.criterion == "stack" and len(usable) > 1:
            consensus = self._stack(annotations, models, probs, table, usable, judge)
        else:
            prefix = "gold" if by_gold else "heldout"
            keys = (
                [f"{prefix}_kappa", f"{prefix}_loglik"] if self.criterion == "kappa" else [f"{prefix}_loglik"]
            )
            ranked = table.loc[usable].sort_values(keys, ascending=False)
            consensus = self._select(annotations, models, table, ranked, keys[0], judge)
        if not any_hidden:
            self.reason_ = (
                "no annotation could be hidden (every item or annotator has a single label), so there "
                "is no evidence: "
                + (
                    "posteriors averaged with equal weights"
                    if self.chosen_ == "stack"
                    else f"kept the first candidate, {self.chosen_}"
                )
            )
        if dropped:
            self.reason_ += (
                f"; not chosen as collapsed or label-switched (kappa with majority vote < "
                f"{self.min_kappa}): {', '.join(dropped)}"
            )
        if strange:
            shown = ", ".join(f"{name} (class {table.loc[name, 'unrecognised']})" for name in strange)
            self.reason_ += (
                "; not chosen because the annotators label the items it puts in a class with that "
                f"class less often than chance: {shown}"
            )
        consensus.params["reason"] = self.reason_
        self.scores_ = table
        self.models_ = models
        self.weights_ = table["weight"].rename("weight")
        return consensus

    def _select(
        self,
        annotations: Annotations,
        models: dict[str, Aggregator],
        table: pd.DataFrame,
        ranked: pd.DataFrame,
        key: str,
        judge: str,
    ) -> Consensus:
        best = str(ranked.index[0])
        table.loc[best, "weight"] = 1.0
        what = "kappa with" if key.endswith("kappa") else "mean log-likelihood of"
        reason = f"{best} has the best {what} {judge} ({ranked.loc[best, key]:.4f}"
        if len(ranked) > 1:
            runner = str(ranked.index[1])
            reason += f"; next {runner} {ranked.loc[runner, key]:.4f}"
        reason += ")"
        self.chosen_, self.reason_ = best, reason
        source = models[best].consensus_
        return Consensus(
            annotations,
            source.proba_array,
            f"Auto({best})",
            labels=source.label_codes,
            confusions=source.confusions,
            priors=source.priors_array,
            history=source.history,
            item_scores=source.item_scores,
            annotator_scores=source.annotator_scores,
            annotation_scores=source.annotation_scores,
            params=self._params(best, reason, table),
        )

    def _stack(
        self,
        annotations: Annotations,
        models: dict[str, Aggregator],
        probs: dict[str, np.ndarray],
        table: pd.DataFrame,
        usable: list[str],
        judge: str,
    ) -> Consensus:
        weights = stacking_weights(np.stack([probs[name] for name in usable], axis=1))
        table.loc[usable, "weight"] = weights
        proba = sum(w * models[name].consensus_.proba_array for w, name in zip(weights, usable, strict=False))
        proba = proba / proba.sum(axis=1, keepdims=True)
        shown = ", ".join(
            f"{name} {w:.2f}"
            for w, name in sorted(zip(weights, usable, strict=False), reverse=True)
            if w >= 0.005
        )
        reason = f"posteriors stacked with weights {shown} (log score of {judge})"
        self.chosen_, self.reason_ = "stack", reason
        return Consensus(annotations, proba, "Auto(stack)", params=self._params("stack", reason, table))

    def _params(self, chosen: str, reason: str, table: pd.DataFrame) -> dict[str, Any]:
        params = self.get_params()
        params.update(chosen=chosen, reason=reason, scores=table.reset_index().to_dict(orient="records"))
        return params


register("auto", Auto)
