"""Segmentation masks of many annotators: read a folder, validate it once, hold it as integer label maps.

Layout read by :func:`read_masks`::

    masks/
        <item>/<annotator>.png      # or .npy, .tif, .tiff, .bmp
        <item>/<annotator>.npy

Every file is one annotator's mask of one image: a single-channel image (or a 2-D ``.npy`` array) whose pixel
values are label indices, ``0`` = background. Binary masks saved as 0/255 (the usual 8-bit export) are read as
0/1; a 1-bit PNG reads as 0/1 too. Images are read with Pillow, an optional extra (``pip install
"accord[images]"``); ``.npy`` files need nothing beyond numpy.

Checks, each failing with an :class:`~accord.errors.InvalidAnnotationsError` that names the file and the fix:
the masks of an item share one shape; values are finite non-negative integers (no fractions), below
``n_classes`` when it is given; a mask has one channel. An item folder with a single annotator is fine.

>>> import numpy as np
>>> ms = MaskSet.from_arrays({"img1": {"ann": np.eye(3, dtype=int), "bob": np.ones((3, 3), dtype=int)}})
>>> ms
MaskSet(1 items, 2 annotators, 2 classes, 18 annotated pixels)
>>> ms.shapes
{'img1': (3, 3)}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AccordError, InvalidAnnotationsError, InvalidParameterError

__all__ = [
    "IMAGE_SUFFIXES",
    "BrushImport",
    "MaskSet",
    "decode_brush_rle",
    "read_gold_masks",
    "read_label_studio_masks",
    "read_mask",
    "read_masks",
    "write_mask",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")
MASK_SUFFIXES = (".npy", *IMAGE_SUFFIXES)
MAX_CLASSES = 65535


def pillow() -> ModuleType:
    """The ``PIL.Image`` module, or an :class:`AccordError` that names the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise AccordError(
            'reading and writing image masks needs Pillow: pip install "accord[images]" '
            "(or save the masks as .npy arrays, which need nothing more)"
        ) from None
    return Image


def has_pillow() -> bool:
    """Whether Pillow can be imported."""
    try:
        pillow()
    except AccordError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- one file
def read_mask(path: str | Path) -> np.ndarray:
    """One mask file as a 2-D array of non-negative integer label indices (``int64``).

    A 0/255 mask is returned as 0/1. Raises :class:`InvalidAnnotationsError` naming the file for a
    multi-channel image, a non-2-D array, fractional, negative or non-finite values, or an unreadable file.
    """
    path = Path(path)
    raw = _load_npy(path) if path.suffix.lower() == ".npy" else _load_image(path)
    return _as_labels(raw, path)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as exc:
        raise InvalidAnnotationsError(f"mask {path}: cannot read it as a .npy array ({exc})") from None


def _load_image(path: Path) -> np.ndarray:
    image_module = pillow()
    try:
        with image_module.open(path) as img:
            mode = img.mode
            if mode not in ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "F"):
                raise InvalidAnnotationsError(
                    f"mask {path} is an image of mode {mode} with {len(img.getbands())} channels; save each "
                    "mask as a single-channel image (mode L, P, I or 1) whose pixel values are label indices"
                )
            return np.asarray(img)
    except OSError as exc:
        raise InvalidAnnotationsError(f"mask {path}: cannot read it as an image ({exc})") from None


def _as_labels(raw: np.ndarray, path: Path) -> np.ndarray:
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[:, :, 0]
    if raw.ndim != 2 or raw.size == 0:
        raise InvalidAnnotationsError(
            f"mask {path} has shape {raw.shape}; a mask must be 2-D (height x width) with one label per pixel"
        )
    if raw.dtype == bool:
        return raw.astype(np.int64)
    if not np.issubdtype(raw.dtype, np.number) or np.iscomplexobj(raw):
        raise InvalidAnnotationsError(f"mask {path} holds {raw.dtype} values; label indices must be integers")
    if not np.issubdtype(raw.dtype, np.integer):
        _check_integral(raw, path)
    labels = raw.astype(np.int64)
    if labels.size and labels.min() < 0:
        r, c = np.argwhere(labels < 0)[0]
        raise InvalidAnnotationsError(
            f"mask {path} has the negative value {labels[r, c]} at row {r}, column {c}; "
            "label indices start at 0"
        )
    if labels.size and labels.max() == 255 and ((labels == 0) | (labels == 255)).all():
        labels = labels // 255
    return labels


