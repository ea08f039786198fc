"""``accord aggregate FILE --task TYPE`` and ``accord report FILE --task TYPE``: the task types beyond class
labels (ratings, label sets, pairwise comparisons, bounding boxes, segmentation masks).

Each task has its methods (``--method``; the first is the default), its reader and its summary; everything
else is shared with the class-label commands: ``-p KEY=VALUE`` (an unknown key or a refused value is a usage
error, exit code 2), output suffix checks and CSV formula neutralisation (``-o -`` writes to standard output),
``--annotators FILE``, ``--quiet``, and data errors as one line with exit code 1. A flag of the class-label
commands that a task does not use (``--known``, ``--soft``, report's ``--review``, ``--no-curves``,
``--repeats``, ``--seed``; ``--wide``, ``--duplicates``, ``--missing`` outside ``--task rating``) is a usage
error naming the flag, never silently ignored.

=============  ===========================================  ==================  ==============================
``--task``     input                                        ``--method``        ``-o``
=============  ===========================================  ==================  ==============================
rating         item, annotator, value (``--label-col``),    bias_noise, mean,   one row per item: value, sd,
               or ``--wide``: items x annotators            median              interval
multilabel     item, annotator, label: a row per chosen     ds, mv              one row per item: labels (JSON
               class, or a JSON list per row; or a Label                        list), proba_<class>
               Studio export (``--from label_studio``)
pairwise       annotator, left, right, winner               bt, noisy_bt        one row per item, best first
               (``--label-col`` = the winner column)
boxes          Label Studio / SageMaker export or a table   ds                  one row per consensus box
               (``--from`` label_studio|sagemaker|table);
               ``--gold`` item,label,x,y,width,height
segmentation   folder ``<item>/<annotator>.png`` or a       staple, mv          a folder: ``<item>.png`` and
               Label Studio brush export                                        the tables
=============  ===========================================  ==================  ==============================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError
from ..io import detect_format, read_table
from ..io.boxes import detect_box_format, read_boxes, read_gold_boxes
from ..io.label_studio_multilabel import read as read_label_studio_sets
from ..report.tasks import render_task_report
from ..tasks import (
    BOX_PARAMS,
    MULTILABEL_METHODS,
    PAIRWISE_METHODS,
    RATING_METHODS,
    SEGMENTATION_METHODS,
    MultiLabelAnnotations,
    aggregate_boxes,
    aggregate_masks,
    aggregate_multilabel_frame,
    aggregate_pairwise_frame,
    aggregate_ratings_frame,
)
from ..tasks.boxes import score_boxes
from ._common import (
    UsageError,
    check_output,
    fit_guarded,
    format_table,
    make_model_from_args,
    parse_classes,
    parse_params,
    write_table,
)

__all__ = ["TASKS", "TaskRun", "fit_task", "run_task", "run_task_report"]


@dataclass
class TaskRun:
    """A fitted task: its result (``to_frame()``, ``annotators_frame()``), notes for stderr, a summary."""

    task: str
    method: str
    result: Any
    notes: list[str] = field(default_factory=list)
    gold_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskSpec:
    """How one ``--task`` reads, fits and summarises."""

    methods: tuple[str, ...]
    fit: Callable[[argparse.Namespace, str, dict[str, Any]], TaskRun]
    summary: Callable[[Any], str]
    gold: bool = False

    @property
    def default(self) -> str:
        return self.methods[0]


# ====================================================================== shared steps
def _method(args: argparse.Namespace, task: str, spec: TaskSpec) -> str:
    """``--method`` for ``task``: unset (or the class-label default ``ds`` where the task has no ``ds``) means
    the task's default."""
    name = getattr(args, "method", None)
    if name is None or (name == "ds" and "ds" not in spec.methods):
        return spec.default
    if name not in spec.methods:
        raise UsageError(f"--task {task} has no --method {name}; choose one of {', '.join(spec.methods)}")
    return str(name)


def _refuse_flags(args: argparse.Namespace, task: str, flags: dict[str, tuple[str, Any]]) -> None:
    """Flags that mean nothing for ``task`` are usage errors, not silently ignored. ``flags`` maps an
    argument's ``dest`` to its flag and its default: a value other than ``None`` and the default was given.
    (A flag given with its default value cannot be told from an absent one.)"""
    for dest, (flag, default) in flags.items():
        value = getattr(args, dest, None)
        if value is not None and value != default:
            raise UsageError(f"{flag} does not apply to --task {task}{_FOR.get(dest, '')}")


