"""Importers for the exports of annotation tools, one module per source.

===================  =====================================================  ============================
format               what                                                   module
===================  =====================================================  ============================
``label_studio``     Label Studio JSON, JSON_MIN, CSV and TSV (Choices)     :mod:`.label_studio`
``sagemaker``        SageMaker Ground Truth worker responses, manifests     :mod:`.sagemaker`
``mturk``            Mechanical Turk batch-results CSV                      :mod:`.mturk`
``toloka``           Toloka assignment results TSV (GOLDEN:* = gold)        :mod:`.toloka`
``prodigy``          Prodigy JSONL (choice and binary tasks)                :mod:`.prodigy`
===================  =====================================================  ============================

:func:`read` dispatches (``format=None`` guesses from the file) and returns an :class:`Imported` (annotations,
gold labels when the format has them, and what was skipped); the ``from_*`` functions return just the
:class:`~accord.Annotations`. Everything an importer skips is counted, listed in ``Annotations.report`` and
announced once with a :class:`~accord.DataQualityWarning`.

>>> from accord import io
>>> sorted(io.FORMATS)
['label_studio', 'mturk', 'prodigy', 'sagemaker', 'toloka']
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..annotations import Annotations, register_reader
from ..errors import InvalidAnnotationsError, InvalidParameterError
from . import label_studio, mturk, prodigy, sagemaker, toloka
from ._base import Imported
from .datasets import Dataset, load_dataset, load_demo, read_meta
from .tables import read_annotations, read_gold, read_item_ids, read_pred_probs, read_table

__all__ = [
    "FORMATS",
    "Dataset",
    "Imported",
    "canonical_format",
    "detect_format",
    "from_label_studio",
    "from_mturk",
    "from_prodigy",
    "from_sagemaker",
    "from_toloka",
    "load_dataset",
    "load_demo",
    "read",
    "read_annotations",
    "read_gold",
    "read_item_ids",
    "read_meta",
    "read_pred_probs",
    "read_table",
]

FORMATS: dict[str, Callable[..., Imported]] = {
    "label_studio": label_studio.read,
    "sagemaker": sagemaker.read,
    "mturk": mturk.read,
    "toloka": toloka.read,
    "prodigy": prodigy.read,
}
_ALIASES = {
    "labelstudio": "label_studio",
    "label-studio": "label_studio",
    "ls": "label_studio",
    "json_min": "label_studio",
    "ground_truth": "sagemaker",
    "groundtruth": "sagemaker",
    "sagemaker_ground_truth": "sagemaker",
    "mechanical_turk": "mturk",
    "amt": "mturk",
}


def canonical_format(fmt: str) -> str:
    """The canonical name of an export format (aliases such as ``labelstudio`` or ``amt`` accepted)."""
    key = fmt.strip().lower().replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise InvalidParameterError(
            f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)} (or 'auto')"
        )
    return key


def _first_line(path: Path) -> str:
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return line
    return ""


def detect_format(path: str | Path) -> str:
    """Guess the export format of a file or folder from its suffix and first line or object."""
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {p}")
    if p.is_dir() or p.suffix.lower() == ".manifest":
        return "sagemaker"
    head = _first_line(p)
    suffix = p.suffix.lower()
    if "ASSIGNMENT:" in head or ("INPUT:" in head and "OUTPUT:" in head):
        return "toloka"
    if "WorkerId" in head and ("HITId" in head or "Answer." in head):
        return "mturk"
    if suffix in (".csv", ".tsv"):
        columns = {c.strip().strip('"') for c in head.rstrip("\r\n").split("\t" if suffix == ".tsv" else ",")}
        if "annotator" in columns and ({"annotation_id", "lead_time"} & columns):
            return "label_studio"
    if suffix in (".jsonl", ".ndjson") or (
        suffix == ".json"
        and head.lstrip().startswith("{")
        and head.rstrip().endswith("}")
        and '"answers"' not in head
    ):
        try:
            obj = json.loads(head)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            if any(k in obj for k in ("_input_hash", "_task_hash", "_session_id", "_annotator_id")):
                return "prodigy"
            if any(k.endswith("-metadata") for k in obj):
                return "sagemaker"
    if suffix == ".json":
        text = p.read_text(encoding="utf-8-sig", errors="replace")[:200_000]
        if '"answers"' in text and '"answerContent"' in text:
            return "sagemaker"
        if '"annotations"' in text or '"completions"' in text or '"annotator"' in text:
            return "label_studio"
    raise InvalidAnnotationsError(
        f"cannot tell which tool exported {p}; pass format= one of {', '.join(FORMATS)} (CLI: --from FORMAT)"
    )


def read(path: str | Path, format: str | None = None, **options: Any) -> Imported:
    """Read an annotation tool's export.

    Parameters
    ----------
    path : str or Path
        The exported file (or, for SageMaker Ground Truth, the job's output folder).
    format : str, optional
        One of :data:`FORMATS` (``None`` or ``"auto"``: guess with :func:`detect_format`).
    **options
        Passed to the format's reader (e.g. ``from_name=`` for Label Studio, ``label=`` for MTurk and Toloka,
        ``classes=``, ``duplicates=``).

    Returns
    -------
    Imported
        ``.annotations``, ``.gold`` (a Series item -> label; empty when the format has none), ``.skipped``.
    """
    fmt = detect_format(path) if format in (None, "auto") else canonical_format(str(format))
    return FORMATS[fmt](path, **options)


def from_label_studio(path: str | Path | list[Any], **options: Any) -> Annotations:
    """Annotations from a Label Studio JSON or JSON_MIN export (see :func:`accord.io.label_studio.read`)."""
    return label_studio.read(path, **options).annotations


def from_sagemaker(path: str | Path, **options: Any) -> Annotations:
    """Annotations from SageMaker Ground Truth output (see :func:`accord.io.sagemaker.read`)."""
    return sagemaker.read(path, **options).annotations


def from_mturk(path: str | Path, **options: Any) -> Annotations:
    """Annotations from an MTurk batch-results CSV (see :func:`accord.io.mturk.read`)."""
    return mturk.read(path, **options).annotations


def from_toloka(path: str | Path, **options: Any) -> Annotations:
    """Annotations from a Toloka results TSV (see :func:`accord.io.toloka.read`)."""
    return toloka.read(path, **options).annotations


def from_prodigy(path: str | Path | list[dict[str, Any]], **options: Any) -> Annotations:
    """Annotations from a Prodigy JSONL export (see :func:`accord.io.prodigy.read`)."""
    return prodigy.read(path, **options).annotations


# ``Annotations.read`` and ``Annotations.from_<tool>`` are implemented here. io depends on Annotations, never
# the reverse, so the readers are registered with it instead of being imported by it.
register_reader("read", read_annotations)
register_reader("label_studio", from_label_studio)
register_reader("sagemaker", from_sagemaker)
register_reader("mturk", from_mturk)
register_reader("toloka", from_toloka)
register_reader("prodigy", from_prodigy)
