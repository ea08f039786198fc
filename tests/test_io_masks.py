"""Reading segmentation masks: a folder of PNGs (binary, 0/255, 1-bit, palette, 16-bit) and .npy files made
here, the MaskSet layout, gold folders, and every error message."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from accord.errors import AccordError, InvalidAnnotationsError
from accord.io.masks import MaskSet, read_gold_masks, read_mask, read_masks, write_mask


def square(size: int = 8, lo: int = 2, hi: int = 6, value: int = 1) -> np.ndarray:
    m = np.zeros((size, size), dtype=np.uint8)
    m[lo:hi, lo:hi] = value
    return m


def make_folder(root: Path) -> Path:
    folder = root / "masks"
    (folder / "cat").mkdir(parents=True)
    (folder / "dog").mkdir()
    Image.fromarray(square(value=255)).save(folder / "cat" / "alice.png")  # 8-bit 0/255
    Image.fromarray(square(lo=3).astype(bool)).save(folder / "cat" / "bob.png")  # 1-bit
    np.save(folder / "cat" / "carol.npy", square(hi=5).astype(np.int32))
    Image.fromarray(square(size=5, lo=1, hi=3)).save(folder / "dog" / "bob.png")  # one annotator only
    (folder / "dog" / ".DS_Store").write_text("x")
    (folder / "dog" / "notes.txt").write_text("not a mask")
    return folder


def test_reads_a_folder_of_pngs_and_npy(tmp_path: Path) -> None:
    ms = read_masks(make_folder(tmp_path))
    assert list(ms.items) == ["cat", "dog"]
    assert list(ms.annotators) == ["alice", "bob", "carol"]
    assert ms.n_classes == 2
    assert ms.shapes == {"cat": (8, 8), "dog": (5, 5)}
    cat = ms.masks_of("cat")
    np.testing.assert_array_equal(cat["alice"], square())
    np.testing.assert_array_equal(cat["bob"], square(lo=3))
    np.testing.assert_array_equal(cat["carol"], square(hi=5))
    assert list(ms.masks_of("dog")) == ["bob"]
    assert ms.stacks[0].dtype == np.uint8 and ms.stacks[0].shape == (3, 8, 8)
    assert ms.raters[1].tolist() == [1]
    assert repr(ms) == "MaskSet(2 items, 3 annotators, 2 classes, 217 annotated pixels)"


def test_label_index_images_palette_and_16_bit(tmp_path: Path) -> None:
    labels = np.array([[0, 1, 2], [3, 2, 1]], dtype=np.uint8)
    palette = Image.fromarray(labels, mode="L").convert("P")
    palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "p.png"), labels)
    wide = np.array([[0, 300], [1000, 2]], dtype=np.uint16)
    write_mask(tmp_path / "w.png", wide)
    np.testing.assert_array_equal(read_mask(tmp_path / "w.png"), wide)
    ms = MaskSet.from_arrays({"i": {"a": wide, "b": wide}})
    assert ms.n_classes == 1001 and ms.stacks[0].dtype == np.uint16


def test_n_classes_declared_and_inferred() -> None:
    m = np.array([[0, 1], [2, 0]])
    assert MaskSet.from_arrays({"i": {"a": m}}).n_classes == 3
    assert MaskSet.from_arrays({"i": {"a": m}}, n_classes=5).n_classes == 5
    assert MaskSet.from_arrays({"i": {"a": np.zeros((2, 2))}}).n_classes == 2
    # float arrays holding whole numbers are fine
    np.testing.assert_array_equal(MaskSet.from_arrays({"i": {"a": m.astype(float)}}).stacks[0][0], m)


def test_gold_folder_and_mapping(tmp_path: Path) -> None:
    (tmp_path / "gold").mkdir()
    Image.fromarray(square(value=255)).save(tmp_path / "gold" / "cat.png")
    np.save(tmp_path / "gold" / "dog.npy", square(size=5))
    gold = read_gold_masks(tmp_path / "gold")
    assert sorted(gold) == ["cat", "dog"]
    np.testing.assert_array_equal(gold["cat"], square())
    assert read_gold_masks({"x": square()})["x"].dtype == np.int64


# ------------------------------------------------------------------------------------------ errors


def test_masks_of_one_item_must_share_a_shape(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    np.save(folder / "cat" / "dave.npy", np.zeros((8, 7), dtype=np.uint8))
    with pytest.raises(
        InvalidAnnotationsError, match=r"item 'cat': its masks differ in shape .*dave.npy is 8x7"
    ):
        read_masks(folder)


def test_non_integer_values_name_the_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    probs = square().astype(float) * 0.7
    np.save(folder / "cat" / "carol.npy", probs)
    with pytest.raises(
        InvalidAnnotationsError, match=r"carol.npy has the non-integer value 0.7 at row 2, column 2"
    ):
        read_masks(folder)
    nan = square().astype(float)
    nan[0, 1] = np.nan
    with pytest.raises(InvalidAnnotationsError, match="non-integer value nan at row 0, column 1"):
        MaskSet.from_arrays({"i": {"a": nan}})


def test_out_of_range_and_negative_values_name_the_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    np.save(folder / "cat" / "carol.npy", square(value=4))
    with pytest.raises(
        InvalidAnnotationsError, match=r"carol.npy has the label 4, out of range for n_classes=3"
    ):
        read_masks(folder, n_classes=3)
    np.save(folder / "cat" / "carol.npy", square().astype(np.int64) - 1)
    with pytest.raises(
        InvalidAnnotationsError, match=r"carol.npy has the negative value -1 at row 0, column 0"
    ):
        read_masks(folder)


def test_multichannel_and_bad_shapes(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(
        InvalidAnnotationsError, match="rgb.png is an image of mode RGB with 3 channels; save each mask"
    ):
        read_mask(tmp_path / "rgb.png")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4)))
    with pytest.raises(InvalidAnnotationsError, match=r"cube.npy has shape \(2, 3, 4\); a mask must be 2-D"):
        read_mask(tmp_path / "cube.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 4)))
    with pytest.raises(InvalidAnnotationsError, match=r"empty.npy has shape \(0, 4\); a mask must be 2-D"):
        read_mask(tmp_path / "empty.npy")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InvalidAnnotationsError, match="broken.png: cannot read it as an image"):
        read_mask(tmp_path / "broken.png")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(InvalidAnnotationsError, match="text.npy holds <U1 values"):
        read_mask(tmp_path / "text.npy")


def test_folder_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidAnnotationsError, match="is not a folder"):
        read_masks(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidAnnotationsError, match="has no item folders"):
        read_masks(tmp_path / "empty")
    (tmp_path / "empty" / "img").mkdir()
    (tmp_path / "empty" / "img" / "readme.txt").write_text("x")
    with pytest.raises(InvalidAnnotationsError, match="item folder .*img has no mask file"):
        read_masks(tmp_path / "empty")
    folder = make_folder(tmp_path)
    np.save(folder / "cat" / "alice.npy", square())
    with pytest.raises(
        InvalidAnnotationsError, match=r"annotator 'alice' has two masks .*\(alice.npy and alice.png\)"
    ):
        read_masks(folder)
    with pytest.raises(InvalidAnnotationsError, match="no masks found"):
        MaskSet.from_arrays({})
    with pytest.raises(InvalidAnnotationsError, match="gold masks: .* is not a folder"):
        read_gold_masks(tmp_path / "nothing")


def test_missing_pillow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_folder(tmp_path)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(AccordError, match=r'needs Pillow: pip install "accord\[images\]"'):
        read_masks(folder)
    np.testing.assert_array_equal(read_mask(folder / "cat" / "carol.npy"), square(hi=5))


# ---------------------------------------------------------------------------------- Label Studio brush


def encode_brush(values: np.ndarray, literal_first: int = 0) -> list[int]:
    """Label Studio's brush RLE, written here from the format: header, then ``literal_first`` values as one
    literal block, then repeat blocks with 16-bit run lengths (run-length widths 3, 4, 8, 16)."""
    flat = np.asarray(values).ravel()
    bits = f"{len(flat):032b}{8 - 1:05b}" + "".join(f"{w - 1:04b}" for w in (3, 4, 8, 16))
    if literal_first:
        bits += "0" + "11" + f"{literal_first - 1:016b}" + "".join(f"{v:08b}" for v in flat[:literal_first])
    rest = flat[literal_first:]
    starts = np.flatnonzero(np.diff(rest, prepend=-1) != 0)
    for start, stop in zip(starts, [*starts[1:], len(rest)], strict=True):
        length = stop - start
        while length > 0:
            run = min(length, 2**16)
            bits += "1" + "11" + f"{run - 1:016b}" + f"{rest[start]:08b}"
            length -= run
    bits += "0" * (-len(bits) % 8)
    return [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]


def brush_result(mask: np.ndarray, label: str, literal_first: int = 0) -> dict:
    rgba = np.repeat((mask > 0).astype(np.uint8).ravel() * 255, 4)
    h, w = mask.shape
    return {
        "type": "brushlabels",
        "from_name": "tag",
        "to_name": "image",
        "original_width": w,
        "original_height": h,
        "value": {"format": "rle", "rle": encode_brush(rgba, literal_first), "brushlabels": [label]},
    }


def test_decode_brush_rle_round_trip_and_published_vector() -> None:
    from accord.io.masks import decode_brush_rle

    # label-studio-converter's own test vector for its encoder (tests/test_brush.py)
    rle = [0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]
    assert decode_brush_rle(rle).tolist() == [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
    values = np.random.default_rng(0).integers(0, 3, 300_000).repeat(2)  # runs longer than 2**16 too
    values[1000:200_000] = 7
    np.testing.assert_array_equal(decode_brush_rle(encode_brush(values, literal_first=5)), values)
    with pytest.raises(InvalidAnnotationsError, match="the brush RLE ends early"):
        decode_brush_rle(rle[:10])
    with pytest.raises(InvalidAnnotationsError, match="must be a list of bytes"):
        decode_brush_rle([0, 300])


def label_studio_export() -> tuple[list, np.ndarray, np.ndarray]:
    cat = square()
    dog = np.zeros((8, 8), dtype=np.uint8)
    dog[0:2, 0:3] = 1
    tasks = [
        {
            "id": 7,
            "data": {"image": "a.png"},
            "annotations": [
                {
                    "completed_by": 1,
                    "result": [brush_result(cat, "Cat", literal_first=3), brush_result(dog, "Dog")],
                },
                {"completed_by": {"id": 2, "email": "b@x.org"}, "result": [brush_result(cat, "Cat")]},
                {"completed_by": 3, "result": []},
                {"completed_by": 4, "was_cancelled": True, "result": []},
                {"completed_by": 5, "ground_truth": True, "result": [brush_result(cat, "Cat")]},
            ],
        },
        {
            "id": 8,
            "data": {"image": "b.png"},
            "annotations": [{"completed_by": 1, "result": [brush_result(square(size=6, lo=1, hi=3), "Dog")]}],
            "predictions": [{"result": []}],
        },
    ]
    return tasks, cat, dog


def test_read_label_studio_brush_export(tmp_path: Path) -> None:
    import json

    from accord.io.masks import read_label_studio_masks

    tasks, cat, dog = label_studio_export()
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    imported = read_label_studio_masks(tmp_path / "export.json")
    assert imported.labels == ["Cat", "Dog"]
    ms = imported.masks
    assert list(ms.items) == ["7", "8"] and ms.n_classes == 3
    first = ms.masks_of("7")
    assert sorted(first) == ["1", "3", "b@x.org"]
    np.testing.assert_array_equal(first["1"], np.where(dog == 1, 2, cat))  # the later region wins
    np.testing.assert_array_equal(first["b@x.org"], cat)
    np.testing.assert_array_equal(first["3"], np.zeros((8, 8)))  # submitted without a region: background
    np.testing.assert_array_equal(ms.masks_of("8")["1"], square(size=6, lo=1, hi=3) * 2)
    np.testing.assert_array_equal(imported.gold["7"], cat)
    assert imported.skipped == {"cancelled or skipped annotation": 1}
    ordered = read_label_studio_masks(tasks, labels=["Dog", "Cat"])
    np.testing.assert_array_equal(ordered.masks.masks_of("7")["b@x.org"], cat * 2)
    voted = read_label_studio_masks(tasks, ground_truth="vote")
    assert "5" in voted.masks.masks_of("7") and voted.gold == {}


def test_label_studio_brush_errors() -> None:
    from accord.io.masks import read_label_studio_masks

    tasks, cat, _ = label_studio_export()
    with pytest.raises(
        InvalidAnnotationsError, match=r"task 7: a brush region has the labels \['Cat'\]; each"
    ):
        read_label_studio_masks(tasks, labels=["Dog"])
    region = brush_result(cat, "Cat")
    region["original_width"] = 9
    bad = [{"id": 1, "annotations": [{"completed_by": 1, "result": [region]}]}]
    with pytest.raises(InvalidAnnotationsError, match="decodes to 256 values, expected 8 x 9 x 4"):
        read_label_studio_masks(bad)
    with pytest.raises(InvalidAnnotationsError, match="no brush"):
        read_label_studio_masks([{"id": 1, "annotations": []}])
    with pytest.raises(InvalidAnnotationsError, match="expected a list of task objects"):
        read_label_studio_masks([1, 2])
