"""The data stage of the report: plain numbers, no HTML.

:func:`build_report` fits a model (or takes a fitted one) and returns a :class:`ReportData` whose fields are
plain JSON-ready Python values (dicts, lists, floats, strings). The HTML renderer
(:mod:`accord.report.render`) and the JSON writer only read it, so every number in the report can be tested
here without a browser.

Sections (field names of :class:`ReportData`):

- ``summary``: sizes, classes, raw label counts and consensus label counts;
- ``labels_per_item``: histogram of the number of annotations per item;
- ``agreement``: Fleiss' kappa, Krippendorff's alpha and observed agreement (:mod:`accord.quality.agreement`);
- ``confidence``: histogram of the consensus confidence (posterior of the chosen class);
- ``annotators``: one row per annotator (quality, agreement with the consensus and, with gold, accuracy
  against gold);
- ``confusions``: estimated confusion matrices of the worst annotators (lowest quality) and of the most
  active ones;
- ``raw_vs_consensus``: how the raw annotations are distributed for each consensus class;
- ``convergence``: per EM iteration the log-likelihood and, with gold, the accuracy of the labels entering it
  (0.675, 0.900, 0.975, ... on the bundled pneumonia example);
- ``review``: the items most worth a second look (lowest confidence), with their votes;
- ``gold`` (only with gold labels): accuracy, macro-F1, confusions against gold, and the error of a single
  annotator, majority vote and Dawid-Skene as the number of labels per item grows, by subsampling.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from .._progress import Progress
from .._utils import check_random_state
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ..evaluation.metrics import macro_f1_codes
from ..models import DawidSkene, MajorityVote
from ..models._base import Aggregator
from ..models.registry import make_model
from ..quality.agreement import agreement_summary

__all__ = ["FORMAT_VERSION", "ReportData", "build_report", "error_by_labels_per_item", "redundancy_curve"]

FORMAT_VERSION = 1
MAX_CONFUSIONS = 24
CONFIDENCE_BIN_WIDTH = 0.05
MAX_CURVE_K = 10


@dataclass
class ReportData:
    """Every number the report shows. All fields are JSON-ready; ``gold`` is ``None`` without gold labels."""

    title: str
    method: str
    params: dict[str, Any]
    summary: dict[str, Any]
    labels_per_item: list[dict[str, Any]]
    agreement: dict[str, Any]
    confidence: dict[str, Any]
    annotators: list[dict[str, Any]]
    confusions: list[dict[str, Any]]
    raw_vs_consensus: dict[str, Any]
    convergence: dict[str, Any]
    review: list[dict[str, Any]]
    gold: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    accord_version: str = ""
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (NaN and infinities become ``None``), ``format_version`` first."""
        out = _jsonable(asdict(self))
        return {"format_version": out.pop("format_version"), **out}

    def to_json(self, indent: int | None = 1) -> str:
        """The report as JSON text; ``format_version`` says which layout it follows."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if np.isfinite(v) else None
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------------- entry p
def build_report(
    annotations: Annotations,
    *,
    method: str | Aggregator = "ds",
    params: dict[str, Any] | None = None,
    gold: pd.Series | dict[Any, Any] | pd.DataFrame | None = None,
    n_review: int = 20,
    redundancy: bool = True,
    redundancy_repeats: int = 3,
    max_curve_items: int = 20_000,
    random_state: int | np.random.Generator | None = 0,
    title: str | None = None,
    progress: bool | None = False,
) -> ReportData:
    """Fit a model and collect the numbers of the report.

    Parameters
    ----------
    annotations : Annotations
    method : str or Aggregator, default "ds"
        A short name from ``accord.METHODS`` (built with ``params``), a model instance, or an already fitted
        model (its fit is reused, e.g. ``DawidSkene(min_iter=8, max_iter=12, tol=1e-6)`` for the demo's
        table).
    gold : Series (item -> label), dict or DataFrame, optional
        Known labels, used only to evaluate (never given to the model).
    n_review : int, default 20
        How many low-confidence items to list.
    redundancy : bool, default True
        With gold, compute the error-versus-labels-per-item curves (several refits; the costliest part).
    redundancy_repeats : int, default 3
        Random subsamples per point of those curves.
    max_curve_items : int, default 20000
        The curves use at most this many items (all gold items first, then others at random).
    random_state : int, Generator or None, default 0
        Subsampling for the curves.
    title : str, optional
    progress : bool or None, default False
        Draw a progress bar on stderr (``None``: when stderr is a terminal).

    Returns
    -------
    ReportData
    """
    from .._version import __version__

    rng = check_random_state(random_state)
    notes = list(annotations.report)
    steps = 6 + (1 if gold is not None else 0)
    with Progress(steps, "report", enabled=progress) as bar:
        bar.set_step("fitting")
        model, consensus = _fit(annotations, method, params, notes)
        bar.advance(step="gold")
        gold_codes = _encode_gold(annotations, gold, notes)
        bar.advance(step="agreement")
        agreement = agreement_summary(annotations)
        notes += agreement.pop("notes")
        bar.advance(step="tables")
        data = ReportData(
            title=title or f"accord report: {consensus.method}",
            method=consensus.method,
            params=_jsonable(consensus.params),
            summary=summary_section(annotations, consensus),
            labels_per_item=size_histogram(annotations.item_sizes()),
            agreement=agreement,
            confidence=confidence_section(consensus),
            annotators=annotator_rows(consensus, gold_codes),
            confusions=confusion_section(consensus),
            raw_vs_consensus=cross_table(annotations, consensus.label_codes),
            convergence=convergence_section(model, consensus, gold_codes),
            review=review_section(consensus, n_review, gold_codes),
            notes=notes,
            accord_version=__version__,
            created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )
        bar.advance(step="gold evaluation")
        if gold_codes is not None:
            data.gold = gold_section(
                annotations,
                consensus,
                gold_codes,
                method,
                params,
                redundancy,
                redundancy_repeats,
                max_curve_items,
                rng,
                bar,
            )
            bar.advance()
        bar.advance(step="done")
    return data


def _fit(
    annotations: Annotations, method: str | Aggregator, params: dict[str, Any] | None, notes: list[str]
) -> tuple[Aggregator, Consensus]:
    if isinstance(method, Aggregator):
        model = method
        if "consensus_" in model.__dict__ and getattr(model, "annotations_", None) is annotations:
            return model, model.consensus_
        if params:
            raise InvalidParameterError(
                "params go with a method name; set them on the model instance instead"
            )
    elif isinstance(method, str):
        model = make_model(method, **(params or {}))
    else:
        raise InvalidParameterError(
            f"method must be a name from accord.METHODS or a model, got {type(method).__name__}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(annotations)
    notes += _messages(caught)
    return model, model.consensus_


def _messages(caught: list[warnings.WarningMessage]) -> list[str]:
    out: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in out:
            out.append(text)
    return out


def _encode_gold(
    annotations: Annotations, gold: Any, notes: list[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    if gold is None:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items, labels = annotations.encode_gold(gold)
    notes += _messages(caught)
    if len(items) == 0:
        notes.append("no gold item has an annotation: the gold section is left out")
        return None
    return items, labels


# ---------------------------------------------------------------------------------------------------- section
def _names(index: pd.Index) -> list[str]:
    return [str(c) for c in index]


def summary_section(annotations: Annotations, consensus: Consensus) -> dict[str, Any]:
    """Sizes, classes, raw label counts and consensus label counts."""
    k = annotations.n_classes
    sizes = annotations.item_sizes()
    raw = np.bincount(annotations.label, minlength=k)
    cons = np.bincount(consensus.label_codes, minlength=k)
    return {
        "n_items": annotations.n_items,
        "n_annotators": annotations.n_annotators,
        "n_classes": k,
        "n_annotations": annotations.n_annotations,
        "classes": _names(annotations.classes),
        "labels_per_item_mean": float(sizes.mean()) if len(sizes) else 0.0,
        "labels_per_item_median": float(np.median(sizes)) if len(sizes) else 0.0,
        "labels_per_item_min": int(sizes.min()) if len(sizes) else 0,
        "labels_per_item_max": int(sizes.max()) if len(sizes) else 0,
        "raw_label_counts": raw.tolist(),
        "consensus_label_counts": cons.tolist(),
        "unanimous_items": int(np.sum(consensus.vote_counts.max(axis=1) == sizes)),
    }


def size_histogram(sizes: np.ndarray, max_bins: int = 30) -> list[dict[str, Any]]:
    """Histogram of annotations per item: ``[{"lo", "hi", "label", "count"}]``, one bar per size when sizes
    are few, otherwise about ``max_bins`` ranges of equal width."""
    if len(sizes) == 0:
        return []
    counts = np.bincount(sizes)
    lo_size, hi_size = int(sizes.min()), int(sizes.max())
    width = max(1, int(np.ceil((hi_size - lo_size + 1) / max_bins)))
    out = []
    for lo in range(lo_size, hi_size + 1, width):
        hi = min(lo + width - 1, hi_size)
        label = str(lo) if lo == hi else f"{lo}-{hi}"
        out.append({"lo": lo, "hi": hi, "label": label, "count": int(counts[lo : hi + 1].sum())})
    return out


def confidence_section(consensus: Consensus, width: float = CONFIDENCE_BIN_WIDTH) -> dict[str, Any]:
    """Histogram of the confidence (posterior of the consensus class), with summary figures.

    Bins of ``width`` cover ``[lo, 1]``, where ``lo`` is ``1 / n_classes`` rounded down to a multiple of
    ``width``: a consensus label never has less than ``1 / n_classes`` of the posterior (it is the largest of
    ``n_classes`` shares). The last bin includes 1.
    """
    p = consensus.proba_array
    conf = p[np.arange(len(p)), consensus.label_codes]
    n_bins = int(round(1.0 / width))
    first = int(np.floor(n_bins / max(p.shape[1], 1) + 1e-9))
    counts, edges = np.histogram(conf, bins=n_bins - first, range=(first * width, 1.0))
    return {
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "mean": float(conf.mean()) if len(conf) else None,
        "median": float(np.median(conf)) if len(conf) else None,
        "below_0_9": int(np.sum(conf < 0.9)),
        "below_0_6": int(np.sum(conf < 0.6)),
    }


def _gold_hits(
    annotations: Annotations, gold_codes: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per annotation: whether its item has gold, and whether the label equals it."""
    gold_of_item = np.full(annotations.n_items, -1, dtype=np.int64)
    gold_of_item[gold_codes[0]] = gold_codes[1]
    g = gold_of_item[annotations.item]
    return g >= 0, annotations.label == g


