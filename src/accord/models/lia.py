"""LIA: learning from imperfect annotations end to end (Platanios et al.).

A classifier of the truth ``h(x)`` on the items' features is trained inside EM together with per-item
difficulty and per-annotator competence tensors, so that the model (a) uses the features to aggregate, (b)
needs fewer labels per item, (c) labels new, unannotated items, and (d) predicts how well a given annotator
will do on a given item (which :meth:`LIA.assign` uses to route items). Gradients come from JAX and optax
(``pip install 'accord[learn]'``), imported when a LIA model is fitted.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._kernel.driver import EStep, clamp, run_em
from .._kernel.ids import match_index
from .._kernel.votes import vote_shares
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from ._base import IterativeAggregator, check_no_positional
from ._lia_net import NEG, LiaConfig, LiaNetwork, pad_rows, padded_size
from ._lia_text import TextFeatures
from .registry import register

__all__ = ["LIA", "FeatureScaler", "TextFeatures", "align_features"]

MISSING_FEATURES = ("error", "embed")
MIN_FOLD_ITEMS = 20  # cross-fitting needs this many items per fold (on 30 WordSim items, 5 folds fail)
PAIR_CELLS_MAX = 50_000_000  # largest items x annotators x K^2 table confusion() / assign() build at once
OUTCOMES_MAX = 4096  # assign(): joint outcomes enumerated per item before its gain is taken as exhausted


def _show(values: Any, limit: int = 5) -> str:
    values = list(values)
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(repr(v) for v in values[:limit]) + more


def _numeric_frame(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise InvalidAnnotationsError(
            f"{what} must have numeric columns only; these are not: {_show(bad)} (drop them, or build "
            "numeric features first, e.g. with accord.models.lia.TextFeatures for texts)"
        )
    return frame


def align_features(
    features: Any, ids: pd.Index, what: str, key: str
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Rows of ``features`` for ``ids``: ``(x, missing, columns)``.

    ``features`` is a DataFrame indexed by id (or with a ``key`` column, e.g. ``item``), or an array whose
    rows follow ``ids``. ``missing[i]`` is True when id ``i`` has no row or a row with a missing value (its
    row of ``x`` is then 0).
    """
    if isinstance(features, pd.DataFrame):
        frame = features.set_index(key) if key in features.columns else features
        if frame.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"{what} has repeated {key} ids: {_show(frame.index[frame.index.duplicated()].unique())}"
            )
        frame = _numeric_frame(frame, what)
        rows = match_index(ids, pd.Index(frame.index))
        values = frame.to_numpy(dtype=np.float64)
        x = np.where(rows[:, None] >= 0, values[np.maximum(rows, 0)], 0.0) if len(values) else None
        if x is None:
            raise InvalidAnnotationsError(f"{what} is empty")
        columns = pd.Index(frame.columns)
    else:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) != len(ids):
            raise InvalidAnnotationsError(
                f"{what} has shape {x.shape} but there are {len(ids)} {key}s; pass one row per {key} in the "
                f"order of the annotations' {key}s, or a DataFrame indexed by {key} id"
            )
        rows = np.arange(len(ids))
        columns = pd.RangeIndex(x.shape[1])
    missing = (rows < 0) | ~np.isfinite(x).all(axis=1)
    x = np.where(missing[:, None], 0.0, x)
    return x, missing, columns


class FeatureScaler:
    """Column standardisation fitted on the training rows, reapplied to new rows (constant columns kept at 0),
    then, for more than ``max_features`` columns, the projection on the first principal axes, divided by one
    common scale so that the projected columns have unit mean variance (their relative spread is kept: the
    leading axes stay the strongest inputs)."""

    def __init__(self, x: np.ndarray, max_features: int | None = None) -> None:
        self.mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
        std = x.std(axis=0) if len(x) else np.ones(x.shape[1])
        self.scale = np.where(std > 1e-12, std, 1.0)
        self.axes: np.ndarray | None = None
        if max_features is not None and x.shape[1] > max_features and len(x):
            self.axes = principal_axes((x - self.mean) / self.scale, max_features)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != len(self.mean):
            raise InvalidAnnotationsError(
                f"got {x.shape[1]} feature columns, the model was fitted with {len(self.mean)}"
            )
        z = (x - self.mean) / self.scale
        return (z if self.axes is None else z @ self.axes).astype(np.float32)


def principal_axes(z: np.ndarray, limit: int) -> np.ndarray:
    """The first ``limit`` principal axes of the centred rows ``z`` (columns), scaled by one common factor so
    that the projections have unit mean variance; from the smaller of the two Gram matrices (a wide matrix of
    a few hundred rows costs milliseconds, not a full SVD).

    >>> z = np.random.default_rng(0).normal(size=(20, 50)) * np.arange(1, 51)
    >>> axes = principal_axes(z - z.mean(axis=0), 5)
    >>> axes.shape, round(float(((z - z.mean(axis=0)) @ axes).var(axis=0).mean()), 6)
    ((50, 5), 1.0)
    """
    n, m = z.shape
    if n < m:
        values, vectors = np.linalg.eigh(z @ z.T)
        order = np.argsort(values)[::-1][:limit]
        values = np.maximum(values[order], 0.0)
        keep = values > values[0] * 1e-10 if len(values) and values[0] > 0 else np.zeros(len(values), bool)
        axes = z.T @ (vectors[:, order[keep]] / np.sqrt(values[keep]))
    else:
        values, vectors = np.linalg.eigh(z.T @ z)
        order = np.argsort(values)[::-1][:limit]
        values = np.maximum(values[order], 0.0)
        keep = values > values[0] * 1e-10 if len(values) and values[0] > 0 else np.zeros(len(values), bool)
        axes = vectors[:, order[keep]]
        values = values[keep]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    axes = axes * np.where(signs == 0, 1.0, signs)
    variance = values.mean() / max(n, 1) if len(values) else 1.0
    return axes / np.sqrt(variance if variance > 0 else 1.0)


