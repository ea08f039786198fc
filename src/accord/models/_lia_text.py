"""Local numeric features for item texts (TF-IDF + truncated SVD, scikit-learn; nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_positive_int
from ..errors import AccordError, InvalidAnnotationsError, InvalidParameterError, NotFittedError

__all__ = ["TextFeatures", "auto_components"]

MIN_COMPONENTS, MAX_COMPONENTS = 8, 256
Embedder = Callable[[list[str]], Any]


def _sklearn() -> Any:
    try:
        import sklearn.decomposition
        import sklearn.feature_extraction.text
    except ImportError:
        raise AccordError("text features need scikit-learn: pip install 'accord[ml]'") from None
    return sklearn


def auto_components(n_texts: int) -> int:
    """The default number of SVD dimensions for ``n_texts`` texts: ``round(sqrt(n))`` within [8, 256].

    >>> auto_components(800), auto_components(30), auto_components(10**6)
    (28, 8, 256)
    """
    return int(np.clip(round(float(np.sqrt(max(n_texts, 1)))), MIN_COMPONENTS, MAX_COMPONENTS))


class TextFeatures:
    """Numeric features of item texts: latent semantic analysis of word and character n-grams.

    The texts of a row (all its columns, joined) are turned into two TF-IDF vectors, word uni- and
    bi-grams and character 2- to 5-grams within word boundaries (sublinear term frequency), each of unit
    length, joined and reduced by truncated SVD. With two or more text columns (e.g. a premise and a
    hypothesis), three pair features per column after the first are appended: the cosine similarity of
    its word TF-IDF vector with the first column's, the share of its words that occur in the first column,
    and the difference of their lengths in words (log scale).

    Parameters
    ----------
    n_components : int or "auto", default "auto"
        SVD dimensions; "auto" takes ``round(sqrt(n))`` for ``n`` texts, within [8, 256] (a rule fixed
        in advance, checked on several labelled text sets, not tuned on one). Always capped at the number
        of texts and terms minus one.
    embedding : "lsa" or callable, default "lsa"
        A callable maps a list of texts to a 2-D array (one row per text) that replaces the SVD
        dimensions, e.g. :func:`accord.io.features.bundled_sentence_embedder` (the ``wordllama``
        package's sentence embeddings, whose weights ship inside the package; nothing is downloaded).
        The pair features stay.
    random_state : int, default 0

    Notes
    -----
    With ``X`` the ``n x (V_w + V_c)`` matrix of row-normalised word and character TF-IDF blocks (each
    block scaled by ``1/sqrt(2)``), the features are ``U_k S_k`` of its rank-``k`` truncated SVD
    ``X ~ U_k S_k V_k^T`` (Deerwester et al.); new texts are projected as ``x V_k``. The pair cosine is
    ``<t_1, t_c>`` of the unit word TF-IDF vectors of the first column and column ``c``.

    References
    ----------
    S. Deerwester, S. T. Dumais, G. W. Furnas, T. K. Landauer, R. Harshman. Indexing by latent semantic
    analysis. Journal of the American Society for Information Science 41(6), 1990.
    https://doi.org/10.1002/(SICI)1097-4571(199009)41:6<391::AID-ASI1>3.0.CO;2-9

    Examples
    --------
    >>> texts = pd.DataFrame({"text": ["a cat sat", "a dog ran", "the cat ran"]}, index=["i1", "i2", "i3"])
    >>> TextFeatures(n_components=2).fit_transform(texts).shape
    (3, 2)
    """

    def __init__(
        self, n_components: int | str = "auto", embedding: str | Embedder = "lsa", random_state: int = 0
    ) -> None:
        self.n_components = n_components
        self.embedding = embedding
        self.random_state = random_state

    @staticmethod
    def _columns(texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        frame = texts.to_frame() if isinstance(texts, pd.Series) else texts
        if not isinstance(frame, pd.DataFrame) or frame.shape[1] == 0:
            raise InvalidAnnotationsError("texts must be a DataFrame (one text column or more) or a Series")
        return frame.fillna("").astype(str)

    def _check_params(self, n_texts: int) -> int:
        if not callable(self.embedding) and self.embedding != "lsa":
            raise InvalidParameterError(
                f"embedding must be 'lsa' or a callable mapping a list of texts to a 2-D array, got "
                f"{self.embedding!r}"
            )
        if isinstance(self.n_components, str):
            if self.n_components != "auto":
                raise InvalidParameterError(
                    f"n_components must be a positive int or 'auto', got {self.n_components!r}"
                )
            return auto_components(n_texts)
        return check_positive_int("n_components", self.n_components)

    def _vectorizers(self) -> tuple[Any, Any]:
        text = _sklearn().feature_extraction.text
        words = text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        chars = text.TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)
        return words, chars

    def _tfidf(self, joined: pd.Series) -> Any:
        import scipy.sparse

        blocks = [self.words_.transform(joined), self.chars_.transform(joined)]
        return scipy.sparse.hstack(blocks).tocsr() / np.sqrt(2.0)

    def fit(self, texts: pd.DataFrame | pd.Series) -> TextFeatures:
        """Learn the vocabularies and the SVD axes from ``texts`` (rows = items)."""
        frame = self._columns(texts)
        wanted = self._check_params(len(frame))
        joined = frame.apply(" ".join, axis=1)
        self.words_, self.chars_ = self._vectorizers()
        self.words_.fit(joined)
        self.chars_.fit(joined)
        self.columns_ = list(frame.columns)
        self.svd_: Any = None
        if callable(self.embedding):
            return self
        tfidf = self._tfidf(joined)
        k = min(wanted, min(tfidf.shape) - 1)
        if k < 1:
            raise InvalidAnnotationsError("too few texts or words for text features (need 2 or more of each)")
        self.svd_ = _sklearn().decomposition.TruncatedSVD(n_components=k, random_state=self.random_state)
        self.svd_.fit(tfidf)
        return self

    def transform(self, texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        """Features of ``texts`` (same columns as in ``fit``), indexed like them."""
        if "columns_" not in self.__dict__:
            raise NotFittedError("TextFeatures is not fitted yet: call fit(texts) first")
        frame = self._columns(texts)
        if list(frame.columns) != self.columns_:
            raise InvalidAnnotationsError(
                f"texts must have the columns {self.columns_}; got {list(frame.columns)}"
            )
        joined = frame.apply(" ".join, axis=1)
        if self.svd_ is None:
            values, prefix = self._embed(joined), "emb"
        else:
            values, prefix = self.svd_.transform(self._tfidf(joined)), "lsa"
        names = [f"{prefix}{t}" for t in range(values.shape[1])]
        parts = [pd.DataFrame(values, index=frame.index, columns=names)]
        for col in self.columns_[1:]:
            parts.append(self._pair(frame[self.columns_[0]], frame[col], col))
        return pd.concat(parts, axis=1)

    def _embed(self, joined: pd.Series) -> np.ndarray:
        assert callable(self.embedding)
        values = np.asarray(self.embedding(joined.tolist()), dtype=np.float64)
        if values.ndim != 2 or len(values) != len(joined) or not np.isfinite(values).all():
            raise InvalidParameterError(
                f"the embedding callable must return a finite 2-D array with one row per text "
                f"({len(joined)}); got shape {values.shape}"
            )
        return values

    def fit_transform(self, texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        """``fit(texts).transform(texts)``."""
        return self.fit(texts).transform(texts)

    @staticmethod
    def _word_counts(texts: pd.Series) -> Any:
        """Sparse word counts (hashed; the word vectorizer's tokens, lower-cased)."""
        hashing = _sklearn().feature_extraction.text.HashingVectorizer(
            n_features=2**20, alternate_sign=False, norm=None
        )
        return hashing.transform(texts)

    def _pair(self, first: pd.Series, other: pd.Series, name: str) -> pd.DataFrame:
        a = self.words_.transform(first)
        b = self.words_.transform(other)
        cosine = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        counts_a, counts_b = self._word_counts(first), self._word_counts(other)
        size_a = np.asarray(counts_a.sum(axis=1)).ravel()
        size_b = np.asarray(counts_b.sum(axis=1)).ravel()
        shared = np.asarray(counts_b.multiply(counts_a > 0).sum(axis=1)).ravel()
        share = np.divide(shared, size_b, out=np.zeros_like(shared, dtype=np.float64), where=size_b > 0)
        length = np.log1p(size_b) - np.log1p(size_a)
        return pd.DataFrame(
            {f"{name}_cosine": cosine, f"{name}_overlap": share, f"{name}_length": length}, index=first.index
        )
