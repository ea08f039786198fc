"""``accord bench``: accuracy, calibration, speed and redundancy curves of every model on a folder of
datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._progress import Status
from ..errors import InvalidParameterError
from ..evaluation.bench import DEFAULT_PEERS, BenchResult, run_bench, to_markdown
from ._common import UsageError, check_output

EXAMPLES = """examples:
  accord bench ../shared/data --output bench.md
  accord bench ../shared/data --methods mv,ds,ibcc,auto --redundancy 1,2,3,5,10,all --repeats 10 -o bench.md
  accord bench ../shared/data --methods ds --redundancy none --peers -o bench.md
  accord bench ../shared/data --methods mv,crowdlab --redundancy none --peers --peer-methods cl:crowdlab -o
  b.md

A folder with a pred_probs.csv (item plus one column per class: a classifier's out-of-sample probabilities)
also gets the model-assisted methods (crowdlab, ds_model) and cleanlab's CROWDLAB as a peer.

Writes bench.md (Markdown tables) and, beside it, bench.csv (one row per dataset and method) and
bench_redundancy.csv (one row per dataset, method and redundancy level).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the models on a folder of datasets with gold labels",
        description=(
            "Fit every method on every dataset folder (annotations.csv, gold.csv, meta.json) and score "
            "the consensus on the gold items: accuracy, macro-F1, log loss, calibration error, fit "
            "seconds, and accuracy as the number of labels per item is capped."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("datasets_dir", help="a folder of dataset folders (or one dataset folder)")
    parser.add_argument(
        "--methods",
        "-m",
        default=None,
        help="comma-separated method names (default: every method that needs only annotations)",
    )
    parser.add_argument(
        "--datasets", default=None, help="comma-separated dataset folder names (default: all)"
    )
    parser.add_argument(
        "--redundancy",
        default="1,2,3,5,10,all",
        help="caps on labels per item for the redundancy curves, e.g. 1,2,3,5,10,all; "
        "'none' for no curves (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=10,
        help="random subsamples per redundancy level (default: %(default)s)",
    )
    parser.add_argument(
        "--redundancy-methods",
        default=None,
        help="comma-separated methods that get redundancy curves (default: all of --methods)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run the peer libraries' methods where they are installed (crowd-kit, "
        "cleanlab; main table only)",
    )
    parser.add_argument(
        "--peer-methods",
        default=",".join(DEFAULT_PEERS),
        help="peers to run with --peers: ck:NAME for a crowd-kit class, cl:majority_vote or "
        "cl:crowdlab for cleanlab (default: %(default)s)",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=300.0,
        help="seconds allowed to each peer fit (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", "-o", required=True, help="Markdown output; the CSVs go beside it")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=run)


def parse_levels(text: str) -> list[int | str]:
    """``"1,2,3,all"`` -> ``[1, 2, 3, "all"]``; ``"none"`` or ``""`` -> ``[]``."""
    if text.strip().lower() in ("", "none", "off"):
        return []
    levels: list[int | str] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "all":
            levels.append("all")
            continue
        try:
            value = int(part)
        except ValueError:
            raise InvalidParameterError(
                f"--redundancy expects integers >= 1 or 'all', got {part!r}"
            ) from None
        if value < 1:
            raise InvalidParameterError(f"--redundancy levels must be >= 1, got {value}")
        levels.append(value)
    return levels


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _check_datasets(folder: str, names: list[str] | None) -> None:
    """Every --datasets name must be a dataset folder (with an annotations.csv) under DATASETS_DIR."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"DATASETS_DIR {folder} is not a folder")
    if (root / "annotations.csv").is_file():
        available = [root.name]
    else:
        available = sorted(p.name for p in root.iterdir() if (p / "annotations.csv").is_file())
    if not available:
        raise UsageError(f"{folder} holds no dataset folder (a folder with an annotations.csv)")
    unknown = [n for n in names or [] if n not in available]
    if unknown:
        shown = ", ".join(available[:30]) + (", ..." if len(available) > 30 else "")
        raise UsageError(f"--datasets: no dataset {', '.join(unknown)} in {folder}; the datasets are {shown}")


def run(args: argparse.Namespace) -> int:
    if args.repeats < 1:
        raise InvalidParameterError(f"--repeats must be >= 1, got {args.repeats}")
    check_output(args.output, formats={".md": "markdown", ".markdown": "markdown", ".txt": "markdown"})
    _check_datasets(args.datasets_dir, _names(args.datasets))
    with Status("bench: starting", quiet=args.quiet) as status:
        result = _run(args, status)
    out = Path(args.output)
    out.write_text(to_markdown(result) + "\n")
    written = result.to_csv(out.with_suffix(".csv"))
    if not args.quiet:
        print(f"wrote {out}, " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, status: Status) -> BenchResult:
    """run_bench with its progress lines shown as the status line (a terminal only; silent when piped)."""
    return run_bench(
        args.datasets_dir,
        _names(args.methods),
        redundancy=parse_levels(args.redundancy),
        repeats=args.repeats,
        redundancy_methods=_names(args.redundancy_methods),
        peers=args.peers,
        peer_methods=_names(args.peer_methods) or [],
        peer_timeout=args.peer_timeout,
        random_state=args.seed,
        datasets=_names(args.datasets),
        log=lambda line: status.update(f"bench: {line}"),
    )
