"""Power use (用电记录): monthly kWh for the ledger cross-check, and power features.

Power is the enterprise's production clock: waste generation should follow it. Evidence here:
night-heavy use (covert discharge runs pumps at night), a declared-waste drop that power does not
share, and waste intensity far below industry peers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.timeutil import as_of_day, cutoff, in_window, known, last_complete_month, month_end

MIN_COVERAGE = 0.5  # a month with metered days under this share has unknown power
SHUTDOWN_SHARE = 0.3  # a month below this share of the enterprise's median kWh is a shutdown

feature("night_share_90d", "enterprise", "electricity", "share",
        "近90天夜间(22:00-06:00)用电占比", "share of power used at night (22:00-06:00), last 90 days",
        "近90天夜间用电占比 {value:.0%}", "night-time share of power {value:.0%} in the last 90 days",
        direction=1, min_reason=0.3)
feature("night_share_excess_90d", "enterprise", "electricity", "share",
        "夜间用电占比高出同行业中位数", "night share of power above the industry peers' median, last 90 days",
        "夜间用电占比比同行高 {value:.0%}（近90天）", "night share of power {value:.0%} above industry peers (90 days)",
        direction=1, min_reason=0.1)
feature("power_kwh_90d", "enterprise", "electricity", "kWh",
        "近90天用电量", "power used in the last 90 days", "近90天用电 {value:,.0f} 千瓦时", "{value:,.0f} kWh used in the last 90 days",
        direction=0)
feature("power_trend_90d", "enterprise", "electricity", "ratio",
        "近90天日均用电与此前9个月之比", "daily power in the last 90 days over the 9 months before",
        "近90天日均用电为此前的 {value:.0%}", "daily power in the last 90 days is {value:.0%} of the 9 months before",
        direction=0)
feature("power_missing_days_90d", "enterprise", "electricity", "days",
        "近90天缺少电表读数的天数", "days without a meter reading in the last 90 days",
        "近90天 {value:.0f} 天无用电记录", "{value:.0f} days without a power reading in the last 90 days",
        direction=0)


def monthly_power(electricity: pd.DataFrame, as_of, months: pd.Series | None = None) -> pd.DataFrame:
    """kWh per enterprise and complete month known at ``as_of``, scaled to the whole month.

    Columns: enterprise_id, month (period[M]), kwh, night_kwh, days (metered), coverage (share of
    the month's days metered). A month metered on fewer than half its days has ``kwh`` NaN.
    ``months`` is ``power_months(electricity)`` (each row's month), computed once for many as-of
    dates: the rows of the months that ended by as_of are then picked without parsing dates again
    (the same rows in the same order, so the same sums).
    """
    if months is not None:
        ordinal = months.array.asi8  # NaT is int64 min
        done = (ordinal <= last_complete_month(as_of).ordinal) & (ordinal != np.iinfo(np.int64).min)
        if done.any():
            return _by_month(electricity[done].assign(month=months[done]))
    e = known(electricity, "date", as_of)
    if e.empty:
        return pd.DataFrame({"enterprise_id": pd.Series(dtype="str"), "month": pd.Series(dtype="period[M]"),
                             "kwh": [], "night_kwh": [], "days": [], "coverage": []})
    e = e.assign(month=e["date"].dt.to_period("M"))
    return _by_month(e[month_end(e["month"]) <= as_of_day(as_of)])


def _by_month(e: pd.DataFrame) -> pd.DataFrame:
    night = e["night_kwh"] if "night_kwh" in e else pd.Series(np.nan, index=e.index)
    g = e.assign(night=night).groupby(["enterprise_id", "month"], observed=True, sort=True)
    out = g.agg(kwh=("kwh", "sum"), night_kwh=("night", "sum"), days=("kwh", "size")).reset_index()
    ndays = out["month"].dt.days_in_month.to_numpy()
    out["coverage"] = out["days"].to_numpy() / ndays
    scale = np.where(out["coverage"] >= MIN_COVERAGE, ndays / out["days"].to_numpy(), np.nan)
    out["kwh"] = out["kwh"] * scale
    out["night_kwh"] = out["night_kwh"] * scale
    return out


def power_months(electricity: pd.DataFrame) -> pd.Series:
    """Each power row's month (period[M]; NaT where the date is missing), for ``monthly_power(months=)``."""
    return electricity["date"].dt.to_period("M")


def industry_division(industry_code: pd.Series) -> pd.Series:
    """GB/T 4754 division: the letter and first two digits (C26 chemicals, C27 pharmaceuticals, ...)."""
    return industry_code.astype("str").str[:3]


def power_features(electricity: pd.DataFrame, enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    """Power features by enterprise_id, from days on or before ``as_of``."""
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    out = pd.DataFrame(index=idx)
    recent = in_window(electricity, "date", as_of, 90)
    before = in_window(electricity, "date", as_of_day(as_of) - pd.Timedelta(days=90), 270)
    g = recent.groupby("enterprise_id", observed=True)
    kwh = g["kwh"].sum()
    night = g["night_kwh"].sum(min_count=1) if "night_kwh" in recent else pd.Series(dtype=float)
    night_days = g["night_kwh"].count() if "night_kwh" in recent else pd.Series(dtype=float)
    out["power_kwh_90d"] = kwh.reindex(idx)
    share = (night / kwh.where(kwh > 0)).where(night_days.reindex(kwh.index).fillna(0) > 0)
    out["night_share_90d"] = share.reindex(idx)
    div = industry_division(enterprises.set_index("enterprise_id")["industry_code"]).reindex(idx)
    peer = out.groupby(div.to_numpy(), observed=True)["night_share_90d"].transform("median")
    out["night_share_excess_90d"] = out["night_share_90d"] - peer
    days_recent = g["date"].nunique().reindex(idx)
    daily_recent = kwh.reindex(idx) / days_recent
    gb = before.groupby("enterprise_id", observed=True)
    daily_before = gb["kwh"].sum().reindex(idx) / gb["date"].nunique().reindex(idx)
    out["power_trend_90d"] = daily_recent / daily_before.where(daily_before > 0)
    span_start = max(electricity["date"].min(), cutoff(as_of) - pd.Timedelta(days=90)) if len(electricity) else cutoff(as_of)
    expected_days = max((cutoff(as_of) - span_start).days, 0)
    out["power_missing_days_90d"] = (expected_days - days_recent.fillna(0)).clip(lower=0)
    return out
