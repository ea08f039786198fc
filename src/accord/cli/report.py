"""``accord report``: one self-contained HTML page (or JSON) about the annotations and the consensus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._progress import progress_enabled
from ..models.registry import METHODS, make_model
from ..report import build_report, render_html, write_report
from ._common import (
    UsageError,
    add_input_arguments,
    add_model_arguments,
    check_method,
    check_output,
    fit_guarded,
    load_annotations,
    load_gold,
    make_model_from_args,
    parse_params,
)

EXAMPLES = """examples:
  accord report annotations.csv -o report.html
  accord report annotations.csv --gold gold.csv --method ds -o report.html
  accord report annotations.csv --format json -o report.json
  accord report export.json --from label_studio -o report.html
  accord report assignments.tsv --from toloka -o report.html     (GOLDEN:* columns are used as gold)

The HTML file has no scripts and no links: open it offline, mail it, print it. Sections: summary and labels
per item, agreement (Fleiss' kappa, Krippendorff's alpha), confidence, annotator quality and confusion
matrices, raw labels vs consensus, EM convergence, and with gold: accuracy, macro-F1 and error vs labels per
item.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="an HTML (or JSON) report with plots: agreement, annotators, confidence, convergence",
        description="Fit a truth-inference model and write a self-contained report (inline CSS and SVG).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--input-format",
        dest="format",
        default=None,
        help="file format of ANNOTATIONS if the suffix does not say (csv, tsv, parquet, jsonl)",
    )
    add_model_arguments(
        parser,
        method_help="truth-inference method (default: ds = Dawid-Skene; with --task, the task's default)",
    )
    parser.add_argument("--gold", default=None, help="gold labels (item,label) to evaluate against")
    parser.add_argument(
        "--format",
        dest="report_format",
        choices=["html", "json"],
        default=None,
        help="report format (default: from the --output suffix, else html)",
    )
    parser.add_argument(
        "--output",
        "-o",
        default=None,
        help="where to write: .html or .json (default: report.html / report.json; - for standard output)",
    )
    parser.add_argument("--title", default=None, help="the report's title")
    parser.add_argument(
        "--review", type=int, default=20, metavar="N", help="items to list for review (default 20)"
    )
    parser.add_argument(
        "--no-curves",
        action="store_true",
        help="skip the error-vs-labels-per-item curves (with gold they refit models many times)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="random subsamples per point of those curves")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the subsampling (default 0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    parser.set_defaults(func=run)


_REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json"}


def _output(args: argparse.Namespace) -> tuple[str, str]:
    """Where and in which format to write: ``--output`` (``.html`` / ``.json``, or ``-`` for standard output)
    and ``--format``, which must agree."""
    fmt = args.report_format
    if args.output is None:
        fmt = fmt or "html"
        return f"report.{fmt}", fmt
    if args.output == "-":
        return "-", fmt or "html"
    suffix = Path(args.output).suffix.lower()
    if fmt is None or suffix in _REPORT_SUFFIXES:  # without --format the suffix must say html or json
        check_output(args.output, formats=_REPORT_SUFFIXES)
        by_suffix = _REPORT_SUFFIXES[suffix]
        if fmt is not None and fmt != by_suffix:
            raise UsageError(f"--format {fmt} and --output {args.output} disagree; name the file .{fmt}")
        return args.output, by_suffix
    check_output(args.output, formats={suffix: fmt})  # --format json -o report.txt: the folder must exist
    return args.output, fmt


def run(args: argparse.Namespace) -> int:
    if getattr(args, "task", "labels") != "labels":
        from ._tasks import run_task_report  # written by the tasks' CLI helper; only needed for other tasks

        return int(run_task_report(args))
    args.method = check_method(args.method)
    path, fmt = _output(args)
    params = parse_params(args.param)
    make_model_from_args(args.method, params, METHODS, make_model)
    ann = load_annotations(args)
    if args.gold:
        gold = load_gold(args.gold, ann)
    else:
        gold = getattr(args, "imported_gold", None)
        if gold is not None and len(gold):
            ann.encode_gold(gold)  # the same checks as --gold: gold that matches no item is an error
    if gold is not None and len(gold) == 0:
        gold = None
    data = fit_guarded(
        lambda: build_report(
            ann,
            method=args.method,
            params=params,
            gold=gold,
            n_review=args.review,
            redundancy=not args.no_curves,
            redundancy_repeats=args.repeats,
            random_state=args.seed,
            title=args.title,
            progress=progress_enabled(sys.stderr, quiet=args.quiet),
        ),
        args.method,
        params,
    )
    if path == "-":
        sys.stdout.write(data.to_json() if fmt == "json" else render_html(data))
    else:
        write_report(data, path, fmt)
    if not args.quiet:
        out = sys.stderr if path == "-" else sys.stdout
        print(summary_line(data), file=out)
        if path != "-":
            print(f"wrote {path}", file=out)
    return 0


def summary_line(data) -> str:
    """One or two lines: sizes, agreement and (with gold) accuracy."""
    s, a = data.summary, data.agreement
    kappa = "n/a" if a.get("fleiss_kappa") is None else f"{a['fleiss_kappa']:.3f}"
    alpha = "n/a" if a.get("krippendorff_alpha") is None else f"{a['krippendorff_alpha']:.3f}"
    line = (
        f"{data.method}: {s['n_items']:,} items, {s['n_annotators']:,} annotators, {s['n_annotations']:,} "
        f"annotations; Fleiss' kappa {kappa}, Krippendorff's alpha {alpha}; mean confidence "
        f"{data.confidence['mean']:.3f}"
    )
    if data.gold is not None:
        line += (
            f"\naccuracy on {data.gold['n_gold']:,} gold items: {data.gold['accuracy']:.4f} "
            f"(majority vote {data.gold['mv_accuracy']:.4f})"
        )
    return line
