"""``accord aggregate``: consensus labels and annotator quality from an annotations file."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

import pandas as pd

from .._progress import Status
from ..annotations import Annotations
from ..consensus import Consensus
from ..evaluation.metrics import accuracy
from ..io.tables import read_pred_probs
from ..models.registry import METHODS, make_model
from ._common import (
    UsageError,
    add_input_arguments,
    add_model_arguments,
    add_output_safety_argument,
    check_method,
    check_output,
    fit_guarded,
    format_table,
    load_annotations,
    load_gold,
    make_model_from_args,
    parse_params,
    write_table,
)

# Methods whose fits run the compiled Dawid-Skene kernel on large data (auto's final fit is usually one of
# them): for these the command starts loading the kernels while the fit sets up.
KERNEL_METHODS = frozenset({"auto", "ds", "onecoin", "ds_model", "ibcc", "mace"})

EXAMPLES = """examples:
  accord aggregate annotations.csv --method ds --output consensus.csv --annotators annotators.csv
  accord aggregate labels.tsv --item-col task --annotator-col worker -o out.parquet
  accord aggregate labels.csv --method ds -p alpha=1.0 -p max_iter=200 -o out.csv
  accord aggregate project-1-export.json --from label_studio -o consensus.csv
  accord aggregate Batch_123_batch_results.csv --from mturk --label-col sentiment.label -o out.csv
  accord aggregate assignments.tsv --from toloka -o out.csv    (GOLDEN:* columns give gold accuracy)
  accord aggregate annotations.csv -o - | head          (the table on standard output, notes on stderr)
  accord aggregate annotations.csv --method auto --known checked.csv -o out.csv
                                     (checked.csv: item,label known true; auto lets them judge the models)
  accord aggregate annotations.csv --method lia --features features.csv -o out.csv
                                     (features.csv: item, then numeric columns; or a .npy + --feature-items)
  accord aggregate annotations.csv -m lia --features texts.csv --text-cols premise,hypothesis -o out.csv
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "aggregate",
        help="consensus label per item and quality per annotator",
        description=(
            "Fit a truth-inference model and write one row per item (and, optionally, per annotator)."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    add_model_arguments(
        parser,
        method_help="truth-inference method (default: auto, which compares majority vote, a shrunk weighted "
        "vote, one-coin and Dawid-Skene on held-out labels and says why it chose; ds = Dawid-Skene; "
        "with --task: rating bias_noise|mean|median, multilabel ds|mv, pairwise bt|noisy_bt, boxes ds, "
        "segmentation staple|mv)",
    )
    parser.add_argument(
        "--output",
        "-o",
        required=True,
        help="per-item output (.csv, .tsv, .parquet, .json or .jsonl; - for standard output)",
    )
    parser.add_argument("--annotators", default=None, help="per-annotator output file (optional)")
    parser.add_argument("--gold", default=None, help="gold labels (item,label) to report accuracy against")
    parser.add_argument(
        "--known",
        default=None,
        metavar="KNOWN.csv",
        help="labels known to be true (item,label): set in the output, and with --method auto "
        "(20 or more of them) used to choose the model; --gold accuracy then leaves them out",
    )
    parser.add_argument(
        "--pred-probs",
        default=None,
        metavar="PRED.csv",
        help="a classifier's out-of-sample predicted probabilities: column item, then one column "
        "per class label (for --method crowdlab or ds_model)",
    )
    add_feature_arguments(parser)
    parser.add_argument(
        "--soft",
        action="store_true",
        help="write soft labels (per-item class distributions, method 'soft') instead",
    )
    parser.add_argument(
        "--soft-from",
        default="votes",
        choices=["votes", "weighted", "posterior"],
        help="with --soft: vote fractions (default), votes weighted by the method's "
        "annotator quality, or the method's posterior",
    )
    parser.add_argument(
        "--smoothing",
        type=float,
        default=0.0,
        help="with --soft: pseudo-count added to every class (default 0)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing on success (no progress line either)"
    )
    parser.add_argument(
        "--engine",
        default="memory",
        choices=["memory", "dask"],
        help="memory (default) or dask: fit mv/ds/onecoin/ibcc on a Parquet dataset (directory or glob) with "
        "Dask; -o is then a directory, one Parquet file per partition",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --engine dask: a running Dask scheduler (default: a local cluster)",
    )
    add_output_safety_argument(parser)
    parser.set_defaults(func=run)


def add_feature_arguments(parser: argparse.ArgumentParser) -> None:
    """``--features``, ``--feature-items`` and ``--text-cols`` (item features for ``--method lia``)."""
    parser.add_argument(
        "--features",
        default=None,
        metavar="FILE",
        help="item features for --method lia: a table (.csv, .tsv, .parquet, .jsonl) with an item column and "
        "numeric columns, or a .npy matrix whose row ids are in --feature-items (default <stem>_items.csv)",
    )
    parser.add_argument(
        "--feature-items",
        default=None,
        metavar="ITEMS.csv",
        help="with a .npy --features: the item ids of its rows, in order (an item column)",
    )
    parser.add_argument(
        "--text-cols",
        default=None,
        metavar="COL[,COL]",
        help="--features is a table of item texts: build TF-IDF + truncated SVD features from these columns",
    )


def _sizes(value: Any) -> Any:
    """``-p hidden=16,16`` / ``-p hidden=32`` / ``-p hidden=none`` -> a tuple of layer widths."""
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, str):
        parts = [p for p in value.strip("()[] ").split(",") if p.strip()]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise UsageError(
                f"-p expects layer widths such as hidden=16,16 (or hidden=none); got {value!r}"
            ) from None
    return value


