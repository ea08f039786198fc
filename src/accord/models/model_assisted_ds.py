r"""Dawid-Skene with a classifier's predicted probabilities: as each item's prior, or as one more
annotator."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .._kernel.driver import EStep
from .._kernel.em import LOG_EPS, AnnotationMatrix, DSParams, Init, e_step, initial_posterior
from .._utils import check_nonneg_float
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from .crowdlab import PredProbsMixin
from .dawid_skene import DawidSkene, FullSteps, Smoothing

__all__ = ["ModelAssistedDawidSkene"]

Mode = Literal["prior", "annotator"]
MODEL_ANNOTATOR = "__model__"


def _with_model_annotator(
    annotations: Annotations, pred_probs: np.ndarray, weight: float
) -> tuple[Annotations, np.ndarray]:
    """The annotations plus one soft annotator: item ``i`` gets label ``l`` with weight ``weight * p[i,
    l]``."""
    n_items, k = pred_probs.shape
    a = annotations.n_annotators
    item = np.concatenate([annotations.item, np.repeat(np.arange(n_items), k)])
    annotator = np.concatenate([annotations.annotator, np.full(n_items * k, a)])
    label = np.concatenate([annotations.label, np.tile(np.arange(k), n_items)])
    weights = np.concatenate([np.ones(annotations.n_annotations), weight * pred_probs.ravel()])
    annotators = annotations.annotators.append(pd.Index([MODEL_ANNOTATOR]))
    return Annotations(item, annotator, label, annotations.items, annotators, annotations.classes), weights


class PriorSteps(FullSteps):
    """Dawid-Skene's pieces with a fixed log prior per item (``model_weight * log pred_probs``) in place of
    the shared class prior, which then plays no part in the E-step or the objective."""

    def __init__(self, matrix: AnnotationMatrix, smoothing: Smoothing, item_log_prior: np.ndarray) -> None:
        super().__init__(matrix, smoothing)
        self.item_log_prior = item_log_prior

    def e_step(self, params: DSParams) -> EStep:
        return EStep(*e_step(self.matrix, self.item_log_prior, np.log(params[1] + LOG_EPS)))

    def objective(self, params: DSParams, e: EStep) -> float:
        prior, theta = params
        return super().objective((np.ones_like(prior), theta), e)


class ModelAssistedDawidSkene(PredProbsMixin, DawidSkene):
    r"""Dawid-Skene that also uses a classifier's out-of-sample ``pred_probs`` (items x classes).

    Parameters
    ----------
    mode : {"prior", "annotator"}, default "prior"
        ``"prior"``: ``pred_probs[i]`` (raised to ``model_weight``) replaces the shared class prior as item
        ``i``'s prior. ``"annotator"``: the model is one more annotator with its own confusion matrix, whose
        "label" for item ``i`` is the soft vote ``pred_probs[i]`` (times ``model_weight``); its confusion
        matrix is learnt like any annotator's and reported as ``model_confusion_``.
    model_weight : float, default 1.0
        How much the model counts: the exponent of the prior, or the weight of the soft vote.
    alpha, diag_alpha, prior_alpha, init, min_iter, max_iter, tol, tie_break, keep_history, random_state
        As :class:`DawidSkene` (``initial_confusions`` is not supported here). That includes DawidSkene's
        stopping rule: labels and posteriors stable within ``tol``, or a relative objective gain of at
        most ``tol ** 2`` (``em_options()``; pass a ``tol`` below about ``3e-7`` for the posterior rule
        alone).

    Notes
    -----
    Prior mode, with ``lambda = model_weight``:

    .. math::

        p(t_i = k \mid \text{labels}) \propto p_{ik}^{\lambda} \prod_{n \in i} \theta_{a_n k l_n}

    (the classifier's ``p(y|x)`` already holds the class prior, so the shared prior ``pi`` is not used).
    Annotator mode adds a soft annotator ``m``:

    .. math::

        p(t_i = k \mid \cdot) \propto \pi_k \prod_{n \in i} \theta_{a_n k l_n}
        \prod_l \theta_{m k l}^{\lambda p_{il}},\qquad
        n_{mkl} = \lambda \sum_i \hat p_{ik}\, p_{il}

    Both are the EM kernel of :mod:`accord._kernel.em` with an item-level log prior or one extra weighted
    column block. Compare with :class:`~accord.models.crowdlab.CrowdLab` (a weighted ensemble).

    References
    ----------
    A. P. Dawid and A. M. Skene (1979). Maximum likelihood estimation of observer error-rates using the EM
    algorithm. Applied Statistics 28(1):20-28. V. C. Raykar et al. (2010). Learning from crowds. JMLR
    11:1297-1322 (a classifier learnt jointly with the annotators' confusions; here the classifier is fixed).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxy")})
    >>> p = pd.DataFrame({"x": [0.8, 0.2], "y": [0.2, 0.8]}, index=[1, 2])
    >>> ModelAssistedDawidSkene(mode="prior").fit(df, pred_probs=p).labels_.tolist()
    ['x', 'y']
    """

    name = "ds_model"
    model_name = "ModelAssistedDawidSkene"
    missing_hint = "items x classes; for plain Dawid-Skene use DawidSkene"

    def __init__(
        self,
        *,
        mode: Mode = "prior",
        model_weight: float = 1.0,
        alpha: float = 0.5,
        diag_alpha: float = 0.0,
        prior_alpha: float = 0.0,
        init: Init = "mv",
        min_iter: int = 1,
        max_iter: int = 100,
        tol: float = 1e-3,
        tie_break: str = "lowest",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        super().__init__(
            alpha=alpha,
            diag_alpha=diag_alpha,
            prior_alpha=prior_alpha,
            init=init,
            min_iter=min_iter,
            max_iter=max_iter,
            tol=tol,
            tie_break=tie_break,
            keep_history=keep_history,
            random_state=random_state,
        )
        del self.initial_confusions
        self.mode = mode
        self.model_weight = model_weight

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        if self.mode not in ("prior", "annotator"):
            raise InvalidParameterError(f"mode must be 'prior' or 'annotator', got {self.mode!r}")
        weight = check_nonneg_float("model_weight", self.model_weight)
        self._check_classes(annotations)
        smoothing = self._smoothing(annotations.n_classes)
        p = self._pred_probs
        steps: FullSteps
        if self.mode == "annotator":
            augmented, weights = _with_model_annotator(annotations, p, weight)
            steps = FullSteps(AnnotationMatrix(augmented, weights), smoothing)
        else:
            steps = PriorSteps(AnnotationMatrix(annotations), smoothing, weight * np.log(p + LOG_EPS))
        post = initial_posterior(annotations, self.init, gold, self.tie_break, rng)
        result = self._run(steps, post, gold)
        prior, theta = result.params
        self.model_confusion_ = None
        if self.mode == "annotator":
            self.model_confusion_ = pd.DataFrame(
                theta[-1],
                index=pd.Index(annotations.classes, name="true"),
                columns=pd.Index(annotations.classes, name="given"),
            )
            theta = theta[:-1]
            result.params = (prior, theta)
        return self._finish(annotations, result)
