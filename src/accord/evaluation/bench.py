"""Benchmark models on a folder of datasets: accuracy, macro-F1, calibration, fit time, redundancy curves.

``run_bench(root)`` reads every dataset folder under ``root`` (the ``../shared/data`` layout:
``annotations.csv``, ``gold.csv``, ``meta.json``), fits every method, and scores the consensus on the gold
items. The analysis returns a :class:`BenchResult` of plain DataFrames; :func:`to_markdown` and
:meth:`BenchResult.to_csv` render it and know nothing of the fitting. Numeric rating datasets (``meta.json``
``task_type: "continuous"``) are skipped with a reason. A folder that also holds ``pred_probs.csv`` (a
classifier's out-of-sample predicted probabilities, ``item`` plus one column per class) gets the
model-assisted methods (CROWDLAB, model-assisted Dawid-Skene) too, and one with item features
(``features.csv``: ``item`` plus numeric columns, or ``features_lia.npy`` with its
``features_lia_items.csv``) gets LIA. The peer libraries' methods can run side by
side (``peers=True``): crowd-kit's aggregators (``ck:NAME``) and cleanlab's majority vote and CROWDLAB
(``cl:majority_vote``, ``cl:crowdlab``), each in a child process with a time limit; a peer that cannot be
imported or fails becomes a note, never a crash.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..errors import AccordError, InvalidParameterError
from ..io import load_dataset, read_meta, read_pred_probs
from .metrics import accuracy, expected_calibration_error, log_loss, macro_f1
from .redundancy import redundancy_curve

__all__ = ["DEFAULT_PEERS", "FORMAT_VERSION", "BenchResult", "dataset_folders", "run_bench", "to_markdown"]

FORMAT_VERSION = 1
DEFAULT_PEERS = (
    "ck:MajorityVote",
    "ck:DawidSkene",
    "ck:OneCoinDawidSkene",
    "ck:GLAD",
    "ck:MACE",
    "ck:KOS",
    "ck:MMSR",
    "ck:Wawa",
    "cl:majority_vote",
    "cl:crowdlab",
)
#: The peer libraries: prefix -> (display name, module whose import says whether it is installed).
PEER_LIBRARIES = {"ck": ("crowd-kit", "crowdkit.aggregation"), "cl": ("cleanlab", "cleanlab.multiannotator")}
CLEANLAB_METHODS = ("majority_vote", "crowdlab")
PRED_PROBS_FILE = "pred_probs.csv"
# item features for the models that need them (LIA): a table (item + numeric columns), or a .npy + its ids
FEATURE_FILES = ("features.csv", "features_lia.npy")
MAIN_COLUMNS = [
    "dataset",
    "method",
    "n_items",
    "n_annotators",
    "n_annotations",
    "n_classes",
    "n_gold",
    "accuracy",
    "macro_f1",
    "nll",
    "ece",
    "seconds",
    "note",
]
REDUNDANCY_COLUMNS = ["dataset", "method", "redundancy", "labels_per_item", "mean", "sem", "repeats"]
Log = Callable[[str], None]


@dataclass
class BenchResult:
    """What a benchmark run measured.

    Attributes
    ----------
    main : DataFrame
        One row per (dataset, method): sizes, ``accuracy``, ``macro_f1``, ``nll`` (log loss), ``ece`` on the
        gold items, ``seconds`` to fit, and a ``note`` (an error message, or what was chosen by ``auto``).
    redundancy : DataFrame
        One row per (dataset, method, redundancy level): mean accuracy and its standard error over repeats.
    skipped : list of (dataset, reason)
    settings : dict
        The arguments of the run (methods, levels, repeats, seed, peers).
    """

    main: pd.DataFrame
    redundancy: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def accuracy_table(self) -> pd.DataFrame:
        """Datasets x methods accuracy, in the order the methods were run."""
        return _pivot(self.main, "accuracy")

    def to_csv(self, path: str | Path) -> list[Path]:
        """Write ``PATH`` (the main table, long form) and ``PATH`` with ``_redundancy`` before the suffix."""
        path = Path(path)
        red = path.with_name(f"{path.stem}_redundancy{path.suffix or '.csv'}")
        self.main.to_csv(path, index=False)
        self.redundancy.to_csv(red, index=False)
        return [path, red]


def dataset_folders(root: str | Path) -> list[Path]:
    """The dataset folders under ``root`` (folders with an ``annotations.csv``), sorted by name; ``root``
    itself when it is one."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidParameterError(f"{root} is not a folder of datasets")
    if (root / "annotations.csv").exists():
        return [root]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "annotations.csv").exists())
    if not folders:
        raise InvalidParameterError(f"no dataset folder (a folder with annotations.csv) under {root}")
    return folders


