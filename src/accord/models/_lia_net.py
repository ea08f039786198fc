"""The networks and gradient steps of :class:`~accord.models.lia.LIA`, in JAX (extra ``learn``).

Everything is a pure function of a parameter pytree and a dict of arrays, compiled once per shape and
configuration and reused across fits. Per annotation ``n`` (item ``i``, annotator ``j``, label ``y``)::

    log h[i]    = log_softmax(mlp_h(x_i))                         (K)
    D_i         = mlp_d(x_i).reshape(K, K, L)                     difficulty
    C_j         = (r_j @ W_c + b_c).reshape(K, K, L)              competence
    log Q_n     = log_softmax_l( sum_z D_i[k, l, z] C_j[k, l, z] )  (K x K)
    lq[n, k]    = log Q_n[k, y]

The item rows ``D_i`` and annotator rows ``C_j`` are gathered per annotation (no loop), and per-item sums of
``lq`` are segment sums, so a gradient step costs O(items x network + annotations x K^2 L).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import AccordError

__all__ = ["LiaConfig", "LiaNetwork"]

NEG = -1e9  # log-mask value of a class a gold item cannot take


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


class LiaConfig(NamedTuple):
    """The static shape of one LIA network (hashable: it keys the compiled functions)."""

    n_classes: int
    latent_dim: int
    hidden: tuple[int, ...]
    difficulty_hidden: tuple[int, ...]
    item_dim: int  # width of the item input (features, or the item embedding size for LIA-E)
    item_embeddings: int  # number of learned item embeddings (0 when items are described by features)
    annotator_dim: int  # width of the annotator input (features, or the annotator embedding size)
    annotator_embeddings: int  # number of learned annotator embeddings (0 with annotator features)
    learning_rate: float


def _layer_sizes(n_in: int, hidden: tuple[int, ...], n_out: int) -> list[tuple[int, int]]:
    sizes = [n_in, *hidden, n_out]
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def init_params(cfg: LiaConfig, seed: int) -> dict[str, Any]:
    """Random starting parameters (scaled normal weights, zero biases; the last layers start small)."""
    rng = np.random.default_rng(seed)
    k, ell = cfg.n_classes, cfg.latent_dim

    def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, last_scale: float) -> list[Any]:
        layers = []
        pairs = _layer_sizes(n_in, hidden, n_out)
        for t, (a, b) in enumerate(pairs):
            scale = (last_scale if t == len(pairs) - 1 else np.sqrt(2.0)) / np.sqrt(a)
            layers.append((rng.normal(0.0, scale, (a, b)).astype(np.float32), np.zeros(b, np.float32)))
        return layers

    params: dict[str, Any] = {
        "h": mlp(cfg.item_dim, cfg.hidden, k, 0.1),
        "d": mlp(cfg.item_dim, cfg.difficulty_hidden, k * k * ell, 0.1),
    }
    d_bias = np.full((k, k, ell), 1.0 / np.sqrt(ell), np.float32)  # D starts near a constant tensor
    params["d"][-1] = (params["d"][-1][0], d_bias.ravel())
    c_bias = np.where(np.eye(k, dtype=bool)[:, :, None], 1.0, -1.0) * np.ones((1, 1, ell)) / np.sqrt(ell)
    params["c"] = (
        rng.normal(0.0, 0.1 / np.sqrt(cfg.annotator_dim), (cfg.annotator_dim, k * k * ell)).astype(
            np.float32
        ),
        c_bias.astype(np.float32).ravel(),
    )
    if cfg.annotator_embeddings:
        params["annotator"] = rng.normal(0.0, 1.0, (cfg.annotator_embeddings, cfg.annotator_dim)).astype(
            np.float32
        )
    if cfg.item_embeddings:
        params["item"] = rng.normal(0.0, 1.0, (cfg.item_embeddings, cfg.item_dim)).astype(np.float32)
    return params


@functools.cache
def compiled() -> dict[str, Any]:
    """The jitted functions (built on first use, so that importing accord never imports JAX)."""
    jax, jnp, optax = load_jax()

    def mlp(layers: list[Any], x: Any) -> Any:
        for w, b in layers[:-1]:
            x = jax.nn.selu(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    def item_inputs(params: dict[str, Any], data: dict[str, Any]) -> Any:
        return params["item"] if "item" in params else data["x"]

    def annotator_inputs(params: dict[str, Any], data: dict[str, Any]) -> Any:
        return params["annotator"] if "annotator" in params else data["r"]

    def truth(params: dict[str, Any], x: Any) -> Any:
        return jax.nn.log_softmax(mlp(params["h"], x), axis=-1)

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
        """``log h`` (items x K), ``lq[n, k] = log Q_n[k, y_n]`` (annotations x K) and the penalty of the
        difficulty and competence tensors."""
        x = item_inputs(params, data)
        log_h = truth(params, x)
        d_all = difficulty(params, x, cfg)
        c_all = competence(params, annotator_inputs(params, data), cfg)
        lq_full = log_q(d_all[data["item"]], c_all[data["annotator"]])
        lq = jnp.take_along_axis(lq_full, data["label"][:, None, None], axis=2)[:, :, 0]
        spread = d_all - d_all.mean(axis=0, keepdims=True)
        tensors = data["difficulty_penalty"] * jnp.sum(spread * spread) + data[
            "competence_penalty"
        ] * jnp.sum(c_all * c_all)
        return log_h, lq, 0.5 * tensors

    def decay(params: dict[str, Any], data: dict[str, Any]) -> Any:
        leaves = jax.tree_util.tree_leaves(params)
        return 0.5 * data["weight_decay"] * sum(jnp.sum(v * v) for v in leaves)

    def log_joint(params: dict[str, Any], data: dict[str, Any], cfg: LiaConfig) -> tuple[Any, Any]:
        log_h, lq, tensors = observed(params, data, cfg)
        per_item = jax.ops.segment_sum(lq, data["item"], num_segments=log_h.shape[0])
        return log_h + per_item + data["mask"], tensors

    def em_loss(params: dict[str, Any], post: Any, data: dict[str, Any], cfg: LiaConfig) -> Any:
        log_h, lq, tensors = observed(params, data, cfg)
        value = jnp.sum(post * log_h) + jnp.sum(post[data["item"]] * lq) - tensors
        return -value / data["scale"] + decay(params, data)

    def marginal_loss(params: dict[str, Any], post: Any, data: dict[str, Any], cfg: LiaConfig) -> Any:
        del post
        joint, tensors = log_joint(params, data, cfg)
        value = jax.nn.logsumexp(joint, axis=1).sum() - tensors
        return -value / data["scale"] + decay(params, data)

    def optimizer(cfg: LiaConfig) -> Any:
        return optax.amsgrad(cfg.learning_rate)

    def make_descent(loss: Any) -> Any:
        @functools.partial(jax.jit, static_argnames=("cfg",))
        def descend(
            params: dict[str, Any], state: Any, post: Any, data: dict[str, Any], cfg: LiaConfig, n_steps: Any
        ) -> tuple[Any, Any]:
            opt = optimizer(cfg)
            grad = jax.grad(loss)

            def body(_: Any, carry: tuple[Any, Any]) -> tuple[Any, Any]:
                p, s = carry
                updates, s = opt.update(grad(p, post, data, cfg), s, p)
                return optax.apply_updates(p, updates), s

            return jax.lax.fori_loop(0, n_steps, body, (params, state))

        return descend

    @functools.partial(jax.jit, static_argnames=("cfg",))
    def e_step(params: dict[str, Any], data: dict[str, Any], cfg: LiaConfig) -> tuple[Any, Any]:
        joint, _ = log_joint(params, data, cfg)
        log_z = jax.nn.logsumexp(joint, axis=1)
        return jnp.exp(joint - log_z[:, None]), log_z

    @functools.partial(jax.jit, static_argnames=("cfg",))
    def predict(params: dict[str, Any], x: Any, cfg: LiaConfig) -> Any:
        return jnp.exp(truth(params, x))

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


@dataclass
class LiaNetwork:
    """One LIA network bound to a data set: parameters, optimiser state and the arrays the steps read.

    ``data`` holds ``x`` (items x features, absent for LIA-E), ``r`` (annotator features, absent with learned
    annotator embeddings), the annotation codes ``item``, ``annotator``, ``label``, the gold log-mask ``mask``
    (items x K), ``scale`` (the number of annotations, which the losses are divided by) and the penalties
    ``weight_decay``, ``difficulty_penalty`` and ``competence_penalty`` (data, not configuration, so that
    changing them does not recompile).
    """

    cfg: LiaConfig
    data: dict[str, Any]
    params: dict[str, Any]
    state: Any = None

    @classmethod
    def build(cls, cfg: LiaConfig, arrays: dict[str, np.ndarray], seed: int) -> LiaNetwork:
        fns = compiled()
        jnp = fns["jnp"]
        data = {key: jnp.asarray(value) for key, value in arrays.items()}
        params = _to_device(init_params(cfg, seed), jnp)
        return cls(cfg, data, params, fns["optimizer"](cfg).init(params))

    def em_steps(self, post: np.ndarray, n_steps: int) -> None:
        """``n_steps`` AMSGrad steps on the expected complete log-likelihood at ``post`` (warm start)."""
        fns = compiled()
        target = fns["jnp"].asarray(post, dtype=np.float32)
        self.params, self.state = fns["em_descent"](
            self.params, self.state, target, self.data, self.cfg, n_steps
        )

    def fine_tune(self, n_steps: int) -> None:
        """``n_steps`` AMSGrad steps on the marginal log-likelihood (fresh optimiser state)."""
        fns = compiled()
        state = fns["optimizer"](self.cfg).init(self.params)
        dummy = fns["jnp"].zeros(())
        self.params, self.state = fns["marginal_descent"](
            self.params, state, dummy, self.data, self.cfg, n_steps
        )

    def e_step(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior (items x K, float64, rows summing to 1) and per-item log evidence."""
        post, log_z = compiled()["e_step"](self.params, self.data, self.cfg)
        post = np.asarray(post, dtype=np.float64)
        post /= post.sum(axis=1, keepdims=True)
        return post, np.asarray(log_z, dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``h(x)`` for rows of (standardised) item features."""
        out = np.asarray(compiled()["predict"](self.params, np.asarray(x, np.float32), self.cfg), np.float64)
        return out / out.sum(axis=1, keepdims=True)

    def item_inputs(self) -> np.ndarray:
        """The item rows the networks see (features, or the learned embeddings of LIA-E)."""
        return np.asarray(self.params["item"] if "item" in self.params else self.data["x"])

    def annotator_inputs(self) -> np.ndarray:
        """The annotator rows the competence map sees (features, or the learned embeddings)."""
        return np.asarray(self.params["annotator"] if "annotator" in self.params else self.data["r"])

    def pair_confusions(self, x: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``Q[i, j]`` for all item rows ``x`` and annotator rows ``r``: (items, annotators, K, K)."""
        q = compiled()["pair_confusions"](
            self.params, np.asarray(x, np.float32), np.asarray(r, np.float32), self.cfg
        )
        q = np.asarray(q, dtype=np.float64)
        return q / q.sum(axis=-1, keepdims=True)

    def confusions_of(self, item: np.ndarray, annotator: np.ndarray) -> np.ndarray:
        """``Q`` of the fitted (item, annotator) code pairs: (pairs, K, K)."""
        q = compiled()["confusions_of"](
            self.params,
            self.item_inputs().astype(np.float32),
            self.annotator_inputs().astype(np.float32),
            np.asarray(item),
            np.asarray(annotator),
            self.cfg,
        )
        q = np.asarray(q, dtype=np.float64)
        return q / q.sum(axis=-1, keepdims=True)


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