def annotator_rows(
    consensus: Consensus, gold_codes: tuple[np.ndarray, np.ndarray] | None
) -> list[dict[str, Any]]:
    """One row per annotator, best quality first: n_labels, quality, agreement with the consensus,
    expected accuracy, worst class and, with gold, the number of gold items labelled and the accuracy on
    them."""
    frame = consensus.annotator_quality
    ann = consensus.annotations
    table = pd.DataFrame(
        {
            "annotator": [str(a) for a in ann.annotators],
            "n_labels": frame["n_labels"].to_numpy(),
            "quality": frame["quality"].to_numpy(dtype=float),
            "agreement_with_consensus": frame["agreement_with_consensus"].to_numpy(dtype=float),
            "expected_accuracy": frame["expected_accuracy"].to_numpy(dtype=float),
            "worst_class": [str(c) for c in frame["worst_class"]],
        }
    )
    if gold_codes is not None:
        on_gold, right = _gold_hits(ann, gold_codes)
        n_gold = np.bincount(ann.annotator, weights=on_gold, minlength=ann.n_annotators)
        hits = np.bincount(ann.annotator, weights=on_gold & right, minlength=ann.n_annotators)
        table["n_gold"] = n_gold.astype(np.int64)
        table["gold_accuracy"] = np.where(n_gold > 0, hits / np.maximum(n_gold, 1), np.nan)
    table = table.sort_values(["quality", "n_labels"], ascending=[False, False], kind="stable")
    return _jsonable(table.to_dict("records"))