def item_folds(x: np.ndarray | None, n_folds: int) -> np.ndarray:
    """Each item's cross-fitting fold, from its feature row alone (never its id or position, so that renaming
    the items or reordering them keeps every fold): items ranked by a pseudo-random key of their row, dealt
    out in turn.

    >>> x = np.arange(12.0).reshape(6, 2)
    >>> folds = item_folds(x, 3)
    >>> sorted(np.bincount(folds).tolist()), bool((item_folds(x[::-1], 3) == folds[::-1]).all())
    ([2, 2, 2], True)
    """
    if x is None or n_folds <= 1:
        return np.zeros(0 if x is None else len(x), np.int32)
    rows = np.asarray(x, np.float64)
    keys = np.sin(rows @ np.random.default_rng(0).normal(size=rows.shape[1]) * 1e3)  # a pseudo-random key
    order = np.lexsort((np.arange(len(rows)), keys))
    folds = np.empty(len(rows), np.int32)
    folds[order] = np.arange(len(rows)) % n_folds
    return folds


class LiaSteps:
    """LIA's pieces for the EM driver: the statistics are the posterior itself; the M-step runs gradient
    steps on the network, warm-started from the previous M-step; the E-step is exact (eq. 4)."""

    def __init__(self, net: LiaNetwork, n_steps: int) -> None:
        self.net, self.n_steps = net, n_steps

    def statistics(self, post: np.ndarray) -> np.ndarray:
        return post

    def m_step(self, stats: np.ndarray, params: dict[str, Any] | None) -> dict[str, Any]:
        self.net.em_steps(stats, self.n_steps)
        return self.net.params

    def e_step(self, params: dict[str, Any]) -> EStep:
        post, log_z = self.net.e_step()
        return EStep(post, log_z)

    def objective(self, params: dict[str, Any], e: EStep) -> float:
        return float(e.log_z.sum())


