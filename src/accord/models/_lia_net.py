"""The networks and gradient steps of :class:`~accord.models.lia.LIA`, in JAX (extra ``learn``).

Everything is a pure function of a parameter pytree and a dict of arrays, compiled once per padded shape and
configuration and reused across fits. Per annotation ``n`` (item ``i``, annotator ``j``, label ``y``)::

    log h_f[i]  = log_softmax(mlp_h_f(x_i))                       (K; one truth network per fold f)
    D_i         = mlp_d(x_i).reshape(K, K, L)                     difficulty
    C_j         = (r_j @ W_c + b_c).reshape(K, K, L)              competence
    log Q_n     = log_softmax_l( sum_z D_i[k, l, z] C_j[k, l, z] )  (K x K)
    lq[n, k]    = log Q_n[k, y]

The item rows ``D_i`` and annotator rows ``C_j`` are gathered per annotation (no loop), and per-item sums of
``lq`` are segment sums, so a gradient step costs O(items x network + annotations x K^2 L).

Cross-fitting: with ``F > 1`` folds, truth network ``f`` is trained on the items outside fold ``f`` and is the
prior of the items inside it, so that an item's prior never saw that item's own labels (an in-sample prior
would count those labels twice). The difficulty and competence maps are shared by all folds.

Shapes are padded (items, annotations and feature columns up to a few bucket sizes; padded rows carry zero
weight), so that data sets of similar size reuse one compiled program, and JAX's persistent compilation
cache keeps the programs on disk between processes (:func:`cache_directory`).

The E-step returns each item's own log prior and its log evidence separately: the prior's temperature is
chosen between them (:func:`prior_temperature`) before the posterior is formed.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import AccordError

__all__ = ["LiaConfig", "LiaNetwork", "padded_size"]

NEG = -1e9  # log-mask value of a class a gold item cannot take
CACHE_OFF = ("off", "0", "false", "no", "")
TEMPERATURE_MAX = 1.0  # the prior is never made sharper than the truth network says


def load_jax() -> Any:
    """Import JAX and optax, or explain which extra installs them."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        raise AccordError(
            "LIA needs JAX and optax for its gradients: pip install 'accord[learn]' "
            "(or pip install jax optax)"
        ) from None
    return jax, jnp, optax


