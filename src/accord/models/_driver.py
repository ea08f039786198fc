"""The EM driver shared by the Dawid-Skene family: iterate, record history, test convergence, warn.

It follows seed 000 exactly: start from a posterior, then per iteration fit the parameters from the current
posterior (M-step), record the state entering the iteration, compute the new posterior (E-step), and stop
after ``min_iter`` iterations once ``max |post_new - post| < tol``. The parameters returned are the ones that
produced the returned posterior (no trailing M-step).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._kernel.em import clamp
from .._utils import check_nonneg_float, check_positive_int
from ..errors import ConvergenceWarning, InvalidParameterError

# Above this many posterior cells (items x classes) the per-iteration posteriors are not kept in history_.
FULL_HISTORY_MAX_CELLS = 2_000_000


@dataclass
class EMResult:
    post: np.ndarray
    params: Any
    log_z: np.ndarray
    n_iter: int
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)

    def history_frame(self) -> pd.DataFrame:
        cols = ("iteration", "log_likelihood", "objective", "max_delta", "n_changed")
        return pd.DataFrame([{c: h[c] for c in cols} for h in self.history], columns=list(cols))


def check_em_params(min_iter: int, max_iter: int, tol: float) -> tuple[int, int, float]:
    min_iter = check_positive_int("min_iter", min_iter)
    max_iter = check_positive_int("max_iter", max_iter)
    if min_iter > max_iter:
        raise InvalidParameterError(f"min_iter ({min_iter}) must not exceed max_iter ({max_iter})")
    return min_iter, max_iter, check_nonneg_float("tol", tol)


def run_em(
    post: np.ndarray,
    m_step: Callable[[np.ndarray], Any],
    e_step: Callable[[Any], tuple[np.ndarray, ...]],
    objective: Callable[[Any, np.ndarray], float],
    *,
    min_iter: int,
    max_iter: int,
    tol: float,
    gold: tuple[np.ndarray, np.ndarray] | None,
    keep_history: bool | str,
    confusions_of: Callable[[Any], np.ndarray],
    model: str,
) -> EMResult:
    """Run EM from the posterior ``post`` (already clamped to gold)."""
    min_iter, max_iter, tol = check_em_params(min_iter, max_iter, tol)
    full = keep_history is True or (keep_history == "auto" and post.size <= FULL_HISTORY_MAX_CELLS)
    gi, gl = gold if gold is not None else (None, None)
    history: list[dict[str, Any]] = []
    converged, params, log_z, it = False, None, np.zeros(len(post)), 0
    labels = post.argmax(axis=1)
    for it in range(1, max_iter + 1):
        params = m_step(post)
        new_post, log_z, *fused = e_step(params)  # an E-step may hand back its argmax as a third item
        clamp(new_post, gi, gl)
        delta = float(np.abs(new_post - post).max()) if post.size else 0.0
        new_labels = fused[0] if fused and gi is None else new_post.argmax(axis=1)
        record = {
            "iteration": it,
            "log_likelihood": float(log_z.sum()),
            "objective": float(objective(params, log_z)),
            "max_delta": delta,
            "n_changed": int((new_labels != labels).sum()),
        }
        if full:
            record.update(labels=labels, confusions=confusions_of(params), posteriors=post)
        history.append(record)
        post, labels = new_post, new_labels
        if it >= min_iter and delta < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"{model} stopped at max_iter={max_iter} before converging (last max posterior change "
            f"{history[-1]['max_delta']:.2g} > tol={tol:g}); raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=4,
        )
    return EMResult(post, params, log_z, it, converged, history)
