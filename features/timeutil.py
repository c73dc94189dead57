"""Point-in-time helpers. ``as_of`` is a day; "on or before as_of" means before the next midnight, local time."""

from __future__ import annotations

import pandas as pd

DAY = pd.Timedelta(days=1)


def as_of_day(as_of) -> pd.Timestamp:
    """``as_of`` as a midnight timestamp (a date, string or timestamp; the time part is dropped)."""
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Shanghai").tz_localize(None)
    return ts.normalize()


def cutoff(as_of) -> pd.Timestamp:
    """Exclusive upper bound: rows with time < cutoff(as_of) are known at as_of."""
    return as_of_day(as_of) + DAY


def known(df: pd.DataFrame, column: str, as_of) -> pd.DataFrame:
    """Rows of ``df`` whose ``column`` (datetime) is on or before ``as_of``; missing times are unknown, dropped."""
    return df[df[column] < cutoff(as_of)]


def in_window(df: pd.DataFrame, column: str, as_of, days: int) -> pd.DataFrame:
    """Rows dated in the ``days`` days ending at ``as_of`` inclusive: (as_of - days, as_of]."""
    end = cutoff(as_of)
    return df[(df[column] >= end - pd.Timedelta(days=days)) & (df[column] < end)]


def month_end(month: pd.Series) -> pd.Series:
    """The last day (midnight) of each ``period[M]`` value."""
    # the next month's first midnight less a day: period arithmetic is on integers, where adding
    # ``MonthEnd`` to a column of timestamps goes through the calendar value by value
    return (month + 1).dt.to_timestamp(how="start") - DAY


def months_known(ledgers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Ledger rows whose month ended on or before ``as_of``."""
    return ledgers[month_end(ledgers["month"]) <= as_of_day(as_of)]


def last_complete_month(as_of) -> pd.Period:
    day = as_of_day(as_of)
    month = day.to_period("M")
    return month if (day + DAY).month != day.month else month - 1
