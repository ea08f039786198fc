"""``accord plan``: annotations per item for a confidence-interval width, and the expected workload."""

from __future__ import annotations

import argparse

from ..errors import InvalidParameterError
from ..planning.budget import Z95, annotations_for_width, interval_width, unanimous_lower_bound, workload

EXAMPLES = """examples:
  accord plan --width 0.62 --p 0.5            # annotations per item for a 95% interval 0.62 wide: 10
  accord plan --annotations 50                # interval width after 50 annotations
  accord plan --items 3761 --p-consensus 0.5 --a-cons 10 --a-total 50 --per-hour 2500 \\
              --annotators 5 --conditions 2   # appendix D: ~225,000 annotations, ~18 h each
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="annotations needed for a confidence width, and the workload in annotator-hours",
        description="Planning formulas of Schmarje et al., appendix B: the Wald 95% interval of a class "
        "share (eq. 2), the bound for unanimous items, and the expected workload.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--width", type=float, default=None, help="target width W of the 95%% interval")
    parser.add_argument("--p", type=float, default=0.5, help="class share p (default 0.5, the worst case)")
    parser.add_argument("--annotations", type=int, default=None, help="report the width after A annotations")
    group = parser.add_argument_group("workload (appendix B.2)")
    group.add_argument("--items", type=int, default=None, help="N, items to annotate")
    group.add_argument("--p-consensus", type=float, default=0.5, help="p_c, share reaching consensus early")
    group.add_argument("--a-cons", type=int, default=10, help="A_cons, annotations of a consensus item (10)")
    group.add_argument("--a-total", type=int, default=50, help="A^cons, annotations of other items (50)")
    group.add_argument("--per-hour", type=float, default=2500.0, help="annotations per hour per annotator")
    group.add_argument("--annotators", type=int, default=1, help="annotators sharing the work")
    group.add_argument(
        "--conditions",
        type=int,
        default=1,
        help="times each item is annotated (2 = with and without proposals)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.width is None and args.annotations is None and args.items is None:
        raise InvalidParameterError("say what to plan: --width W, --annotations A or --items N (see --help)")
    if args.width is not None:
        needed = annotations_for_width(args.width, args.p)
        print(
            f"annotations per item: {needed}  (Wald 95% interval of width {args.width:g} at "
            f"p = {args.p:g}, Z = {Z95})"
        )
        bound = unanimous_lower_bound(needed)
        print(f"  a unanimous item after {needed} annotations: interval ({bound:.2f}, 1)")
    if args.annotations is not None:
        width = interval_width(args.annotations, args.p)
        bound = unanimous_lower_bound(args.annotations)
        print(
            f"interval width after {args.annotations} annotations at p = {args.p:g}: {width:.3f}; "
            f"unanimous item: ({bound:.2f}, 1)"
        )
    if args.items is not None:
        w = workload(
            args.items,
            p_consensus=args.p_consensus,
            a_cons=args.a_cons,
            a_total=args.a_total,
            per_hour=args.per_hour,
            n_annotators=args.annotators,
            n_conditions=args.conditions,
        )
        print(
            f"workload: {w.annotations:,.0f} annotations ({w.annotations_per_item:g} per item), "
            f"{w.hours:,.1f} hours, {w.hours_per_annotator:,.1f} hours per annotator"
        )
    return 0
