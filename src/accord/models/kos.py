"""KOS: Karger-Oh-Shah iterative message passing for binary labels."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .._kernel.driver import HISTORY_COLUMNS, EMResult, EStep, run_em
from .._kernel.em import one_hot
from .._kernel.votes import break_ties
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator, renamed_n_iter

__all__ = ["KOS", "kos_messages"]


def _loo_sum(values: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """Leave-one-out segment sums: ``sum_{m: keys[m] = keys[n], m != n} values[m]`` for every ``n``."""
    return np.bincount(keys, weights=values, minlength=size)[keys] - values


def _rms_normalise(x: np.ndarray) -> np.ndarray:
    scale = np.sqrt(np.mean(x * x)) if len(x) else 0.0
    return x / scale if scale > 0 else x


def kos_messages(
    sign: np.ndarray,
    item: np.ndarray,
    annotator: np.ndarray,
    n_items: int,
    n_annotators: int,
    y: np.ndarray,
    n_iter: int,
) -> np.ndarray:
    """Run ``n_iter`` rounds of KOS message passing; return the annotator-to-item messages ``y`` (one per
    edge).

    ``sign[n]`` is +1 or -1 (the label of edge ``n``). Each round: ``x[n] = sum_{other edges m of the item}
    sign[m] y[m]`` then ``y[n] = sum_{other edges m of the annotator} sign[m] x[m]``, each rescaled to unit
    root-mean-square (the updates are linear, so signs are unchanged and nothing overflows).
    """
    for _ in range(n_iter):
        x = _rms_normalise(_loo_sum(sign * y, item, n_items))
        y = _rms_normalise(_loo_sum(sign * x, annotator, n_annotators))
    return y


class KosSteps:
    """KOS as driver pieces: the parameters are the annotator-to-item messages ``y``; the M-step is one round
    of message passing (its statistics are the fixed graph, so ``statistics`` returns nothing); the E-step
    turns the item scores into hard labels (an item scored 0 takes the majority vote)."""

    def __init__(self, annotations: Annotations, sign: np.ndarray, majority: np.ndarray) -> None:
        self.ann, self.sign, self.majority = annotations, sign, majority

    def statistics(self, post: np.ndarray) -> None:
        return None

    def m_step(self, stats: None, params: np.ndarray | None) -> np.ndarray:
        assert params is not None  # starts from the initial messages
        a = self.ann
        return kos_messages(self.sign, a.item, a.annotator, a.n_items, a.n_annotators, params, 1)

    def scores(self, y: np.ndarray) -> np.ndarray:
        """``score[i] = sum_{n in i} sign[n] y[n]``."""
        return np.bincount(self.ann.item, weights=self.sign * y, minlength=self.ann.n_items)

    def e_step(self, params: np.ndarray) -> EStep:
        score = self.scores(params)
        labels = np.where(score > 0, 0, np.where(score < 0, 1, self.majority))
        return EStep(one_hot(labels, 2), np.zeros(len(labels)), labels)

    def objective(self, params: np.ndarray, e: EStep) -> float:
        """KOS maximises nothing; the history records ``nan``."""
        return float("nan")


class KOS(IterativeAggregator):
    r"""KOS (Karger, Oh & Shah): iterative message passing on the item-annotator graph; binary labels only.

    Parameters
    ----------
    max_iter : int, default 100
        Rounds of message passing (``n_iter`` is its deprecated spelling).
    tol : float, default 0.0
        Stop once a round changes no label and ``tol > 0`` (0: always run ``max_iter`` rounds, as the paper
        and crowd-kit do; no ConvergenceWarning then).
    init : {"ones", "random"}, default "ones"
        Starting annotator messages: all 1 (deterministic; the first round is then a leave-one-out majority
        vote) or draws from Normal(1, 1) as in the paper and crowd-kit (from ``random_state``).
    tie_break : {"lowest", "random", "prior"}, default "lowest"
        An item whose score is exactly 0 (e.g. a single annotator, whose leave-one-out messages are empty)
        gets the majority vote with this tie rule.
    random_state : int, Generator or None

    Attributes
    ----------
    labels_, proba_, consensus_
    scores_ : Series
        ``score[i] = sum_{n in i} sign[n] y[n]``: positive for the first class, negative for the second; its
        magnitude is a confidence, **not** a probability.
    skills_ : Series
        Per annotator, the mean of its messages ``y`` (a reliability on an arbitrary scale).

    Notes
    -----
    With the two classes coded ``sign = +1`` (first class) and ``-1`` (second), each edge ``n = (i, a)``
    carries an item message ``x`` and an annotator message ``y``:

    .. math::

        x_{i \to a} = \sum_{a' \in \partial i \setminus a} A_{ia'} \, y_{a' \to i},\qquad
        y_{a \to i} = \sum_{i' \in \partial a \setminus i} A_{i'a} \, x_{i' \to a},\qquad
        \hat t_i = \operatorname{sign} \sum_{a \in \partial i} A_{ia} \, y_{a \to i}.

    KOS gives no calibrated probability: ``proba_`` is the hard decision (one-hot), and ``scores_`` keeps the
    real-valued score. The method assumes a random regular assignment graph; on poorly connected data its sign
    can be arbitrary (it then disagrees with majority vote on most items).

    References
    ----------
    D. R. Karger, S. Oh and D. Shah (2011). Iterative learning for reliable crowdsourcing systems. NIPS 24.
    D. R. Karger, S. Oh and D. Shah (2014). Budget-optimal task allocation for reliable crowdsourcing systems.
    Operations Research 62(1):1-24. doi:10.1287/opre.2013.1235

    Examples
    --------
    100 items, 5 labels each from 20 annotators who are right 80% of the time:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 2, size=100)
    >>> item = np.repeat(np.arange(100), 5)
    >>> annotator = np.concatenate([rng.choice(20, 5, replace=False) for _ in range(100)])
    >>> label = np.where(rng.random(500) < 0.8, truth[item], 1 - truth[item])
    >>> kos = KOS().fit(pd.DataFrame({"item": item, "annotator": annotator, "label": label}))
    >>> float(np.mean(kos.labels_.to_numpy() == truth))
    0.94

    On tiny graphs the messages can oscillate (the iteration matrix has complex leading eigenvalues), so the
    labels then depend on ``n_iter``; KOS is meant for large, randomly assigned item-annotator graphs.
    """

    name = "kos"

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 0.0,
        init: Literal["ones", "random"] = "ones",
        tie_break: str = "lowest",
        random_state: int | np.random.Generator | None = None,
        n_iter: int | None = None,
    ) -> None:
        self.max_iter = renamed_n_iter(n_iter, max_iter, "KOS")
        self.tol = tol
        self.init = init
        self.tie_break = tie_break
        self.random_state = random_state

    def _check(self, annotations: Annotations) -> int:
        if annotations.n_classes != 2:
            raise InvalidParameterError(
                f"KOS is for binary labels only; the data have {annotations.n_classes} classes "
                f"({list(annotations.classes)[:6]}). Use DawidSkene, OneCoinDawidSkene or MMSR for more "
                "classes"
            )
        if self.init not in ("ones", "random"):
            raise InvalidParameterError(f"init must be 'ones' or 'random', got {self.init!r}")
        return check_positive_int("max_iter", self.max_iter, minimum=0)

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        rounds = self._check(annotations)
        tol = check_nonneg_float("tol", self.tol)
        n = annotations.n_annotations
        sign = np.where(annotations.label == 0, 1.0, -1.0)
        y0 = np.ones(n) if self.init == "ones" else rng.normal(1.0, 1.0, size=n)
        mv = break_ties(annotations.vote_counts(), self.tie_break, rng)
        steps = KosSteps(annotations, sign, mv)
        first = steps.e_step(y0)
        if rounds == 0:  # no message passing: the scores of the starting messages
            result = EMResult(first.post, y0, first.log_z, 0, True, float("nan"), _empty_history())
        else:
            result = run_em(
                steps,
                first.post,
                max_iter=rounds,
                tol=tol,
                params=y0,
                history_bytes=0,
                warn=tol > 0,
                model="KOS",
            )
        return self._finish(annotations, steps, result, tol)

    def _finish(
        self, annotations: Annotations, steps: KosSteps, result: EMResult[np.ndarray], tol: float
    ) -> Consensus:
        y = result.params
        score = steps.scores(y)
        labels = np.asarray(result.post.argmax(axis=1))
        sizes = annotations.annotator_sizes()
        skill = np.divide(
            np.bincount(annotations.annotator, weights=y, minlength=annotations.n_annotators),
            sizes,
            out=np.zeros(annotations.n_annotators),
            where=sizes > 0,
        )
        self._store_run(result)
        last = float(result.history["max_delta"].iloc[-1]) if len(result.history) else 0.0
        self.converged_ = bool(result.converged or last <= tol)
        self.scores_ = pd.Series(score, index=annotations.items, name="score")
        self.skills_ = pd.Series(skill, index=annotations.annotators, name="skill")
        return Consensus(
            annotations,
            one_hot(labels, 2),
            "KOS",
            labels=labels,
            params=self.get_params(),
            history=self.history_,
            item_scores={"kos_score": score},
            annotator_scores={"kos_reliability": skill},
        )


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in HISTORY_COLUMNS})
