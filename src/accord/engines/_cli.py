"""``accord aggregate DATASET --engine dask``: the command line's glue to :func:`accord.engines.dask.fit`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import AccordError, InvalidParameterError
from ..io.write import OUTPUT_FORMATS
from ..io.write import write_table as write_frame

__all__ = ["UNSUPPORTED", "run_dask"]

# Options of ``accord aggregate`` the Dask engine does not take, with the value that means "not given".
UNSUPPORTED = {
    "wide": False,
    "source_format": None,
    "pred_probs": None,
    "soft": False,
    "task": "labels",
    "format": None,
}


Writer = Callable[..., None]


def run_dask(
    args: argparse.Namespace,
    model: Any,
    usage_error: type[Exception] = InvalidParameterError,
    write_table: Writer | None = None,
) -> int:
    """Fit ``model`` (``--method`` with its ``-p`` parameters, built by the command) on the Parquet dataset
    ``args.annotations`` with Dask and write the per-item table into the directory ``--output``, one Parquet
    file per partition; ``--annotators FILE`` gets the per-annotator table and ``--gold FILE`` the accuracy
    against gold labels, as without Dask. ``--scheduler ADDRESS`` joins a running cluster; without it a
    local cluster runs for the command. A wrong command line raises ``usage_error`` (the command's
    exit-code-2 error); ``write_table(frame, path, allow_formulas=...)`` writes the annotator table (default:
    by the file's suffix)."""
    given = [k for k, off in UNSUPPORTED.items() if getattr(args, k, off) not in (off, None, False)]
    if given:
        flags = ", ".join("--" + ("from" if k == "source_format" else k.replace("_", "-")) for k in given)
        raise usage_error(f"--engine dask does not take {flags}; run without --engine dask for them")
    if args.output in ("-", None):
        raise usage_error("--engine dask writes one Parquet file per partition: give a directory with -o DIR")
    annotators_path = getattr(args, "annotators", None)
    if annotators_path is not None:
        _check_table_path(annotators_path, usage_error)
    from . import dask as engine

    if not engine.supported(model):
        raise usage_error(
            f"--engine dask fits mv, ds, onecoin and ibcc; --method {args.method} is in-memory only"
        )
    client, cluster = _client(getattr(args, "scheduler", None), usage_error)
    try:
        result = engine.fit(
            model,
            args.annotations,
            client=client,
            item=args.item_col,
            annotator=args.annotator_col,
            label=args.label_col,
            classes=_classes(getattr(args, "classes", None), usage_error),
            duplicates=getattr(args, "duplicates", "error"),
            missing=getattr(args, "missing", "error"),
            output=args.output,
            collect=False,
            gold=_gold_left(getattr(args, "gold", None), getattr(args, "known", None)),
            known=getattr(args, "known", None),
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    allow = bool(getattr(args, "allow_formulas", False))
    if annotators_path is not None:
        (write_table or _write_table)(result.annotator_quality, annotators_path, allow_formulas=allow)
    quiet = bool(getattr(args, "quiet", False))
    out = sys.stderr if annotators_path == "-" else sys.stdout
    if not quiet:
        print(summary(result, args.output), file=out)
        if getattr(args, "gold", None):
            which = "gold items" if getattr(args, "known", None) is None else "gold items not in --known"
            print(accuracy_line(result.gold_items, result.gold_correct, result.n_gold, which), file=out)
        if annotators_path not in (None, "-"):
            print(f"wrote {annotators_path}", file=out)
    return 0


def _gold_left(gold: str | None, known: str | None) -> Any:
    """The ``--gold`` labels to score against: without the items of ``--known`` (whose labels the output
    carries), as the in-memory command scores them."""
    if gold is None or known is None:
        return gold
    from ..io.tables import read_gold

    labels, given = read_gold(gold), read_gold(known)
    return labels[~labels.index.astype(str).isin(given.index.astype(str))]


def accuracy_line(matched: int, correct: int, n_gold: int, which: str = "gold items") -> str:
    """What the in-memory command prints for ``--gold``, and the gold items left out for want of
    annotations."""
    line = f"accuracy on {n_gold} {which}: {correct / max(matched, 1):.4f}"
    if matched < n_gold:
        line += f" ({n_gold - matched} of them have no annotation and are left out)"
    return line


def _check_table_path(path: str, usage_error: type[Exception]) -> None:
    """Refuse, before the fit, an annotator-table path that cannot be written."""
    if path == "-":
        return
    p = Path(path)
    if p.suffix.lower() not in OUTPUT_FORMATS:
        raise usage_error(
            f"--annotators {path}: accord cannot write {p.suffix or 'a file without a suffix'}; name it with "
            f"one of {', '.join(sorted(set(OUTPUT_FORMATS)))} (or - for standard output)"
        )
    if not p.parent.is_dir():
        raise usage_error(f"--annotators {path}: the folder {p.parent} does not exist; create it first")


def _write_table(frame: pd.DataFrame, path: str, *, allow_formulas: bool = False) -> None:
    """The annotator table by the file's suffix (``-``: CSV on standard output)."""
    write_frame(frame, path, escape_formulas=not allow_formulas)


def summary(result: Any, output: str) -> str:
    """Sizes, iterations and stage times of a Dask fit, and where its tables went."""
    times = ", ".join(
        f"{k} {v:.1f} s" + _detail(result.timings, k) for k, v in result.timings.items() if "." not in k
    )
    state = "converged" if result.converged else "did not converge"
    lines = [
        f"{result.method} on Dask: {result.n_items:,} items, {len(result.annotators):,} annotators, "
        f"{result.n_annotations:,} annotations, {len(result.classes)} classes, "
        f"{result.n_partitions} partitions",
        f"{result.n_iter} iterations ({state}); {times}",
        *result.report,
        f"wrote {len(result.paths)} Parquet files into {output}",
    ]
    return "\n".join(lines)


def _detail(timings: dict[str, float], stage: str) -> str:
    """`` (shuffle 8.10 s, index 1.20 s)``: the parts of a stage's time."""
    parts = [
        f"{k.split('.', 1)[1].replace('_', ' ')} {v:.2f} s"
        for k, v in timings.items()
        if k.startswith(stage + ".")
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _classes(text: str | None, usage_error: type[Exception]) -> list[str] | None:
    if not text:
        return None
    classes = [c.strip() for c in text.split(",")]
    if any(not c for c in classes):
        raise usage_error(f"--classes {text!r} has an empty class name; give names separated by commas")
    return classes


def _client(address: str | None, usage_error: type[Exception]) -> tuple[Any, Any]:
    try:
        from distributed import Client
    except ImportError:
        raise AccordError("--engine dask needs dask and distributed: pip install 'accord[dask]'") from None
    if address:
        try:
            return Client(address, timeout="20s"), None
        except OSError as exc:
            raise usage_error(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
    from .dask import local_client

    return local_client()
