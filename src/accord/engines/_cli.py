"""``accord aggregate DATASET --engine dask``: the command line's glue to :func:`accord.engines.dask.fit`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import AccordError, InvalidParameterError

__all__ = ["UNSUPPORTED", "run_dask"]

# Options of ``accord aggregate`` the Dask engine does not take, with the value that means "not given".
UNSUPPORTED = {
    "wide": False,
    "source_format": None,
    "annotators": None,
    "gold": None,
    "known": None,
    "pred_probs": None,
    "soft": False,
    "task": "labels",
    "format": None,
}


def run_dask(
    args: argparse.Namespace, model: Any, usage_error: type[Exception] = InvalidParameterError
) -> int:
    """Fit ``model`` (``--method`` with its ``-p`` parameters, built by the command) on the Parquet dataset
    ``args.annotations`` with Dask and write the per-item table into the directory ``--output``, one Parquet
    file per partition. ``--scheduler ADDRESS`` joins a running cluster; without it a local cluster runs for
    the command. A wrong command line raises ``usage_error`` (the command's exit-code-2 error)."""
    given = [k for k, off in UNSUPPORTED.items() if getattr(args, k, off) not in (off, None, False)]
    if given:
        flags = ", ".join("--" + ("from" if k == "source_format" else k.replace("_", "-")) for k in given)
        raise usage_error(f"--engine dask does not take {flags}; run without --engine dask for them")
    if args.output in ("-", None):
        raise usage_error("--engine dask writes one Parquet file per partition: give a directory with -o DIR")
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
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if not getattr(args, "quiet", False):
        print(summary(result, args.output), file=sys.stdout)
    return 0


def summary(result: Any, output: str) -> str:
    """Sizes, iterations and stage times of a Dask fit, and where its tables went."""
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
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


def _classes(text: str | None, usage_error: type[Exception]) -> list[str] | None:
    if not text:
        return None
    classes = [c.strip() for c in text.split(",")]
    if any(not c for c in classes):
        raise usage_error(f"--classes {text!r} has an empty class name; give names separated by commas")
    return classes


def _client(address: str | None, usage_error: type[Exception]) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise AccordError("--engine dask needs dask and distributed: pip install 'accord[dask]'") from None
    if address:
        try:
            return Client(address, timeout="20s"), None
        except OSError as exc:
            raise usage_error(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
    cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0")
    return Client(cluster), cluster
