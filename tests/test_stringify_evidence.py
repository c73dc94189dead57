"""Evidence pointers written as text in one frame (``features.build._stringify_evidence``) are what
writing them column by column gave: the same values and the same dtypes (a text column becomes
object str/None; another column with a value becomes pandas' string dtype, one without any an
object column of None), in the same column order, other columns untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.build import _stringify_evidence


def _column_by_column(frame: pd.DataFrame, cols: list) -> pd.DataFrame:
    """The code before (5dc2651): each evidence column converted and assigned on its own."""
    for c in cols:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d %H:%M").str.replace(" 00:00", "", regex=False)
        strings = s.astype("object").where(s.notna(), None)
        frame[c] = strings if isinstance(s.dtype, pd.StringDtype) else strings.map(lambda v: None if v is None else str(v))
    return frame


def _frame(rows: int) -> pd.DataFrame:
    idx = pd.Index([f"E{i:03d}" for i in range(rows)], name="enterprise_id")
    when = pd.Series(pd.to_datetime(["2023-05-01 00:00", "2023-05-02 13:45", None, "2023-06-30 23:59"][:rows]), index=idx)
    return pd.DataFrame({
        "score": np.arange(rows, dtype=float),
        "stops_90d@when": when,
        "stops_90d@where": pd.Series(["漓江 2.1 km", None, "24.5,110.3", "x"][:rows], index=idx, dtype="str"),
        "stops_90d@lat": pd.Series([24.508453, np.nan, 1e-7, 110.0][:rows], index=idx),
        "trips@count": pd.Series([3, 0, 7, 12][:rows], index=idx, dtype="int64"),
        "trips@none": pd.Series([np.nan] * rows, index=idx),
        "trips@mixed": pd.Series(["a", None, 2.5, np.nan][:rows], index=idx, dtype=object),
        "trips@flag": pd.Series([True, False, True, False][:rows], index=idx),
        "name": pd.Series(["甲", "乙", "丙", "丁"][:rows], index=idx, dtype="str"),
    }, index=idx)


def test_one_frame_gives_the_values_and_dtypes_of_one_column_at_a_time():
    for rows in (4, 1, 0):
        f = _frame(rows)
        cols = [c for c in f.columns if "@" in c]
        want = _column_by_column(f.copy(), cols)
        got = _stringify_evidence(f.copy())
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.columns) == list(f.columns)
    got = _stringify_evidence(_frame(4))
    assert got["stops_90d@when"].tolist() == ["2023-05-01", "2023-05-02 13:45", None, "2023-06-30 23:59"]
    assert got["stops_90d@where"].dtype == object and got["stops_90d@where"].tolist()[:2] == ["漓江 2.1 km", None]
    assert got["trips@none"].dtype == object and got["trips@none"].isna().all()
    assert str(got["stops_90d@lat"].dtype) == "str" and got["stops_90d@lat"].tolist()[2] == "1e-07"
    assert got["trips@count"].tolist() == ["3", "0", "7", "12"]
    pd.testing.assert_series_equal(got["score"], _frame(4)["score"])
