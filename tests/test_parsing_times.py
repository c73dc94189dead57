"""Timestamps read from Parquet (``features.parsing._parse_datetime``): a column whose values all lie
in [MIN_DATE, MAX_DATE] is taken as it is (its range read off Arrow's minimum and maximum); any
value outside blanks that value and is reported, at every unit, in any chunk, at the bounds to the
unit, and with time zones and nulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.contract import MAX_DATE, MIN_DATE
from features.parsing import _parse_datetime

LOW = pd.Timestamp(MIN_DATE)  # the first instant allowed
HIGH = pd.Timestamp(MAX_DATE) + pd.Timedelta(days=1)  # the first instant not allowed
TICK = {"s": pd.Timedelta(seconds=1), "ms": pd.Timedelta(milliseconds=1), "us": pd.Timedelta(microseconds=1),
        "ns": pd.Timedelta(nanoseconds=1)}
USUAL = [pd.Timestamp("2021-03-05 14:30:00"), pd.Timestamp("2021-03-05 14:30:01"), None, pd.Timestamp("2022-12-31 23:59:59")]


def column(values: list, unit: str, tz: str | None = None, chunks: int = 3) -> pa.ChunkedArray:
    typ = pa.timestamp(unit, tz=tz)
    arr = pa.array([None if v is None else (v.tz_localize(tz) if tz else v) for v in values], type=typ)
    cuts = np.linspace(0, len(arr), chunks + 1).astype(int)
    return pa.chunked_array([arr.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:], strict=True)], type=typ)


def check(values: list, unit: str, tz: str | None = None) -> None:
    got = _parse_datetime(column(values, unit, tz))
    local = [None if v is None else (v.tz_localize(tz).tz_convert("Asia/Shanghai").tz_localize(None) if tz else v)
             for v in values]
    out = np.array([v is not None and not (LOW <= v < HIGH) for v in local])
    want = pd.Series([None if v is None or o else v for v, o in zip(local, out, strict=True)], dtype="datetime64[ns]")
    assert got.values.dtype == np.dtype("datetime64[ns]")
    pd.testing.assert_series_equal(got.values.reset_index(drop=True), want, check_names=False)
    assert np.array_equal(got.invalid, out), (unit, tz, got.invalid, out)
    assert np.array_equal(got.missing, np.array([v is None for v in values]))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_column_in_range_is_taken_as_it_is(unit):
    check(USUAL, unit)
    check([LOW, None, HIGH - TICK[unit]], unit)  # the bounds to the unit: both in
    check([None, None], unit)  # every value null


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("where", [0, 2, 5])  # the first chunk, the middle, the last value
def test_a_value_out_of_range_is_blanked_and_reported(unit, where):
    for bad in (LOW - TICK[unit], HIGH, pd.Timestamp("1800-01-01"), pd.Timestamp("2200-06-01")):
        values = [*USUAL, pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-02")]
        values[where] = bad
        check(values, unit)


def test_zoned_timestamps_are_local_and_range_checked_after_conversion():
    """UTC 2100-12-31 16:00 is 2101-01-01 00:00 in China: out, though its UTC reading is in range."""
    check([pd.Timestamp("2021-03-05 06:30:00"), pd.Timestamp("2100-12-31 16:00:00"), None], "ms", tz="UTC")
    check([pd.Timestamp("2021-03-05 06:30:00"), pd.Timestamp("2100-12-31 15:59:59")], "s", tz="UTC")
