"""The run's average precision and NDCG (``training.evaluate``) are scikit-learn's to the bit: the
same operations without the argument checks. Ties in the scores are where the two could part (the
order within a tie, ties averaged in NDCG), so most cases here have many."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, ndcg_score

from training.evaluate import ap, ndcg_at_k


def _cases():
    rng = np.random.default_rng(7)
    for n in (2, 3, 5, 20, 137, 1000):
        for rate in (0.02, 0.3, 0.9):
            y = (rng.random(n) < rate).astype(float)
            if y.sum() in (0, n):
                y[0], y[-1] = 1.0, 0.0
            yield y, rng.random(n)  # distinct scores
            yield y, np.round(rng.random(n), 1)  # ten values: ties everywhere
            yield y, rng.integers(0, 3, n).astype(float)  # three values
            yield y, np.full(n, 0.5)  # one value
            yield y, np.where(y > 0, 0.7, rng.choice([0.7, 0.2], n))  # every positive tied with negatives


@pytest.mark.parametrize("k", [1, 2, 10, 20, 50, 5000])
def test_ndcg_is_scikit_learns_to_the_bit(k):
    for y, s in _cases():
        assert ndcg_at_k(y, s, k) == float(ndcg_score(y.reshape(1, -1), s.reshape(1, -1), k=k)), (k, y, s)


def test_average_precision_is_scikit_learns_to_the_bit():
    for y, s in _cases():
        assert ap(y, s) == float(average_precision_score(y, s)), (y, s)


def test_what_the_shortcut_does_not_assume_goes_to_scikit_learn():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):  # scikit-learn's error, as before
        ap(y, np.array([0.1, np.nan, 0.3, 0.2]))
    with pytest.raises(ValueError, match="NaN"):
        ndcg_at_k(y, np.array([0.1, np.nan, 0.3, 0.2]), 2)
    graded = np.array([2.0, 0.0, 1.0, 0.0])  # NDCG takes graded relevance
    s = np.array([0.1, 0.4, 0.3, 0.2])
    assert ndcg_at_k(graded, s, 3) == float(ndcg_score(graded.reshape(1, -1), s.reshape(1, -1), k=3))
    assert np.isnan(ap(np.zeros(4), s)) and np.isnan(ap(np.ones(4), s)) and np.isnan(ndcg_at_k(np.zeros(4), s, 2))