def _skip_reason(folder: Path, meta: dict[str, Any]) -> str | None:
    if meta.get("task_type") == "continuous":
        return "numeric rating task (task_type 'continuous'): no classification model applies"
    if not (folder / "gold.csv").exists():
        return "no gold.csv: nothing to score against"
    return None


# ---------------------------------------------------------------------- scoring one fitted consensus
def _scores(labels: pd.Series, proba: pd.DataFrame | None, gold: pd.Series) -> dict[str, float]:
    out = {
        "accuracy": accuracy(labels, gold),
        "macro_f1": macro_f1(labels, gold),
        "nll": float("nan"),
        "ece": float("nan"),
    }
    if proba is not None:
        out["nll"] = log_loss(proba, gold)
        out["ece"] = expected_calibration_error(proba, gold)
    return out


def _sizes(name: str, ann: Annotations, gold: pd.Series) -> dict[str, Any]:
    return {
        "dataset": name,
        "n_items": ann.n_items,
        "n_annotators": ann.n_annotators,
        "n_annotations": ann.n_annotations,
        "n_classes": ann.n_classes,
        "n_gold": len(gold),
    }


def _fit_accord(
    method: str,
    ann: Annotations,
    gold: pd.Series,
    seed: int,
    pred_probs: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
) -> dict[str, Any]:
    from ..models.registry import make_model

    model = make_model(method, **({"random_state": seed} if _takes_random_state(method) else {}))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        given = {"pred_probs": pred_probs, "features": features}
        inputs = {k: given[k] for k in _requires(method) if given.get(k) is not None}
        model.fit(ann, **inputs)
    seconds = time.perf_counter() - start
    consensus = model.consensus_
    row = {"method": method, "seconds": seconds, "note": _note(model)}
    row.update(_scores(consensus.labels, consensus.proba, gold))
    return row


def _pred_probs(folder: Path, ann: Annotations) -> pd.DataFrame | None:
    """The folder's ``pred_probs.csv`` aligned to the annotated items and classes, or None when it has
    none."""
    path = folder / PRED_PROBS_FILE
    if not path.exists():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows for unannotated items are dropped; that is expected here
        return read_pred_probs(path, ann)


def _features(folder: Path) -> pd.DataFrame | None:
    """The folder's item features (``features.csv``, or ``features_lia.npy`` with ``features_lia_items.csv``),
    or None when it has none or they are not numeric (e.g. a table of texts)."""
    from ..io.features import read_features

    for name in FEATURE_FILES:
        if (folder / name).exists():
            try:
                return read_features(folder / name)
            except AccordError:
                continue
    return None


def _requires(method: str) -> tuple[str, ...]:
    from ..models.registry import METHODS

    return tuple(getattr(METHODS[method], "requires", ()) or ())


def _missing_inputs(method: str, pred_probs: Any, features: Any) -> list[str]:
    """The required inputs of ``method`` this folder does not have, as file names."""
    have = {"pred_probs": pred_probs is not None, "features": features is not None}
    files = {"pred_probs": PRED_PROBS_FILE, "features": " or ".join(FEATURE_FILES)}
    return [files.get(k, k) for k in _requires(method) if not have.get(k, False)]


def _takes_random_state(method: str) -> bool:
    from ..models.registry import METHODS

    return "random_state" in inspect.signature(METHODS[method]).parameters


