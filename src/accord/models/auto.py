"""``method="auto"``: choose among the truth-inference models for the data at hand, without gold labels.

Every annotation is held out once: the annotations are split into folds by a hash of their (item id, annotator
id) text, so the split depends neither on the row order nor on internal codes. Each candidate is fitted on the
annotations outside a fold and predicts the held-out labels; the candidates' posteriors are then stacked with
the weights that maximise the held-out log score (or the best candidate is chosen). Data too small to estimate
annotator skills get a majority vote weighted by skills shrunk toward a common prior instead, and the reason
says so. A candidate that fails is dropped with a note; two guards set aside collapsed or label-switched fits.
With 20 or more gold items, the gold labels judge instead of the held-out annotations where they clearly
favour another candidate.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from .._kernel.compiled import run_blocks
from .._kernel.driver import EMResult, EStep, run_em
from .._kernel.em import AnnotationMatrix, DSKernel, DSStats, block_product, item_blocks
from .._kernel.votes import break_ties
from .._progress import Progress
from .._utils import check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import ConvergenceWarning, DataQualityWarning, InvalidParameterError
from ._base import Aggregator
from .ebcc import EBCC, EBCCState, EBCCSteps
from .registry import METHODS, register

__all__ = [
    "DEFAULT_CANDIDATES",
    "Auto",
    "ShrunkVote",
    "annotation_folds",
    "heldout_likelihood",
    "kappa_with",
    "overlap_evidence",
    "stacking_weights",
    "unrecognised_classes",
]

#: Candidates tried by default, when registered. ``vote`` is :class:`ShrunkVote`; ``ebcc`` (sub-types of every
#: class: correlated annotators) is tried up to :data:`LARGE` annotations, where one fit costs about 30
#: Dawid-Skene fits. MMCE and MMSR are left out (cost; MMSR did not add to the stacked accuracy on the public
#: datasets), and so is BWA (it added 0.0002 to the stacked mean); pass ``candidates=`` to add them.
DEFAULT_CANDIDATES = ("mv", "vote", "wawa", "onecoin", "ds", "ibcc", "glad", "mace", "ebcc")
#: Hyper-parameters a candidate gets inside ``auto`` (instead of its own defaults): EBCC with a single
#: restart costs a fifth of its default five and gave the same accuracy on the public datasets.
CANDIDATE_PARAMS: dict[str, dict[str, Any]] = {"ebcc": {"n_restarts": 3}}
#: Above :data:`LARGE` annotations only these candidates are tried by default: each costs at most about one
#: Dawid-Skene fit, and each posterior is a product over the annotations, so that a label's own vote can be
#: taken out of it exactly (leave-one-out scores without refitting).
CHEAP = frozenset({"mv", "vote", "onecoin", "ds"})
#: Above this many annotations, the candidates are judged by leave-one-out scores without refits.
LARGE = 30_000
#: With fewer overlapping labels than this for the typical annotation's annotator, skills are not estimated
#: from the data by the full models: the result is :class:`ShrunkVote`.
MIN_OVERLAP = 20
#: The stacked mixture is kept only when its held-out log score beats the best single candidate's by more than
#: this many standard errors (of the paired per-label differences); otherwise that candidate alone is kept.
STACK_MIN_SE = 2.0
#: A label no annotator gave an item may get at most this confidence unless one of the item's annotators
#: has ``min_overlap`` overlapping labels (enough to show the others wrong); above it, ShrunkVote decides.
UNCHOSEN_CONFIDENCE = 0.8
#: Below ``REPEAT_BUDGET / 3`` annotations the folds are drawn three times (with different hashes), below
#: ``REPEAT_BUDGET / 2`` twice: cheap on small data, and it steadies the stacking weights.
REPEAT_BUDGET = 15_000
#: At most about this many labels are scored by the leave-one-out judge of large data.
MAX_SCORED = 30_000
LOG_FLOOR = 1e-12
#: A class the consensus gives to at least this share of items is checked by :func:`unrecognised_classes`.
UNRECOGNISED_MIN_SHARE = 0.02


# ---------------------------------------------------------------------- folds and evidence
def _splitmix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic): a well-mixed integer hash, into a
    new array (two arrays of ``x``'s size instead of six temporaries; ``x`` is left as it is)."""
    out = np.right_shift(x, np.uint64(30))
    out ^= x
    out *= np.uint64(0xBF58476D1CE4E5B9)
    shifted = np.right_shift(out, np.uint64(27))
    out ^= shifted
    out *= np.uint64(0x94D049BB133111EB)
    np.right_shift(out, np.uint64(31), out=shifted)
    out ^= shifted
    return out


def _class_keys(annotations: Annotations) -> np.ndarray:
    """A 64-bit key per class from its number of labels: renaming or reordering the classes keeps each key."""
    with np.errstate(over="ignore"):
        counts = np.bincount(annotations.label, minlength=annotations.n_classes).astype(np.uint64)
        return _splitmix(counts + np.uint64(0x632BE59BD9B4E019))


def _annotator_keys(annotations: Annotations, classes: np.ndarray) -> np.ndarray:
    """A 64-bit key per annotator made only of what the annotations say, never of its id, its code or the
    order of the classes: per class (by its key), its number of labels and how many other votes on its items
    agree with them, mixed and added up (wrapping) over the classes."""
    ann, k = annotations, annotations.n_classes
    key_il = ann.item.astype(np.int64) * k + ann.label
    key_al = ann.annotator.astype(np.int64) * k + ann.label
    votes = np.bincount(key_il, minlength=ann.n_items * k)
    n_per_label = np.bincount(key_al, minlength=ann.n_annotators * k).reshape(-1, k)
    agree = np.bincount(key_al, weights=votes[key_il] - 1.0, minlength=ann.n_annotators * k).reshape(-1, k)
    with np.errstate(over="ignore"):
        n_bits = n_per_label.astype(np.uint64)
        agree_bits = np.round(agree).astype(np.int64).astype(np.uint64)
        cell = _splitmix(classes[None, :] ^ _splitmix(n_bits + np.uint64(1)) ^ _splitmix(~agree_bits))
        return cell.sum(axis=1, dtype=np.uint64)


