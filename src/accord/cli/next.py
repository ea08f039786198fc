"""``accord next``: which items to label next (ActiveLab scores; lower = more informative)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..annotations import read_table
from ..errors import InvalidAnnotationsError
from ..models.crowdlab import read_pred_probs
from ..planning.active import active_learning_scores
from ._common import add_input_arguments, format_table, load_annotations, write_table

EXAMPLES = """examples:
  accord next annotations.csv -n 100 --output next.csv
  accord next annotations.csv --pred-probs pred.csv --unlabeled pool_pred.csv -n 50 -o next.csv
  accord next annotations.csv --unlabeled pool_ids.csv -n 200 -o next.csv
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
    parser.set_defaults(func=run)


def _read_unlabeled(path: str, ann) -> tuple[pd.DataFrame | None, list | None]:
    frame = read_table(path)
    lower = {str(c).lower(): c for c in frame.columns}
    item_col = next((lower[a] for a in ("item", "task", "item_id") if a in lower), None)
    if item_col is None:
        raise InvalidAnnotationsError(
            f"{path}: the --unlabeled file needs a column 'item'; its columns are {list(frame.columns)}"
        )
    if len(frame.columns) == 1:
        return None, frame[item_col].tolist()
    return read_pred_probs(path, ann, align=False), None


def run(args: argparse.Namespace) -> int:
    ann = load_annotations(args)
    pred_probs = read_pred_probs(args.pred_probs, ann) if args.pred_probs else None
    pool, ids = _read_unlabeled(args.unlabeled, ann) if args.unlabeled else (None, None)
    scores = active_learning_scores(
        ann,
        pred_probs,
        pred_probs_unlabeled=pool,
        unlabeled_items=ids,
        calibrate=not args.no_calibrate,
        random_state=args.seed,
    )
    batch = scores.next_batch(args.n, random_state=args.seed)
    write_table(batch, args.output)
    if not args.quiet:
        counts = batch["status"].value_counts()
        model = (
            f"model weight {scores.model_weight:.3g}, temperature {scores.temperature:.3g}"
            if pred_probs is not None
            else "no model"
        )
        print(
            f"{len(batch)} items to label next: {int(counts.get('relabel', 0))} to re-label, "
            f"{int(counts.get('new', 0))} new ({model}; "
            f"mean annotator weight {scores.mean_annotator_weight:.3g})",
            file=sys.stdout,
        )
        print(format_table(batch, max_rows=10))
        print(f"wrote {args.output}")
    return 0
