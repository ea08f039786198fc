"""Text features: the dimension rule, word and character n-grams, pair features, refusals, the optional
bundled sentence embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord.errors import AccordError, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.io.features import bundled_sentence_embedder
from accord.models._lia_text import MAX_COMPONENTS, MIN_COMPONENTS, TextFeatures, auto_components

pytest.importorskip("sklearn")

WORDS = ["cat", "dog", "bird", "fish", "horse", "mouse", "sheep", "goat", "duck", "frog", "lion", "bear"]


def corpus(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    text = [" ".join(rng.choice(WORDS, size=6)) for _ in range(n)]
    hypothesis = [" ".join(rng.choice(WORDS, size=3)) for _ in range(n)]
    return pd.DataFrame({"text": text, "hypothesis": hypothesis}, index=[f"i{k}" for k in range(n)])


def test_auto_components_rule():
    assert auto_components(1) == MIN_COMPONENTS == 8
    assert auto_components(800) == 28 and auto_components(975) == 31 and auto_components(621) == 25
    assert auto_components(10**7) == MAX_COMPONENTS == 256
    sizes = [auto_components(n) for n in range(1, 100_000, 997)]
    assert sizes == sorted(sizes)


def test_auto_dimensions_and_pair_columns():
    texts = corpus(150)
    features = TextFeatures().fit_transform(texts)
    k = auto_components(150)
    assert features.shape == (150, k + 3)
    assert list(features.columns[:2]) == ["lsa0", "lsa1"]
    assert list(features.columns[-3:]) == ["hypothesis_cosine", "hypothesis_overlap", "hypothesis_length"]
    assert list(features.index) == list(texts.index)
    assert np.isfinite(features.to_numpy()).all()


def test_overlap_counts_repeated_words_and_empty_texts():
    texts = pd.DataFrame(
        {
            "text": ["cat sat on mats", "dog", "", "red fish"],
            "hypothesis": ["cat cat dog", "", "fish", "red fish"],
        },
        index=list("abcd"),
    )
    features = TextFeatures(n_components=2).fit_transform(texts)
    overlap = features["hypothesis_overlap"]
    assert overlap["a"] == pytest.approx(2 / 3)  # "cat" twice of three words
    assert overlap["b"] == 0.0 and overlap["c"] == 0.0 and overlap["d"] == 1.0
    assert features.loc["d", "hypothesis_cosine"] == pytest.approx(1.0)
    assert features.loc["d", "hypothesis_length"] == 0.0
    assert features.loc["b", "hypothesis_length"] == pytest.approx(-np.log(2))


def test_character_ngrams_relate_spelling_variants():
    texts = pd.DataFrame(
        {"text": ["colour of the sky", "color of the sky", "a dog barks loudly", "dogs bark loud", "zz qq"]},
        index=list("abcde"),
    )
    x = TextFeatures(n_components=3).fit_transform(texts).to_numpy()
    cosine = (x @ x.T) / np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(x, axis=1))
    assert cosine[0, 1] > 0.9
    assert cosine[2, 3] > cosine[2, 4]


def test_deterministic_and_new_texts():
    train, new = corpus(60, seed=1), corpus(7, seed=2)
    one = TextFeatures(n_components=5).fit(train)
    two = TextFeatures(n_components=5).fit(train)
    pd.testing.assert_frame_equal(one.transform(new), two.transform(new))
    assert list(one.transform(new).index) == list(new.index)
    # a Series is one text column
    single = TextFeatures(n_components=4).fit_transform(train["text"])
    assert single.shape == (60, 4)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_components": "many"}, InvalidParameterError, "n_components must be a positive int or 'auto'"),
        ({"n_components": 0}, InvalidParameterError, "n_components"),
        ({"embedding": "bert"}, InvalidParameterError, "embedding must be 'lsa' or a callable"),
    ],
)
def test_parameter_refusals(params, error, match):
    with pytest.raises(error, match=match):
        TextFeatures(**params).fit(corpus(10))


def test_input_refusals():
    with pytest.raises(NotFittedError, match="call fit"):
        TextFeatures().transform(corpus(3))
    with pytest.raises(InvalidAnnotationsError, match="too few texts"):
        TextFeatures().fit(pd.DataFrame({"text": ["cat"]}))
    with pytest.raises(InvalidAnnotationsError, match="must have the columns"):
        TextFeatures(n_components=2).fit(corpus(10)).transform(corpus(3)[["text"]])
    with pytest.raises(InvalidAnnotationsError, match="DataFrame"):
        TextFeatures().fit(pd.DataFrame(index=["a"]))


def test_embedding_callable_replaces_the_svd_dimensions():
    texts = corpus(12)
    features = TextFeatures(
        embedding=lambda t: np.array([[len(s), s.count("cat")] for s in t])
    ).fit_transform(texts)
    assert list(features.columns) == [
        "emb0",
        "emb1",
        "hypothesis_cosine",
        "hypothesis_overlap",
        "hypothesis_length",
    ]
    joined = texts["text"] + " " + texts["hypothesis"]
    assert features["emb0"].tolist() == joined.str.len().tolist()
    with pytest.raises(InvalidParameterError, match="one row per text"):
        TextFeatures(embedding=lambda t: np.zeros((len(t) + 1, 2))).fit_transform(texts)
    with pytest.raises(InvalidParameterError, match="finite 2-D"):
        TextFeatures(embedding=lambda t: np.full((len(t), 2), np.nan)).fit_transform(texts)


def test_bundled_sentence_embeddings():
    pytest.importorskip("wordllama")
    texts = corpus(20)
    features = TextFeatures(embedding=bundled_sentence_embedder()).fit_transform(texts)
    assert features.shape == (20, 256 + 3)
    assert np.isfinite(features.to_numpy()).all()
    norms = np.linalg.norm(features.filter(like="emb").to_numpy(), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_bundled_sentence_embedder_names_the_missing_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_wordllama(name, *args, **kwargs):
        if name.startswith("wordllama"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wordllama)
    with pytest.raises(AccordError, match="pip install wordllama"):
        bundled_sentence_embedder()
