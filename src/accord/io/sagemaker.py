"""Amazon SageMaker Ground Truth: worker-response files and output manifests (classification jobs).

Worker responses (one file per data object and iteration, under
``<job>/annotations/worker-response/iteration-N/<object index>/<time>.json``)::

    {"answers": [{"workerId": "private.us-east-1.abc", "answerContent": {"crowd-image-classifier": {"label":
                  "Dog"}}, "submissionTime": "...", "workerMetadata": {...}}, ...]}

The item is the data object's index (the folder name), replaced by the object's ``source-ref`` (or ``source``)
when the job's output manifest (``<job>/manifests/output/output.manifest``) is found next to the responses.

Output manifest (JSON Lines, one data object per line): every label attribute ``A`` has a sibling
``A-metadata``. With the per-worker answers kept (``A: {"annotationsFromAllWorkers": [{"workerId",
"annotationData": {"content": "<JSON text>"}}]}``, as custom jobs write them) each worker is an annotator.
Otherwise the manifest holds only the consolidated label (``A-metadata.class-name``); then each label
attribute (each labeling job) is one annotator, which is how several chained jobs over the same objects can
be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._hints import option
from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, iter_jsonl, load_json, text
from ._sagemaker import (
    FMT,
    answer_content,
    indexed_source,
    manifest_lines,
    manifest_notes,
    response_answers,
    response_files,
)

__all__ = ["read"]


def read(
    source: str | Path,
    *,
    field: str | None = None,
    label_attribute: str | None = None,
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
) -> Imported:
    """Read worker responses (a job folder, a ``worker-response`` folder or one response file) or an output
    manifest (``.manifest`` / ``.jsonl``).

    Parameters
    ----------
    source : path
    field : str, optional
        The key inside ``answerContent`` that holds ``{"label": ...}`` (e.g. ``"crowd-image-classifier"``),
        when a response has several.
    label_attribute : str, optional
        The manifest's label attribute to read, when it has several (default: all of them).
    classes, duplicates : passed to :meth:`Annotations.from_frame`.
    """
    path = Path(source)
    if not path.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {path}")
    out = Collector(FMT, str(path))
    if path.is_dir():
        _read_folder(path, out, field)
    elif path.suffix.lower() == ".json":
        _read_response(path, path.parent.name, out, field)
    else:
        _read_manifest(path, out, field, label_attribute)
    return out.build(classes, duplicates)


# ------------------------------------------------------------------------------------------- worker responses
def answer_label(content: Any, field: str | None, where: str) -> tuple[str | None, str | None]:
    """(label, skip reason) from ``answerContent``: ``{field: {"label": x}}`` (or ``"labels": [x]``)."""
    content, why = answer_content(content)
    if content is None:
        return None, why
    if field is not None:
        if field not in content:
            return None, f"answer without the field {field!r}"
        candidates = {field: content[field]}
    else:
        candidates = {
            k: v for k, v in content.items() if isinstance(v, dict) and ("label" in v or "labels" in v)
        }
        if len(candidates) > 1:
            raise InvalidAnnotationsError(
                f"{where}: the answers have several labelled fields {sorted(candidates)}; "
                f"name one with {option('field=...', '--label-col FIELD')}"
            )
        if not candidates:
            return None, "answer without a 'label'"
    value = next(iter(candidates.values()))
    if isinstance(value, dict):
        value = value.get("label", value.get("labels"))
    if isinstance(value, list):
        if len(value) != 1:
            return (
                None,
                "answer with several labels (multi-label is not supported)" if value else "empty answer",
            )
        value = value[0]
    if isinstance(value, (dict, list)):
        return None, "answer whose label is not a class"
    label = text(value)
    return (label, None) if label is not None else (None, "empty answer")


def _read_response(path: Path, item: str, out: Collector, field: str | None) -> None:
    for answer in response_answers(path, out):
        label, why = answer_label(answer.get("answerContent"), field, str(path))
        if label is None:
            out.skip(why or "no label")
            continue
        out.add(item, answer.get("workerId"), label)


def _manifest_sources(folder: Path) -> list[str] | None:
    """Item ids (source-ref or source) by data-object index, from the job's output manifest if present."""
    for candidate in (
        folder / "manifests" / "output" / "output.manifest",
        folder.parent.parent / "manifests" / "output" / "output.manifest",
    ):
        if candidate.is_file():
            ids: list[str] = []
            for _, obj in iter_jsonl(candidate, FMT):
                ids.append(text(obj.get("source-ref")) or text(obj.get("source")) or str(len(ids)))
            return ids
    return None


