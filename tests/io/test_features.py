"""Feature files: tables with an id column, .npy matrices with their ids file, item texts; refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord.errors import InvalidAnnotationsError
from accord.io.features import read_features, read_texts

from ..conftest import require_data


def test_table_and_npy(tmp_path):
    (tmp_path / "f.csv").write_text("item,a,b\n1,0.5,2\n2,1.5,-1\n")
    frame = read_features(tmp_path / "f.csv")
    assert list(frame.index) == ["1", "2"] and list(frame.columns) == ["a", "b"]
    assert frame.loc["2", "b"] == -1.0
    np.save(tmp_path / "m.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    (tmp_path / "m_items.csv").write_text("item\nx\ny\nz\n")
    matrix = read_features(tmp_path / "m.npy")
    assert list(matrix.index) == ["x", "y", "z"] and matrix.loc["z", 1] == 5.0
    (tmp_path / "ids.csv").write_text("item\nu\nv\nw\n")
    assert list(read_features(tmp_path / "m.npy", items=tmp_path / "ids.csv").index) == ["u", "v", "w"]
    (tmp_path / "w.csv").write_text("annotator,age\nann1,30\n")
    assert read_features(tmp_path / "w.csv", key="annotator").loc["ann1", "age"] == 30.0


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("f.csv", "item,a,b\n1,0.5,x\n", "column 'b' must be numeric but has 'x' on line 2"),
        ("f.csv", "id,a\n1,0.5\n", "needs a column 'item'"),
        ("f.csv", "item,a\n1,0.5\n1,0.7\n", "repeated ids"),
        ("f.csv", "item\n1\n", "no feature column"),
        ("f.csv", "item,a\n1,\n", "missing or infinite feature values"),
    ],
)
def test_table_refusals(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(InvalidAnnotationsError, match=match):
        read_features(tmp_path / name)


def test_npy_refusals(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros((3, 2)))
    with pytest.raises(InvalidAnnotationsError, match="m_items.csv"):
        read_features(tmp_path / "m.npy")
    (tmp_path / "m_items.csv").write_text("item\nx\ny\n")
    with pytest.raises(InvalidAnnotationsError, match="3 rows but .* lists 2 ids"):
        read_features(tmp_path / "m.npy")
    np.save(tmp_path / "v.npy", np.zeros(3))
    (tmp_path / "v_items.csv").write_text("item\nx\ny\nz\n")
    with pytest.raises(InvalidAnnotationsError, match="2-D"):
        read_features(tmp_path / "v.npy")
    with pytest.raises(InvalidAnnotationsError, match="no such file"):
        read_features(tmp_path / "absent.csv")


def test_texts(tmp_path):
    (tmp_path / "t.csv").write_text('item,text,hypothesis,task\n1,"A cat sat.",A cat,IE\n2,,Dogs,QA\n')
    texts = read_texts(tmp_path / "t.csv", ["text", "hypothesis"])
    assert list(texts.columns) == ["text", "hypothesis"] and texts.loc["2", "text"] == ""
    with pytest.raises(InvalidAnnotationsError, match="no column"):
        read_texts(tmp_path / "t.csv", ["premise"])


def test_shared_feature_files_match_the_annotations():
    data = require_data()
    birds = read_features(data / "bluebirds" / "features_lia.npy")
    assert birds.shape == (108, 4096)
    gold = pd.read_csv(data / "bluebirds" / "gold.csv", dtype=str)
    assert set(birds.index) == set(gold["item"])
    texts = read_texts(data / "rte" / "features.csv", ["text", "hypothesis"])
    assert len(texts) == 800
