"""``accord next``: which items to label next (ActiveLab scores; lower = more informative)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from .._progress import Status
from ..annotations import Annotations
from ..io.tables import read_item_ids, read_pred_probs
from ..models.registry import METHODS, make_model
from ..planning.active import active_learning_scores
from ._common import (
    UsageError,
    add_input_arguments,
    add_output_safety_argument,
    check_output,
    format_table,
    load_annotations,
    make_model_from_args,
    parse_params,
    write_table,
)
from .aggregate import add_feature_arguments, check_features, lia_params, load_features

EXAMPLES = """examples:
  accord next annotations.csv -n 100 --output next.csv
  accord next annotations.csv --pred-probs pred.csv --unlabeled pool_pred.csv -n 50 -o next.csv
  accord next annotations.csv --unlabeled pool_ids.csv -n 200 -o next.csv
  accord next annotations.csv --assign 100 --features features.csv -o assignments.csv
                        (LIA: which annotator should label which item; item, annotator, expected_gain)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "next",
        help="the items to label next (re-label or new), most informative first",
        description="Score every item with ActiveLab (consensus quality shrunk toward chance by how little "
        "evidence backs it; lower = more informative) and write the n best to label next.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("-n", type=int, default=100, help="how many items to choose (default: 100)")
    parser.add_argument(
        "--pred-probs",
        default=None,
        metavar="PRED.csv",
        help="out-of-sample predicted probabilities of the annotated items: column item, then one "
        "column per class label",
    )
    parser.add_argument(
        "--unlabeled",
        default=None,
        metavar="POOL.csv",
        help="items without annotations: column item, plus one column per class with the model's "
        "predicted probabilities (needs --pred-probs) or no other column",
    )
    parser.add_argument("--output", "-o", required=True, help="output table (.csv, .tsv or .parquet)")
    parser.add_argument("--no-calibrate", action="store_true", help="do not temperature-scale the model")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the last-resort tie-break")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument(
        "--assign",
        type=int,
        default=None,
        metavar="N",
        help="instead: fit LIA on the annotations and --features and propose N (item, annotator) pairs, "
        "the largest expected gain in accuracy first",
    )
    parser.add_argument(
        "--per-annotator", type=int, default=None, metavar="M", help="with --assign: at most M per annotator"
    )
    parser.add_argument(
        "--param", "-p", action="append", metavar="KEY=VALUE", help="with --assign: a LIA hyper-parameter"
    )
    add_feature_arguments(parser)
    add_output_safety_argument(parser)
    parser.set_defaults(func=run)


def _read_unlabeled(path: str, ann: Annotations) -> tuple[pd.DataFrame | None, list[Any] | None]:
    """The --unlabeled pool: item ids only, or item ids with one predicted-probability column per class."""
    ids, frame = read_item_ids(path)
    if len(frame.columns) == 1:
        return None, ids
    return read_pred_probs(path, ann, align=False), None


def run_assign(args: argparse.Namespace) -> int:
    """``--assign N``: LIA's greedy (item, annotator) proposals."""
    if args.assign < 1:
        raise UsageError(f"--assign must be at least 1, got {args.assign}")
    if args.per_annotator is not None and args.per_annotator < 1:
        raise UsageError(f"--per-annotator must be at least 1, got {args.per_annotator}")
    for flag in ("pred_probs", "unlabeled"):
        if getattr(args, flag):
            raise UsageError(f"--{flag.replace('_', '-')} is not used with --assign")
    params = lia_params("lia", parse_params(args.param))
    model = make_model_from_args("lia", params, METHODS, make_model)
    features = load_features(args)
    check_features(model, "--assign (LIA)", features)
    ann = load_annotations(args)
    with Status(f"next: fitting LIA on {ann.n_annotations:,} annotations", quiet=args.quiet):
        model.fit(ann, features=features)
        batch = model.assign(args.assign, per_annotator=args.per_annotator)
    return _write_batch(
        batch,
        args,
        lambda: (
            f"{len(batch)} (item, annotator) pairs to label next; expected accuracy gain "
            f"{batch['expected_gain'].sum():.3f} items in all"
        ),
    )


def _write_batch(batch: pd.DataFrame, args: argparse.Namespace, summary: Callable[[], str]) -> int:
    """Write the proposed batch to ``--output`` and, unless ``--quiet``, print ``summary()`` and its head."""
    write_table(batch, args.output, allow_formulas=args.allow_formulas, float_digits=args.float_digits)
    if not args.quiet:
        out = sys.stderr if args.output == "-" else sys.stdout
        print(summary(), file=out)
        print(format_table(batch, max_rows=10), file=out)
        if args.output != "-":
            print(f"wrote {args.output}", file=out)
    return 0


def run(args: argparse.Namespace) -> int:
    check_output(args.output)
    if getattr(args, "assign", None) is not None:
        return run_assign(args)
    for flag in ("features", "feature_items", "text_cols", "param", "per_annotator"):
        if getattr(args, flag, None) is not None:
            raise UsageError(f"--{flag.replace('_', '-')} is only used with --assign N")
    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    ann = load_annotations(args)
    pred_probs = read_pred_probs(args.pred_probs, ann) if args.pred_probs else None
    pool, ids = _read_unlabeled(args.unlabeled, ann) if args.unlabeled else (None, None)
    with Status(f"next: scoring {ann.n_items:,} items", quiet=args.quiet):
        scores = active_learning_scores(
            ann,
            pred_probs,
            pred_probs_unlabeled=pool,
            unlabeled_items=ids,
            calibrate=not args.no_calibrate,
            random_state=args.seed,
        )
        batch = scores.next_batch(args.n, random_state=args.seed)

    def summary() -> str:
        counts = batch["status"].value_counts()
        model = (
            f"model weight {scores.model_weight:.3g}, temperature {scores.temperature:.3g}"
            if pred_probs is not None
            else "no model"
        )
        return (
            f"{len(batch)} items to label next: {int(counts.get('relabel', 0))} to re-label, "
            f"{int(counts.get('new', 0))} new ({model}; "
            f"mean annotator weight {scores.mean_annotator_weight:.3g})"
        )

    return _write_batch(batch, args, summary)