def annotation_folds(annotations: Annotations, n_folds: int, salt: int = 0) -> np.ndarray:
    """Fold number (``0 .. n_folds - 1``) of every annotation, from a hash of what the annotations say about
    it (and ``salt``): its annotator's label counts and agreement, and the other labels and annotators of its
    item (never its own label, so that what is held out does not depend on it). Ids and row order never enter
    it, so renaming items or annotators or shuffling the rows gives every annotation the same fold;
    annotations that nothing in the data tells apart share a fold.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": [0, 1, 1, 1]})
    >>> ann = Annotations.from_frame(df)
    >>> folds = annotation_folds(ann, 3)
    >>> bool(((folds >= 0) & (folds < 3)).all())
    True
    >>> renamed = df.iloc[::-1].assign(item=df["item"] + 10, annotator=df["annotator"] + "!")
    >>> other = Annotations.from_frame(renamed)
    >>> def pairs(a, f):
    ...     return sorted(zip(a.items[a.item] % 10, a.annotators[a.annotator].str[0], f.tolist()))
    >>> pairs(ann, folds) == pairs(other, annotation_folds(other, 3))
    True
    """
    ann = annotations
    with np.errstate(over="ignore"):
        classes = _class_keys(ann)
        annotator = _annotator_keys(ann, classes)
        vote = _splitmix(annotator[ann.annotator] ^ classes[ann.label])
        item = np.zeros(ann.n_items, dtype=np.uint64)
        np.add.at(item, ann.item, vote)  # wrapping integer sums: exact whatever the row order
        # the item's OTHER votes: the fold never depends on the held-out label itself
        others = _splitmix(item[ann.item] - vote + np.uint64(salt))
        mixed = _splitmix(others ^ _splitmix(annotator[ann.annotator] + np.uint64(0x2545F4914F6CDD1D)))
    return (mixed % np.uint64(n_folds)).astype(np.int64)


def overlap_evidence(annotations: Annotations) -> np.ndarray:
    """Per annotator: how many of their labels fall on items that someone else labelled too.

    Only those labels say anything about an annotator's skill (a label nobody else gave an item cannot be
    checked against anything).
    """
    shared = annotations.item_sizes()[annotations.item] >= 2
    return np.bincount(
        annotations.annotator, weights=shared.astype(np.float64), minlength=annotations.n_annotators
    )


def typical_evidence(annotations: Annotations) -> float:
    """Median, over the annotations, of their annotator's :func:`overlap_evidence`."""
    if annotations.n_annotations == 0:
        return 0.0
    return float(np.median(overlap_evidence(annotations)[annotations.annotator]))


