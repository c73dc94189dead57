"""models.impute.MedianImputer: scikit-learn's median imputation to the bit, computed faster."""

import numpy as np
import pytest
from sklearn.impute import SimpleImputer

from models.impute import MedianImputer


def _matrix(seed: int, rows: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(rows, 12))
    x[:, 1] = np.round(x[:, 1], 1)  # ties
    x[:, 2] = -x[:, 2]
    x[rng.random(x.shape) < 0.35] = np.nan
    x[:, 3] = np.nan  # a column with no value
    x[1:, 4] = np.nan  # one value
    x[2:, 5] = np.nan  # two values: their mean
    x[:, 6] = 7.25  # constant
    return x


@pytest.mark.parametrize("rows", [1, 2, 3, 10, 11, 4_000])
@pytest.mark.parametrize("keep_empty", [True, False])
@pytest.mark.parametrize("indicator", [True, False])
def test_same_medians_and_output_as_scikit_learn(rows, keep_empty, indicator):
    x = _matrix(rows, rows)
    kw = {"strategy": "median", "keep_empty_features": keep_empty, "add_indicator": indicator}
    ours, theirs = MedianImputer(**kw).fit(x), SimpleImputer(**kw).fit(x)
    np.testing.assert_array_equal(ours.statistics_, theirs.statistics_)  # bit for bit, NaN where NaN
    assert ours.statistics_[3] == 0 if keep_empty else np.isnan(ours.statistics_[3])
    fresh = _matrix(rows + 100, 50)
    np.testing.assert_array_equal(ours.transform(fresh), theirs.transform(fresh))


def test_even_count_takes_the_two_middle_values_halved():
    x = np.array([[1.0], [np.nan], [4.0], [10.0], [2.0]])  # 1, 2, 4, 10 -> (2 + 4) / 2
    assert MedianImputer(strategy="median").fit(x).statistics_[0] == 3.0


def test_other_strategies_are_scikit_learns():
    x = _matrix(3, 500)
    for strategy in ("mean", "most_frequent"):
        np.testing.assert_array_equal(MedianImputer(strategy=strategy).fit(x).statistics_,
                                      SimpleImputer(strategy=strategy).fit(x).statistics_)