def _check_integral(raw: np.ndarray, path: Path) -> None:
    bad = ~np.isfinite(raw) | (raw != np.round(raw))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InvalidAnnotationsError(
            f"mask {path} has the non-integer value {raw[r, c].item()!r} at row {r}, column {c} "
            f"({int(bad.sum())} such pixels); save label indices as integers "
            "(threshold probability maps first)"
        )


def write_mask(path: str | Path, mask: np.ndarray) -> Path:
    """Write a label map: ``.npy`` as is, an image suffix through Pillow (8-bit, or 16-bit above 255)."""
    path = Path(path)
    mask = np.asarray(mask)
    if path.suffix.lower() == ".npy":
        np.save(path, mask)
        return path
    image_module = pillow()
    if mask.size and int(mask.max()) > 255:
        image_module.fromarray(mask.astype(np.uint16)).save(path)
    else:
        image_module.fromarray(mask.astype(np.uint8), mode=None).save(path)
    return path


# ---------------------------------------------------------------------------------------------- a set
@dataclass(frozen=True)
class MaskSet:
    """The masks of many annotators on many images, as integer label maps.

    Attributes
    ----------
    items : pandas.Index
        Item (image) ids, in reading order.
    annotators : pandas.Index
        Annotator ids over all items, sorted.
    n_classes : int
        Number of labels; values are ``0 .. n_classes - 1`` and ``0`` is the background.
    stacks : tuple of ndarray
        One array per item, shape ``(n_raters_of_item, height, width)``, dtype ``uint8`` (``uint16`` above 255
        classes).
    raters : tuple of ndarray
        One int array per item: the annotator code (position in ``annotators``) of each layer of its stack.
    """

    items: pd.Index
    annotators: pd.Index
    n_classes: int
    stacks: tuple[np.ndarray, ...]
    raters: tuple[np.ndarray, ...]

    def __repr__(self) -> str:
        n_pixels = sum(int(s.size) for s in self.stacks)
        return (
            f"MaskSet({len(self.items)} items, {len(self.annotators)} annotators, {self.n_classes} classes, "
            f"{n_pixels} annotated pixels)"
        )

    def __len__(self) -> int:
        return len(self.items)

    @property
    def shapes(self) -> dict[Any, tuple[int, int]]:
        """Image shape (height, width) per item."""
        return {
            item: (int(s.shape[1]), int(s.shape[2])) for item, s in zip(self.items, self.stacks, strict=True)
        }

    def masks_of(self, item: Any) -> dict[Any, np.ndarray]:
        """The masks of one item, keyed by annotator."""
        pos = self.items.get_indexer([item])[0]
        if pos < 0:
            raise KeyError(f"unknown item {item!r}")
        names = self.annotators[self.raters[pos]]
        return {name: self.stacks[pos][r] for r, name in enumerate(names)}

    @classmethod
    def from_arrays(
        cls, masks: Mapping[Any, Mapping[Any, Any]], n_classes: int | None = None, source: str = "masks"
    ) -> MaskSet:
        """Build from ``{item: {annotator: 2-D array}}`` with the same checks as :func:`read_masks`."""
        loaded = {
            item: {
                ann: (
                    _as_labels(np.asarray(arr), Path(f"{source}[{item!r}][{ann!r}]")),
                    f"{source}[{item!r}][{ann!r}]",
                )
                for ann, arr in per_item.items()
            }
            for item, per_item in masks.items()
        }
        return _assemble(loaded, n_classes, source)


def _assemble(
    loaded: Mapping[Any, Mapping[Any, tuple[np.ndarray, str]]], n_classes: int | None, source: str
) -> MaskSet:
    if not loaded:
        raise InvalidAnnotationsError(f"{source}: no masks found; expected <item>/<annotator>.png files")
    for item, per_item in loaded.items():
        if not per_item:
            raise InvalidAnnotationsError(f"{source}: item {item!r} has no mask")
        _check_shapes(item, per_item)
    k = _resolve_n_classes(loaded, n_classes, source)
    annotators = pd.Index(
        sorted({a for per_item in loaded.values() for a in per_item}, key=str), name="annotator"
    )
    dtype = np.uint8 if k <= 256 else np.uint16
    stacks, raters = [], []
    for per_item in loaded.values():
        names = sorted(per_item, key=str)
        stacks.append(np.stack([per_item[a][0] for a in names]).astype(dtype))
        raters.append(annotators.get_indexer(names).astype(np.int64))
    items = pd.Index(list(loaded), name="item")
    return MaskSet(items, annotators, k, tuple(stacks), tuple(raters))