# ---------------------------------------------------------------------- the small-data model
class ShrunkVote(Aggregator):
    r"""A majority vote weighted by annotator skills shrunk toward a common prior (one-coin EM with priors).

    Each annotator gives the true class with probability ``s[a]`` and otherwise a uniformly chosen other
    class. The skills get a Beta(``a0``, ``b0``) prior (mean 5/7 = 0.71 by default: "better than chance") and
    the class priors are uniform by default (or get a symmetric Dirichlet prior with ``c`` pseudo-items per
    class), so that with few labels every skill stays near the prior mean (the result is then majority vote
    with probabilities), and only many labels make an annotator count for more or less than the others.

    Parameters
    ----------
    a0, b0 : float, default 5 and 2
        Beta prior pseudo-counts of right and wrong labels per annotator.
    c : float, default inf
        Dirichlet pseudo-items per class for the class priors; ``inf`` keeps them uniform. Learning them is
        risky where skills are weakly identified: with two labels per item (rte) EM explains the
        disagreements by a lopsided class prior (0.21 / 0.79 on a balanced set) and falls below a single
        annotator, while uniform priors beat one.
    learn : bool, default True
        False keeps every skill at the prior mean and the class priors uniform: a majority vote whose
        confidence is the prior skill (what is left when skills cannot be learned, e.g. one label per item).
    max_iter : int, default 100
    tol : float, default 1e-4
        Stop once an iteration changed no label and moved no posterior probability by ``tol`` or more (the
        shared EM driver's rule); ``tol = 0`` runs ``max_iter`` iterations.

    Attributes
    ----------
    n_iter_ : int
        EM iterations of the last fit (0 with ``learn=False`` or one class).
    converged_ : bool
        Whether the last fit stopped by ``tol`` (True when there was nothing to learn).

    Notes
    -----
    EM for the maximum a posteriori estimate, from the vote shares:

    .. math::

        s_a = \frac{\sum_{n: a_n = a} p_{i_n l_n} + a_0}{N_a + a_0 + b_0},\qquad
        \pi_k = \frac{\sum_i p_{ik} + c}{I + K c} \ (1/K \text{ for } c = \infty),\qquad
        p_{ik} \propto \pi_k \prod_{n \in i} s_{a_n}^{[l_n = k]}
        \Big(\tfrac{1 - s_{a_n}}{K - 1}\Big)^{[l_n \ne k]}

    References
    ----------
    A. P. Dawid and A. M. Skene (1979). Maximum likelihood estimation of observer error-rates using the EM
    algorithm. Journal of the Royal Statistical Society, Series C 28(1):20-28. doi:10.2307/2346806
    Y. Zhang, X. Chen, D. Zhou and M. I. Jordan (2016). Spectral methods meet EM: a provably optimal algorithm
    for crowdsourcing. JMLR 17(102):1-44.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": list("xxyyy")})
    >>> ShrunkVote().fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "vote"

    def __init__(
        self,
        *,
        a0: float = 5.0,
        b0: float = 2.0,
        c: float = float("inf"),
        learn: bool = True,
        max_iter: int = 100,
        tol: float = 1e-4,
    ):
        self.a0 = a0
        self.b0 = b0
        self.c = c
        self.learn = learn
        self.max_iter = max_iter
        self.tol = tol

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        k = annotations.n_classes
        a0, b0, c = (float(v) for v in (self.a0, self.b0, self.c))
        if not (np.isfinite([a0, b0]).all() and min(a0, b0) > 0 and c > 0):  # c may be inf, not NaN
            raise InvalidParameterError(
                f"a0 and b0 must be finite and > 0, c > 0 (or inf), got {self.a0!r}, {self.b0!r}, {self.c!r}"
            )
        max_iter = check_positive_int("max_iter", self.max_iter)
        self.n_iter_, self.converged_ = 0, True
        counts = annotations.vote_counts()
        total = counts.sum(axis=1, keepdims=True)
        post = np.where(total > 0, counts / np.maximum(total, 1.0), 1.0 / max(k, 1))
        skills = np.full(annotations.n_annotators, a0 / (a0 + b0))
        if k >= 2:
            steps = ShrunkVoteSteps(AnnotationMatrix(annotations), a0, b0, c)
            if self.learn:
                result = run_em(
                    steps,
                    post,
                    max_iter=max_iter,
                    tol=float(self.tol),
                    gold=gold,
                    history_bytes=0,
                    model="ShrunkVote",
                    warn=float(self.tol) > 0,  # tol = 0 asks for max_iter iterations
                )
                post, skills = result.post, result.params[1]
                self.n_iter_, self.converged_ = int(result.n_iter), bool(result.converged)
            else:  # the prior skills and uniform class priors: one E-step
                post = steps.e_step((np.full(k, 1.0 / k), skills)).post.copy()
        _clamp(post, gold)
        theta = _one_coin(skills, k)
        return Consensus(
            annotations,
            post,
            "ShrunkVote",
            confusions=theta,
            priors=post.mean(axis=0),
            params=self.get_params(),
            annotator_scores={"quality": skills, "skill": skills},
        )


class ShrunkVoteSteps:
    r"""ShrunkVote's EM pieces for the shared driver (:func:`~accord._kernel.driver.run_em`), on the
    Dawid-Skene kernel's design matrix; parameters ``(pi, s)``, the class priors and the skills.

    - Statistics: the kernel's expected counts ``C[a, k, l]`` and class mass; annotator ``a``'s expected
      right labels are the trace ``sum_l C[a, l, l]``.
    - M-step: ``s_a = (sum_l C[a, l, l] + a0) / (N_a + a0 + b0)`` (``N_a`` the annotator's annotations),
      ``pi_k = (sum_i p_ik + c) / (I + K c)``, uniform for ``c = inf``.
    - E-step: with ``o_a = log((1 - s_a) / (K - 1))`` and ``b_a = log s_a - o_a``,
      ``log u_ik = (log pi_k + sum_{n in i} o_{a_n}) + sum_{n in i, l_n = k} b_{a_n}``: one sparse product
      with ``K + 1`` columns (the shared term, then one per class), so that two classes with the same
      annotators' bonuses tie exactly, as in a vote.
    - Objective: ``sum_i log Z_i + sum_a (a0 log s_a + b0 log(1 - s_a)) [+ c sum_k log pi_k]``, the log
      posterior the M-step maximises.
    """

    def __init__(self, matrix: AnnotationMatrix, a0: float, b0: float, c: float) -> None:
        self.matrix = matrix
        self.a0, self.b0, self.c = a0, b0, c
        a, k = matrix.n_annotators, matrix.n_classes
        self.kernel = DSKernel(matrix, compiled=False)
        self.sizes = matrix.column_mass.reshape(a, k).sum(axis=1)  # whole numbers: exact
        self._table = np.zeros((a * k, k + 1))
        self._scores = np.empty((matrix.n_items, k + 1))  # C-ordered: the product writes rows
        self._blocks = item_blocks(matrix.M)

    def statistics(self, post: np.ndarray) -> DSStats:
        return self.kernel.statistics(post)

    def m_step(
        self, stats: DSStats, params: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = self.matrix.n_classes
        right = np.trace(stats.counts, axis1=1, axis2=2)
        skills = (right + self.a0) / (self.sizes + self.a0 + self.b0)
        if np.isinf(self.c):
            pi = np.full(k, 1.0 / k)
        else:
            pi = (stats.class_mass + self.c) / (self.matrix.n_items + k * self.c)
        return pi, skills

    def e_step(self, params: tuple[np.ndarray, np.ndarray]) -> EStep:
        pi, skills = params
        a, k = self.matrix.n_annotators, self.matrix.n_classes
        off = np.log((1.0 - skills) / (k - 1))
        bonus = np.log(skills) - off
        table = self._table.reshape(a, k, k + 1)
        table[:, :, 0] = off[:, None]
        classes = np.arange(k)
        table[:, classes, classes + 1] = bonus[:, None]
        log_pi = np.log(pi)
        post = np.empty((self.matrix.n_items, k), order="F")
        top, total = np.empty(self.matrix.n_items), np.empty(self.matrix.n_items)

        def block(b: int) -> None:  # items s .. e - 1 (on the NumPy kernel's item blocks, in threads)
            s, e = self._blocks[b]
            scores = np.asfortranarray(block_product(self.matrix.M, self._table, self._scores, s, e))
            p, m, z = post[s:e], top[s:e], total[s:e]
            # column by column (a row-wise max or sum over K = 2..10 columns is several times slower)
            for j in range(k):
                np.add(scores[:, 0], log_pi[j], out=p[:, j])
                p[:, j] += scores[:, j + 1]
            np.copyto(m, p[:, 0])
            for j in range(1, k):
                np.maximum(m, p[:, j], out=m)
            z.fill(0.0)
            for j in range(k):
                col = p[:, j]
                col -= m
                np.exp(col, out=col)
                z += col
            for j in range(k):
                p[:, j] /= z

        run_blocks(block, len(self._blocks))
        return EStep(post, np.log(total) + top)

    def objective(self, params: tuple[np.ndarray, np.ndarray], e: EStep) -> float:
        pi, skills = params
        value = float(e.log_z.sum()) + float(
            self.a0 * np.log(skills).sum() + self.b0 * np.log1p(-skills).sum()
        )
        return value if np.isinf(self.c) else value + self.c * float(np.log(pi).sum())


def _clamp(post: np.ndarray, gold: tuple[np.ndarray, np.ndarray] | None) -> None:
    if gold is not None and len(gold[0]):
        post[gold[0]] = 0.0
        post[gold[0], gold[1]] = 1.0


def _one_coin(skills: np.ndarray, k: int) -> np.ndarray:
    off = (1.0 - skills) / max(k - 1, 1)
    theta = np.broadcast_to(off[:, None, None], (len(skills), k, k)).copy()
    idx = np.arange(k)
    theta[:, idx, idx] = skills[:, None]
    return theta


# ---------------------------------------------------------------------- scores
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
        right = expit(np.asarray(model.abilities_)[annotator] / np.asarray(model.difficulties_)[item])
        hit = np.arange(k)[None, :] == label[:, None]
        return np.where(hit, right[:, None], ((1.0 - right) / (k - 1))[:, None])
    return np.asarray(consensus.confusions)[annotator, :, label]


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
    ``k`` into something the annotators do not call ``k``, which no annotator model with better-than-random
    recognition of ``k`` allows: with ``pi_k`` the share of items in class ``k`` and ``q_k`` the share of
    labels ``k``, ``q_k >= pi_k * mean_a theta_a[k, k]``.
    """
    k = annotations.n_classes
    if k < 2 or annotations.n_items == 0:
        return []
    given = labels[annotations.item]
    counts = np.bincount(given * k + annotations.label, minlength=k * k).reshape(k, k).astype(np.float64)
    share = np.bincount(labels, minlength=k) / annotations.n_items
    own = np.diag(counts) / np.maximum(counts.sum(axis=1), 1.0)
    return [int(c) for c in np.flatnonzero((share >= min_share) & (own < 1.0 / k))]


def stacking_weights(p: np.ndarray, max_iter: int = 100, tol: float = 1e-12) -> np.ndarray:
    """Weights on the simplex maximising ``sum_n log sum_m w_m p[n, m]`` (the held-out log score of the
    mixture of the candidates' predictive distributions; Yao et al. 2018).

    A few EM steps ``w_m <- mean_n w_m p[n,m] / sum_m' w_m' p[n,m']`` (which never decrease the score) find
    the region of the optimum; Newton steps on the face of the simplex spanned by the candidates in use then
    reach it, dropping a candidate whose weight reaches 0 and taking one back while the optimality (KKT)
    condition says it would help: its gradient ``mean_n p[n,m] / sum_m' w_m' p[n,m']`` above 1.
    """
    m = p.shape[1]
    w = np.full(m, 1.0 / m)
    if len(p) == 0:
        return w
    rows = np.asfortranarray(np.maximum(p, LOG_FLOOR))
    for _ in range(5):
        w = w * (rows.T @ (1.0 / (rows @ w))) / len(rows)
    active = w > 1e-6
    w = np.where(active, w, 0.0) / w[active].sum()
    for _ in range(max_iter):
        new = _newton_step(rows, w, active)
        active = new > 0
        done = np.abs(new - w).max() < tol
        w = new
        if done:
            break
    return w


def _newton_step(rows: np.ndarray, w: np.ndarray, active: np.ndarray) -> np.ndarray:
    """One safeguarded Newton step of :func:`stacking_weights` on the face ``active`` (modified in place)."""
    n = len(rows)
    mix = rows @ w
    grad = rows.T @ (1.0 / mix) / n
    if (~active).any() and grad[~active].max() > 1.0 + 1e-9:  # a left-out candidate would help
        active[np.flatnonzero(~active)[np.argmax(grad[~active])]] = True
    on = np.flatnonzero(active)
    sub = rows[:, on]
    hess = (sub * (1.0 / (n * mix**2))[:, None]).T @ sub  # minus the Hessian, on the face
    kkt = np.zeros((len(on) + 1, len(on) + 1))
    kkt[: len(on), : len(on)] = hess
    kkt[: len(on), -1] = kkt[-1, : len(on)] = 1.0
    rhs = np.concatenate([grad[on], [0.0]])
    step = np.linalg.lstsq(kkt, rhs, rcond=None)[0][: len(on)]
    d = np.zeros_like(w)
    d[on] = step
    neg = d < 0
    t = min(1.0, float(np.min(-w[neg] / d[neg]))) if neg.any() else 1.0
    base = float(np.mean(np.log(mix)))
    while t > 1e-12 and float(np.mean(np.log(rows @ np.maximum(w + t * d, 0.0)))) < base - 1e-15:
        t *= 0.5
    new = np.maximum(w + t * d, 0.0)
    return new / new.sum()


def _leave_one_out(
    models: dict[str, Aggregator], annotations: Annotations, salt: int
) -> tuple[dict[str, np.ndarray], dict[str, float], int]:
    """Leave-one-out predictive probability of every label on an item with two or more, without refitting.

    A product-form posterior ``p[i, k] ~ prior[k] prod_n P(l_n | k, a_n)`` loses annotation ``n``'s own
    factor by division, ``p_-n[k] ~ p[i, k] / P(l_n | k, a_n)``, so ``p_hat_n = sum_k p_-n[k] P(l_n | k, a_n)
    = 1 / sum_k p[i, k] / P(l_n | k, a_n)``; majority vote's posterior (vote shares) loses the label from the
    counts. The parameters keep the label's share of their estimate, which is small on large data. At most
    about :data:`MAX_SCORED` labels are scored, chosen by :func:`annotation_folds`.
    """
    rows = np.flatnonzero(annotations.item_sizes()[annotations.item] >= 2)
    if len(rows) > MAX_SCORED:  # a hash-chosen share is plenty to judge a handful of candidates
        parts = -(-len(rows) // MAX_SCORED)
        rows = rows[annotation_folds(annotations, parts, salt)[rows] == 0]
    item, annotator, label = annotations.item[rows], annotations.annotator[rows], annotations.label[rows]
    k = annotations.n_classes
    counts = annotations.vote_counts()
    probs, kappas = {}, {}
    for name, model in models.items():
        like = np.maximum(label_likelihood(model, item, annotator, label), LOG_FLOOR)
        if name == "mv":
            rest = counts[item]
            rest[np.arange(len(rows)), label] -= 1.0
            cavity = rest / np.maximum(rest.sum(axis=1, keepdims=True), 1.0)
        else:
            cavity = model.consensus_.proba_array[item] / like
            cavity /= cavity.sum(axis=1, keepdims=True)
        probs[name] = np.sum(cavity * like, axis=1)
        kappas[name] = kappa_with(cavity.argmax(axis=1), label, k)
    return probs, kappas, len(rows)


# ---------------------------------------------------------------------- candidates
class _ScoredEBCC(EBCC):
    """EBCC that predicts a held-out label with its item's own sub-type posterior.

    EBCC's point is that annotators who err together share a sub-type of the item's class; its mixed
    confusions (``confusions_``) average the sub-types out and so score a held-out label as an independent-
    annotator model would. Under the model itself the label's predictive probability is ``sum_{k,m}
    zeta[i,k,m] E[v[a,k,m,l]]``, which is what :func:`label_likelihood` gets here (``P(l | k) = sum_m
    zeta[i,k,m] / z[i,k] E[v[a,k,m,l]]``).
    """

    def _finish(self, annotations: Annotations, result: EMResult[EBCCState]) -> Consensus:
        state = result.params
        self._subtype_rows = state.mu / state.mu.sum(axis=-1, keepdims=True)  # a, k, m, l
        m, a_pi, beta, alpha = self._check(annotations)
        log_zeta = EBCCSteps(AnnotationMatrix(annotations), m, a_pi, beta, alpha).log_zeta(state)
        cond = np.exp(log_zeta - log_zeta.max(axis=2, keepdims=True))
        self._subtype_split = cond / cond.sum(axis=2, keepdims=True)  # i, k, m: sub-type given the class
        return super()._finish(annotations, result)

    def label_likelihood(self, item: np.ndarray, annotator: np.ndarray, label: np.ndarray) -> np.ndarray:
        rows = self._subtype_rows[annotator, :, :, label]  # n, k, m
        return np.einsum("nkm,nkm->nk", self._subtype_split[item], rows)


#: Classes ``auto`` uses for some candidates instead of the registered ones (same model, better scored).
CANDIDATE_CLASSES: dict[str, type[Aggregator]] = {"ebcc": _ScoredEBCC}


def _make(name: str, seed: int) -> Aggregator:
    cls = METHODS[name]
    override = CANDIDATE_CLASSES.get(name)
    if override is not None and issubclass(override, cls):  # only while the name means the same model
        cls = override
    import inspect

    takes_seed = "random_state" in inspect.signature(cls).parameters
    params = {**({"random_state": seed} if takes_seed else {}), **CANDIDATE_PARAMS.get(name, {})}
    return cls(**params)


def _fit_quietly(name: str, seed: int, annotations: Annotations, gold: pd.Series | None = None) -> Aggregator:
    model = _make(name, seed)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataQualityWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(annotations, gold=gold)
    proba = model.consensus_.proba_array
    if not np.isfinite(proba).all():
        raise FloatingPointError(f"{name} produced non-finite probabilities")
    return model


def _failure(exc: BaseException) -> str:
    text = str(exc).split("\n")[0]
    return f"failed ({type(exc).__name__}: {text[:120]})"


class Auto(Aggregator):
    r"""Choose the truth-inference model for the data at hand, without gold labels.

    1. **Too little to learn skills.** When every item has a single label, the result is that label (majority
       vote). When annotators share too few items to estimate their skills (the typical annotation's
       annotator has fewer than ``min_overlap`` labels on items someone else labelled too) or there are fewer
       than ``min_items`` items, the result is :class:`ShrunkVote`: a majority vote weighted by skills shrunk
       toward a common prior, with probabilities. ``reason_`` says which.
    2. **Otherwise** every candidate is fitted on all the annotations and, for each of ``n_folds`` folds, on
       the annotations outside the fold. Folds are assigned by a hash of the (item id, annotator id) text, so
       every annotation is held out once and the split depends neither on the row order nor on internal codes.
       Each held-out label whose item keeps another label is predicted by every candidate, ``p = sum_k
       post_visible[i, k] P(label | k, annotator)``. Then

       - ``criterion="stack"`` (default): the candidates' posteriors are averaged with the stacking weights
         that maximise the held-out log score of the mixture of their predictive distributions (Yao et al.
         2018);
       - ``criterion="loglik"``: the candidate with the best mean held-out log predictive probability;
       - ``criterion="kappa"``: the candidate whose consensus agrees best with the held-out labels, chance-
         corrected (ties: the higher log-likelihood).

    Above ``large`` annotations only the candidates that cost about one Dawid-Skene fit are tried by default
    (:data:`CHEAP`) and they are judged without refits, by leave-one-out: each label of an item with two or
    more is predicted from the item's posterior with that label's own factor divided out (exact for
    product-form posteriors but for the label's small share of the parameters), so the whole choice costs
    about the fits themselves. With other candidates or gold, one fold of ``2 * n_folds`` is refitted.

    A candidate that fails (an exception, non-finite probabilities) is dropped with a note in ``scores_``
    and ``reason_``, never raised. Both scores are
    invariant to permuting the classes, so two guards set aside a candidate whose consensus has Cohen's kappa
    with majority vote below ``min_kappa`` (collapsed or label-switched) and one that gives a class to at
    least 2% of the items although the annotators label those items with it less often than chance
    (:func:`unrecognised_classes`). When every candidate is caught, none is set aside.

    With ``min_gold`` or more gold items (``fit(annotations, gold=...)``) the gold labels judge instead: each
    criterion is computed on the gold items from the fold fits, which never see the gold labels, and the full
    fits that give the result are clamped to gold as usual. A few dozen gold labels are a small sample, so
    they overrule the held-out labels only when the candidate best on gold beats the held-out labels' best
    one by more than ``2`` standard errors of the per-item gold log-likelihood difference; otherwise the
    held-out labels judge (and ``reason_`` says so).

    Measured (seed 0, this 2-core machine): on 260 random subsets of 10-50 items with at most 3 labels per
    item from the 26 public classification datasets (``benchmarks/small_data.py``), mean accuracy 0.7461
    against 0.7376 for majority vote (ties as a random tie-break) and 0.6680 for Dawid-Skene, expected
    calibration error 0.061 against 0.172 and 0.289, no failure; at 2 labels per item 0.7435 against 0.7271
    for a single annotator. On the 26 datasets themselves (``benchmarks/auto_selection.py``) 0.8438, against
    0.8289 for crowd-kit's Dawid-Skene and 0.8310 without the EBCC candidate; keeping the best candidate by
    log-likelihood gives 0.8442, by kappa 0.8288, and the best candidate chosen with gold 0.8518. EBCC is
    scored with each item's own sub-type posterior (a held-out label of a correlated crowd is predicted by the
    annotators who share its sub-type), which is what makes it win where it should (zencrowd: +7 to +9 points
    over Dawid-Skene). The whole choice costs 3.7 and 1.3 Dawid-Skene fits on the two largest sets (97,000 and
    215,000 annotations), where EBCC is not tried.

    Parameters
    ----------
    candidates : sequence of str or comma-separated str, optional
        Method names from ``accord.METHODS``, or ``"vote"`` (:class:`ShrunkVote`); default
        :data:`DEFAULT_CANDIDATES`. Candidates that need more than annotations (``pred_probs``) are left out
        with a note.
    criterion : {"stack", "loglik", "kappa"}, default "stack"
    n_folds : int, default 5
        Folds of the held-out annotations (at least 2).
    large : int, default 30000
        Above this many annotations, one fold only and (with the default candidates) the cheap ones only.
    min_overlap : float, default 20
        Fewest overlapping labels per annotator (median over annotations) for the candidates to be compared.
    min_items : int, default 20
    min_kappa : float, default 0.2
    min_gold : int, default 20
    progress : bool, optional
        Draw a progress bar on stderr (default: when stderr is a terminal; ``ACCORD_PROGRESS=0/1`` overrides).
    random_state : int, Generator or None, default 0
        Seeds the candidates that draw random numbers and the fold hash (0: the same data give the same
        result, run after run; None: a fresh draw).

    Attributes
    ----------
    chosen_ : str
        The chosen method, ``"stack"``, ``"vote"`` or ``"mv"``.
    weights_ : Series
        The weight of each candidate in the result.
    reason_ : str
        What was compared and why the result won.
    scores_ : DataFrame
        One row per candidate: ``heldout_kappa``, ``heldout_loglik``, ``se_loglik`` (standard error of the
        paired difference with the best), ``kappa_mv``, ``degenerate``, ``unrecognised``, ``gold_loglik`` and
        ``gold_kappa`` (with gold), ``weight``, ``seconds``, ``note``.
    models_ : dict of str -> fitted model
        The candidates fitted on all the data.
    labels_, proba_, consensus_
        ``consensus_.method`` is ``"Auto(<chosen>)"``; ``consensus_.params`` holds ``chosen``, ``reason`` and
        the score table.

    Notes
    -----
    With ``H`` the scored held-out annotations, :math:`p^{(-f)}` the posterior fitted without fold ``f`` and
    :math:`\Theta_a` a model's label distribution,

    .. math::

        S = \frac{1}{|H|} \sum_{n \in H} \log \sum_k p^{(-f_n)}_{i_n k}\, \Theta_{a_n}(k, l_n),\qquad
        \kappa = \frac{a - c}{1 - c}

    with ``a`` the agreement of the held-out labels with the consensus fitted without them and ``c`` its
    chance value. Stacking weights :math:`w` maximise
    :math:`\sum_{n \in H} \log \sum_m w_m \hat p^{(m)}_n` on the simplex, and the result is
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
    >>> auto = Auto(candidates=["mv", "ds", "onecoin"], criterion="loglik").fit(ann)
    >>> auto.chosen_
    'ds'
    """

    name = "auto"

    def __init__(
        self,
        *,
        candidates: Sequence[str] | str | None = None,
        criterion: str = "stack",
        n_folds: int = 5,
        large: int = LARGE,
        min_overlap: float = MIN_OVERLAP,
        min_items: int = 20,
        min_kappa: float = 0.2,
        min_gold: int = 20,
        progress: bool | None = None,
        random_state: int | np.random.Generator | None = 0,
    ):
        self.candidates = candidates
        self.criterion = criterion
        self.n_folds = n_folds
        self.large = large
        self.min_overlap = min_overlap
        self.min_items = min_items
        self.min_kappa = min_kappa
        self.min_gold = min_gold
        self.progress = progress
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check(self) -> int:
        if self.criterion not in ("kappa", "loglik", "stack"):
            raise InvalidParameterError(
                f"criterion must be 'kappa', 'loglik' or 'stack', got {self.criterion!r}"
            )
        check_positive_int("min_gold", self.min_gold)
        check_positive_int("large", self.large)
        check_positive_int("min_items", self.min_items)
        n_folds = check_positive_int("n_folds", self.n_folds)
        if n_folds < 2:
            raise InvalidParameterError(f"n_folds must be at least 2, got {self.n_folds!r}")
        return n_folds

    def _candidate_names(self, annotations: Annotations) -> tuple[list[str], dict[str, str]]:
        notes: dict[str, str] = {}
        if self.candidates is None:
            names = [m for m in DEFAULT_CANDIDATES if m == "vote" or m in METHODS]
            if annotations.n_annotations > self.large:
                slow = [m for m in names if m not in CHEAP]
                notes.update(
                    {
                        m: f"not tried: costly above {self.large:,} annotations (pass candidates= to force)"
                        for m in slow
                    }
                )
                names = [m for m in names if m in CHEAP]
        else:
            if isinstance(self.candidates, str):  # "mv,ds,onecoin", as the CLI's -p candidates=... passes it
                names = [name.strip() for name in self.candidates.split(",") if name.strip()]
            else:
                names = list(self.candidates)
            unknown = [m for m in names if m != "vote" and (m not in METHODS or m == "auto")]
            if unknown or not names:
                choices = ", ".join(["vote", *(m for m in METHODS if m != "auto")])
                raise InvalidParameterError(
                    f"unknown or invalid candidate(s) {unknown or names}; choose among {choices}"
                )
        names = list(dict.fromkeys(names))
        for m in names:
            cls = None if m == "vote" else METHODS[m]
            needs = tuple(getattr(cls, "requires", ()) or ())
            if not needs and getattr(cls, "requires_pred_probs", False):
                needs = ("pred_probs",)
            if needs:
                notes[m] = f"needs more than annotations ({', '.join(needs)})"
        return [m for m in names if m not in notes], notes

    # ------------------------------------------------------------------ fitting
    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        n_folds = self._check()
        names, notes = self._candidate_names(annotations)
        seed = int(rng.integers(2**31 - 1))
        gold_series = None
        if gold is not None:
            gold_series = pd.Series(
                np.asarray(annotations.classes, dtype=object)[gold[1]], index=annotations.items[gold[0]]
            )
        small = self._too_small(annotations)
        if small is not None:
            return self._fallback(annotations, small, gold_series, seed, names)
        judge_gold = gold if gold is not None and len(gold[0]) >= self.min_gold else None
        large = annotations.n_annotations > self.large
        loo = large and judge_gold is None and all(m in CHEAP for m in names)
        total_folds = n_folds * (2 if large else 1)
        repeats = 1 if large else int(np.clip(REPEAT_BUDGET // max(annotations.n_annotations, 1), 1, 3))
        splits = [] if loo else self._splits(annotations, total_folds, repeats, large, seed)
        with Progress(len(names) * (1 + len(splits)), "auto", enabled=self.progress) as bar:
            models, seconds = self._fit_full(names, annotations, seed, gold_series, notes, bar)
            if not models:
                return self._fallback(annotations, "every candidate failed", gold_series, seed, names, notes)
            if loo:
                probs, heldout_kappa, n_scored = _leave_one_out(models, annotations, seed)
                on_gold: dict[str, np.ndarray] = {}
            else:
                probs, heldout_kappa, on_gold, n_scored = self._cross_validate(
                    models, annotations, splits, seed, seconds, notes, judge_gold, bar
                )
        for name in list(models):
            if name in notes:
                del models[name]
        if not models:
            return self._fallback(annotations, "every candidate failed", gold_series, seed, names, notes)
        return self._judge(
            annotations,
            models,
            probs,
            heldout_kappa,
            on_gold,
            seconds,
            notes,
            judge_gold,
            n_scored,
            len(splits),
            total_folds,
            repeats,
        )

    @staticmethod
    def _splits(
        annotations: Annotations, n_folds: int, repeats: int, large: bool, seed: int
    ) -> list[np.ndarray]:
        """The visible-annotation masks: every fold of each of ``repeats`` hash assignments (one fold on large
        data)."""
        out = []
        for r in range(repeats):
            fold = annotation_folds(annotations, n_folds, salt=seed + r)
            out += [fold != f for f in ([0] if large else range(n_folds))]
        return out

    def _too_small(self, annotations: Annotations) -> str | None:
        sizes = annotations.item_sizes()
        if annotations.n_classes < 2:
            return f"a single class ({annotations.classes[0] if annotations.n_classes else 'none'})"
        if len(sizes) == 0 or sizes.max() <= 1:
            return (
                "every item has one label, so annotator skills cannot be estimated: each item keeps its "
                "label, with the prior skill (ShrunkVote a0 / (a0 + b0)) as its confidence"
            )
        evidence = typical_evidence(annotations)
        if annotations.n_items < self.min_items or evidence < float(self.min_overlap):
            return (
                f"data too small to estimate annotator skills ({annotations.n_items} items; the typical "
                f"annotation's annotator has {evidence:.0f} labels on items someone else labelled too, fewer "
                f"than {float(self.min_overlap):.0f}): majority vote weighted by skills shrunk toward a "
                "common prior (ShrunkVote)"
            )
        return None

    def _fallback(
        self,
        annotations: Annotations,
        why: str,
        gold: pd.Series | None,
        seed: int,
        names: list[str],
        notes: dict[str, str] | None = None,
    ) -> Consensus:
        """The result without a comparison: majority vote when skills cannot be learned at all, else
        :class:`ShrunkVote`."""
        notes = dict(notes or {})
        name = "mv" if why.startswith("a single class") else "vote"
        if why.startswith("every item has one label"):  # the label itself, with the prior skill as confidence
            model: Aggregator = ShrunkVote(learn=False).fit(annotations, gold=gold)
        else:
            model = _fit_quietly(name, seed, annotations, gold)
        rows = [
            {
                "method": m,
                "weight": float(m == name),
                "note": notes.get(m, "" if m == name else "not compared"),
            }
            for m in dict.fromkeys([name, *names, *notes])
        ]
        table = pd.DataFrame(rows).set_index("method")
        if notes and "failed" in why:
            why += ": " + "; ".join(f"{m} {note}" for m, note in notes.items()) + f"; fell back to {name}"
        self.models_ = {name: model}
        return self._finish_choice(annotations, model, name, why, table)

    def _fit_full(
        self,
        names: list[str],
        annotations: Annotations,
        seed: int,
        gold: pd.Series | None,
        notes: dict[str, str],
        bar: Progress,
    ) -> tuple[dict[str, Aggregator], dict[str, float]]:
        models: dict[str, Aggregator] = {}
        seconds: dict[str, float] = {}
        for name in names:
            bar.set_step(f"{name} (all data)")
            start = time.perf_counter()
            try:
                models[name] = _fit_quietly(name, seed, annotations, gold)
            except Exception as exc:  # a failing candidate is dropped, never raised: Auto must always answer
                notes[name] = _failure(exc)
            seconds[name] = time.perf_counter() - start
            bar.advance()
        return models, seconds

    def _cross_validate(
        self,
        models: dict[str, Aggregator],
        annotations: Annotations,
        splits: list[np.ndarray],
        seed: int,
        seconds: dict[str, float],
        notes: dict[str, str],
        gold: tuple[np.ndarray, np.ndarray] | None,
        bar: Progress,
    ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, np.ndarray], int]:
        """Predictive probability of every scored held-out label, the mean held-out kappa, and (with gold)
        the posterior that each fold's fit, made without the gold labels, gives the gold items -- per
        candidate."""
        probs: dict[str, list[np.ndarray]] = {name: [] for name in models}
        agree: dict[str, list[np.ndarray]] = {name: [] for name in models}
        on_gold: dict[str, list[np.ndarray]] = {name: [] for name in models}
        truth_parts, n_scored = [], 0
        for f, keep in enumerate(splits):
            visible = annotations.take(keep)
            seen = np.bincount(annotations.item[keep], minlength=annotations.n_items) > 0
            hidden = np.flatnonzero(~keep & seen[annotations.item])
            n_scored += len(hidden)
            truth_parts.append(annotations.label[hidden])
            for name in list(models):
                bar.set_step(f"{name} (fold {f + 1})")
                if name in notes:
                    bar.advance()
                    continue
                start = time.perf_counter()
                try:
                    model = _fit_quietly(name, seed, visible)
                    probs[name].append(heldout_likelihood(model, annotations, hidden))
                    agree[name].append(model.consensus_.label_codes[annotations.item[hidden]])
                    if gold is not None:
                        on_gold[name].append(model.consensus_.proba_array[gold[0]])
                except Exception as exc:  # dropped with a note, as in the full fit
                    notes[name] = _failure(exc) + f" on fold {f + 1}"
                seconds[name] += time.perf_counter() - start
                bar.advance()
        truth = np.concatenate(truth_parts) if truth_parts else np.zeros(0, dtype=np.int64)
        k = annotations.n_classes
        kappas = {
            name: kappa_with(np.concatenate(parts), truth, k)
            for name, parts in agree.items()
            if name not in notes and parts
        }
        return (
            {name: np.concatenate(parts) for name, parts in probs.items() if name not in notes and parts},
            kappas,
            {name: np.concatenate(parts) for name, parts in on_gold.items() if name not in notes and parts},
            n_scored,
        )

    # ------------------------------------------------------------------ deciding
    def _judge(
        self,
        annotations: Annotations,
        models: dict[str, Aggregator],
        probs: dict[str, np.ndarray],
        heldout_kappa: dict[str, float],
        on_gold: dict[str, np.ndarray],
        seconds: dict[str, float],
        notes: dict[str, str],
        gold: tuple[np.ndarray, np.ndarray] | None,
        n_scored: int,
        n_used: int,
        n_folds: int,
        repeats: int,
    ) -> Consensus:
        fitted = list(models)
        if n_scored == 0:  # nothing could be scored: no evidence either way
            probs = {name: np.ones(1) for name in fitted}
            heldout_kappa = {name: 0.0 for name in fitted}
        mv = break_ties(annotations.vote_counts(), "lowest")
        guard = {
            name: kappa_with(models[name].consensus_.label_codes, mv, annotations.n_classes)
            for name in fitted
        }
        classes = np.asarray(annotations.classes, dtype=object)
        table = self._score_table(fitted, probs, heldout_kappa, guard, seconds, notes)
        table["unrecognised"] = (
            pd.Series(
                {
                    name: ", ".join(
                        str(c)
                        for c in classes[
                            unrecognised_classes(models[name].consensus_.label_codes, annotations)
                        ]
                    )
                    for name in fitted
                }
            )
            .reindex(table.index)
            .fillna("")
        )
        if n_used == 0:
            judge = (
                f"{n_scored:,} held-out labels (leave-one-out: each label of an item with two or more, its "
                "own vote taken out of the item's posterior; large data, no refits)"
            )
        else:
            folds_text = (
                f"{n_folds}-fold held-out annotations, every one held out once"
                if n_used == n_folds
                else f"{n_folds}-fold held-out annotations, every one held out once in each of {repeats} "
                "hash assignments"
                if n_used == n_folds * repeats
                else f"1 of {n_folds} hash folds of the annotations (large data)"
            )
            judge = (
                f"{n_scored:,} held-out labels ({folds_text}; folds by a hash of the item and annotator ids)"
            )
        by_gold = bool(on_gold) and gold is not None
        heldout, heldout_judge = probs, judge
        if by_gold:
            assert gold is not None
            truth = np.tile(gold[1], n_used)
            probs = {name: rows[np.arange(len(truth)), truth] for name, rows in on_gold.items()}
            table["gold_loglik"] = pd.Series(
                {name: float(np.mean(np.log(np.maximum(p, LOG_FLOOR)))) for name, p in probs.items()}
            )
            table["gold_kappa"] = pd.Series(
                {
                    name: kappa_with(rows.argmax(axis=1), truth, annotations.n_classes)
                    for name, rows in on_gold.items()
                }
            )
            judge = f"{len(gold[0])} gold labels, each candidate fitted without them on {n_used} fold(s)"
            overruled = self._gold_is_clear(table, probs, len(gold[0]))
            if overruled:
                by_gold = False
                probs = heldout
                judge = f"{heldout_judge}; {overruled}"
        return self._decide(annotations, models, probs, table, judge, by_gold, notes)

    @staticmethod
    def _gold_is_clear(table: pd.DataFrame, on_gold: dict[str, np.ndarray], n_gold: int) -> str:
        """Empty when the gold labels clearly favour a candidate over the held-out labels' best one (its mean
        gold log-likelihood higher by more than :data:`STACK_MIN_SE` standard errors, over the gold items);
        else why the held-out labels judge instead. A few dozen gold labels are a small sample: without this,
        their choice is often worse than the held-out labels' (ducks, relevance with 50)."""
        fitted = table[
            (table["note"] == "") & ~table["degenerate"].astype(bool) & (table["unrecognised"] == "")
        ]
        fitted = fitted if len(fitted) else table[table["note"] == ""]
        names = [name for name in fitted.index if name in on_gold]
        if len(names) < 2 or n_gold < 2:
            return ""
        free = str(fitted.loc[names, "heldout_loglik"].idxmax())
        logs = {
            name: np.log(np.maximum(on_gold[name], LOG_FLOOR)).reshape(-1, n_gold).mean(axis=0)
            for name in names
        }
        best = max(names, key=lambda name: float(logs[name].mean()))
        diff = logs[best] - logs[free]
        se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
        if best == free or float(diff.mean()) > STACK_MIN_SE * se:
            return ""
        return (
            f"the {n_gold} gold labels do not clearly favour another candidate ({best} over {free} by "
            f"{diff.mean():.4f} +- {se:.4f} in gold log-likelihood), so the held-out labels judge"
        )

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
                    "seconds": seconds.get(name, float("nan")),
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
        judge: str,
        by_gold: bool,
        notes: dict[str, str],
    ) -> Consensus:
        fitted = table[table["note"] == ""]
        caught = fitted["degenerate"] | (fitted["unrecognised"] != "")
        if caught.all():  # every candidate is caught: set none aside rather than have nothing to choose from
            caught[:] = False
        usable = fitted.index[~caught].tolist()
        dropped = fitted.index[caught & fitted["degenerate"]].tolist()
        strange = fitted.index[caught & ~fitted["degenerate"]].tolist()
        compared = f"compared {', '.join(fitted.index)} on {judge}"
        if self.criterion == "stack" and len(usable) > 1:
            consensus = self._stack(annotations, models, probs, table, usable, compared)
        else:
            prefix = "gold" if by_gold else "heldout"
            keys = (
                [f"{prefix}_kappa", f"{prefix}_loglik"] if self.criterion == "kappa" else [f"{prefix}_loglik"]
            )
            ranked = table.loc[usable].sort_values(keys, ascending=False, kind="stable")
            consensus = self._select(annotations, models, table, ranked, keys[0], compared)
        extra = []
        if dropped:
            extra.append(
                f"set aside as collapsed or label-switched (kappa with majority vote < {self.min_kappa}): "
                f"{', '.join(dropped)}"
            )
        if strange:
            shown = ", ".join(f"{name} (class {table.loc[name, 'unrecognised']})" for name in strange)
            extra.append(
                "set aside because the annotators label the items it puts in a class with that class "
                f"less often than chance: {shown}"
            )
        extra += [f"{name} {note}" for name, note in notes.items()]
        guarded = self._guard_unchosen(annotations, consensus, models)
        if guarded:
            extra.append(
                f"{guarded} item(s) whose label no annotator gave, at confidence >= {UNCHOSEN_CONFIDENCE}, "
                f"with annotators who have fewer than {float(self.min_overlap):.0f} overlapping labels each, "
                "take the shrunk vote's posterior instead"
            )
        if extra:
            self.reason_ += "; " + "; ".join(extra)
        consensus.params["reason"] = self.reason_
        self.scores_ = table
        self.models_ = models
        self.weights_ = table["weight"].rename("weight")
        return consensus

    def _guard_unchosen(
        self, annotations: Annotations, consensus: Consensus, models: dict[str, Aggregator]
    ) -> int:
        """Items given, confidently, a label none of their annotators chose although none of those annotators
        has enough overlapping labels to be shown wrong: they take :class:`ShrunkVote`'s posterior (in place;
        the candidates' own arrays are not touched). Returns how many."""
        vote = models.get("vote")
        if vote is None or annotations.n_annotations == 0:
            return 0
        proba = consensus.proba_array
        counts = annotations.vote_counts()
        chosen = counts[np.arange(len(proba)), consensus.label_codes] > 0
        known = overlap_evidence(annotations)[annotations.annotator] >= float(self.min_overlap)
        vouched = np.bincount(annotations.item, weights=known.astype(np.float64), minlength=len(proba)) > 0
        bad = ~chosen & (proba.max(axis=1) >= UNCHOSEN_CONFIDENCE) & ~vouched
        if not bad.any():
            return 0
        proba = consensus.proba_array = proba.copy()
        proba[bad] = vote.consensus_.proba_array[bad]
        labels = consensus.label_codes = consensus.label_codes.copy()
        labels[bad] = proba[bad].argmax(axis=1)
        return int(bad.sum())

    def _select(
        self,
        annotations: Annotations,
        models: dict[str, Aggregator],
        table: pd.DataFrame,
        ranked: pd.DataFrame,
        key: str,
        compared: str,
    ) -> Consensus:
        best = str(ranked.index[0])
        what = "kappa with the held-out labels" if key.endswith("kappa") else "mean log-likelihood"
        reason = f"{compared}: {best} has the best {what} ({ranked.loc[best, key]:.4f}"
        if len(ranked) > 1:
            runner = str(ranked.index[1])
            reason += f"; next {runner} {ranked.loc[runner, key]:.4f}"
        reason += ")"
        return self._finish_choice(annotations, models[best], best, reason, table)

    def _finish_choice(
        self, annotations: Annotations, model: Aggregator, best: str, reason: str, table: pd.DataFrame
    ) -> Consensus:
        table.loc[best, "weight"] = 1.0
        self.chosen_, self.reason_ = best, reason
        self.scores_, self.weights_ = table, table["weight"].rename("weight")
        source = model.consensus_
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
        compared: str,
    ) -> Consensus:
        stacked = np.stack([probs[name] for name in usable], axis=1)
        # rows in a canonical order (by value), so that the float sums, and a near-tie below, cannot depend on
        # the order of the user's rows
        stacked = stacked[np.lexsort(stacked.T[::-1])]
        weights = stacking_weights(stacked)
        logs = np.log(np.maximum(stacked, LOG_FLOOR))
        best = int(np.argmax(logs.mean(axis=0)))
        gain = np.log(np.maximum(stacked @ weights, LOG_FLOOR)) - logs[:, best]
        se = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else np.inf
        if not float(gain.mean()) > STACK_MIN_SE * se:  # parsimony: a mixture must beat the best one clearly
            name = usable[best]
            reason = (
                f"{compared}: {name} alone, with the best mean log-likelihood ({logs[:, best].mean():.4f}); "
                f"stacking would gain {gain.mean():.4f} +- {se:.4f}, not clearly more"
            )
            return self._finish_choice(annotations, models[name], name, reason, table)
        table.loc[usable, "weight"] = weights
        proba = sum(w * models[name].consensus_.proba_array for w, name in zip(weights, usable, strict=True))
        proba = proba / proba.sum(axis=1, keepdims=True)
        pairs = sorted(zip(weights, usable, strict=True), reverse=True)
        shown = ", ".join(f"{name} {w:.2f}" for w, name in pairs if w >= 0.005)
        reason = (
            f"{compared}: posteriors stacked with weights {shown}, the mixture that predicts the held-out "
            "labels best"
        )
        self.chosen_, self.reason_ = "stack", reason
        return Consensus(annotations, proba, "Auto(stack)", params=self._params("stack", reason, table))

    def _params(self, chosen: str, reason: str, table: pd.DataFrame) -> dict[str, Any]:
        params = self.get_params()
        params.update(chosen=chosen, reason=reason, scores=table.reset_index().to_dict(orient="records"))
        return params


register("vote", ShrunkVote)
register("auto", Auto)