# dest: (flag, default). Flags of the class-label commands (aggregate, report) that no task uses.
_LABEL_ONLY: dict[str, tuple[str, Any]] = {
    "known": ("--known", None),
    "pred_probs": ("--pred-probs", None),
    "soft": ("--soft", False),
    "soft_from": ("--soft-from", "votes"),
    "smoothing": ("--smoothing", 0.0),
    "review": ("--review", 20),
    "no_curves": ("--no-curves", False),
    "repeats": ("--repeats", 3),
    "seed": ("--seed", 0),
}
# Flags only --task rating uses.
_RATING_ONLY: dict[str, tuple[str, Any]] = {
    "wide": ("--wide", False),
    "duplicates": ("--duplicates", "error"),
    "missing": ("--missing", "error"),
}
_FOR = {
    "review": " (the review list is for class labels)",
    "no_curves": " (the error-vs-labels curves are for class labels)",
    "repeats": " (the error-vs-labels curves are for class labels)",
    "seed": " (the error-vs-labels curves are for class labels)",
    "wide": " (only --task rating reads an items x annotators matrix)",
    "duplicates": " (only --task rating has a policy for repeated (item, annotator) pairs)",
    "missing": " (only --task rating has a policy for empty values)",
}


def _table(args: argparse.Namespace, task: str) -> pd.DataFrame:
    """The annotations file as a table of text cells (CSV, TSV, Parquet, JSON Lines)."""
    if getattr(args, "source_format", None):
        raise UsageError(
            f"--task {task} reads a table (CSV, TSV, Parquet or JSON Lines), not a tool's export; drop --from"
        )
    return read_table(args.annotations, format=getattr(args, "format", None))


def _checked_model(task: str, method: str, params: dict[str, Any], methods: dict[str, type]) -> None:
    """Check ``-p`` keys and values against the model's constructor before reading the data."""

    def factory(name: str, **kwargs: Any) -> Any:
        return methods[name](**kwargs)

    try:
        make_model_from_args(method, params, methods, factory)
    except UsageError as exc:
        raise UsageError(f"--task {task} {exc}") from None


def _duplicates(args: argparse.Namespace) -> str:
    value = getattr(args, "duplicates", "error") or "error"
    if value == "keep_all":
        raise UsageError(
            "--duplicates keep_all does not apply to --task rating (one rating per item and annotator); "
            "use keep_first, keep_last, or -p duplicates=mean to average repeats"
        )
    return str(value)