def _note(model: Any) -> str:
    """What ``auto`` chose: the model, or the stacking weights of at least 0.05."""
    chosen = getattr(model, "chosen_", None)
    if not chosen:
        return ""
    weights = getattr(model, "weights_", None)
    if chosen == "stack" and weights is not None:
        shown = weights[weights >= 0.05].sort_values(ascending=False)
        return "stack: " + ", ".join(f"{name} {w:.2f}" for name, w in shown.items())
    return f"chose {chosen}"


def needs_extra_inputs(method: str) -> bool:
    """True for models whose ``fit`` needs more than annotations (a classifier's ``pred_probs``, item
    ``features``)."""
    return bool(_requires(method))


# ---------------------------------------------------------------------- peers, each in a child process
def parse_peer(spec: str) -> tuple[str, str]:
    """``"ck:GLAD"`` or ``"GLAD"`` -> ``("ck", "GLAD")`` (crowd-kit); ``"cl:crowdlab"`` -> ``("cl",
    "crowdlab")``."""
    prefix, sep, name = spec.partition(":")
    if not sep:
        prefix, name = "ck", spec
    if prefix not in PEER_LIBRARIES or not name:
        raise InvalidParameterError(
            f"peer method {spec!r}: write ck:NAME for a crowd-kit class (e.g. ck:GLAD) or "
            f"cl:NAME for cleanlab ({', '.join(CLEANLAB_METHODS)})"
        )
    if prefix == "cl" and name not in CLEANLAB_METHODS:
        raise InvalidParameterError(f"peer method {spec!r}: cleanlab peers are {', '.join(CLEANLAB_METHODS)}")
    return prefix, name


def _wide_codes(ann: Annotations) -> np.ndarray:
    """Items x annotators float matrix of label codes, NaN where an annotator did not label the item
    (cleanlab's ``labels_multiannotator``)."""
    wide = np.full((ann.n_items, ann.n_annotators), np.nan)
    wide[ann.item, ann.annotator] = ann.label
    return wide


def _run_cleanlab(name: str, ann: Annotations, pred_probs: pd.DataFrame | None) -> tuple[Any, Any]:
    from cleanlab import multiannotator as cl  # optional peer, imported in the child only

    wide = _wide_codes(ann)
    if name == "majority_vote":
        return np.asarray(ann.classes, dtype=object)[cl.get_majority_vote_label(wide)], None
    if pred_probs is None:
        raise InvalidParameterError(f"cleanlab's CROWDLAB needs {PRED_PROBS_FILE} in the dataset folder")
    out = cl.get_label_quality_multiannotator(wide, pred_probs.to_numpy(), verbose=False)
    return np.asarray(ann.classes, dtype=object)[out["label_quality"]["consensus_label"].to_numpy()], None


def _peer_worker(
    spec: str, ann: Annotations, pred_probs: pd.DataFrame | None, conn: Any
) -> None:  # pragma: no cover - runs in a child
    try:
        prefix, name = parse_peer(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            if prefix == "cl":
                labels, proba = _run_cleanlab(name, ann, pred_probs)
                labels = pd.Series(labels, index=ann.items)
            else:
                from crowdkit import aggregation as ck

                model = getattr(ck, name)()
                frame = ann.to_frame().rename(columns={"item": "task", "annotator": "worker"})
                labels = model.fit_predict(frame)
                proba = getattr(model, "probas_", None)
            seconds = time.perf_counter() - start
        conn.send(("ok", labels, proba, seconds))
    except BaseException as exc:  # noqa: BLE001 - report any failure of the peer as a note
        conn.send(
            ("error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", None, 0.0)
        )
    finally:
        conn.close()


def peers_available(prefix: str = "ck") -> str | None:
    """None when the peer library (``"ck"`` crowd-kit, ``"cl"`` cleanlab) can be imported, else why not."""
    import importlib

    library, module = PEER_LIBRARIES[prefix]
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure means "no peer columns"
        return f"{library} not importable ({type(exc).__name__}: {exc})"
    return None


def _fit_peer(
    spec: str, ann: Annotations, gold: pd.Series, timeout: float, pred_probs: pd.DataFrame | None = None
) -> dict[str, Any]:
    prefix, name = parse_peer(spec)
    row: dict[str, Any] = {"method": f"{prefix}:{name}", "seconds": float("nan"), "note": ""}
    if prefix == "cl" and name == "crowdlab" and pred_probs is None:
        row["note"] = f"needs {PRED_PROBS_FILE} in the dataset folder"
        return row
    # not "fork": a parent that loaded a multithreaded library (JAX, BLAS pools) can deadlock a forked child
    ctx: Any = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peer_worker, args=(spec, ann, pred_probs, child), daemon=True)
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, labels, proba, seconds = parent.recv()
        if status == "ok":
            row["seconds"] = seconds
            labels = pd.Series(labels)
            proba = _peer_proba(proba, ann)
            row.update(_scores(labels, proba, gold))
        else:
            row["note"] = labels
    else:
        row["note"] = f"timed out after {timeout:g} s"
    proc.join(timeout=1)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return row


