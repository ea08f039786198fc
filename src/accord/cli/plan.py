"""``accord plan``: annotations per item for a confidence-interval width, the expected workload, and whether
to annotate with proposals (the speed-up ``S``)."""

from __future__ import annotations

import argparse

from ..planning.budget import Z95, annotations_for_width, interval_width, unanimous_lower_bound, workload
from ..planning.speedup import DEFAULT_THRESHOLD, cost_with_proposals, proposal_decision, speedup
from ._common import UsageError

EXAMPLES = """examples:
  accord plan --width 0.62 --p 0.5            # annotations per item for a 95% interval 0.62 wide: 10
  accord plan --annotations 50                # interval width after 50 annotations
  accord plan --items 3761 --p-consensus 0.5 --a-cons 10 --a-total 50 --per-hour 2500 \\
              --annotators 5 --conditions 2   # ~225,000 annotations, ~18 h each
  accord plan --rate-without 2800 --rate-with 3259   # S = 1.16 <= 3: annotate without proposals
  accord plan --speedup 4.4                   # S > 3: proposals pay for undoing their bias
  accord plan --speedup 1.2 --bias-acceptable # an acceptable bias: annotate with proposals
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="annotations needed for a confidence width, and the workload in annotator-hours",
        description="Planning formulas of Schmarje et al. (Annotating Ambiguous Images, TMLR 2024): the Wald "
        "95% interval of a class share, the bound for unanimous items, the expected workload, and the "
        "decision to annotate with proposals (bias acceptable? speed-up S above 3?).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--width", type=float, default=None, help="target width W of the 95%% interval")
    parser.add_argument("--p", type=float, default=0.5, help="class share p (default 0.5, the worst case)")
    parser.add_argument("--annotations", type=int, default=None, help="report the width after A annotations")
    group = parser.add_argument_group("workload")
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
    group = parser.add_argument_group("annotate with proposals? (the speed-up S)")
    group.add_argument("--speedup", type=float, default=None, help="S, if already known")
    group.add_argument(
        "--time-without", type=float, default=None, help="time per annotation without proposals"
    )
    group.add_argument("--time-with", type=float, default=None, help="time per annotation with proposals")
    group.add_argument(
        "--rate-without", type=float, default=None, help="annotations per hour without proposals"
    )
    group.add_argument("--rate-with", type=float, default=None, help="annotations per hour with proposals")
    group.add_argument(
        "--bias-acceptable", action="store_true", help="a bias toward the proposed class is acceptable"
    )
    group.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD, help="S above which proposals pay (default 3)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    wants_speedup = args.bias_acceptable or any(
        v is not None
        for v in (args.speedup, args.time_without, args.time_with, args.rate_without, args.rate_with)
    )
    if args.width is None and args.annotations is None and args.items is None and not wants_speedup:
        raise UsageError(
            "say what to plan: --width W, --annotations A, --items N or --speedup S (see --help)"
        )
    if not 0 <= args.p <= 1:
        raise UsageError(f"--p {args.p:g}: a class share must be between 0 and 1")
    if args.width is not None:
        if not args.width > 0:
            raise UsageError(f"--width {args.width:g}: the interval width must be above 0, e.g. 0.1")
        if args.width > 1:
            raise UsageError(
                f"--width {args.width:g}: the interval is of a share between 0 and 1, so its width is at "
                "most 1"
            )
        try:
            needed = annotations_for_width(args.width, args.p)
        except (ZeroDivisionError, OverflowError):
            raise UsageError(
                f"--width {args.width:g} is too small to plan for (it would need more annotations per item "
                "than can be counted); widths are shares, e.g. 0.1"
            ) from None
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
    if wants_speedup:
        print(_proposals(args))
    return 0


def _proposals(args: argparse.Namespace) -> str:
    """The speed-up S (given, or from times or rates) and the decision it supports."""
    measured = any(
        v is not None for v in (args.time_without, args.time_with, args.rate_without, args.rate_with)
    )
    if measured and args.speedup is not None:
        raise UsageError("give --speedup or the times/rates it comes from, not both")
    s = args.speedup
    if measured:
        s = speedup(
            time_without=args.time_without,
            time_with=args.time_with,
            rate_without=args.rate_without,
            rate_with=args.rate_with,
        )
    decision = proposal_decision(s, bias_acceptable=args.bias_acceptable, threshold=args.threshold)
    lines = [f"speed-up S = {s:.3g}" if s is not None else "speed-up S: not given"]
    if s is not None:
        lines[0] += f" (5 annotations with proposals cost {cost_with_proposals(5, s):.3g} without)"
    verdict = "annotate WITH proposals" if decision.use_proposals else "annotate WITHOUT proposals"
    lines.append(f"decision: {verdict}: {decision.reason}")
    return "\n".join(lines)