# ====================================================================== rating
def _fit_rating(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    duplicates = str(params.pop("duplicates", _duplicates(args)))
    _checked_model("rating", method, params, dict(RATING_METHODS))
    frame = _table(args, "rating")
    if getattr(args, "wide", False):
        frame = _melt_wide(frame)
    result = fit_guarded(
        lambda: aggregate_ratings_frame(
            frame,
            method,
            item=args.item_col,
            annotator=args.annotator_col,
            value=args.label_col,
            duplicates=duplicates,  # type: ignore[arg-type]
            missing=getattr(args, "missing", "error"),
            **params,
        ),
        method,
        params,
    )
    run = TaskRun("rating", method, result, notes=list(result.ratings.report))
    if getattr(args, "gold", None):
        run.gold_lines.append(_rating_gold(args.gold, result.values))
    return run


def _melt_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """An items x annotators matrix (first column = item, empty = not rated) as a long table."""
    if frame.shape[1] < 2:
        raise InvalidAnnotationsError(
            "--wide expects a first column of item ids and one column per annotator; the file has one column"
        )
    item = frame.columns[0]
    long = frame.melt(id_vars=[item], var_name="annotator", value_name="value")
    long = long.rename(columns={item: "item"})
    return long[long["value"].notna()].reset_index(drop=True)


def _rating_gold(path: str, values: pd.Series) -> str:
    """Pearson and Spearman correlation of the consensus with gold values (item, value)."""
    gold = read_table(path)
    item_col = _gold_column(gold, ("item", "task", "item_id"), path, "item")
    value_col = _gold_column(gold, ("value", "gold", "rating", "score", "label"), path, "value")
    numbers = pd.to_numeric(gold[value_col], errors="coerce")
    if numbers.isna().any():
        line = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise InvalidAnnotationsError(
            f"--gold {path}: the value on line {gold.index[line]} is not a number; fix or delete that row"
        )
    truth = pd.Series(numbers.to_numpy(dtype=np.float64), index=gold[item_col].astype(str).to_numpy())
    pred = pd.Series(values.to_numpy(), index=values.index.astype(str))
    common = pred.index.intersection(truth.index)
    if len(common) < 2:
        raise InvalidAnnotationsError(
            f"--gold {path}: {len(common)} of its items are among the rated items; at least 2 are needed "
            "for a correlation (do the item ids match?)"
        )
    p, t = pred.loc[common], truth.loc[~truth.index.duplicated()].loc[common]
    pearson = float(np.corrcoef(p.to_numpy(), t.to_numpy())[0, 1])
    spearman = float(np.corrcoef(p.rank().to_numpy(), t.rank().to_numpy())[0, 1])
    return f"correlation with gold on {len(common)} items: Pearson {pearson:.4f}, Spearman {spearman:.4f}"


def _gold_column(frame: pd.DataFrame, names: tuple[str, ...], path: str, role: str) -> Any:
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise InvalidAnnotationsError(
        f"--gold {path} needs a {role} column ({' or '.join(names)}); its columns are "
        f"{[str(c) for c in frame.columns][:12]}"
    )


def _rating_summary(result: Any) -> str:
    r = result.ratings
    items = result.to_frame()
    width = float((items["upper"] - items["lower"]).mean())
    aq = result.annotators_frame().sort_values("noise_sd", kind="stable")
    cols = [c for c in ("annotator", "n_labels", "bias", "noise_sd", "mae", "correlation") if c in aq]
    return (
        f"{result.method}: {r.n_items} items, {r.n_annotators} annotators, {r.n_ratings} ratings; "
        f"values {items['value'].min():.4g} to {items['value'].max():.4g}, mean interval width {width:.4g}"
        f"\n\n{format_table(aq[cols], max_rows=10)}"
    )


# ====================================================================== multilabel
def _multilabel_source(args: argparse.Namespace) -> str | None:
    """``"label_studio"`` for ``--from label_studio`` (or ``auto`` on a Label Studio export), ``None`` for a
    table; any other tool is a usage error."""
    source = getattr(args, "source_format", None)
    if source is None:
        return None
    name = str(source).strip().lower().replace("-", "_")
    if name == "auto":
        name = detect_format(args.annotations)
    if name in ("label_studio", "labelstudio", "ls", "json_min"):
        return "label_studio"
    raise UsageError(
        f"--task multilabel reads a table (CSV, TSV, Parquet, JSON Lines) or a Label Studio export "
        f"(--from label_studio), not --from {source}"
    )


def _fit_multilabel(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    source = _multilabel_source(args)
    if source == "label_studio":
        return _fit_multilabel_label_studio(args, method, params)
    layout = str(params.pop("layout", "auto"))
    _checked_model("multilabel", method, params, dict(MULTILABEL_METHODS))
    frame = _table(args, "multilabel")
    result = fit_guarded(
        lambda: aggregate_multilabel_frame(
            frame,
            method,
            item=args.item_col,
            annotator=args.annotator_col,
            label=args.label_col,
            classes=parse_classes(args),
            layout=layout,  # type: ignore[arg-type]
            **params,
        ),
        method,
        params,
    )
    return _multilabel_run(args, method, result)


def _fit_multilabel_label_studio(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    """``--task multilabel --from label_studio``: each annotation's (multiple) choices are its set."""
    for dest, flag in (("item_col", "--item-col"), ("annotator_col", "--annotator-col")):
        if getattr(args, dest, None):
            raise UsageError(
                f"{flag} does not apply to --from label_studio: the export names tasks and annotators"
            )
    if "layout" in params:
        raise UsageError("-p layout does not apply to --from label_studio (it is for tables)")
    _checked_model("multilabel", method, params, dict(MULTILABEL_METHODS))
    data = read_label_studio_sets(args.annotations, from_name=args.label_col, classes=parse_classes(args))
    model = MULTILABEL_METHODS[method](**params)
    result = fit_guarded(lambda: model.fit(data).consensus_, method, params)
    return _multilabel_run(args, method, result)


def _multilabel_run(args: argparse.Namespace, method: str, result: Any) -> TaskRun:
    run = TaskRun("multilabel", method, result, notes=list(result.annotations.report))
    if getattr(args, "gold", None):
        run.gold_lines.append(_multilabel_gold(args.gold, result))
    return run


def _multilabel_gold(path: str, result: Any) -> str:
    """Exact-set accuracy and mean Jaccard of the consensus sets against gold sets (item, label: one row per
    class or a JSON list)."""
    gold = read_table(path).copy()
    gold["__annotator"] = "gold"
    classes = list(result.annotations.classes)
    try:
        truth = MultiLabelAnnotations.from_frame(gold, annotator="__annotator", classes=classes)
    except InvalidAnnotationsError as exc:
        raise InvalidAnnotationsError(f"--gold {path}: {exc}") from None
    pos = result.annotations.items.astype(str).get_indexer(truth.items.astype(str))
    known = pos >= 0
    if not known.any():
        raise InvalidAnnotationsError(f"--gold {path}: none of its items were annotated (do the ids match?)")
    true_sets = truth.selection_counts()[known] > 0
    pred_sets = result.decisions[pos[known]]
    exact = float((true_sets == pred_sets).all(axis=1).mean())
    union = (true_sets | pred_sets).sum(axis=1)
    inter = (true_sets & pred_sets).sum(axis=1)
    jaccard = float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())
    return f"on {int(known.sum())} gold items: exact-set accuracy {exact:.4f}, mean Jaccard {jaccard:.4f}"


def _multilabel_summary(result: Any) -> str:
    a = result.annotations
    items = result.item_quality
    aq = result.annotators_frame().sort_values("quality", ascending=False, kind="stable")
    cols = [c for c in ("annotator", "n_labels", "sensitivity", "specificity", "quality") if c in aq]
    return (
        f"{result.method}: {a.n_items} items, {a.n_annotators} annotators, {a.n_classes} classes; mean set "
        f"size {items['n_labels'].mean():.3f}, mean confidence {items['confidence'].mean():.3f}"
        f"\n\n{format_table(aq[cols], max_rows=10)}"
    )


# ====================================================================== pairwise
def _fit_pairwise(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    if getattr(args, "item_col", None):
        raise UsageError(
            "--item-col does not apply to --task pairwise: the items are in the left and right columns"
        )
    _checked_model("pairwise", method, params, dict(PAIRWISE_METHODS))
    frame = _table(args, "pairwise")
    result = fit_guarded(
        lambda: aggregate_pairwise_frame(
            frame, method, annotator=args.annotator_col, winner=args.label_col, **params
        ),
        method,
        params,
    )
    return TaskRun("pairwise", method, result)


def _pairwise_summary(result: Any) -> str:
    c = result.comparisons
    top = result.to_frame().head(5)
    best = ", ".join(f"{r.item} ({r.score:.2f})" for r in top.itertuples())
    aq = result.annotators_frame().sort_values("agreement", ascending=False, kind="stable")
    cols = [c for c in ("annotator", "n_comparisons", "agreement", "reliability", "left_bias") if c in aq]
    return (
        f"{result.method}: {c.n_items} items, {c.n_annotators} annotators, {c.n_comparisons} comparisons; "
        f"best: {best}\n\n{format_table(aq[cols], max_rows=10)}"
    )


# ====================================================================== boxes
def _fit_boxes(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    unknown = sorted(set(params) - set(BOX_PARAMS))
    if unknown:
        raise UsageError(
            f"--task boxes has no parameter {', '.join(unknown)}; its parameters are {', '.join(BOX_PARAMS)}"
        )
    source = getattr(args, "source_format", None)
    fmt = detect_box_format(args.annotations) if source in (None, "auto") else str(source)
    options: dict[str, Any] = {}
    if parse_classes(args):
        options["classes"] = parse_classes(args)
    if fmt == "table":
        for role, dest in (("item", "item_col"), ("annotator", "annotator_col"), ("label", "label_col")):
            if getattr(args, dest, None):
                options[role] = getattr(args, dest)
    else:
        for dest, flag in (("item_col", "--item-col"), ("annotator_col", "--annotator-col")):
            if getattr(args, dest, None):
                raise UsageError(
                    f"{flag} does not apply to a {fmt} export (it names the columns of a plain table); "
                    "--label-col names the control or answer field"
                )
        if args.label_col:
            options["field"] = args.label_col
    gold = read_gold_boxes(args.gold) if getattr(args, "gold", None) else None
    boxes = read_boxes(args.annotations, format=fmt, **options)
    result = fit_guarded(lambda: aggregate_boxes(boxes, **params), method, params)
    run = TaskRun("boxes", method, result, notes=list(boxes.report))
    if gold is not None:
        run.gold_lines.append(_boxes_gold(args.gold, result, gold))
    return run


def _boxes_gold(path: str, result: Any, gold: pd.DataFrame) -> str:
    """Precision, recall, F1 and mean IoU of the consensus boxes against the gold boxes (IoU >= 0.5)."""
    gold_items = pd.Index(gold["item"].astype(str).unique())
    known = gold_items.isin(pd.Index(result.boxes.items).astype(str))
    if not known.any():
        raise InvalidAnnotationsError(
            f"--gold {path}: none of its {len(gold_items)} items are in the annotations (do the item ids "
            "match? a Label Studio export names items by task id)"
        )
    scores = score_boxes(result, gold[gold["item"].astype(str).isin(gold_items[known])], iou=0.5)
    unseen = f" ({int((~known).sum())} gold items nobody annotated left out)" if not known.all() else ""
    return f"on {int(known.sum())} gold items{unseen}, at IoU >= 0.5: {scores}"


def _boxes_summary(result: Any) -> str:
    b = result.boxes
    n = len(result.to_frame())
    aq = result.annotators_frame()
    cols = [
        c for c in ("annotator", "n_boxes", "recall", "precision", "mean_iou", "label_accuracy") if c in aq
    ]
    return (
        f"boxes: {n} consensus boxes from {b.n_boxes} boxes on {b.n_items} items by {b.n_annotators} "
        f"annotators\n\n{format_table(aq[cols], max_rows=10)}"
    )


# ====================================================================== segmentation
def _fit_segmentation(args: argparse.Namespace, method: str, params: dict[str, Any]) -> TaskRun:
    n_classes = params.pop("n_classes", None)
    _checked_model("segmentation", method, params, dict(SEGMENTATION_METHODS))
    source = getattr(args, "source_format", None)
    if source not in (None, "auto", "label_studio"):
        raise UsageError(
            f"--task segmentation reads a folder of masks or a Label Studio brush export, not --from {source}"
        )
    result = fit_guarded(
        lambda: aggregate_masks(
            args.annotations, method=method, gold=getattr(args, "gold", None), n_classes=n_classes, **params
        ),
        method,
        params,
    )
    run = TaskRun("segmentation", method, result)
    scores = result.gold_scores.dropna()
    if len(scores):
        run.gold_lines.append(
            f"on {len(scores)} gold masks: mean Dice {scores['dice'].mean():.4f}, "
            f"mean IoU {scores['iou'].mean():.4f}"
        )
    return run


def _segmentation_summary(result: Any) -> str:
    aq = result.annotators_frame()
    cols = [
        c for c in ("annotator", "n_items", "empty_masks", "sensitivity", "specificity", "dice") if c in aq
    ]
    return (
        f"{result.method}: {len(result.items)} items, {len(result.annotators)} annotators, "
        f"{result.n_classes} classes\n\n{format_table(aq[cols], max_rows=10)}"
    )


def _check_outdir(path: str | None) -> Path:
    """``-o DIR`` for segmentation: a folder (created if absent) whose parent exists."""
    if not path or path == "-":
        raise UsageError("--task segmentation writes masks: give -o DIR, a folder for <item>.png and tables")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--output {path} is a file; --task segmentation needs a folder (-o DIR)")
    if not p.parent.exists():
        raise UsageError(f"--output {path}: the folder {p.parent} does not exist; create it first")
    return p


TASKS: dict[str, TaskSpec] = {
    "rating": TaskSpec(("bias_noise", "mean", "median"), _fit_rating, _rating_summary, gold=True),
    "multilabel": TaskSpec(("ds", "mv"), _fit_multilabel, _multilabel_summary, gold=True),
    "pairwise": TaskSpec(("bt", "noisy_bt"), _fit_pairwise, _pairwise_summary),
    "boxes": TaskSpec(("ds",), _fit_boxes, _boxes_summary, gold=True),
    "segmentation": TaskSpec(
        ("staple", "mv", "majority"), _fit_segmentation, _segmentation_summary, gold=True
    ),
}


def fit_task(args: argparse.Namespace) -> TaskRun:
    """Read ``args.annotations`` for ``args.task`` and fit its ``--method`` with the ``-p`` parameters."""
    task = args.task
    if task not in TASKS:
        raise UsageError(f"unknown --task {task!r}; choose one of labels, {', '.join(TASKS)}")
    spec = TASKS[task]
    _refuse_flags(args, task, _LABEL_ONLY if task == "rating" else {**_LABEL_ONLY, **_RATING_ONLY})
    if getattr(args, "gold", None) and not spec.gold:
        with_gold = ", ".join(t for t, s in TASKS.items() if s.gold)
        raise UsageError(f"--gold does not apply to --task {task}; it does to {with_gold}")
    method = _method(args, task, spec)
    return spec.fit(args, method, parse_params(getattr(args, "param", None)))


# ====================================================================== accord aggregate --task
def run_task(args: argparse.Namespace) -> int:
    """``accord aggregate FILE --task TYPE``: write the per-item (and per-annotator) tables."""
    quiet = bool(getattr(args, "quiet", False))
    annotators = getattr(args, "annotators", None)
    allow = bool(getattr(args, "allow_formulas", False))
    if args.task == "segmentation":
        outdir = _check_outdir(args.output)
        check_output(annotators, "--annotators")
    else:
        check_output(args.output)
        check_output(annotators, "--annotators")
        if args.output == "-" and annotators == "-":
            raise UsageError("--output - and --annotators -: only one table can go to standard output")
    run = fit_task(args)
    if not quiet:
        for line in run.notes:
            print(f"note: {line}", file=sys.stderr)
    written: list[str] = []
    if args.task == "segmentation":
        paths = run.result.save(outdir)
        written.append(f"{len(paths)} files to {outdir}")
    else:
        write_table(
            run.result.to_frame(),
            args.output,
            allow_formulas=allow,
            float_digits=getattr(args, "float_digits", None),
        )
        if args.output != "-":
            written.append(str(args.output))
    if annotators:
        write_table(
            run.result.annotators_frame(),
            annotators,
            allow_formulas=allow,
            float_digits=getattr(args, "float_digits", None),
        )
        if annotators != "-":
            written.append(str(annotators))
    if not quiet:
        out = sys.stderr if "-" in (args.output, annotators) else sys.stdout
        print(TASKS[args.task].summary(run.result), file=out)
        for line in run.gold_lines:
            print(line, file=out)
        if written:
            print("wrote " + " and ".join(written), file=out)
    return 0


# ====================================================================== accord report --task
def _report_path(args: argparse.Namespace) -> str:
    fmt = getattr(args, "report_format", None)
    if fmt not in (None, "html"):
        raise UsageError(f"--format {fmt}: the report of --task {args.task} is HTML only")
    path = getattr(args, "output", None) or "report.html"
    if path != "-":
        check_output(path, formats={".html": "html", ".htm": "html"})
    return str(path)


def run_task_report(args: argparse.Namespace) -> int:
    """``accord report FILE --task TYPE -o report.html``: one self-contained HTML page for the task."""
    path = _report_path(args)
    run = fit_task(args)
    quiet = bool(getattr(args, "quiet", False))
    if not quiet:
        for line in run.notes:
            print(f"note: {line}", file=sys.stderr)
    html = render_task_report(run.result, title=getattr(args, "title", None), notes=run.gold_lines)
    if path == "-":
        sys.stdout.write(html)
    else:
        Path(path).write_text(html, encoding="utf-8")
    if not quiet:
        out = sys.stderr if path == "-" else sys.stdout
        print(TASKS[args.task].summary(run.result).split("\n", 1)[0], file=out)
        for line in run.gold_lines:
            print(line, file=out)
        if path != "-":
            print(f"wrote {path}", file=out)
    return 0
