"""Shared pieces of the importers: the result type, skip accounting, JSON readers with clear errors."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..annotations import Annotations
from ..errors import DataQualityWarning, InvalidAnnotationsError

__all__ = ["Collector", "Imported", "iter_jsonl", "load_json", "open_table", "read_text_table", "text"]


@dataclass
class Imported:
    """What an importer returns: the annotations, gold labels when the format carries them, and what was
    skipped.

    ``skipped`` maps a reason to how many records it dropped; the same lines are in ``annotations.report``.
    Unpacks as ``annotations, gold = imported``.
    """

    annotations: Annotations
    gold: pd.Series
    format: str
    source: str
    skipped: dict[str, int] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        yield self.annotations
        yield self.gold


def text(value: Any) -> str | None:
    """An id or label as text by the reading policy: kept as written (``"NA"`` stays ``"NA"``, surrounding
    spaces stay); ``None`` for missing, empty or whitespace-only values; integral floats lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    out = str(value)
    return out if out.strip() else None


class Collector:
    """Accumulates (item, annotator, label) rows, gold labels, skip reasons and notes; builds the result."""

    def __init__(self, fmt: str, source: str) -> None:
        self.fmt = fmt
        self.source = source
        self.items: list[str] = []
        self.annotators: list[str] = []
        self.labels: list[str] = []
        self.gold: dict[str, str] = {}
        self.skipped: Counter[str] = Counter()
        self.notes: list[str] = []

    def add(self, item: Any, annotator: Any, label: Any) -> None:
        """Add one annotation; a missing item, annotator or label is counted as skipped instead."""
        i, a, lab = text(item), text(annotator), text(label)
        if i is None:
            self.skip("no item id")
        elif a is None:
            self.skip("no annotator id")
        elif lab is None:
            self.skip("no label")
        else:
            self.items.append(i)
            self.annotators.append(a)
            self.labels.append(lab)

    def skip(self, reason: str, n: int = 1) -> None:
        if n > 0:
            self.skipped[reason] += n

    def add_gold(self, item: Any, label: Any) -> None:
        i, lab = text(item), text(label)
        if i is None or lab is None:
            return
        if i in self.gold and self.gold[i] != lab:
            self.skip("conflicting gold label (the first one is kept)")
            return
        self.gold[i] = lab

    def build(self, classes: Sequence[Any] | None = None, duplicates: str = "error") -> Imported:
        """The ``Imported`` result; warns (``DataQualityWarning``) once when anything was skipped."""
        if not self.items:
            why = (
                "; ".join(f"{n} {r}" for r, n in self.skipped.most_common())
                or "the export holds no annotation"
            )
            raise InvalidAnnotationsError(f"{self.source}: no usable {self.fmt} annotation ({why})")
        frame = pd.DataFrame({"item": self.items, "annotator": self.annotators, "label": self.labels})
        ann = Annotations.from_frame(frame, classes=classes, duplicates=duplicates)  # type: ignore[arg-type]
        lines = [f"{self.fmt}: skipped {n} record(s): {reason}" for reason, n in self.skipped.most_common()]
        lines += [f"{self.fmt}: {note}" for note in self.notes]
        if self.skipped:
            total = sum(self.skipped.values())
            warnings.warn(
                f"{self.source}: skipped {total} {self.fmt} record(s) ("
                + "; ".join(f"{n} {r}" for r, n in self.skipped.most_common())
                + ")",
                DataQualityWarning,
                stacklevel=4,
            )
        report = lines + ann.report
        ann = Annotations(
            ann.item, ann.annotator, ann.label, ann.items, ann.annotators, ann.classes, ann.extra, report
        )
        gold = pd.Series(self.gold, dtype=object, name="gold")
        gold.index.name = "item"
        return Imported(ann, gold, self.fmt, self.source, dict(self.skipped))


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file: {p}")
    if p.is_dir():
        raise InvalidAnnotationsError(f"{p} is a folder; expected a file")
    return p


def load_json(path: str | Path, fmt: str) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    p = _check_file(path)
    try:
        with p.open(encoding="utf-8-sig") as fh:
            return json.load(fh)
    except RecursionError:
        raise InvalidAnnotationsError(f"{p}: the JSON is nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        raise InvalidAnnotationsError(
            f"{p} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"is it really a {fmt} export?"
        ) from None
    except UnicodeDecodeError:
        raise InvalidAnnotationsError(f"{p} is not UTF-8 text; is it really a {fmt} export?") from None


def iter_jsonl(path: str | Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSON Lines file; errors name the line."""
    p = _check_file(path)
    try:
        with p.open(encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except RecursionError:
                    raise InvalidAnnotationsError(
                        f"{p}, line {lineno}: the JSON is nested too deeply to read"
                    ) from None
                except json.JSONDecodeError as exc:
                    raise InvalidAnnotationsError(
                        f"{p}, line {lineno}: not valid JSON ({exc.msg}); a {fmt} file has "
                        "one JSON object per line"
                    ) from None
                if not isinstance(obj, dict):
                    raise InvalidAnnotationsError(
                        f"{p}, line {lineno}: expected a JSON object, got {type(obj).__name__}"
                    )
                yield lineno, obj
    except UnicodeDecodeError:
        raise InvalidAnnotationsError(f"{p} is not UTF-8 text; is it really a {fmt} export?") from None


def read_text_table(path: str | Path, sep: str, fmt: str) -> pd.DataFrame:
    """A CSV/TSV with every cell as text and empty cells as ``None``-like NaN; errors name the file."""
    p = _check_file(path)
    try:
        frame = pd.read_csv(
            p,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            quoting=0,
            skip_blank_lines=True,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidAnnotationsError(
            f"could not read {p} as a {fmt} table: {str(exc).splitlines()[0]}"
        ) from None
    except pd.errors.EmptyDataError:
        raise InvalidAnnotationsError(f"{p} is empty") from None
    return frame


def open_table(
    source: str | Path | pd.DataFrame, sep: str, fmt: str, required: Sequence[str], hint: str
) -> tuple[str, pd.DataFrame]:
    """``(name, frame)`` of a tool's table export given as a path or a DataFrame, with the ``required``
    columns checked (the shared opening of the MTurk and Toloka importers)."""
    if isinstance(source, pd.DataFrame):
        name, frame = f"{fmt} table", source.astype(object).where(source.notna(), None)
    else:
        name, frame = str(source), read_text_table(source, sep, fmt)
    require_columns(frame, required, name, fmt, hint)
    return name, frame


def require_columns(
    frame: pd.DataFrame, columns: Sequence[str], source: str, fmt: str, hint: str = ""
) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(repr(c) for c in list(frame.columns)[:12])
        raise InvalidAnnotationsError(
            f"{source}: no column {', '.join(repr(c) for c in missing)} — not a {fmt} "
            f"export? Its columns are {shown}{'...' if len(frame.columns) > 12 else ''}"
            + (f". {hint}" if hint else "")
        )