def lia_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """LIA's layer widths from ``-p`` text (``hidden=16,16``); other methods' parameters unchanged."""
    if method != "lia":
        return params
    return {k: _sizes(v) if k in ("hidden", "difficulty_hidden") else v for k, v in params.items()}


def load_features(args: argparse.Namespace) -> pd.DataFrame | None:
    """The ``--features`` table (numeric, or TF-IDF features of ``--text-cols``), indexed by item id."""
    path = getattr(args, "features", None)
    if path is None:
        for flag in ("feature_items", "text_cols"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag.replace('_', '-')} needs --features FILE")
        return None
    if getattr(args, "text_cols", None):
        if args.feature_items:
            raise UsageError("--feature-items is for a .npy --features, not with --text-cols")
        from ..io.features import read_texts
        from ..models.lia import TextFeatures

        columns = [c.strip() for c in args.text_cols.split(",") if c.strip()]
        if not columns:
            raise UsageError("--text-cols expects column names, e.g. --text-cols premise,hypothesis")
        texts = read_texts(path, columns)
        return TextFeatures().fit_transform(texts)
    from ..io.features import read_features

    return read_features(path, items=args.feature_items)


def check_features(model: Any, method: str, features: pd.DataFrame | None) -> None:
    """Usage errors: features for a model that cannot use them, or a model that needs them without any."""
    accepts = tuple(getattr(model, "accepts", ()) or ())
    requires = tuple(getattr(model, "requires", ()) or ())
    if features is not None and "features" not in accepts:
        users = sorted(n for n, cls in METHODS.items() if "features" in (getattr(cls, "accepts", ()) or ()))
        raise UsageError(f"{method} does not use --features; methods that do: {', '.join(users)}")
    if features is None and "features" in requires and not getattr(model, "item_embeddings", False):
        raise UsageError(
            f"{method} needs --features FILE (an item column and numeric columns, or a .npy with "
            "--feature-items), or -p item_embeddings=true to learn item embeddings instead"
        )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "task", "labels") != "labels":
        from ._tasks import run_task  # written by the tasks' CLI helper; only needed for other tasks

        return int(run_task(args))
    args.method = check_method(args.method, default="auto")
    if getattr(args, "engine", "memory") == "dask" and getattr(args, "features", None):
        raise UsageError("--features is not supported with --engine dask")
    check_output(args.annotators, "--annotators")
    if getattr(args, "engine", "memory") == "dask":
        from ..engines._cli import run_dask  # the Dask engine is optional (extra 'dask')

        return int(
            run_dask(
                args,
                make_model_from_args(args.method, parse_params(args.param), METHODS, make_model),
                UsageError,
                functools.partial(write_table, float_digits=args.float_digits),
            )
        )
    check_output(args.output)
    if args.output == "-" and args.annotators == "-":
        raise UsageError("--output - and --annotators -: only one table can go to standard output")
    params = lia_params(args.method, parse_params(args.param))
    model = make_model_from_args(args.method, params, METHODS, make_model)
    features = load_features(args)
    check_features(model, args.method, features)
    ann = load_annotations(args)
    if args.method in KERNEL_METHODS:  # the compiled kernels load on another core while the fit sets up
        from .._kernel.warm import warm_compiled_kernels

        warm_compiled_kernels(ann.n_annotations, ann.n_classes)
    known = load_gold(args.known, ann, "--known") if args.known else None
    gold = load_gold(args.gold, ann) if args.gold else None
    pred_probs = read_pred_probs(args.pred_probs) if args.pred_probs else None
    with Status(f"aggregate: fitting {args.method} on {ann.n_annotations:,} annotations", quiet=args.quiet):
        fitted = fit_guarded(lambda: fit_model(model, ann, pred_probs, known, features), args.method, params)
    consensus = fitted.consensus_
    if getattr(args, "soft", None):
        from ..ambiguity.soft import soft_consensus

        consensus = soft_consensus(ann, args.soft_from, consensus, args.smoothing)
    write_table(
        consensus.to_frame(), args.output, allow_formulas=args.allow_formulas, float_digits=args.float_digits
    )
    if args.annotators:
        write_table(
            consensus.annotators_frame(),
            args.annotators,
            allow_formulas=args.allow_formulas,
            float_digits=args.float_digits,
        )
    if not args.quiet:
        out = sys.stderr if "-" in (args.output, args.annotators) else sys.stdout
        print(summary(consensus), file=out)
        if consensus.params.get("reason"):
            print(f"\nwhy this model: {consensus.params['reason']}", file=out)
        if gold is not None:
            if known is not None:
                gold = gold[~gold.index.astype(str).isin(known.index.astype(str))]
            which = "gold items" if known is None else "gold items not in --known"
            print(f"accuracy on {len(gold)} {which}: {accuracy(consensus.labels, gold):.4f}", file=out)
        elif len(getattr(args, "imported_gold", ())):
            gold = args.imported_gold
            print(
                f"accuracy on the export's {len(gold)} gold items: {accuracy(consensus.labels, gold):.4f}",
                file=out,
            )
        written = [p for p in (args.output, args.annotators) if p and p != "-"]
        if written:
            print("wrote " + " and ".join(written), file=out)
    return 0


