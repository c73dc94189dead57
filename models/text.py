"""A text score for tips: character n-grams (no word segmenter needed for Chinese) and a
regularised logistic regression, trained on tips with known outcomes."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


class TipTextScorer(ClassifierMixin, BaseEstimator):
    def __init__(self, ngram_range: tuple[int, int] = (1, 3), C: float = 1.0, min_df: int = 2):
        self.ngram_range = ngram_range
        self.C = C
        self.min_df = min_df

    def fit(self, texts, y):
        texts = [str(t) for t in texts]
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.vectorizer_ = TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range,
                                           min_df=min(self.min_df, max(1, len(texts) // 2)), sublinear_tf=True)
        X = self.vectorizer_.fit_transform(texts)
        if len(np.unique(y)) < 2:
            self.constant_ = float(y.mean()) if len(y) else 0.5
            self.model_ = None
            return self
        self.constant_ = None
        self.model_ = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced").fit(X, y)
        return self

    def predict_proba(self, texts) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        texts = [str(t) for t in texts]
        if self.model_ is None:
            p = np.full(len(texts), self.constant_)
        else:
            p = self.model_.predict_proba(self.vectorizer_.transform(texts))[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, texts) -> np.ndarray:
        return (self.predict_proba(texts)[:, 1] >= 0.5).astype(int)

    def top_ngrams(self, n: int = 20) -> list[tuple[str, float]]:
        check_is_fitted(self, "vectorizer_")
        if self.model_ is None:
            return []
        coef = self.model_.coef_[0]
        vocab = np.array(self.vectorizer_.get_feature_names_out())
        idx = np.argsort(-coef)[:n]
        return list(zip(vocab[idx].tolist(), coef[idx].round(3).tolist(), strict=True))