def confusion_section(consensus: Consensus, max_annotators: int = MAX_CONFUSIONS) -> list[dict[str, Any]]:
    """Estimated confusion matrices (rows: true class, columns: label given) of the worst annotators and of
    the most active ones.

    Up to half of ``max_annotators`` are the annotators with the lowest quality score (worst first; these are
    the ones a reader needs to see), the rest the most active of the others. Each entry says why it is shown
    (``"worst"`` or ``"most active"``) and carries the annotator's quality.
    """
    ann = consensus.annotations
    sizes = ann.annotator_sizes()
    quality = consensus.annotator_quality["quality"].to_numpy(dtype=float)
    index = np.arange(len(sizes))
    n_worst = min(len(sizes), max(1, max_annotators // 2)) if len(sizes) > max_annotators else 0
    worst = np.lexsort((index, -sizes, np.nan_to_num(quality, nan=np.inf)))[:n_worst]
    taken = np.zeros(len(sizes), dtype=bool)
    taken[worst] = True
    active = [a for a in np.lexsort((index, -sizes)) if not taken[a]][: max_annotators - n_worst]
    conf = consensus.confusions
    return [
        {
            "annotator": str(ann.annotators[a]),
            "n_labels": int(sizes[a]),
            "quality": float(quality[a]) if np.isfinite(quality[a]) else None,
            "shown_as": why,
            "matrix": conf[a].tolist(),
        }
        for group, why in ((worst, "worst"), (active, "most active"))
        for a in group
    ]


def cross_table(
    annotations: Annotations, reference: np.ndarray, items: np.ndarray | None = None
) -> dict[str, Any]:
    """Counts and row shares of the raw labels (columns) for each reference class of their item (rows).

    ``reference`` holds a class code per item (the consensus, or gold with -1 where unknown); ``items``
    limits the table to those item codes.
    """
    k = annotations.n_classes
    ref = np.asarray(reference, dtype=np.int64)[annotations.item]
    keep = ref >= 0
    if items is not None:
        mask = np.zeros(annotations.n_items, dtype=bool)
        mask[items] = True
        keep &= mask[annotations.item]
    counts = np.bincount(ref[keep] * k + annotations.label[keep], minlength=k * k).reshape(k, k)
    return {"counts": counts.tolist(), "shares": _row_shares(counts).tolist()}


def _row_shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)


def _accuracy(pred: np.ndarray, gold_codes: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(np.asarray(pred)[gold_codes[0]] == gold_codes[1]))


def convergence_section(
    model: Aggregator, consensus: Consensus, gold_codes: tuple[np.ndarray, np.ndarray] | None
) -> dict[str, Any]:
    """Per EM iteration: log-likelihood (per annotation too) and, with gold and kept labels, the accuracy of
    the labels entering the iteration (iteration 1 = the starting majority vote)."""
    hist = consensus.history
    if hist is None or len(hist) == 0 or "log_likelihood" not in hist:
        return {"iterative": False, "iterations": [], "log_likelihood": [], "accuracy": None}
    n_ann = max(consensus.annotations.n_annotations, 1)
    out: dict[str, Any] = {
        "iterative": True,
        "iterations": hist["iteration"].astype(int).tolist(),
        "log_likelihood": hist["log_likelihood"].astype(float).tolist(),
        "log_likelihood_per_annotation": (hist["log_likelihood"].astype(float) / n_ann).tolist(),
        "n_changed": hist["n_changed"].astype(int).tolist() if "n_changed" in hist else None,
        "n_iter": getattr(model, "n_iter_", len(hist)),
        "converged": getattr(model, "converged_", None),
        "accuracy": None,
        "final_accuracy": None,
    }
    steps = getattr(model, "snapshots_", None)
    if steps is None:  # models that keep per-iteration snapshots in a list history_ (older spelling)
        history = getattr(model, "history_", None)
        steps = history if isinstance(history, list) else []
    if gold_codes is not None:
        out["final_accuracy"] = _accuracy(consensus.label_codes, gold_codes)
        if steps and all("labels" in s for s in steps):
            out["accuracy"] = [_accuracy(s["labels"], gold_codes) for s in steps]
    return out


def review_section(
    consensus: Consensus, n: int, gold_codes: tuple[np.ndarray, np.ndarray] | None = None
) -> list[dict[str, Any]]:
    """The ``n`` items with the lowest confidence (ties: more annotations first), with their votes."""
    ann = consensus.annotations
    p = consensus.proba_array
    if n <= 0 or len(p) == 0:
        return []
    conf = p[np.arange(len(p)), consensus.label_codes]
    n = min(n, len(conf))
    candidates = np.argpartition(conf, n - 1)[:n] if n < len(conf) else np.arange(len(conf))
    sizes = ann.item_sizes()
    candidates = candidates[np.lexsort((candidates, -sizes[candidates], conf[candidates]))]
    counts = consensus.vote_counts
    gold_of_item = None
    if gold_codes is not None:
        gold_of_item = np.full(ann.n_items, -1, dtype=np.int64)
        gold_of_item[gold_codes[0]] = gold_codes[1]
    classes = _names(ann.classes)
    rows = []
    for i in candidates:
        votes = {classes[c]: int(counts[i, c]) for c in np.flatnonzero(counts[i])}
        row = {
            "item": str(ann.items[i]),
            "label": classes[consensus.label_codes[i]],
            "confidence": float(conf[i]),
            "n_annotations": int(sizes[i]),
            "votes": votes,
        }
        if gold_of_item is not None:
            row["gold"] = classes[gold_of_item[i]] if gold_of_item[i] >= 0 else None
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------- gold
def gold_section(
    annotations: Annotations,
    consensus: Consensus,
    gold_codes: tuple[np.ndarray, np.ndarray],
    method: str | Aggregator,
    params: dict[str, Any] | None,
    redundancy: bool,
    repeats: int,
    max_curve_items: int,
    rng: np.random.Generator,
    bar: Progress | None = None,
) -> dict[str, Any]:
    """Accuracy and macro-F1 of the consensus and of majority vote on the gold items, confusions against gold
    (raw annotations, majority vote, the model) and the redundancy curves."""
    items, truth = gold_codes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mv = MajorityVote().fit(annotations).consensus_.label_codes
    gold_of_item = np.full(annotations.n_items, -1, dtype=np.int64)
    gold_of_item[items] = truth
    k = annotations.n_classes
    out: dict[str, Any] = {
        "n_gold": len(items),
        "accuracy": _accuracy(consensus.label_codes, gold_codes),
        "macro_f1": macro_f1_codes(consensus.label_codes[items], truth),
        "mv_accuracy": _accuracy(mv, gold_codes),
        "mv_macro_f1": macro_f1_codes(mv[items], truth),
        "n_wrong": int(np.sum(consensus.label_codes[items] != truth)),
        "raw_vs_gold": cross_table(annotations, gold_of_item),
        "mv_vs_gold": _label_confusion(mv[items], truth, k),
        "consensus_vs_gold": _label_confusion(consensus.label_codes[items], truth, k),
        "redundancy": None,
    }
    if redundancy:
        curve_method = method if isinstance(method, str) else getattr(method, "name", "ds")
        out["redundancy"] = error_by_labels_per_item(
            annotations,
            gold_codes,
            extra_method=curve_method,
            extra_params=params if isinstance(method, str) else None,
            repeats=repeats,
            max_items=max_curve_items,
            rng=rng,
            bar=bar,
        )
    return out


def _label_confusion(pred: np.ndarray, truth: np.ndarray, k: int) -> dict[str, Any]:
    counts = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
    return {"counts": counts.tolist(), "shares": _row_shares(counts).tolist()}


def _curve_subset(
    annotations: Annotations,
    gold_codes: tuple[np.ndarray, np.ndarray],
    max_items: int,
    rng: np.random.Generator,
) -> tuple[Annotations, tuple[np.ndarray, np.ndarray]]:
    """At most ``max_items`` items: every gold item first (up to the cap), then others at random."""
    if annotations.n_items <= max_items:
        return annotations, gold_codes
    items, truth = gold_codes
    if len(items) >= max_items:
        pick = np.sort(rng.choice(len(items), max_items, replace=False))
        chosen = items[pick]
    else:
        others = np.setdiff1d(np.arange(annotations.n_items), items)
        chosen = np.concatenate([items, rng.choice(others, max_items - len(items), replace=False)])
    chosen = np.sort(chosen)
    sub = annotations.select_items(annotations.items[chosen])
    new_code = np.full(annotations.n_items, -1, dtype=np.int64)
    new_code[chosen] = np.arange(len(chosen))
    keep = new_code[items] >= 0
    return sub, (new_code[items[keep]], truth[keep])


def _curve_models(
    extra_method: str | None, extra_params: dict[str, Any] | None, rng: np.random.Generator
) -> dict[str, Any]:
    models: dict[str, Any] = {
        "majority vote": lambda: MajorityVote(tie_break="random", random_state=rng),
        "Dawid-Skene": lambda: DawidSkene(max_iter=50, tol=1e-4),
    }
    if extra_method and extra_method not in ("mv", "ds"):
        models[extra_method] = lambda: make_model(extra_method, **(extra_params or {}))
    return models


def error_by_labels_per_item(
    annotations: Annotations,
    gold_codes: tuple[np.ndarray, np.ndarray],
    *,
    extra_method: str | None = None,
    extra_params: dict[str, Any] | None = None,
    repeats: int = 3,
    max_items: int = 20_000,
    max_k: int = MAX_CURVE_K,
    rng: np.random.Generator | None = None,
    bar: Progress | None = None,
) -> dict[str, Any] | None:
    """Error on the gold items of a single annotator, majority vote (random ties) and Dawid-Skene (and the
    report's method, if another) when every item keeps at most ``k`` of its annotations, chosen at random.

    ``k`` runs from 1 to the 90th percentile of the gold items' sizes (at most ``max_k``); each point is the
    mean over ``repeats`` subsamples (``std`` gives their spread). Items with fewer than ``k`` annotations
    keep all of theirs. The models are refitted on every subsample, over all (or ``max_items``) items, and
    scored on gold. At ``k = 1`` there is nothing to aggregate, so every method returns the item's one label
    (a Dawid-Skene fit on one label per item is not identifiable and collapses to
    the prior). The single annotator line is that ``k = 1`` error. Returns ``None`` when the gold items have
    a single annotation each.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    ann, gold = _curve_subset(annotations, gold_codes, max_items, rng)
    gold_sizes = ann.item_sizes()[gold[0]]
    top = int(min(max_k, max(1, np.floor(np.percentile(gold_sizes, 90)))))
    if top < 2:
        return None
    ks = list(range(1, top + 1))
    models = _curve_models(extra_method, extra_params, rng)
    errors = {"single annotator": np.zeros((repeats, len(ks)))} | {
        m: np.zeros((repeats, len(ks))) for m in models
    }
    for r in range(repeats):
        for j, k in enumerate(ks):
            if bar is not None:
                bar.set_step(f"redundancy k={k} ({r + 1}/{repeats})")
            sub = ann.subsample(k, rng)
            if k == 1:
                one = np.full(ann.n_items, -1, dtype=np.int64)
                one[sub.item] = sub.label
                err = 1.0 - _accuracy(one, gold)
                for name in models:
                    errors[name][r, j] = err
                errors["single annotator"][r, :] = err
                continue
            for name, make in models.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pred = make().fit(sub).consensus_.label_codes
                errors[name][r, j] = 1.0 - _accuracy(pred, gold)
    return {
        "k": ks,
        "series": {
            name: {"error": e.mean(axis=0).tolist(), "std": e.std(axis=0).tolist()}
            for name, e in errors.items()
        },
        "repeats": repeats,
        "n_items": ann.n_items,
        "n_gold": len(gold[0]),
    }


def redundancy_curve(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """Deprecated name of :func:`error_by_labels_per_item` (the report's error curves of a single annotator,
    majority vote, Dawid-Skene and the report's model on the same subsamples); for one model's accuracy by
    labels per item use :func:`accord.redundancy_curve`."""
    warnings.warn(
        "accord.report.redundancy_curve is now accord.report.error_by_labels_per_item",
        DeprecationWarning,
        stacklevel=2,
    )
    return error_by_labels_per_item(*args, **kwargs)