def summary(consensus: Consensus) -> str:
    """A short text summary: sizes, label counts, confidence, and the annotators ranked by quality."""
    ann = consensus.annotations
    iq = consensus.item_quality
    lines = [
        f"{consensus.method}: {ann.n_items} items, {ann.n_annotators} annotators, "
        f"{ann.n_annotations} annotations, {ann.n_classes} classes"
    ]
    counts = iq["label"].value_counts().reindex(list(ann.classes), fill_value=0)
    lines.append("consensus labels: " + ", ".join(f"{c}={n}" for c, n in counts.items()))
    lines.append(
        f"mean confidence {iq['confidence'].mean():.3f}; items below 0.9: "
        f"{int((iq['confidence'] < 0.9).sum())}; unanimous: {int((iq['strength'] == 'Strong').sum())}"
    )
    aq = consensus.annotators_frame().sort_values("quality", ascending=False)
    lines.append("")
    lines.append(
        format_table(
            aq[["annotator", "n_labels", "quality", "agreement_with_consensus", "worst_class"]], max_rows=10
        )
    )
    return "\n".join(lines)


def fit_model(
    model: Any,
    ann: Annotations,
    pred_probs: pd.DataFrame | None,
    known: pd.Series | None = None,
    features: pd.DataFrame | None = None,
) -> Any:
    """Fit ``model`` (with ``known`` true labels as gold, if any), passing the predicted probabilities
    (``--pred-probs``) or item features (``--features``) to a model that takes them."""
    if features is not None:
        if pred_probs is not None:
            raise UsageError(f"{type(model).__name__} does not use --pred-probs")
        return model.fit(ann, features=features, gold=known)
    if pred_probs is None:
        if getattr(model, "requires_pred_probs", False):
            raise UsageError(
                f"{type(model).__name__} needs --pred-probs PRED.csv (a column item, then "
                "one column per class, holding out-of-sample predicted probabilities)"
            )
        return model.fit(ann, gold=known)
    if not getattr(model, "accepts_pred_probs", False):
        users = sorted(n for n, cls in METHODS.items() if getattr(cls, "accepts_pred_probs", False))
        raise UsageError(
            f"{type(model).__name__} does not use --pred-probs; methods that do: {', '.join(users)}"
        )
    return model.fit(ann, pred_probs=pred_probs, gold=known)