def _peer_proba(proba: Any, ann: Annotations) -> pd.DataFrame | None:
    """crowd-kit's ``probas_`` (task x label) aligned to our classes, rows renormalised; None when absent."""
    if not isinstance(proba, pd.DataFrame) or proba.empty:
        return None
    frame = proba.copy()
    frame.columns = pd.Index([str(c) for c in proba.columns])
    frame = frame.reindex(columns=[str(c) for c in ann.classes], fill_value=0.0).fillna(0.0)
    total = frame.sum(axis=1)
    if (total <= 0).any():
        return None
    return frame.div(total, axis=0)


# ---------------------------------------------------------------------- the run
def run_bench(
    root: str | Path,
    methods: Sequence[str] | None = None,
    *,
    redundancy: Sequence[int | str] | None = (1, 2, 3, 5, 10, "all"),
    repeats: int = 10,
    redundancy_methods: Sequence[str] | None = None,
    peers: bool = False,
    peer_methods: Sequence[str] = DEFAULT_PEERS,
    peer_timeout: float = 300.0,
    random_state: int = 0,
    datasets: Sequence[str] | None = None,
    log: Log | None = None,
) -> BenchResult:
    """Fit every method on every dataset folder under ``root`` and score it on the gold items.

    Parameters
    ----------
    root : path
        A folder of dataset folders (or one dataset folder).
    methods : sequence of str, optional
        Names from ``accord.METHODS``; default all of them, the model-assisted ones (which need
        ``pred_probs``) only on folders that have a ``pred_probs.csv``. A method that does not apply to a
        dataset (KOS on more than two classes) gets a row with a note instead of numbers.
    redundancy : sequence of int or "all", optional
        Caps on labels per item for the redundancy curves; None or empty for none.
    repeats : int, default 10
        Subsamples per redundancy level (mean and standard error over them).
    redundancy_methods : sequence of str, optional
        The methods that get redundancy curves (default: all of ``methods``); slow methods can be left out.
    peers : bool, default False
        Also run the peer libraries' ``peer_methods`` (main table only), each in a child process limited to
        ``peer_timeout`` seconds: ``ck:NAME`` is crowd-kit's class ``NAME`` (a bare ``NAME`` too),
        ``cl:majority_vote`` and ``cl:crowdlab`` are cleanlab's ``get_majority_vote_label`` and
        ``get_label_quality_multiannotator`` (the latter only where the folder has ``pred_probs.csv``). A
        library that cannot be imported is listed under ``skipped``.
    random_state : int, default 0
        Seed of the subsampling and of every model that takes one.
    datasets : sequence of str, optional
        Only these dataset folder names.
    log : callable, optional
        Called with one line of progress text per step (the CLI prints it to stderr).
    """
    from ..models.registry import METHODS

    say = log or (lambda _line: None)
    default_methods = not methods
    names = list(methods) if methods else [m for m in METHODS if not needs_extra_inputs(m)]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise InvalidParameterError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    levels = list(redundancy or [])
    peer_specs = [parse_peer(spec) for spec in peer_methods] if peers else []
    peer_problem = {prefix: peers_available(prefix) for prefix in dict.fromkeys(p for p, _ in peer_specs)}
    folders = dataset_folders(root)
    if datasets:
        wanted = set(datasets)
        folders = [f for f in folders if f.name in wanted]
    main_rows: list[dict[str, Any]] = []
    red_rows: list[pd.DataFrame] = []
    skipped: list[tuple[str, str]] = []
    for folder in folders:
        reason = _skip_reason(folder, read_meta(folder))
        if reason is not None:
            skipped.append((folder.name, reason))
            say(f"{folder.name}: skipped ({reason})")
            continue
        data = load_dataset(folder, duplicates="keep_first")
        sizes = _sizes(data.name, data.annotations, data.gold)
        pred_probs = _pred_probs(folder, data.annotations)
        features = _features(folder)
        run_here = names + (
            [m for m in METHODS if needs_extra_inputs(m) and not _missing_inputs(m, pred_probs, features)]
            if default_methods
            else []
        )
        for method in run_here:
            row = dict(sizes)
            missing = _missing_inputs(method, pred_probs, features)
            if missing:
                row.update(method=method, note=f"needs {', '.join(missing)} in the dataset folder")
                main_rows.append(row)
                continue
            try:
                row.update(
                    _fit_accord(method, data.annotations, data.gold, random_state, pred_probs, features)
                )
            except AccordError as exc:
                row.update(method=method, note=f"not applicable: {exc}")
                main_rows.append(row)
                say(f"{data.name} {method}: {row['note']}")
                continue
            main_rows.append(row)
            say(f"{data.name} {method}: accuracy {row['accuracy']:.4f} in {row['seconds']:.2f} s")
            wants_curve = redundancy_methods is None or method in redundancy_methods
            # a model that needs features is refitted per subsample only when redundancy_methods names it
            named = redundancy_methods is not None and method in redundancy_methods
            curve_ok = not needs_extra_inputs(method) or (named and _requires(method) == ("features",))
            if levels and wants_curve and curve_ok:
                curve = _curve(method, data.annotations, data.gold, levels, repeats, random_state, features)
                curve.insert(0, "method", method)
                curve.insert(0, "dataset", data.name)
                red_rows.append(curve)
        for prefix, name in peer_specs:
            if peer_problem[prefix] is not None:
                continue
            row = dict(sizes)
            row.update(_fit_peer(f"{prefix}:{name}", data.annotations, data.gold, peer_timeout, pred_probs))
            main_rows.append(row)
            say(
                f"{data.name} {prefix}:{name}: "
                + (f"accuracy {row['accuracy']:.4f}" if "accuracy" in row else row["note"])
            )
    skipped += [(PEER_LIBRARIES[prefix][0], problem) for prefix, problem in peer_problem.items() if problem]
    main = pd.DataFrame(main_rows).reindex(columns=MAIN_COLUMNS)
    red = pd.concat(red_rows, ignore_index=True) if red_rows else pd.DataFrame(columns=REDUNDANCY_COLUMNS)
    settings = {
        "format_version": FORMAT_VERSION,
        "root": str(root),
        "methods": names,
        "redundancy": [str(x) for x in levels],
        "repeats": repeats,
        "random_state": random_state,
        "redundancy_methods": list(redundancy_methods) if redundancy_methods is not None else names,
        "peers": [f"{prefix}:{name}" for prefix, name in peer_specs],
    }
    return BenchResult(main, red.reindex(columns=REDUNDANCY_COLUMNS), skipped, settings)


