"""What the SageMaker Ground Truth readers share (classification in ``sagemaker.py``, boxes in
``boxes_sagemaker.py``): the worker-response files and their answers, and the output manifest's lines and
label attributes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from ..errors import InvalidAnnotationsError
from ._base import iter_jsonl, load_json, text

__all__ = [
    "FMT",
    "answer_content",
    "indexed_source",
    "manifest_lines",
    "manifest_notes",
    "response_answers",
    "response_files",
]

FMT = "SageMaker Ground Truth"


class _Out(Protocol):
    """A reader's collector: skip reasons and notes."""

    notes: list[str]

    def skip(self, reason: str, n: int = 1) -> None: ...


def answer_content(content: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(``answerContent`` as an object, skip reason): JSON text is parsed first; a value that is
    not an object is skipped."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except json.JSONDecodeError:
            return None, "answer content that is not JSON"
    if not isinstance(content, dict):
        return None, "answer without content"
    return content, None


def response_answers(path: Path, out: _Out) -> Iterator[dict[str, Any]]:
    """The answers of one worker-response file (an answer that is not an object is skipped)."""
    data = load_json(path, FMT)
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, list):
        raise InvalidAnnotationsError(
            f"{path} is not a Ground Truth worker response: expected an object with an 'answers' list"
        )
    for answer in answers:
        if not isinstance(answer, dict):
            out.skip("answer that is not a JSON object")
            continue
        yield answer


def response_files(folder: Path) -> tuple[list[Path], Path | None]:
    """The worker-response files under ``folder`` (``iteration-N/<index>/*.json``); when there are none, the
    job's output manifest instead (an error when there is neither)."""
    files = sorted(p for p in folder.rglob("*.json") if p.parent.parent.name.startswith("iteration"))
    if files:
        return files, None
    manifest = folder / "manifests" / "output" / "output.manifest"
    if manifest.is_file():
        return [], manifest
    raise InvalidAnnotationsError(
        f"{folder}: no worker-response JSON files (annotations/worker-response/iteration-N/<index>/"
        "*.json) and no manifests/output/output.manifest"
    )


def indexed_source(index: str, sources: list[str] | None) -> str | None:
    """The manifest's source of the data object numbered ``index`` (a response file's folder), if known."""
    if sources is not None and index.isdigit() and int(index) < len(sources):
        return sources[int(index)]
    return None


def manifest_lines(
    path: Path, out: _Out, label_attribute: str | None
) -> Iterator[tuple[int, dict[str, Any], str, list[str]]]:
    """``(line number, object, item, label attributes)`` for every manifest line with a label attribute (the
    one named, if any): an attribute ``A`` is one with an ``A-metadata`` beside it. The item is the line's
    ``source-ref`` (or ``source``). An empty manifest is an error."""
    n_lines = 0
    for lineno, obj in iter_jsonl(path, FMT):
        n_lines += 1
        item = text(obj.get("source-ref")) or text(obj.get("source")) or f"line{lineno}"
        attrs = [
            k
            for k in obj
            if not k.endswith("-metadata") and f"{k}-metadata" in obj and label_attribute in (None, k)
        ]
        if not attrs:
            out.skip("manifest line without a label attribute")
            continue
        yield lineno, obj, item, attrs
    if n_lines == 0:
        raise InvalidAnnotationsError(f"{path} is empty")


def manifest_notes(out: _Out, consolidated: int, per_worker: int) -> None:
    """What the report says of a manifest: how many consolidated labels and per-worker objects it held."""
    if consolidated:
        out.notes.append(
            f"{consolidated} consolidated label(s): each label attribute (labeling job) is one annotator"
        )
    if per_worker:
        out.notes.append(f"per-worker answers of {per_worker} object(s)")