def _consolidation_sources(folder: Path) -> dict[str, str]:
    """Item ids by data-object index from the job's consolidation requests
    (``annotations/consolidation-request/iteration-N/*.json``: a list of ``{"datasetObjectId", "dataObject":
    {"s3Uri" | "content"}}``), used when the output manifest is not there."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("consolidation-request/*/*.json")):
        data = load_json(path, FMT)
        if not isinstance(data, list):
            continue
        for entry in data:
            if not isinstance(entry, dict) or not isinstance(entry.get("dataObject"), dict):
                continue
            index, obj = text(entry.get("datasetObjectId")), entry["dataObject"]
            ref = text(obj.get("s3Uri")) or text(obj.get("source-ref")) or text(obj.get("content"))
            if index is not None and ref is not None:
                found.setdefault(index, ref)
    return found


def _read_folder(folder: Path, out: Collector, field: str | None) -> None:
    files, manifest = response_files(folder)
    if manifest is not None:
        _read_manifest(manifest, out, field, None)
        return
    job = next(
        (p for p in [folder, *folder.parents] if (p / "manifests").is_dir() or (p / "annotations").is_dir()),
        folder,
    )
    sources = _manifest_sources(job)
    requests = {} if sources is not None else _consolidation_sources(job)
    unnamed = 0
    for path in files:
        index = path.parent.name
        item = indexed_source(index, sources) or requests.get(index)
        if item is None:
            item = index
            unnamed += 1
        _read_response(path, item, out, field)
    how = (
        "the output manifest's source-ref"
        if sources is not None
        else "the consolidation requests' source references"
        if requests
        else "data-object index"
    )
    out.notes.append(f"{len(files)} worker-response file(s); items named by {how}")
    if unnamed:
        out.notes.append(
            f"{unnamed} worker-response file(s) named by data-object index: no output manifest "
            "(manifests/output/output.manifest) or consolidation request gives their source-ref"
        )


# ------------------------------------------------------------------------------------------- output manifest
def _read_manifest(path: Path, out: Collector, field: str | None, label_attribute: str | None) -> None:
    per_worker, consolidated = 0, 0
    for lineno, obj, item, attrs in manifest_lines(path, out, label_attribute):
        for attr in attrs:
            value, meta = obj[attr], obj.get(f"{attr}-metadata") or {}
            if isinstance(value, dict) and "annotationsFromAllWorkers" in value:
                workers = value["annotationsFromAllWorkers"]
                where = f"{path}, line {lineno} ({item})"
                if not isinstance(workers, list):
                    raise InvalidAnnotationsError(
                        f"{where}: {attr}.annotationsFromAllWorkers is {type(workers).__name__}; expected a "
                        f"list"
                    )
                per_worker += 1
                for k, worker in enumerate(workers):
                    if not isinstance(worker, dict):
                        raise InvalidAnnotationsError(
                            f"{where}: worker answer {k + 1} is {type(worker).__name__}, not an object"
                        )
                    data = worker.get("annotationData")
                    if data is not None and not isinstance(data, dict):
                        raise InvalidAnnotationsError(
                            f"{where}: worker answer {k + 1} ({worker.get('workerId')!r}): annotationData is "
                            f"{type(data).__name__}; expected an object with a 'content' field"
                        )
                    label, why = answer_label((data or {}).get("content"), field, where)
                    if label is None:
                        out.skip(why or "no label")
                        continue
                    out.add(item, worker.get("workerId"), label)
            elif isinstance(meta, dict) and "class-name" in meta:
                consolidated += 1
                out.add(item, attr, meta["class-name"])
            else:
                out.skip("label attribute that is not a single class (e.g. multi-label or boxes)")
    manifest_notes(out, consolidated, per_worker)