def _curve(
    method: str,
    ann: Annotations,
    gold: pd.Series,
    levels: list[int | str],
    repeats: int,
    seed: int,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    from ..models.registry import make_model

    params = {"random_state": seed} if _takes_random_state(method) else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return redundancy_curve(
            lambda: make_model(method, **params),
            ann,
            gold,
            levels=levels,
            repeats=repeats,
            random_state=seed,
            features=features,
        )


# ---------------------------------------------------------------------- rendering
def _pivot(main: pd.DataFrame, value: str) -> pd.DataFrame:
    seen = list(dict.fromkeys(main["method"]))
    order = [m for m in seen if ":" not in m] + [m for m in seen if ":" in m]  # ours first, then the peers
    datasets = list(dict.fromkeys(main["dataset"]))
    table = main.pivot_table(index="dataset", columns="method", values=value, aggfunc="first", dropna=False)
    return table.reindex(index=datasets, columns=order)


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return f"{value:.{digits}f}"


def _markdown_matrix(table: pd.DataFrame, digits: int, mean_row: bool, best: str | None = None) -> list[str]:
    cols = list(table.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, row in table.iterrows():
        values = row.to_numpy(dtype=np.float64)
        mark = _best_mask(values, best)
        cells = [
            (f"**{_fmt(v, digits)}**" if m else _fmt(v, digits)) for v, m in zip(values, mark, strict=False)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if mean_row and len(table):
        means = [(table[c].mean(), int(table[c].notna().sum())) for c in cols]
        lines.append(
            "| mean (n) | " + " | ".join(f"{_fmt(m, digits)} ({n})" if n else "" for m, n in means) + " |"
        )
    return lines


def _best_mask(values: np.ndarray, best: str | None) -> np.ndarray:
    if best is None or not np.isfinite(values).any():
        return np.zeros(len(values), dtype=bool)
    target = np.nanmax(values) if best == "max" else np.nanmin(values)
    return np.isclose(values, target, rtol=0, atol=1e-12)


def _redundancy_lines(red: pd.DataFrame) -> list[str]:
    if red.empty:
        return []
    levels = list(dict.fromkeys(red["redundancy"].astype(str)))
    lines = [
        "| dataset | method | " + " | ".join(f"r={lv}" for lv in levels) + " |",
        "|---|---|" + "---|" * len(levels),
    ]
    for (dataset, method), group in red.groupby(["dataset", "method"], sort=False):
        cells = {
            str(r): f"{m:.3f} ± {s:.3f}"
            for r, m, s in zip(group["redundancy"], group["mean"], group["sem"], strict=False)
        }
        lines.append(f"| {dataset} | {method} | " + " | ".join(cells.get(lv, "") for lv in levels) + " |")
    return lines


def to_markdown(result: BenchResult) -> str:
    """The benchmark as one Markdown document: accuracy (best per dataset in bold, mean row), macro-F1, NLL,
    ECE and fit seconds per dataset and method, the redundancy curves, notes and skipped datasets."""
    s = result.settings
    peers = f"; peers (ck: crowd-kit, cl: cleanlab): {', '.join(s['peers'])}" if s.get("peers") else ""
    out = [
        "# accord bench",
        "",
        f"Datasets under `{s.get('root')}`; methods: {', '.join(s.get('methods', []))}{peers}.",
        (
            f"Scores on the gold items of each dataset; seed {s.get('random_state')}. "
            f"Format version {s.get('format_version')}."
        ),
        "",
    ]
    sections = [
        ("Accuracy", "accuracy", 4, "max"),
        ("Macro-F1", "macro_f1", 4, "max"),
        ("Log loss (NLL) of the posterior", "nll", 3, "min"),
        ("Expected calibration error (10 bins)", "ece", 3, "min"),
        ("Fit seconds", "seconds", 2, None),
    ]
    for title, column, digits, best in sections:
        if result.main.empty:
            break
        out += [f"## {title}", ""] + _markdown_matrix(_pivot(result.main, column), digits, True, best) + [""]
    red = _redundancy_lines(result.redundancy)
    if red:
        title = (
            f"## Accuracy vs labels per item (mean ± s.e. over {s.get('repeats')} subsamples; "
            "r = cap on labels per item)"
        )
        out += [title, ""] + red + [""]
    notes = result.main[result.main["note"].fillna("").astype(str) != ""] if not result.main.empty else None
    if notes is not None and len(notes):
        out += ["## Notes", ""] + [f"- {r.dataset} / {r.method}: {r.note}" for r in notes.itertuples()] + [""]
    if result.skipped:
        out += ["## Skipped", ""] + [f"- {name}: {reason}" for name, reason in result.skipped] + [""]
    return "\n".join(out)
