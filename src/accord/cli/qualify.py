"""``accord qualify``: score annotators on gold items and say who reaches the threshold mu."""

from __future__ import annotations

import argparse
import sys

from ..quality.qualification import METRICS, keep_annotators, qualify
from ._common import (
    UsageError,
    add_input_arguments,
    add_output_safety_argument,
    check_output,
    format_table,
    load_annotations,
    load_gold,
    write_table,
)

EXAMPLES = """examples:
  accord qualify annotations.csv --gold gold.csv
  accord qualify annotations.csv --gold gold.csv --mu 0.7 --metric macro_f1 --output scores.csv
  accord qualify annotations.csv --gold gold.csv --keep qualified_annotations.csv
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "qualify",
        help="score annotators on gold items (macro accuracy, macro F1) against a threshold",
        description="Score every annotator on the gold items they labelled and say who reaches mu "
        "(Schmarje et al., Annotating Ambiguous Images, TMLR 2024: macro accuracy and macro F1 of at least "
        "mu = 0.6).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("--gold", required=True, help="gold labels file with item,label columns")
    parser.add_argument("--mu", type=float, default=0.6, help="threshold (default 0.6)")
    parser.add_argument(
        "--metric",
        default="both",
        choices=METRICS,
        help="what must reach mu (default: both macro accuracy and macro F1)",
    )
    parser.add_argument("--min-gold", type=int, default=1, help="fewest gold items to qualify (default 1)")
    parser.add_argument("--output", "-o", default=None, help="write the per-annotator scores here")
    parser.add_argument(
        "--keep", default=None, help="write the annotations of the annotators who pass here (long format)"
    )
    add_output_safety_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.output)
    check_output(args.keep, "--keep")
    if args.output == "-" and args.keep == "-":
        raise UsageError("--output - and --keep -: only one table can go to standard output")
    ann = load_annotations(args)
    gold = load_gold(args.gold, ann)
    table = qualify(ann, gold, mu=args.mu, metric=args.metric, min_gold=args.min_gold)
    frame = table.reset_index()
    frame = frame.rename(columns={frame.columns[0]: "annotator"})
    out = sys.stderr if "-" in (args.output, args.keep) else sys.stdout
    if args.output:
        write_table(frame, args.output, allow_formulas=args.allow_formulas, float_digits=args.float_digits)
    passed = int(table["passes"].sum())
    ranked = frame.sort_values("macro_f1", ascending=False, na_position="last")
    print(format_table(ranked, max_rows=50), file=out)
    print(f"\n{passed} of {len(table)} annotators pass (mu = {args.mu:g}, metric = {args.metric})", file=out)
    if args.keep:
        kept = keep_annotators(ann, table.index[table["passes"].to_numpy()])
        write_table(
            kept.to_frame(), args.keep, allow_formulas=args.allow_formulas, float_digits=args.float_digits
        )
        print(f"kept {kept.n_annotations} of {ann.n_annotations} annotations; wrote {args.keep}", file=out)
    if args.output and args.output != "-":
        print(f"wrote {args.output}", file=out)
    return 0