def _check_shapes(item: Any, per_item: Mapping[Any, tuple[np.ndarray, str]]) -> None:
    shapes = {where: arr.shape for arr, where in per_item.values()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{where} is {s[0]}x{s[1]}" for where, s in list(shapes.items())[:4])
        raise InvalidAnnotationsError(
            f"item {item!r}: its masks differ in shape ({listed}); every annotator's mask of an "
            "image must have the image's height and width"
        )


def _resolve_n_classes(
    loaded: Mapping[Any, Mapping[Any, tuple[np.ndarray, str]]], n_classes: int | None, source: str
) -> int:
    top = {where: int(arr.max()) if arr.size else 0 for per in loaded.values() for arr, where in per.values()}
    highest = max(top.values())
    if n_classes is None:
        if highest + 1 > MAX_CLASSES:
            where = max(top, key=lambda w: top[w])
            raise InvalidAnnotationsError(
                f"mask {where} has the value {highest}; at most {MAX_CLASSES} labels"
            )
        return max(2, highest + 1)
    if int(n_classes) < 2 or int(n_classes) > MAX_CLASSES:
        raise InvalidAnnotationsError(
            f"{source}: n_classes must be between 2 and {MAX_CLASSES}, got {n_classes}"
        )
    if highest >= n_classes:
        where = max(top, key=lambda w: top[w])
        raise InvalidAnnotationsError(
            f"mask {where} has the label {top[where]}, out of range for n_classes={n_classes} (labels 0.."
            f"{n_classes - 1}); fix the file or pass a larger n_classes"
        )
    return int(n_classes)


# ---------------------------------------------------------------------------------------------- folders
def read_masks(folder: str | Path, n_classes: int | None = None) -> MaskSet:
    """Read ``folder/<item>/<annotator>.<png|npy|tif|tiff|bmp>`` into a :class:`MaskSet`.

    Parameters
    ----------
    folder : str or Path
        One sub-folder per item (image), one file per annotator inside it. Hidden files are skipped.
    n_classes : int, optional
        Number of labels (background included). Default: the highest value found plus one (at least 2). When
        given, a value at or above it is an error naming the file.

    Returns
    -------
    MaskSet
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidAnnotationsError(
            f"{folder} is not a folder; expected a folder of <item>/<annotator>.png"
        )
    item_dirs = sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name
    )
    if not item_dirs:
        raise InvalidAnnotationsError(
            f"{folder} has no item folders; expected {folder}/<item>/<annotator>.png (one folder per image)"
        )
    loaded = {d.name: {ann: (read_mask(p), str(p)) for ann, p in _mask_files(d).items()} for d in item_dirs}
    return _assemble(loaded, n_classes, str(folder))


def _mask_files(item_dir: Path) -> dict[str, Path]:
    files = [p for p in item_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    masks = sorted((p for p in files if p.suffix.lower() in MASK_SUFFIXES), key=lambda p: p.name)
    if not masks:
        raise InvalidAnnotationsError(
            f"item folder {item_dir} has no mask file; expected <annotator>.png or .npy files in it"
        )
    out: dict[str, Path] = {}
    for p in masks:
        if p.stem in out:
            raise InvalidAnnotationsError(
                f"annotator {p.stem!r} has two masks in {item_dir} "
                f"({out[p.stem].name} and {p.name}); keep one"
            )
        out[p.stem] = p
    return out


def read_gold_masks(source: str | Path | Mapping[Any, Any]) -> dict[Any, np.ndarray]:
    """Known true masks: a folder of ``<item>.png`` / ``<item>.npy`` files, or a mapping ``{item: array}``."""
    if isinstance(source, Mapping):
        return {item: _as_labels(np.asarray(arr), Path(f"gold[{item!r}]")) for item, arr in source.items()}
    folder = Path(source)
    if not folder.is_dir():
        raise InvalidAnnotationsError(
            f"gold masks: {folder} is not a folder; expected a folder of <item>.png"
        )
    files = _files_by_stem(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InvalidAnnotationsError(f"gold masks: {folder} has no <item>.png or <item>.npy file")
    return {stem: read_mask(p) for stem, p in files.items()}


def _files_by_stem(paths: Iterable[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(paths, key=lambda q: q.name):
        if p.suffix.lower() not in MASK_SUFFIXES:
            continue
        if p.stem in out:
            raise InvalidAnnotationsError(f"two masks for item {p.stem!r}: {out[p.stem]} and {p}; keep one")
        out[p.stem] = p
    return out


# ---------------------------------------------------------------------------------------------- Label Studio
@dataclass(frozen=True)
class BrushImport:
    """A Label Studio brush export read as masks: the annotators' masks, the ground-truth masks, the label
    names (``labels[k - 1]`` is label ``k``; 0 is the background) and what was skipped (reason -> count)."""

    masks: MaskSet
    gold: dict[str, np.ndarray]
    labels: list[str]
    skipped: dict[str, int]


class _Bits:
    """Reads unsigned big-endian integers of any width from a bit array."""

    def __init__(self, data: np.ndarray, where: str) -> None:
        self.bits = np.unpackbits(data).astype(np.int64)
        self.pos = 0
        self.where = where

    def read(self, n: int, count: int = 1) -> np.ndarray:
        end = self.pos + n * count
        if end > len(self.bits):
            raise InvalidAnnotationsError(f"{self.where}: the brush RLE ends early; is the export complete?")
        chunk = self.bits[self.pos : end].reshape(count, n)
        self.pos = end
        return chunk @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))

    def one(self, n: int) -> int:
        return int(self.read(n)[0])


def decode_brush_rle(rle: Iterable[int], where: str = "brush RLE") -> np.ndarray:
    """Decode Label Studio's brush RLE (a list of bytes) into the flat array of values it encodes.

    The format (label-studio-converter's ``brush.py``, after thi.ng's ``rle-pack``) is a bit stream, most
    significant bit first: a 32-bit count of values, a 5-bit word size minus one, four 4-bit run-length field
    widths minus one; then blocks, each a flag bit, a 2-bit choice of run-length field and a run length minus
    one in that many bits: flag 1 repeats the next word that many times, flag 0 is followed by that many
    words. Label Studio encodes an RGBA image, four values per pixel; the mask is the alpha channel.

    >>> rle = [0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]
    >>> decode_brush_rle(rle).tolist()
    [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
    """
    data = np.asarray(list(rle))
    if (
        data.ndim != 1
        or not np.issubdtype(data.dtype, np.integer)
        or (data.size and not (data.min() >= 0 and data.max() <= 255))
    ):
        raise InvalidAnnotationsError(f"{where}: the brush RLE must be a list of bytes (integers 0-255)")
    bits = _Bits(data.astype(np.uint8), where)
    num, word = bits.one(32), bits.one(5) + 1
    sizes = [bits.one(4) + 1 for _ in range(4)]
    out = np.zeros(num, dtype=np.uint8 if word <= 8 else np.uint16 if word <= 16 else np.uint32)
    i = 0
    while i < num:
        repeat = bits.one(1)
        j = i + 1 + bits.one(sizes[bits.one(2)])
        if j > num:
            raise InvalidAnnotationsError(f"{where}: the brush RLE runs past its {num} values")
        out[i:j] = bits.one(word) if repeat else bits.read(word, j - i)
        i = j
    return out


def read_label_studio_masks(
    source: str | Path | list[Any], labels: Iterable[str] | None = None, ground_truth: str = "gold"
) -> BrushImport:
    """Read the brush (``BrushLabels``, RLE) annotations of a Label Studio JSON export as masks.

    Parameters
    ----------
    source : path or list
        The JSON export (a list of tasks), or the parsed list. The item id is the task id; the annotator is
        ``completed_by`` (a user's email when the export has it, else the user id).
    labels : list of str, optional
        Brush label names in code order (the first is label 1). Default: every name in the export, sorted.
    ground_truth : {"gold", "vote"}, default "gold"
        Annotations marked ``ground_truth`` become gold masks, or count as one more annotator's mask.

    Each annotation becomes one label map: every brush region painted with its label's code, later regions
    over earlier ones; an annotation without any brush region is an empty mask (all background). Cancelled
    annotations and predictions are skipped and counted in ``skipped``.
    """
    from ._base import load_json

    if ground_truth not in ("gold", "vote"):
        raise InvalidParameterError(f"ground_truth must be 'gold' or 'vote', got {ground_truth!r}")
    where = str(source) if isinstance(source, str | Path) else "Label Studio export"
    tasks = load_json(source, "Label Studio") if isinstance(source, str | Path) else source
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise InvalidAnnotationsError(
            f"{where}: expected a list of task objects (Label Studio's JSON export)"
        )
    names = list(labels) if labels is not None else _brush_label_names(tasks)
    codes = {name: k + 1 for k, name in enumerate(names)}
    masks: dict[str, dict[str, np.ndarray]] = {}
    gold: dict[str, np.ndarray] = {}
    skipped: Counter[str] = Counter()
    for pos, task in enumerate(tasks):
        item = str(task.get("id", f"task{pos}"))
        votes, truth = _read_task(task, codes, f"{where}, task {item}", ground_truth, skipped)
        if votes:
            masks[item] = votes
        if truth is not None:
            gold[item] = truth
    if not masks:
        raise InvalidAnnotationsError(f"{where}: no brush (BrushLabels, RLE) annotation found")
    mask_set = MaskSet.from_arrays(masks, n_classes=max(2, len(names) + 1), source=where)
    return BrushImport(mask_set, gold, names, dict(skipped))


def _read_task(
    task: dict[str, Any], codes: Mapping[str, int], where: str, ground_truth: str, skipped: Counter[str]
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """One task's masks by annotator and its ground-truth mask; an empty annotation takes the task's shape."""
    from .label_studio import annotator_id

    votes: dict[str, np.ndarray] = {}
    empty: list[str] = []
    truth = None
    for ann in task.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("was_cancelled") or ann.get("skipped"):
            skipped["cancelled or skipped annotation"] += 1
            continue
        mask = _annotation_mask(ann, codes, where)
        if ann.get("ground_truth") and ground_truth == "gold":
            truth = mask if mask is not None else truth
            continue
        annotator = str(annotator_id(ann.get("completed_by")))
        if annotator in votes or annotator in empty:
            skipped["second annotation by the same annotator (the last one kept)"] += 1
        votes.pop(annotator, None)
        if annotator in empty:
            empty.remove(annotator)
        if mask is None:
            empty.append(annotator)
        else:
            votes[annotator] = mask
    shape = next(iter(votes.values())).shape if votes else None
    for annotator in empty:
        if shape is None:
            skipped["annotation without a brush region on a task without any"] += 1
        else:
            votes.setdefault(annotator, np.zeros(shape, dtype=np.int64))
    return votes, truth


def _brush_results(ann: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in ann.get("result") or []
        if isinstance(r, dict)
        and str(r.get("type", "")).lower() == "brushlabels"
        and isinstance(r.get("value"), dict)
        and "rle" in r["value"]
    ]


def _brush_label_names(tasks: list[Any]) -> list[str]:
    found = {
        str(name)
        for task in tasks
        if isinstance(task, dict)
        for ann in task.get("annotations") or []
        if isinstance(ann, dict)
        for r in _brush_results(ann)
        for name in r["value"].get("brushlabels") or []
    }
    return sorted(found)


def _annotation_mask(ann: dict[str, Any], codes: Mapping[str, int], where: str) -> np.ndarray | None:
    results = _brush_results(ann)
    if not results:
        return None
    shape = (int(results[0]["original_height"]), int(results[0]["original_width"]))
    mask = np.zeros(shape, dtype=np.int64)
    for r in results:
        value = r["value"]
        names = value.get("brushlabels") or []
        if len(names) != 1 or str(names[0]) not in codes:
            raise InvalidAnnotationsError(
                f"{where}: a brush region has the labels {names}; each region needs one label among "
                f"{list(codes)} (pass labels=[...] to name them all)"
            )
        h, w = int(r["original_height"]), int(r["original_width"])
        flat = decode_brush_rle(value["rle"], where)
        if flat.size != h * w * 4 or (h, w) != shape:
            raise InvalidAnnotationsError(
                f"{where}: a brush region decodes to {flat.size} values, expected {h} x {w} x 4 (RGBA) "
                f"for an image of {shape[0]} x {shape[1]}"
            )
        mask[flat.reshape(h, w, 4)[:, :, 3] > 0] = codes[str(names[0])]
    return mask