def padded_size(n: int, minimum: int = 16) -> int:
    """The bucket ``n`` is padded to: the smallest ``2^k``, ``1.25 * 2^k``, ``1.5 * 2^k`` or ``1.75 * 2^k``
    that holds it (at most 25 % padding), and at least ``minimum``.

    >>> [padded_size(n) for n in (1, 16, 17, 25, 100, 4212)]
    [16, 16, 20, 28, 112, 5120]
    """
    if n <= minimum:
        return minimum
    power = 1 << (int(n - 1).bit_length() - 1)
    for step in (4, 5, 6, 7, 8):
        if power * step // 4 >= n:
            return max(minimum, power * step // 4)
    return power * 2


class LiaConfig(NamedTuple):
    """The static shape of one LIA network (hashable: it keys the compiled functions)."""

    n_classes: int
    latent_dim: int
    hidden: tuple[int, ...]
    difficulty_hidden: tuple[int, ...]
    item_dim: int  # width of the (padded) item input: features, or the item embedding size for LIA-E
    item_embeddings: int  # number of learned item embeddings (padded; 0 when items are described by features)
    annotator_dim: int  # width of the annotator input (features, or the annotator embedding size)
    annotator_embeddings: int  # number of learned annotator embeddings (0 with annotator features)
    n_folds: int  # truth networks (1: no cross-fitting)


def _layer_sizes(n_in: int, hidden: tuple[int, ...], n_out: int) -> list[tuple[int, int]]:
    sizes = [n_in, *hidden, n_out]
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def init_params(cfg: LiaConfig, seed: int, fan_in: int) -> dict[str, Any]:
    """Starting parameters that treat every class, item and annotator alike.

    Hidden layers are scaled normal draws (``fan_in`` real input columns; padded ones start at 0); every layer
    whose outputs are indexed by class starts at zero, with the biases a constant difficulty tensor and a
    competence tensor that favours the diagonal, so renaming the classes renames the fit. The competence map
    starts as a random combination of one "diagonal" and one "off-diagonal" pattern (the same for every
    class), and learned embeddings start at 0: each annotator's (or item's) embedding moves by its own data
    only, never by the code its id got.
    """
    rng = np.random.default_rng(seed)
    k, ell = cfg.n_classes, cfg.latent_dim

    def mlp(hidden: tuple[int, ...], n_out: int, folds: int | None) -> list[Any]:
        layers = []
        pairs = _layer_sizes(cfg.item_dim, hidden, n_out)
        for t, (a, b) in enumerate(pairs):
            lead = () if folds is None else (folds,)
            if t == len(pairs) - 1:
                w = np.zeros((*lead, a, b), np.float32)
            else:
                real = fan_in if t == 0 else a
                w = rng.normal(0.0, 1.0 / np.sqrt(real), (*lead, a, b)).astype(np.float32)
                if t == 0:
                    w[..., real:, :] = 0.0
            layers.append((w, np.zeros((*lead, b), np.float32)))
        return layers

    params: dict[str, Any] = {
        "h": mlp(cfg.hidden, k, cfg.n_folds),
        "d": mlp(cfg.difficulty_hidden, k * k * ell, None),
    }
    d_bias = np.full((k, k, ell), 1.0 / np.sqrt(ell), np.float32)  # D starts as a constant tensor
    params["d"][-1] = (params["d"][-1][0], d_bias.ravel())
    diagonal = np.eye(k, dtype=bool)[:, :, None]
    c_bias = np.where(diagonal, 1.0, -1.0) * np.ones((1, 1, ell)) / np.sqrt(ell)
    on, off = rng.normal(0.0, 0.1 / np.sqrt(cfg.annotator_dim), (2, cfg.annotator_dim, 1, 1, ell))
    w_c = np.where(diagonal[None], on, off) * np.ones((1, k, k, 1))
    params["c"] = (w_c.reshape(cfg.annotator_dim, -1).astype(np.float32), c_bias.astype(np.float32).ravel())
    if cfg.annotator_embeddings:
        params["annotator"] = np.zeros((cfg.annotator_embeddings, cfg.annotator_dim), np.float32)
    if cfg.item_embeddings:
        params["item"] = np.zeros((cfg.item_embeddings, cfg.item_dim), np.float32)
    return params


def cache_directory() -> str | None:
    """Where compiled LIA programs are kept between processes: ``$ACCORD_LIA_CACHE``, else
    ``$XDG_CACHE_HOME/accord/jax`` (``~/.cache/accord/jax``); None when ``ACCORD_LIA_CACHE`` is ``off``
    (or ``0``, ``false``, ``no``, empty).

    >>> import os
    >>> old = os.environ.get("ACCORD_LIA_CACHE")
    >>> os.environ["ACCORD_LIA_CACHE"] = "off"
    >>> cache_directory() is None
    True
    >>> os.environ["ACCORD_LIA_CACHE"] = "/tmp/lia-cache"
    >>> cache_directory()
    '/tmp/lia-cache'
    >>> _ = os.environ.pop("ACCORD_LIA_CACHE") if old is None else os.environ.update(ACCORD_LIA_CACHE=old)
    """
    value = os.environ.get("ACCORD_LIA_CACHE")
    if value is not None:
        return None if value.strip().lower() in CACHE_OFF else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "accord", "jax")


def use_persistent_cache(jax: Any) -> str | None:
    """Point JAX's persistent compilation cache at :func:`cache_directory`, unless the user configured one
    (``JAX_COMPILATION_CACHE_DIR``) or turned it off; returns the directory in use (None: none).

    Compiling LIA's gradient steps takes most of a first fit (seconds per shape bucket); with the cache a
    new process (e.g. each ``accord aggregate -m lia`` call) loads the programs compiled before.
    """
    current = jax.config.jax_compilation_cache_dir
    if current:
        return str(current)
    path = cache_directory()
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    return path