def _hidden(name: str, value: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{name} must be a tuple of layer widths, e.g. (16, 16); got {value!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise InvalidParameterError(f"{name} widths must be >= 1; got {value!r}")
    return sizes


class LIA(IterativeAggregator):
    r"""Learning from imperfect annotations: a classifier of the truth trained end to end with EM.

    Parameters
    ----------
    hidden : tuple of int, default ()
        Hidden layer widths of the truth network ``h`` (an MLP with SELU activations); ``()``, the default,
        makes it linear (multinomial logistic regression on the scaled features). The paper's networks,
        ``(16, 16, 16, 16)``, are two to three times slower; on BlueBirds's image features they are 1.5-3
        points less accurate at 2-5 labels per item, on RTE's text features (whose pair features interact)
        4 points more accurate at 3 labels per item and equal from 5 on.
    difficulty_hidden : tuple of int, optional
        Hidden widths of the difficulty network ``d``; default: ``hidden``.
    latent_dim : int, default 4
        ``L``, the depth of the difficulty and competence tensors.
    annotator_dim : int, default 16
        Size of the learned annotator embeddings (ignored with ``annotator_features``).
    item_embeddings : bool, default False
        LIA-E: learn an embedding of size ``item_embedding_dim`` per item instead of reading features.
    item_embedding_dim : int, default 16
    missing_features : {"error", "embed"}, default "error"
        What to do when some annotated items have no feature row: raise, or fall back to LIA-E (with a
        :class:`~accord.DataQualityWarning`).
    max_iter : int, default 10
        EM iterations (the paper's 10).
    tol : float, default 0.0
        With ``tol > 0`` EM stops once no posterior probability moves by more than ``tol`` (and warns with a
        :class:`~accord.ConvergenceWarning` when ``max_iter`` comes first); the default ``0`` runs the fixed
        schedule of ``max_iter`` iterations, as the paper does (the M-step is a fixed number of gradient
        steps, so posteriors keep moving slightly), and ``converged_`` is then False.
    m_step_iter : int, default 200
        Full-batch AMSGrad steps per M-step, warm-started from the previous M-step's parameters.
    fine_tune_iter : int, default 200
        AMSGrad steps on the marginal likelihood after EM (the paper's fine-tuning, eq. 9; 0 skips it).
    fine_tune_min_labels : int, default 10
        The fine-tuning runs only when the median annotator has at least this many labels. With fewer it
        fits each competence to a handful of labels: 400 items with 8 random features, 2 labels each from
        200 annotators right 75 % of the time (4 labels per annotator), 4 seeds: 56.0 / 48.0 / 75.5 / 77.8 %
        with 200 steps, 70.8 / 70.8 / 75.5 / 76.3 % without, majority vote 74.3 / 75.3 / 75.3 / 76.8 %. With
        many it is what lifts BlueBirds at 20 labels per item (55 per annotator): 87.6 % without (10 runs),
        90.9 % with (5 runs). Freezing the competences during the fine-tuning gave 68.5 / 68.0 % on the
        synthetic data and 88.7 % on BlueBirds at 20. Where the features determine the truth and each item
        has one label (16 per annotator), the fine-tuning is what lets ``h(x)`` overrule that label: EM alone
        learns one over-confident shared competence from the vote-share start and returns the vote.
    learning_rate : float, default 0.01
    weight_decay : float, default 0.01
        L2 penalty on the weights of the difficulty and competence maps and on the learned embeddings (their
        loss is a mean over annotations).
    truth_decay : float, default 0.01
        L2 penalty on the truth network's weights (its loss is a mean over the training items). Much larger
        values flatten a multi-layer ``h`` to a constant (0.1 already does on BlueBirds); much smaller ones
        let ``h`` follow the few labels of low-redundancy data to the label-swapped solution.
    cross_fit : int, default 5
        Folds of items for the truth network: ``h_f`` is trained on the items outside fold ``f`` and is the
        prior of the items inside it (folds from the feature rows, never the ids), so an item's own labels
        never reach its prior twice; ``predict_proba`` averages the folds' networks. ``1`` trains one network
        on every item (the paper's scheme), which makes the posterior nearly certain of every item. Folds keep
        at least 20 items (fewer items: one network; on WordSim's 30 items 5 folds gave 54 % at 2 labels per
        item, one network 86 %).
    competence_penalty : float, optional
        L2 penalty on how far each annotator's competence tensor is from the shared one (their mean),
        ``lambda_c / 2 sum_j ||C_j - mean C||^2`` on the log-likelihood scale; default ``K^2 / 4``,
        minimax conditional entropy's annotator penalty. An annotator with few labels keeps the shared
        competence, so at low redundancy LIA becomes a vote weighted by one competence learned from all
        annotators, with ``h(x)`` as the prior; annotators with many labels get their own.
    shared_competence_penalty : float, default 0.02
        L2 penalty on the shared competence tensor, ``lambda_s / 2 A ||mean C||^2`` (``A`` annotators). The
        former default put ``lambda_c = K^2 / 12`` on ``||C_j||^2`` itself, which pulls every annotator
        towards chance, not towards the others: on RTE at 2 labels per item (annotators with about 10
        labels each) that gave 68.8 % against 73.2 % for majority vote.
    difficulty_penalty : float, optional
        L2 penalty on how far each item's difficulty tensor is from the mean one, ``lambda_d / 2 sum_i ||D_i -
        mean D||^2``; default ``lambda_c * mean items per annotator / mean annotators per item``. It keeps
        ``d(x)`` from explaining each item's votes by itself.
    prior_temperature : float or "auto", default "auto"
        The prior of item ``i`` is ``softmax(tau log h(x_i))``. ``"auto"``: after every E-step ``tau`` in
        ``[0, 1]`` maximises the marginal likelihood of the annotations, ``sum_i log sum_k softmax(tau log
        h(x_i))_k prod_j [Q_ij]_{k y_ij}``; with cross-fitting the prior of an item never saw its labels, so
        this is a held-out choice of how far to trust the features (``tau`` near 0 when they say nothing, and
        the fit is then the annotations' alone). Without cross-fitting (fewer than 40 items) ``tau = 1``. A
        number fixes ``tau``.
    max_features : int or None, default 256
        Wider standardised feature matrices are projected on their first ``max_features`` principal axes,
        scaled to unit mean variance (exact when there are no more items than that: the projection is then a
        rotation of the items' span).
    random_state : int, Generator or None
        Seeds the starting weights; a fit is deterministic for a given seed.

    Attributes
    ----------
    labels_, proba_, consensus_
    confusions_ : Confusions
        Each annotator's confusion matrix averaged over the items they labelled (``Q_ij`` per pair is
        :meth:`confusion`).
    competence_ : Series
        Each annotator's expected accuracy under ``confusions_`` and the fitted class distribution.
    n_iter_, converged_, history_ (one row per EM iteration, then, with ``fine_tune_iter``, one ``stage =
    "fine_tune"`` row), log_likelihood_ (marginal log-likelihood at the end), snapshots_, fine_tune_iter_
    (the fine-tuning steps taken: ``fine_tune_iter``, or 0 as ``fine_tune_min_labels`` says).
    prior_temperature_ : float
        The temperature ``tau`` of the truth prior in the last E-step (see ``prior_temperature``); it also
        tempers ``h(x)`` as the starting posterior of new items in :meth:`assign` (:meth:`predict_proba`
        returns ``h(x)`` itself).

    Notes
    -----
    Items have features ``x_i`` and annotators representations ``r_j`` (learned embeddings, or the rows of
    ``annotator_features``). The model is

    .. math::

        P(t_i = k) = h_\theta(x_i)_k, \qquad
        P(y_{ij} = l \mid t_i = k) = [Q_{ij}]_{kl}
            = \operatorname{softmax}_l \Bigl(\sum_{z=1}^{L} [D_i]_{klz} [C_j]_{klz}\Bigr),

    with the difficulty tensor ``D_i = d_phi(x_i)`` (an MLP) and the competence tensor ``C_j = c_psi(r_j)``
    (linear), both ``K x K x L``. EM alternates the exact E-step
    ``post[i, k] ∝ h(x_i)_k prod_{j in M_i} [Q_ij]_{k, y_ij}`` and an M-step that raises the expected complete
    log-likelihood

    .. math::

        \sum_i \sum_k \mathrm{post}_{ik} \Bigl(\log h_\theta(x_i)_k
            + \sum_{j \in M_i} \log [Q_{ij}]_{k y_{ij}} \Bigr)

    by ``m_step_iter`` AMSGrad steps from the previous parameters. The first E-step is replaced by the vote
    shares (symmetry breaking: most annotators are right most of the time). After EM, ``fine_tune_iter`` steps
    maximise the marginal likelihood ``sum_i log sum_k h(x_i)_k prod_j [Q_ij]_{k y_ij}`` from the EM solution.
    Each step costs O(items x network + annotations x K^2 L): the rows ``D_i`` and ``C_j`` of every
    annotation are gathered, the per-item sums are segment sums.

    Departures from the paper, each measured (``benchmarks/lia_tuning.py``):

    - Cross-fitting (``cross_fit`` folds ``F``): ``h`` is ``F`` networks; ``h_f`` is fitted on the items
      outside fold ``f`` (the truth term of the M-step is
      ``sum_f sum_{i not in f} sum_k post_ik log h_f(x_i)_k``, and likewise in the fine-tuning) and is the
      prior of the items in fold ``f``. With one network trained on every item, ``h`` learns each item's
      posterior and then multiplies it in again as its prior: on one BlueBirds subsample of 5 labels per
      item the mean confidence was 0.995 at 74 % accuracy and ``assign(50)`` found 12 pairs worth 0.13
      items in all; cross-fitted, 0.918 at 86 % and 50 pairs worth 3.9 items.
    - Competences shrink towards their shared value, not towards chance (``competence_penalty`` on
      ``C_j - mean C``, a weak ``shared_competence_penalty`` on ``mean C``): where annotators have few
      labels their competences cannot be learned, and LIA then weighs every label alike, like a majority
      vote whose ties and near-ties the features break. RTE at 2 labels per item (5 runs): 78.4 % against
      68.8 % for the penalty towards chance and 73.5 % for majority vote; BlueBirds at 20 labels 90.9
      against 89.2.
    - The prior's temperature (``prior_temperature="auto"``) is chosen by the marginal likelihood of the
      annotations given the cross-fitted priors, in ``[0, 1]``: where the features are weak (RTE's local
      text features: ``tau`` 0.4-0.8) the annotations count for more; never above 1 (a sharper prior fitted
      on BlueBirds went to the bound and lost 2.5 points at 5 labels per item; on WordSim's 30 items, one
      network without cross-fitting, it lost 3.3 points at 10 labels).
    - Separate penalties: ``truth_decay`` for ``h`` per training item, ``weight_decay`` for the rest per
      annotation (one decay per annotation flattened a multi-layer ``h`` to a constant on BlueBirds).
    - Features are standardised, projected on at most ``max_features`` principal axes and scaled to unit mean
      variance; the same map is applied by :meth:`predict_proba`.
    - Starts that treat every class, item and annotator alike: the class-indexed output layers start at zero
      (``h`` uniform, ``D`` constant, ``C`` the same diagonal-favouring tensor for all), learned embeddings
      start at zero, and the folds come from the feature rows, so renaming classes, items or annotators, or
      reordering the rows, gives the same fit up to float32 rounding.
    - Shapes (items, annotators, annotations, feature columns) are padded to a few bucket sizes with
      zero-weight rows, so that similar data sets reuse one compiled program; the programs are also kept
      on disk (JAX's persistent compilation cache, in ``~/.cache/accord/jax`` unless
      ``JAX_COMPILATION_CACHE_DIR`` or ``ACCORD_LIA_CACHE`` says otherwise; ``ACCORD_LIA_CACHE=off``
      disables it), so that a new process does not compile a shape again.

    Measured with ``benchmarks/lia_table2.py --runs 10`` (the paper's protocol, defaults) on BlueBirds with
    the authors' VGG16 fc2 features (the paper used ResNet-101 features): accuracy 76.9 / 82.1 / 82.5 / 89.5 /
    90.7 % at 2 / 5 / 10 / 20 / 39 labels per item (paper 71.5 / 76.2 / 83.1 / 90.0 / 93.0; majority vote
    63.2 / 71.9 / 73.1 / 77.2 / 75.9); RTE with local text features 78.4 / 89.0 / 93.0 at 2 / 5 / 10
    (paper, BERT features, 78.0 / 89.1 / 93.1; majority vote 73.2 / 84.6 / 89.6); 1-16 s per fit after
    compilation. What the BlueBirds features allow: a logistic regression trained on the GOLD labels reaches
    75-81 % out of fold, and at 39 labels per item the annotation-only models give 89.8 (Dawid-Skene) and
    91.7 (minimax conditional entropy, :class:`~accord.models.mmce.MMCE`, the better choice from 20 labels
    per item on); even multiplying MMCE's posterior by that gold-trained classifier, with the best
    temperature chosen on gold, reaches 93.5 %.

    References
    ----------
    E. A. Platanios, M. Al-Shedivat, E. Xing and T. Mitchell (2020). Learning from imperfect annotations.
    arXiv:2004.03473. https://arxiv.org/abs/2004.03473
    S. J. Reddi, S. Kale and S. Kumar (2018). On the convergence of Adam and beyond. ICLR.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from accord.models.lia import LIA
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(60, 3))
    >>> truth = (x[:, 0] > 0).astype(int)
    >>> rows = [(i, a, truth[i] if rng.random() < 0.8 else 1 - truth[i]) for i in range(60) for a in "abc"]
    >>> df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    >>> model = LIA(hidden=(), m_step_iter=50, fine_tune_iter=50, random_state=0).fit(df, features=x)
    >>> bool((model.labels_.to_numpy() == truth).mean() > 0.9)
    True
    >>> model.predict(np.array([[2.0, 0, 0], [-2.0, 0, 0]])).tolist()
    [1, 0]
    """

    name = "lia"
    model_name = "LIA"
    requires: ClassVar[tuple[str, ...]] = ("features",)
    accepts: ClassVar[tuple[str, ...]] = ("gold", "features", "annotator_features")

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (),
        difficulty_hidden: tuple[int, ...] | None = None,
        latent_dim: int = 4,
        annotator_dim: int = 16,
        item_embeddings: bool = False,
        item_embedding_dim: int = 16,
        missing_features: str = "error",
        max_iter: int = 10,
        tol: float = 0.0,
        m_step_iter: int = 200,
        fine_tune_iter: int = 200,
        fine_tune_min_labels: int = 10,
        learning_rate: float = 0.01,
        weight_decay: float = 0.01,
        truth_decay: float = 0.01,
        cross_fit: int = 5,
        competence_penalty: float | None = None,
        shared_competence_penalty: float = 0.02,
        difficulty_penalty: float | None = None,
        prior_temperature: float | str = "auto",
        max_features: int | None = 256,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.hidden = hidden
        self.difficulty_hidden = difficulty_hidden
        self.latent_dim = latent_dim
        self.annotator_dim = annotator_dim
        self.item_embeddings = item_embeddings
        self.item_embedding_dim = item_embedding_dim
        self.missing_features = missing_features
        self.max_iter = max_iter
        self.tol = tol
        self.m_step_iter = m_step_iter
        self.fine_tune_iter = fine_tune_iter
        self.fine_tune_min_labels = fine_tune_min_labels
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.truth_decay = truth_decay
        self.cross_fit = cross_fit
        self.competence_penalty = competence_penalty
        self.shared_competence_penalty = shared_competence_penalty
        self.difficulty_penalty = difficulty_penalty
        self.prior_temperature = prior_temperature
        self.max_features = max_features
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        annotations: Annotations | pd.DataFrame,
        *args: Any,
        features: Any = None,
        annotator_features: Any = None,
        gold: Any = None,
    ) -> LIA:
        """Fit on the annotations and the items' features.

        Parameters
        ----------
        annotations : Annotations or DataFrame
        features : DataFrame indexed by item id (or with an ``item`` column), or array in
            ``annotations.items`` order, keyword-only
            Numeric item features (e.g. image embeddings, or :class:`~accord.models.lia.TextFeatures`
            of the item texts). Not needed with ``item_embeddings=True``.
        annotator_features : DataFrame indexed by annotator id (or with an ``annotator`` column), or array in
            ``annotations.annotators`` order, optional, keyword-only
            Numeric descriptions of the annotators; the competence is then a function of them, so that
            :meth:`confusion` and :meth:`assign` can answer for annotators never seen in training.
        gold : Series (item -> label), optional, keyword-only
            Known labels, clamped during fitting.
        """
        check_no_positional(self, args)
        self._features_in = features
        self._annotator_features_in = annotator_features
        try:
            super().fit(annotations, gold=gold)
        finally:
            del self._features_in, self._annotator_features_in
        return self

    def _check_params(self) -> None:
        _hidden("hidden", self.hidden)
        if self.difficulty_hidden is not None:
            _hidden("difficulty_hidden", self.difficulty_hidden)
        for name in ("latent_dim", "annotator_dim", "item_embedding_dim"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("m_step_iter", self.m_step_iter)
        check_positive_int("fine_tune_iter", self.fine_tune_iter, minimum=0)
        check_positive_int("fine_tune_min_labels", self.fine_tune_min_labels, minimum=0)
        if check_nonneg_float("learning_rate", self.learning_rate) <= 0:
            raise InvalidParameterError("learning_rate must be > 0")
        check_nonneg_float("weight_decay", self.weight_decay)
        check_nonneg_float("truth_decay", self.truth_decay)
        check_positive_int("cross_fit", self.cross_fit)
        check_nonneg_float("shared_competence_penalty", self.shared_competence_penalty)
        if not (isinstance(self.prior_temperature, str) and self.prior_temperature == "auto"):
            if isinstance(self.prior_temperature, str):
                raise InvalidParameterError(
                    f"prior_temperature must be 'auto' or a number >= 0, got {self.prior_temperature!r}"
                )
            check_nonneg_float("prior_temperature", self.prior_temperature)
        if self.missing_features not in MISSING_FEATURES:
            raise InvalidParameterError(
                f"missing_features must be one of {MISSING_FEATURES}, got {self.missing_features!r}"
            )

    def _item_inputs(self, ann: Annotations) -> np.ndarray | None:
        """Standardised item features, or None for LIA-E (asked for, or the fallback for missing features)."""
        features = self._features_in
        if self.item_embeddings:
            return None
        if features is None:
            raise InvalidParameterError(
                "LIA needs item features: fit(annotations, features=...) with a DataFrame indexed by item id "
                "(accord.io.read_features reads CSV, Parquet or .npy files), or LIA(item_embeddings=True) to "
                "learn item embeddings instead (LIA-E)"
            )
        x, missing, columns = align_features(features, ann.items, "features", "item")
        if missing.any():
            if self.missing_features == "error":
                raise InvalidAnnotationsError(
                    f"features has no complete row for {int(missing.sum())} of {ann.n_items} annotated "
                    f"item(s): {_show(ann.items[missing])}; add them, or pass LIA(missing_features='embed') "
                    "to learn item embeddings instead (LIA-E)"
                )
            warnings.warn(
                f"features has no complete row for {int(missing.sum())} of {ann.n_items} annotated item(s) "
                f"({_show(ann.items[missing])}); LIA falls back to learned item embeddings (LIA-E), and "
                "predict_proba on new items is not available",
                DataQualityWarning,
                stacklevel=4,
            )
            return None
        self.feature_names_ = columns
        limit = None if self.max_features is None else check_positive_int("max_features", self.max_features)
        self.scaler_ = FeatureScaler(x, limit)
        return self.scaler_(x)

    def _annotator_inputs(self, ann: Annotations) -> np.ndarray | None:
        if self._annotator_features_in is None:
            return None
        r, missing, columns = align_features(
            self._annotator_features_in, ann.annotators, "annotator_features", "annotator"
        )
        if missing.any():
            raise InvalidAnnotationsError(
                f"annotator_features has no complete row for {int(missing.sum())} annotator(s): "
                f"{_show(ann.annotators[missing])}; describe every annotator of the annotations"
            )
        self.annotator_feature_names_ = columns
        self.annotator_scaler_ = FeatureScaler(r)
        return self.annotator_scaler_(r)

    def _penalties(self, ann: Annotations) -> tuple[float, float]:
        lam_c = ann.n_classes**2 / 4
        if self.competence_penalty is not None:
            lam_c = check_nonneg_float("competence_penalty", self.competence_penalty)
        per_annotator = ann.annotator_sizes()
        per_item = ann.item_sizes()
        ratio = per_annotator[per_annotator > 0].mean() / per_item[per_item > 0].mean()
        lam_d = lam_c * float(ratio) if self.difficulty_penalty is None else self.difficulty_penalty
        return lam_c, check_nonneg_float("difficulty_penalty", lam_d)

    def _config(self, ann: Annotations, x: np.ndarray | None, r: np.ndarray | None) -> LiaConfig:
        hidden = _hidden("hidden", self.hidden)
        diff = (
            hidden if self.difficulty_hidden is None else _hidden("difficulty_hidden", self.difficulty_hidden)
        )
        return LiaConfig(
            n_classes=ann.n_classes,
            latent_dim=int(self.latent_dim),
            hidden=hidden,
            difficulty_hidden=diff,
            item_dim=int(self.item_embedding_dim) if x is None else padded_size(x.shape[1], 4),
            item_embeddings=padded_size(ann.n_items) if x is None else 0,
            annotator_dim=int(self.annotator_dim) if r is None else r.shape[1],
            annotator_embeddings=padded_size(ann.n_annotators) if r is None else 0,
            n_folds=self._n_folds(ann, x),
        )

    def _n_folds(self, ann: Annotations, x: np.ndarray | None) -> int:
        """Cross-fitted truth networks: ``cross_fit``, with at least ``MIN_FOLD_ITEMS`` items per fold (else
        one network), and 1 for LIA-E."""
        if x is None:
            return 1
        return max(1, min(int(self.cross_fit), ann.n_items // MIN_FOLD_ITEMS))

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        self._check_params()
        ann = annotations
        if ann.n_classes < 2:
            raise InvalidParameterError(
                f"LIA needs at least 2 classes; the data have {ann.n_classes} ({list(ann.classes)}). Pass "
                "classes=... when building the Annotations"
            )
        for name in ("feature_names_", "scaler_", "annotator_feature_names_", "annotator_scaler_"):
            self.__dict__.pop(name, None)
        x = self._item_inputs(ann)
        r = self._annotator_inputs(ann)
        self.competence_penalty_, self.difficulty_penalty_ = self._penalties(ann)
        cfg = self._config(ann, x, r)
        arrays = self._arrays(ann, x, r, cfg, gold)
        net = LiaNetwork.build(
            cfg, arrays, seed=int(rng.integers(2**31 - 1)), n_items=ann.n_items, n_annotators=ann.n_annotators
        )
        net.fit_temperature = self.prior_temperature == "auto" and cfg.n_folds > 1
        net.temperature = 1.0 if self.prior_temperature == "auto" else float(self.prior_temperature)
        start = vote_shares(ann.vote_counts())  # eq. 8: the first E-step is the vote share
        result = run_em(
            LiaSteps(net, int(self.m_step_iter)),
            start,
            max_iter=self.max_iter,
            tol=self.tol,
            gold=gold,
            model=self.model_name,
            warn=self.tol > 0,
        )
        self._store_run(result)
        post, log_z = result.post, result.log_z
        self.fine_tune_iter_ = self._fine_tune_steps(ann)
        if self.fine_tune_iter_:
            net.fine_tune(self.fine_tune_iter_)
            post, log_z = net.e_step()
            post = clamp(post, gold)
        self._network = net
        self.prior_temperature_ = float(net.temperature)
        self.history_ = self._history_with_fine_tune(result.history, result.post, post, log_z)
        self.log_likelihood_ = float(log_z.sum())
        return self._finish(ann, post)

    def _arrays(
        self,
        ann: Annotations,
        x: np.ndarray | None,
        r: np.ndarray | None,
        cfg: LiaConfig,
        gold: tuple[np.ndarray, np.ndarray] | None,
    ) -> dict[str, np.ndarray]:
        """The padded arrays the network reads (see :class:`~accord.models._lia_net.LiaNetwork`)."""
        n_items = padded_size(ann.n_items)
        n_annotators = padded_size(ann.n_annotators)
        n_notes = padded_size(ann.n_annotations)
        mask = np.zeros((n_items, ann.n_classes), np.float32)
        if gold is not None and len(gold[0]):
            mask[gold[0]] = NEG
            mask[gold[0], gold[1]] = 0.0
        item_weight = pad_rows(np.ones(ann.n_items, np.float32), n_items)
        fold = pad_rows(item_folds(x, cfg.n_folds), n_items)
        train = (
            (fold[None, :] != np.arange(cfg.n_folds)[:, None]) if cfg.n_folds > 1 else np.ones((1, n_items))
        )
        train = (train * item_weight[None, :]).astype(np.float32)
        arrays: dict[str, np.ndarray] = {
            "item": pad_rows(ann.item.astype(np.int32), n_notes),
            "annotator": pad_rows(ann.annotator.astype(np.int32), n_notes),
            "label": pad_rows(ann.label.astype(np.int32), n_notes),
            "weight": pad_rows(np.ones(ann.n_annotations, np.float32), n_notes),
            "item_weight": item_weight,
            "annotator_weight": pad_rows(np.ones(ann.n_annotators, np.float32), n_annotators),
            "fold": fold.astype(np.int32),
            "train": train,
            "mask": mask,
            "n_items": np.float32(max(ann.n_items, 1)),
            "n_train": np.float32(max(train.sum(), 1.0)),
            "n_annotations": np.float32(max(ann.n_annotations, 1)),
            "learning_rate": np.float32(self.learning_rate),
            "weight_decay": np.float32(self.weight_decay),
            "truth_decay": np.float32(self.truth_decay),
            "difficulty_penalty": np.float32(self.difficulty_penalty_),
            "competence_penalty": np.float32(self.competence_penalty_),
            "shared_penalty": np.float32(self.shared_competence_penalty),
            "n_annotators": np.float32(max(ann.n_annotators, 1)),
            "prior_temperature": np.float32(
                1.0 if self.prior_temperature == "auto" else float(self.prior_temperature)
            ),
        }
        if x is not None:
            arrays["fan_in"] = np.int64(x.shape[1])
            wide = np.zeros((len(x), cfg.item_dim), np.float32)
            wide[:, : x.shape[1]] = x
            arrays["x"] = pad_rows(wide, n_items)
        if r is not None:
            arrays["r"] = pad_rows(r.astype(np.float32), n_annotators)
        return arrays

    def _fine_tune_steps(self, ann: Annotations) -> int:
        """``fine_tune_iter``, or 0 when the median annotator has fewer than ``fine_tune_min_labels`` labels
        (the marginal likelihood then fits each competence to a handful of labels)."""
        sizes = ann.annotator_sizes()
        sizes = sizes[sizes > 0]
        enough = len(sizes) > 0 and float(np.median(sizes)) >= int(self.fine_tune_min_labels)
        return int(self.fine_tune_iter) if enough else 0

    def _history_with_fine_tune(
        self, history: pd.DataFrame, before: np.ndarray, after: np.ndarray, log_z: np.ndarray
    ) -> pd.DataFrame:
        frame = history.assign(stage="em")
        if self.fine_tune_iter_:
            row = {
                "iteration": len(frame) + 1,
                "objective": float(log_z.sum()),
                "log_likelihood": float(log_z.sum()),
                "max_delta": float(np.abs(after - before).max()) if after.size else 0.0,
                "n_changed": int((after.argmax(axis=1) != before.argmax(axis=1)).sum()),
                "stage": "fine_tune",
            }
            frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
        return frame

    def _finish(self, ann: Annotations, post: np.ndarray) -> Consensus:
        q = self._network.confusions_of(ann.item, ann.annotator)  # Q of every annotation
        k = ann.n_classes
        sums = np.zeros((ann.n_annotators, k * k))
        np.add.at(sums, ann.annotator, q.reshape(len(q), -1))
        counts = ann.annotator_sizes()[:, None]
        mean_q = np.divide(sums, counts, out=np.full_like(sums, 1.0 / k), where=counts > 0).reshape(-1, k, k)
        confusions = self._store_confusions(mean_q, ann)
        prior = post.mean(axis=0)
        self.competence_ = pd.Series(
            np.einsum("k,akk->a", prior, np.asarray(confusions)), index=ann.annotators, name="competence"
        )
        return Consensus(
            ann,
            post,
            self.model_name,
            confusions=mean_q,
            priors=prior,
            history=self.history_,
            params=self.get_params(),
        )

    # ------------------------------------------------------------------ what only LIA gives
    def _net(self) -> LiaNetwork:
        self._fitted()
        return self._network

    def _new_item_inputs(self, features: Any) -> tuple[np.ndarray, pd.Index]:
        if "scaler_" not in self.__dict__:
            raise InvalidParameterError(
                "this LIA model learned item embeddings (LIA-E), not a function of features: it cannot score "
                "new items; fit it with features=..."
            )
        if isinstance(features, pd.DataFrame):
            frame = features.set_index("item") if "item" in features.columns else features
            frame = _numeric_frame(frame, "features")
            x, ids = frame.to_numpy(dtype=np.float64), pd.Index(frame.index)
        else:
            x = np.asarray(features, dtype=np.float64)
            x = x[None, :] if x.ndim == 1 else x
            ids = pd.RangeIndex(len(x))
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            raise InvalidAnnotationsError(
                f"features has missing or infinite values for item(s) {_show(ids[bad])}"
            )
        return self.scaler_(x), ids

    def predict_proba(self, features: Any) -> pd.DataFrame:
        """``h(x)``: the truth model's class probabilities for items described by ``features``.

        ``features`` is a DataFrame indexed by item id (or with an ``item`` column) with the columns used in
        ``fit``, or an array with one row per item. The rows need no annotation: this is the classifier LIA
        trained on the imperfect annotations.
        """
        x, ids = self._new_item_inputs(features)
        proba = self._net().predict(x)
        return pd.DataFrame(proba, index=ids, columns=self.annotations_.classes)

    def predict(self, features: Any) -> pd.Series:
        """The most probable class under :meth:`predict_proba` (user's labels)."""
        proba = self.predict_proba(features)
        classes = np.asarray(self.annotations_.classes, dtype=object)
        return pd.Series(classes[proba.to_numpy().argmax(axis=1)], index=proba.index, name="label")

    def _items_for_pairs(self, items: Any) -> tuple[np.ndarray, pd.Index, np.ndarray, np.ndarray | None]:
        """Network inputs, ids, prior (posterior of fitted items, ``h(x)`` of new ones) and fitted codes."""
        ann, net = self.annotations_, self._net()
        if items is None or not isinstance(items, pd.DataFrame):
            ids = ann.items if items is None else pd.Index(list(items))
            codes = ann.encode_items(ids)
            return net.item_inputs()[codes], pd.Index(ann.items[codes]), self.proba_.to_numpy()[codes], codes
        x, ids = self._new_item_inputs(items)
        return x, ids, tempered(net.predict(x), self.prior_temperature_), None

    def _annotators_for_pairs(self, annotators: Any) -> tuple[np.ndarray, pd.Index, np.ndarray | None]:
        ann, net = self.annotations_, self._net()
        if isinstance(annotators, pd.DataFrame):
            if "annotator_scaler_" not in self.__dict__:
                raise InvalidParameterError(
                    "annotators described by features need a model fitted with annotator_features=...; this "
                    "one learned an embedding per annotator (pass annotator ids of the annotations instead)"
                )
            frame = annotators.set_index("annotator") if "annotator" in annotators.columns else annotators
            r = self.annotator_scaler_(_numeric_frame(frame, "annotators").to_numpy(dtype=np.float64))
            return r, pd.Index(frame.index), None
        ids = ann.annotators if annotators is None else pd.Index(list(annotators))
        codes = match_index(ids, ann.annotators)
        if (codes < 0).any():
            raise InvalidAnnotationsError(
                f"annotator id(s) {_show(ids[codes < 0])} are not in the annotations; to ask about new "
                "annotators, fit with annotator_features=... and pass a DataFrame of their features"
            )
        return net.annotator_inputs()[codes], pd.Index(ann.annotators[codes]), codes

    def _pair_table(self, n_items: int, n_annotators: int) -> None:
        cells = n_items * n_annotators * self.annotations_.n_classes**2
        if cells > PAIR_CELLS_MAX:
            raise InvalidParameterError(
                f"{n_items} items x {n_annotators} annotators is {cells:,} confusion cells (limit "
                f"{PAIR_CELLS_MAX:,}); pass fewer items= or annotators="
            )

    def confusion(self, items: Any = None, annotators: Any = None) -> pd.DataFrame:
        """``Q_ij``: the predicted confusion matrix of every (item, annotator) pair.

        Parameters
        ----------
        items : list of item ids, or DataFrame of features of new items, optional
            Default: every fitted item.
        annotators : list of annotator ids, or DataFrame of annotator features (models fitted with
            ``annotator_features``), optional
            Default: every fitted annotator.

        Returns
        -------
        DataFrame indexed by (item, annotator, true class), one column per given label; rows sum to 1.
        """
        x, item_ids, _, _ = self._items_for_pairs(items)
        r, annotator_ids, _ = self._annotators_for_pairs(annotators)
        self._pair_table(len(x), len(r))
        q = self._net().pair_confusions(x, r)
        classes = self.annotations_.classes
        index = pd.MultiIndex.from_product(
            [item_ids, annotator_ids, classes], names=["item", "annotator", "true"]
        )
        return pd.DataFrame(q.reshape(-1, len(classes)), index=index, columns=pd.Index(classes, name="label"))

    def assign(
        self,
        budget: int,
        items: Any = None,
        annotators: Any = None,
        *,
        per_annotator: int | None = None,
    ) -> pd.DataFrame:
        """Greedy assignment of ``budget`` new labels: which annotator should label which item.

        Each step adds the (item, annotator) pair with the largest expected gain in the item's accuracy,
        ``E_y[max_k P(k | current labels, y)] - max_k P(k | current labels)`` under the item's current
        posterior and the pair's predicted confusion ``Q_ij``, counting the pairs already chosen for that
        item (their outcomes are enumerated). Pairs already labelled are skipped.

        Parameters
        ----------
        budget : int
            Number of labels to assign.
        items, annotators
            As :meth:`confusion` (new items start from ``h(x)``; new annotators need ``annotator_features``).
        per_annotator : int, optional
            At most this many assignments per annotator.

        Returns
        -------
        DataFrame with columns item, annotator, expected_gain, in the order chosen (fewer rows than
        ``budget`` when no pair is left that can still change a label).
        """
        budget = check_positive_int("budget", budget)
        cap = None if per_annotator is None else check_positive_int("per_annotator", per_annotator)
        x, item_ids, prior, item_codes = self._items_for_pairs(items)
        r, annotator_ids, annotator_codes = self._annotators_for_pairs(annotators)
        self._pair_table(len(x), len(r))
        q = self._net().pair_confusions(x, r)  # items x annotators x K x K
        taken = self._already_labelled(item_codes, annotator_codes, len(x), len(r))
        rows = greedy_assign(prior, q, taken, budget, cap)
        return pd.DataFrame(
            {
                "item": item_ids[rows[:, 0].astype(np.int64)] if len(rows) else [],
                "annotator": annotator_ids[rows[:, 1].astype(np.int64)] if len(rows) else [],
                "expected_gain": rows[:, 2] if len(rows) else [],
            }
        )

    def _already_labelled(
        self, item_codes: np.ndarray | None, annotator_codes: np.ndarray | None, n: int, a: int
    ) -> np.ndarray:
        taken = np.zeros((n, a), dtype=bool)
        if item_codes is None or annotator_codes is None:
            return taken
        ann = self.annotations_
        item_pos = np.full(ann.n_items, -1)
        item_pos[item_codes] = np.arange(n)
        annot_pos = np.full(ann.n_annotators, -1)
        annot_pos[annotator_codes] = np.arange(a)
        i, j = item_pos[ann.item], annot_pos[ann.annotator]
        keep = (i >= 0) & (j >= 0)
        taken[i[keep], j[keep]] = True
        return taken

    @property
    def network_(self) -> LiaNetwork:
        """The fitted network (parameters and the arrays it was trained on)."""
        if "_network" not in self.__dict__:
            raise NotFittedError("LIA is not fitted yet: call fit(annotations, features=...) first")
        return self._network


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(temperature * log proba)`` per row: the prior LIA gives an item from ``h(x)``.

    >>> h = np.array([[0.9, 0.1]])
    >>> tempered(h, 0.0).tolist(), tempered(h, 1.0).round(2).tolist()
    ([[0.5, 0.5]], [[0.9, 0.1]])
    """
    logits = temperature * np.log(np.maximum(proba, 1e-300))
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def _pair_gains(table: np.ndarray, q: np.ndarray, value: float) -> np.ndarray:
    """Gain of adding each annotator to one item: ``table`` (outcomes x K) joint, ``q`` (A x K x K)."""
    joint = table[None, :, :, None] * q[:, None, :, :]  # A x O x K(true) x K(label)
    return joint.max(axis=2).sum(axis=(1, 2)) - value


def greedy_assign(
    prior: np.ndarray, q: np.ndarray, taken: np.ndarray, budget: int, cap: int | None
) -> np.ndarray:
    """``(item, annotator, gain)`` rows chosen greedily; see :meth:`LIA.assign`."""
    n, a = taken.shape
    value = prior.max(axis=1)
    joint = prior[:, None, :, None] * q  # n x a x K x K
    gains = joint.max(axis=2).sum(axis=2) - value[:, None]
    gains[taken] = -np.inf
    tables: dict[int, np.ndarray] = {}
    load = np.zeros(a, dtype=np.int64)
    rows: list[tuple[int, int, float]] = []
    while len(rows) < budget and n and a:
        flat = int(np.argmax(gains))
        i, j = divmod(flat, a)
        if not gains[i, j] > 1e-12:
            break
        rows.append((i, j, float(gains[i, j])))
        gains[i, j] = -np.inf
        load[j] += 1
        if cap is not None and load[j] >= cap:
            gains[:, j] = -np.inf
        table = tables.get(i, prior[i][None, :])
        table = (table[:, :, None] * q[i, j][None, :, :]).transpose(0, 2, 1).reshape(-1, q.shape[-1])
        tables[i] = table
        if len(table) * q.shape[-1] > OUTCOMES_MAX:
            gains[i] = -np.inf
            continue
        new = _pair_gains(table, q[i], float(table.max(axis=1).sum()))
        open_ = np.isfinite(gains[i])
        gains[i] = np.where(open_, new, -np.inf)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


register("lia", LIA)
