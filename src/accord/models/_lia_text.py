"""Local numeric features for item texts (TF-IDF + truncated SVD, scikit-learn; nothing is downloaded)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_positive_int
from ..errors import AccordError, InvalidAnnotationsError, NotFittedError

__all__ = ["TextFeatures"]


def _sklearn() -> Any:
    try:
        import sklearn.decomposition
        import sklearn.feature_extraction.text
    except ImportError:
        raise AccordError("text features need scikit-learn: pip install 'accord[ml]'") from None
    return sklearn


class TextFeatures:
    """Numeric features of item texts: TF-IDF of word uni- and bi-grams reduced by truncated SVD (LSA).

    With two or more text columns (e.g. a premise and a hypothesis), three pair features per column after
    the first are appended: the cosine similarity of its TF-IDF vector with the first column's, the share of
    its words that occur in the first column, and the difference of their lengths in words (log scale).

    Parameters
    ----------
    n_components : int, default 64
        SVD dimensions (capped at the number of texts and terms minus one).
    random_state : int, default 0

    Examples
    --------
    >>> texts = pd.DataFrame({"text": ["a cat sat", "a dog ran", "the cat ran"]}, index=["i1", "i2", "i3"])
    >>> TextFeatures(n_components=2).fit_transform(texts).shape
    (3, 2)
    """

    def __init__(self, n_components: int = 64, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    @staticmethod
    def _columns(texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        frame = texts.to_frame() if isinstance(texts, pd.Series) else texts
        if not isinstance(frame, pd.DataFrame) or frame.shape[1] == 0:
            raise InvalidAnnotationsError("texts must be a DataFrame (one text column or more) or a Series")
        return frame.fillna("").astype(str)

    def fit(self, texts: pd.DataFrame | pd.Series) -> TextFeatures:
        """Learn the vocabulary and the SVD axes from ``texts`` (rows = items)."""
        sk = _sklearn()
        frame = self._columns(texts)
        self.vectorizer_ = sk.feature_extraction.text.TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=1
        )
        tfidf = self.vectorizer_.fit_transform(frame.apply(" ".join, axis=1))
        k = min(check_positive_int("n_components", self.n_components), min(tfidf.shape) - 1)
        if k < 1:
            raise InvalidAnnotationsError("too few texts or words for text features (need 2 or more of each)")
        self.svd_ = sk.decomposition.TruncatedSVD(n_components=k, random_state=self.random_state)
        self.svd_.fit(tfidf)
        self.columns_ = list(frame.columns)
        return self

    def transform(self, texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        """Features of ``texts`` (same columns as in ``fit``), indexed like them."""
        if "svd_" not in self.__dict__:
            raise NotFittedError("TextFeatures is not fitted yet: call fit(texts) first")
        frame = self._columns(texts)
        if list(frame.columns) != self.columns_:
            raise InvalidAnnotationsError(
                f"texts must have the columns {self.columns_}; got {list(frame.columns)}"
            )
        lsa = self.svd_.transform(self.vectorizer_.transform(frame.apply(" ".join, axis=1)))
        names = [f"lsa{t}" for t in range(lsa.shape[1])]
        parts = [pd.DataFrame(lsa, index=frame.index, columns=names)]
        for col in self.columns_[1:]:
            parts.append(self._pair(frame[self.columns_[0]], frame[col], col))
        return pd.concat(parts, axis=1)

    def fit_transform(self, texts: pd.DataFrame | pd.Series) -> pd.DataFrame:
        return self.fit(texts).transform(texts)

    def _pair(self, first: pd.Series, other: pd.Series, name: str) -> pd.DataFrame:
        a = self.vectorizer_.transform(first)
        b = self.vectorizer_.transform(other)
        cosine = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        analyzer = self.vectorizer_.build_tokenizer()
        words_a = [set(analyzer(t.lower())) for t in first]
        words_b = [analyzer(t.lower()) for t in other]
        share = np.array(
            [np.mean([w in wa for w in wb]) if wb else 0.0 for wa, wb in zip(words_a, words_b, strict=True)]
        )
        length = np.log1p([len(w) for w in words_b]) - np.log1p([len(w) for w in words_a])
        return pd.DataFrame(
            {f"{name}_cosine": cosine, f"{name}_overlap": share, f"{name}_length": length}, index=first.index
        )