@functools.cache
def compiled() -> dict[str, Any]:
    """The jitted functions (built on first use, so that importing accord never imports JAX)."""
    jax, jnp, optax = load_jax()
    use_persistent_cache(jax)
    stop = jax.lax.stop_gradient

    def mlp(layers: list[Any], x: Any) -> Any:
        for w, b in layers[:-1]:
            x = jax.nn.selu(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    def fold_mlp(layers: list[Any], x: Any) -> Any:
        """Every fold's network on every row: (folds, rows, out)."""
        x = jnp.einsum("id,fdh->fih", x, layers[0][0]) + layers[0][1][:, None, :]
        for w, b in layers[1:]:
            x = jnp.einsum("fih,fhg->fig", jax.nn.selu(x), w) + b[:, None, :]
        return x

    def item_inputs(params: dict[str, Any], data: dict[str, Any]) -> Any:
        return params["item"] if "item" in params else data["x"]

    def annotator_inputs(params: dict[str, Any], data: dict[str, Any]) -> Any:
        return params["annotator"] if "annotator" in params else data["r"]

    def truth(params: dict[str, Any], x: Any) -> Any:
        """``log h_f(x)`` for every fold ``f``: (folds, rows, K)."""
        return jax.nn.log_softmax(fold_mlp(params["h"], x), axis=-1)

    def difficulty(params: dict[str, Any], x: Any, cfg: LiaConfig) -> Any:
        k = cfg.n_classes
        return mlp(params["d"], x).reshape(-1, k, k, cfg.latent_dim)

    def competence(params: dict[str, Any], r: Any, cfg: LiaConfig) -> Any:
        k = cfg.n_classes
        w, b = params["c"]
        return (r @ w + b).reshape(-1, k, k, cfg.latent_dim)

    def log_q(d_rows: Any, c_rows: Any) -> Any:
        return jax.nn.log_softmax((d_rows * c_rows).sum(axis=-1), axis=-1)

    def observed(params: dict[str, Any], data: dict[str, Any], cfg: LiaConfig) -> tuple[Any, Any, Any]:
        """``log h_f`` (folds x items x K), the per-item sums of ``lq[n, k] = log Q_n[k, y_n]`` (items x K)
        and the penalty of the difficulty and competence tensors."""
        x = item_inputs(params, data)
        log_h = truth(params, x)
        d_all = difficulty(params, x, cfg)
        c_all = competence(params, annotator_inputs(params, data), cfg)
        lq_full = log_q(d_all[data["item"]], c_all[data["annotator"]])
        lq = jnp.take_along_axis(lq_full, data["label"][:, None, None], axis=2)[:, :, 0]
        per_item = jax.ops.segment_sum(lq * data["weight"][:, None], data["item"], num_segments=x.shape[0])
        w_item = data["item_weight"][:, None, None, None]
        mean_d = (d_all * w_item).sum(axis=0, keepdims=True) / data["n_items"]
        spread = (d_all - mean_d) * w_item
        w_annot = data["annotator_weight"][:, None, None, None]
        mean_c = (c_all * w_annot).sum(axis=0, keepdims=True) / data["n_annotators"]
        own_c = (c_all - mean_c) * w_annot
        tensors = (
            data["difficulty_penalty"] * jnp.sum(spread * spread)
            + data["competence_penalty"] * jnp.sum(own_c * own_c)
            + data["shared_penalty"] * data["n_annotators"] * jnp.sum(mean_c * mean_c)
        )
        return log_h, per_item, 0.5 * tensors

    def own_prior(log_h: Any, data: dict[str, Any]) -> Any:
        """Each item's prior: the truth network of its fold (items x K)."""
        return jnp.take_along_axis(log_h, data["fold"][None, :, None], axis=0)[0]

    def tempered(log_prior: Any, data: dict[str, Any]) -> Any:
        """``log softmax(tau log h)``: the prior at the temperature the held-out evidence chose."""
        return jax.nn.log_softmax(data["prior_temperature"] * log_prior, axis=-1)

    def decay(params: dict[str, Any], data: dict[str, Any]) -> Any:
        truth_leaves = jax.tree_util.tree_leaves(params["h"])
        other = jax.tree_util.tree_leaves({key: v for key, v in params.items() if key != "h"})
        return 0.5 * (
            data["truth_decay"] * sum(jnp.sum(v * v) for v in truth_leaves)
            + data["weight_decay"] * sum(jnp.sum(v * v) for v in other)
        )

    def log_joint(params: dict[str, Any], data: dict[str, Any], cfg: LiaConfig) -> Any:
        log_h, per_item, _ = observed(params, data, cfg)
        return tempered(own_prior(log_h, data), data) + per_item + data["mask"]

    def em_loss(params: dict[str, Any], post: Any, data: dict[str, Any], cfg: LiaConfig) -> Any:
        """Minus the expected complete log-likelihood (eq. 7): the truth term per training item of each fold,
        the annotation term per annotation, plus the penalties."""
        log_h, per_item, tensors = observed(params, data, cfg)
        truth_term = jnp.sum(data["train"][:, :, None] * post[None] * log_h) / data["n_train"]
        notes = (jnp.sum(post * per_item * data["item_weight"][:, None]) - tensors) / data["n_annotations"]
        return -(truth_term + notes) + decay(params, data)

    def marginal_loss(params: dict[str, Any], post: Any, data: dict[str, Any], cfg: LiaConfig) -> Any:
        """Minus the marginal log-likelihood (eq. 9): each fold's truth network on its training items, the
        difficulty and competence maps on every item under the item's own prior."""
        del post
        log_h, per_item, tensors = observed(params, data, cfg)
        evidence = per_item + data["mask"]
        fold_terms = jax.nn.logsumexp(log_h + stop(evidence)[None], axis=2)
        truth_term = jnp.sum(data["train"] * fold_terms) / data["n_train"]
        own = jax.nn.logsumexp(stop(tempered(own_prior(log_h, data), data)) + evidence, axis=1)
        notes = (jnp.sum(own * data["item_weight"]) - tensors) / data["n_annotations"]
        return -(truth_term + notes) + decay(params, data)

    def optimizer(learning_rate: Any) -> Any:
        return optax.amsgrad(learning_rate)

    def make_descent(loss: Any) -> Any:
        @functools.partial(jax.jit, static_argnames=("cfg",))
        def descend(
            params: dict[str, Any], state: Any, post: Any, data: dict[str, Any], cfg: LiaConfig, n_steps: Any
        ) -> tuple[Any, Any]:
            opt = optimizer(data["learning_rate"])
            grad = jax.grad(loss)

            def body(_: Any, carry: tuple[Any, Any]) -> tuple[Any, Any]:
                p, s = carry
                updates, s = opt.update(grad(p, post, data, cfg), s, p)
                return optax.apply_updates(p, updates), s

            return jax.lax.fori_loop(0, n_steps, body, (params, state))

        return descend

    @functools.partial(jax.jit, static_argnames=("cfg",))
    def e_step(params: dict[str, Any], data: dict[str, Any], cfg: LiaConfig) -> tuple[Any, Any]:
        """Each item's own (untempered) log prior and its log evidence from the annotations (items x K)."""
        log_h, per_item, _ = observed(params, data, cfg)
        return own_prior(log_h, data), per_item + data["mask"]

    @jax.jit
    def predict(params: dict[str, Any], x: Any) -> Any:
        """The folds' mean ``h(x)``."""
        return jnp.exp(truth(params, x)).mean(axis=0)

    @functools.partial(jax.jit, static_argnames=("cfg",))
    def pair_confusions(params: dict[str, Any], x: Any, r: Any, cfg: LiaConfig) -> Any:
        """``Q[i, j, k, l]`` for every item row of ``x`` and annotator row of ``r``."""
        d_all = difficulty(params, x, cfg)
        c_all = competence(params, r, cfg)
        return jnp.exp(log_q(d_all[:, None], c_all[None, :]))

    @functools.partial(jax.jit, static_argnames=("cfg",))
    def confusions_of(
        params: dict[str, Any], x: Any, r: Any, item: Any, annotator: Any, cfg: LiaConfig
    ) -> Any:
        """``Q`` of the given (item row, annotator row) pairs."""
        return jnp.exp(log_q(difficulty(params, x, cfg)[item], competence(params, r, cfg)[annotator]))

    return {
        "jnp": jnp,
        "optimizer": optimizer,
        "em_descent": make_descent(em_loss),
        "marginal_descent": make_descent(marginal_loss),
        "e_step": e_step,
        "predict": predict,
        "pair_confusions": pair_confusions,
        "confusions_of": confusions_of,
    }


def pad_rows(values: np.ndarray, size: int, fill: float | int = 0) -> np.ndarray:
    """``values`` with rows appended (``fill``) up to ``size`` rows."""
    if len(values) >= size:
        return values
    pad = np.full((size - len(values), *values.shape[1:]), fill, dtype=values.dtype)
    return np.concatenate([values, pad])


@dataclass
class LiaNetwork:
    """One LIA network bound to a data set: parameters, optimiser state and the arrays the steps read.

    ``data`` holds ``x`` (padded items x padded features, absent for LIA-E), ``r`` (annotator features,
    absent with learned annotator embeddings), the padded annotation codes ``item``, ``annotator``, ``label``
    and their ``weight`` (0 for padding), ``item_weight`` and ``annotator_weight`` (1 for real rows), each
    item's ``fold`` and the folds' training masks ``train`` (folds x items), the gold log-mask ``mask``
    (items x K), the counts ``n_items``, ``n_train`` and ``n_annotations`` the losses are divided by, and the
    penalties and learning rate (data, not configuration, so that changing them does not recompile).
    ``n_items`` and ``n_annotators`` are the real (unpadded) counts.
    """

    cfg: LiaConfig
    data: dict[str, Any]
    params: dict[str, Any]
    n_items: int
    n_annotators: int
    state: Any = None
    fit_temperature: bool = False
    temperature: float = 1.0

    @classmethod
    def build(
        cls, cfg: LiaConfig, arrays: dict[str, np.ndarray], seed: int, n_items: int, n_annotators: int
    ) -> LiaNetwork:
        fns = compiled()
        jnp = fns["jnp"]
        fan_in = int(arrays.get("fan_in", cfg.item_dim))
        data = {key: jnp.asarray(value) for key, value in arrays.items() if key != "fan_in"}
        params = _to_device(init_params(cfg, seed, fan_in), jnp)
        state = fns["optimizer"](float(arrays["learning_rate"])).init(params)
        return cls(cfg, data, params, n_items, n_annotators, state)

    def em_steps(self, post: np.ndarray, n_steps: int) -> None:
        """``n_steps`` AMSGrad steps on the expected complete log-likelihood at ``post`` (warm start)."""
        fns = compiled()
        size = self.data["mask"].shape[0]
        target = fns["jnp"].asarray(pad_rows(post.astype(np.float32), size), dtype=np.float32)
        self.params, self.state = fns["em_descent"](
            self.params, self.state, target, self.data, self.cfg, n_steps
        )

    def fine_tune(self, n_steps: int) -> None:
        """``n_steps`` AMSGrad steps on the marginal log-likelihood (fresh optimiser state)."""
        fns = compiled()
        state = fns["optimizer"](1.0).init(self.params)
        dummy = fns["jnp"].zeros(())
        self.params, self.state = fns["marginal_descent"](
            self.params, state, dummy, self.data, self.cfg, n_steps
        )

    def e_step(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior (items x K, float64, rows summing to 1) and per-item log evidence, real items only.

        With ``fit_temperature`` the prior's temperature is first chosen (and kept for the next M-step and
        the fine-tuning) by the marginal likelihood of the annotations, see :func:`prior_temperature`.
        """
        prior, evidence = compiled()["e_step"](self.params, self.data, self.cfg)
        prior = np.asarray(prior, dtype=np.float64)[: self.n_items]
        evidence = np.asarray(evidence, dtype=np.float64)[: self.n_items]
        if self.fit_temperature:
            self.temperature = prior_temperature(prior, evidence)
            self.data["prior_temperature"] = compiled()["jnp"].asarray(np.float32(self.temperature))
        scaled = np.ascontiguousarray(self.temperature * prior.T)  # classes-major: fast reductions
        joint = scaled - _logsumexp_classes(scaled) + np.ascontiguousarray(evidence.T)
        log_z = _logsumexp_classes(joint)
        post = np.exp(joint - log_z)
        post /= post.sum(axis=0)
        return np.ascontiguousarray(post.T), log_z

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``h(x)`` (the folds' mean) for rows of (scaled) item features."""
        x = self._pad_columns(np.asarray(x, np.float32))
        n = len(x)
        out = compiled()["predict"](self.params, pad_rows(x, padded_size(n)))
        out = np.asarray(out, np.float64)[:n]
        return out / out.sum(axis=1, keepdims=True)

    def _pad_columns(self, x: np.ndarray) -> np.ndarray:
        width = self.cfg.item_dim
        if x.shape[1] >= width:
            return x
        return np.concatenate([x, np.zeros((len(x), width - x.shape[1]), x.dtype)], axis=1)

    def item_inputs(self) -> np.ndarray:
        """The item rows the networks see (features, or the learned embeddings of LIA-E), real items only."""
        rows = self.params["item"] if "item" in self.params else self.data["x"]
        return np.asarray(rows)[: self.n_items]

    def annotator_inputs(self) -> np.ndarray:
        """The annotator rows the competence map sees (features, or the learned embeddings)."""
        rows = self.params["annotator"] if "annotator" in self.params else self.data["r"]
        return np.asarray(rows)[: self.n_annotators]

    def pair_confusions(self, x: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``Q[i, j]`` for all item rows ``x`` and annotator rows ``r``: (items, annotators, K, K)."""
        x = self._pad_columns(np.asarray(x, np.float32))
        q = compiled()["pair_confusions"](self.params, x, np.asarray(r, np.float32), self.cfg)
        q = np.asarray(q, dtype=np.float64)
        return q / q.sum(axis=-1, keepdims=True)

    def confusions_of(self, item: np.ndarray, annotator: np.ndarray) -> np.ndarray:
        """``Q`` of the fitted (item, annotator) code pairs: (pairs, K, K)."""
        n = len(item)
        size = padded_size(n)
        rows = self.params["item"] if "item" in self.params else self.data["x"]
        annotators = self.params["annotator"] if "annotator" in self.params else self.data["r"]
        q = compiled()["confusions_of"](
            self.params,
            rows,
            annotators,
            pad_rows(np.asarray(item, np.int32), size),
            pad_rows(np.asarray(annotator, np.int32), size),
            self.cfg,
        )
        q = np.asarray(q, dtype=np.float64)[:n]
        return q / q.sum(axis=-1, keepdims=True)


def _logsumexp_classes(z: np.ndarray) -> np.ndarray:
    """``logsumexp`` over the first axis of a classes-major (K x items) array (fast: contiguous rows)."""
    top = z.max(axis=0)
    return top + np.log(np.exp(z - top).sum(axis=0))


def temperature_evidence(tau: float, prior: np.ndarray, evidence: np.ndarray) -> float:
    """``sum_i log sum_k softmax(tau log h_i)_k p(labels_i | k)``: the annotations' marginal log-likelihood
    with the prior at temperature ``tau``; ``prior`` and ``evidence`` are classes-major (K x items)."""
    scaled = tau * prior
    return float((_logsumexp_classes(scaled + evidence) - _logsumexp_classes(scaled)).sum())


def prior_temperature(prior: np.ndarray, evidence: np.ndarray, high: float = TEMPERATURE_MAX) -> float:
    """The temperature ``tau`` in ``[0, high]`` of the items' log prior ``prior`` (items x K) that maximises
    the marginal likelihood of their annotations (``evidence``: log p(labels_i | class k), items x K): a
    coarse grid, then golden-section search around its best point.

    The prior of an item comes from a truth network that did not see that item (cross-fitting), so its
    annotations are held-out evidence on how far the network's log-odds are to be trusted: ``tau`` near 0
    when the features say nothing about the labels (the posterior is then the annotations' alone), 1 when
    the network is calibrated, above 1 when it is under-confident.

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 2, 20000)
    >>> def right(p):  # one-hot rows of a guess that is right with probability p
    ...     return np.eye(2)[np.where(rng.random(20000) < p, truth, 1 - truth)]
    >>> calibrated = np.log(np.where(right(0.9) > 0, 0.9, 0.1))  # a prior right 90 % of the time
    >>> overconfident = 3 * calibrated  # the same prior with log-odds three times too large
    >>> evidence = np.log(np.where(right(0.7) > 0, 0.7, 0.3))  # one 70 %-right label per item
    >>> [round(prior_temperature(p, evidence), 1) for p in (calibrated, overconfident)]
    [1.0, 0.3]
    """
    if not len(prior):
        return 1.0
    prior, evidence = np.ascontiguousarray(prior.T), np.ascontiguousarray(evidence.T)
    grid = np.linspace(0.0, high, 13)
    values = [temperature_evidence(t, prior, evidence) for t in grid]
    best = int(np.argmax(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = temperature_evidence(a, prior, evidence), temperature_evidence(b, prior, evidence)
    for _ in range(24):
        if fa >= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = temperature_evidence(a, prior, evidence)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = temperature_evidence(b, prior, evidence)
    tau = (lo + hi) / 2
    return float(tau if temperature_evidence(tau, prior, evidence) >= values[best] else grid[best])


def _to_device(params: dict[str, Any], jnp: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, list):
            out[key] = [(jnp.asarray(w), jnp.asarray(b)) for w, b in value]
        elif isinstance(value, tuple):
            out[key] = tuple(jnp.asarray(v) for v in value)
        else:
            out[key] = jnp.asarray(value)
    return out
