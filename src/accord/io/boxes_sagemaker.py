"""Amazon SageMaker Ground Truth bounding-box jobs: worker responses and output manifests (pixel units).

Worker responses (one file per data object and iteration, under
``<job>/annotations/worker-response/iteration-N/<object index>/<time>.json``)::

    {"answers": [{"workerId": "private.us-east-1.abc",
                  "answerContent": {"boundingBox": {
                      "boundingBoxes": [{"label": "dog", "left": 243, "top": 117,
                                         "width": 187, "height": 401}],
                      "inputImageProperties": {"width": 800, "height": 533}}}}]}

The item is the data object's index (the folder name), replaced by the object's ``source-ref`` when the job's
output manifest (``<job>/manifests/output/output.manifest``) is found next to the responses. A worker who
submitted no box looked at the image and found nothing: that counts.

Output manifest (JSON Lines, one image per line), for each label attribute ``A`` with an ``A-metadata``:

- per-worker answers (custom jobs: ``A: {"annotationsFromAllWorkers": [{"workerId", "annotationData":
  {"content": "<JSON of answerContent>"}}]}``): each worker is an annotator;
- the consolidated boxes (``A: {"image_size": [{"width", "height"}], "annotations": [{"class_id", "left",
  "top", "width", "height"}]}``, classes in ``A-metadata.class-map``): each label attribute (each labeling or
  adjustment job) is one annotator, which is how chained jobs over the same images can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._hints import option
from ..errors import InvalidAnnotationsError
from ..tasks.boxes import BoxCollector, Boxes
from ._base import iter_jsonl, text
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
) -> Boxes:
    """Read bounding-box worker responses (a job folder, a ``worker-response`` folder or one response file)
    or an output manifest (``.manifest`` / ``.jsonl``).

    Parameters
    ----------
    source : path
    field : str, optional
        The key inside ``answerContent`` that holds ``{"boundingBoxes": [...]}`` (``"boundingBox"`` in the
        built-in task, the ``name`` of the ``crowd-bounding-box`` element in a custom one), when there are
        several.
    label_attribute : str, optional
        The manifest's label attribute to read, when it has several (default: every bounding-box attribute).
    classes : sequence, optional
        The label set and its order.
    """
    path = Path(source)
    if not path.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {path}")
    out = BoxCollector(FMT, str(path), "px")
    if path.is_dir():
        _read_folder(path, out, field)
    elif path.suffix.lower() == ".json":
        _read_response(path, path.parent.name, out, field)
    else:
        _read_manifest(path, out, field, label_attribute)
    return out.build(classes)


# ------------------------------------------------------------------------------------------- answers
def _box_content(content: Any, field: str | None, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """(``{"boundingBoxes", "inputImageProperties"}``, skip reason) from an ``answerContent``."""
    content, why = answer_content(content)
    if content is None:
        return None, why
    if field is not None:
        value = content.get(field)
        if not isinstance(value, dict) or "boundingBoxes" not in value:
            return None, f"answer without bounding boxes in the field {field!r}"
        return value, None
    found = {k: v for k, v in content.items() if isinstance(v, dict) and "boundingBoxes" in v}
    if len(found) > 1:
        raise InvalidAnnotationsError(
            f"{where}: the answers have several bounding-box fields {sorted(found)}; choose one with "
            f"{option('field=...', '--label-col NAME')}"
        )
    if not found:
        return None, "answer without bounding boxes"
    return next(iter(found.values())), None


def _add_answer(
    out: BoxCollector, item: str, worker: Any, content: Any, field: str | None, where: str
) -> None:
    annotator = text(worker)
    if annotator is None:
        out.skip("answer without a workerId")
        return
    value, why = _box_content(content, field, where)
    if value is None:
        out.skip(why or "answer without bounding boxes")
        return
    boxes = value.get("boundingBoxes") or []
    if not isinstance(boxes, list):
        raise InvalidAnnotationsError(f"{where}: 'boundingBoxes' of worker {annotator} is not a list")
    size = value.get("inputImageProperties") or {}
    if isinstance(size, dict):
        out.add_size(item, size.get("width"), size.get("height"))
    out.add_seen(item, annotator)
    for box in boxes:
        if not isinstance(box, dict):
            out.skip("box that is not a JSON object")
            continue
        coords = [box.get(k) for k in ("left", "top", "width", "height")]
        out.add(item, annotator, text(box.get("label")), coords, f"{where}, worker {annotator}")


def _read_response(path: Path, item: str, out: BoxCollector, field: str | None) -> None:
    for answer in response_answers(path, out):
        _add_answer(out, item, answer.get("workerId"), answer.get("answerContent"), field, str(path))


def _manifest_sources(job: Path) -> list[str] | None:
    manifest = job / "manifests" / "output" / "output.manifest"
    if not manifest.is_file():
        return None
    return [
        text(obj.get("source-ref")) or text(obj.get("source")) or str(n)
        for n, (_, obj) in enumerate(iter_jsonl(manifest, FMT))
    ]


def _read_folder(folder: Path, out: BoxCollector, field: str | None) -> None:
    files, manifest = response_files(folder)
    if manifest is not None:
        _read_manifest(manifest, out, field, None)
        return
    job = next((p for p in [folder, *folder.parents] if (p / "manifests").is_dir()), folder)
    sources = _manifest_sources(job)
    for path in files:
        index = path.parent.name
        _read_response(path, indexed_source(index, sources) or index, out, field)
    out.notes.append(
        f"{len(files)} worker-response file(s); items named by "
        + ("the output manifest's source-ref" if sources is not None else "data-object index")
    )


# ------------------------------------------------------------------------------------------- manifest
def _read_manifest(path: Path, out: BoxCollector, field: str | None, label_attribute: str | None) -> None:
    kinds = {"per-worker": 0, "consolidated": 0}
    for lineno, obj, item, attrs in manifest_lines(path, out, label_attribute):
        for attr in attrs:
            kind = _read_attribute(obj[attr], obj.get(f"{attr}-metadata"), attr, item, out, field,
                                   f"{path}, line {lineno}")  # fmt: skip
            if kind:
                kinds[kind] += 1
    manifest_notes(out, kinds["consolidated"], kinds["per-worker"])


def _read_attribute(
    value: Any, meta: Any, attr: str, item: str, out: BoxCollector, field: str | None, where: str
) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("annotationsFromAllWorkers"), list):
        for worker in value["annotationsFromAllWorkers"]:
            if not isinstance(worker, dict):
                out.skip("worker answer that is not a JSON object")
                continue
            content = (worker.get("annotationData") or {}).get("content")
            _add_answer(out, item, worker.get("workerId"), content, field, where)
        return "per-worker"
    if isinstance(value, dict) and isinstance(value.get("annotations"), list):
        _add_consolidated(value, meta if isinstance(meta, dict) else {}, attr, item, out, where)
        return "consolidated"
    out.skip("label attribute that is not a bounding-box job")
    return None


def _add_consolidated(
    value: dict[str, Any], meta: dict[str, Any], attr: str, item: str, out: BoxCollector, where: str
) -> None:
    class_map = meta.get("class-map") or {}
    sizes = value.get("image_size") or [{}]
    if isinstance(sizes, list) and sizes and isinstance(sizes[0], dict):
        out.add_size(item, sizes[0].get("width"), sizes[0].get("height"))
    out.add_seen(item, attr)
    for box in value["annotations"]:
        if not isinstance(box, dict):
            out.skip("box that is not a JSON object")
            continue
        class_id = text(box.get("class_id"))
        label = class_map.get(class_id, class_id) if isinstance(class_map, dict) else class_id
        coords = [box.get(k) for k in ("left", "top", "width", "height")]
        out.add(item, attr, text(label), coords, f"{where}, attribute {attr}")
