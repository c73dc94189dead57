"""Power use (用电记录): monthly kWh for the ledger cross-check, and power features.

Power is the enterprise's production clock: waste generation should follow it. Evidence here:
night-heavy use (covert discharge runs pumps at night), a declared-waste drop that power does not
share, and waste intensity far below industry peers.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def monthly_power(electricity: pd.DataFrame, as_of, every_month: PowerMonths | None = None) -> pd.DataFrame:
    """kWh per enterprise and complete month known at ``as_of``, scaled to the whole month.

    Columns: enterprise_id, month (period[M]), kwh, night_kwh, days (metered), coverage (share of
    the month's days metered). A month metered on fewer than half its days has ``kwh`` NaN.
    ``every_month`` (``PowerMonths.of(electricity)``), aggregated once for many as-of dates, gives
    the same table by cutting off the months that had not ended by as_of.
    """
    if every_month is not None:
        cut = every_month.as_of(as_of)
        if cut is not None:
            return cut
    e = known(electricity, "date", as_of)
    if e.empty:
        return pd.DataFrame({"enterprise_id": pd.Series(dtype="str"), "month": pd.Series(dtype="period[M]"),
                             "kwh": [], "night_kwh": [], "days": [], "coverage": []})
    e = e.assign(month=e["date"].dt.to_period("M"))
    return _by_month(e[month_end(e["month"]) <= as_of_day(as_of)])


_SUMS = ("kwh", "night_kwh")
_NEVER = np.iinfo(np.int64).max


@dataclass
class PowerMonths:
    """``monthly_power`` of every month of a snapshot, aggregated once (issue 18: rolled, not
    re-aggregated at each as-of date).

    A month's row reads that month's power rows only, but pandas sums a group one of two ways
    depending on the whole frame: ``np.add.reduceat`` (pairwise) when the frame's group ids are
    sorted and the column holds no NaN, else its Cython kernel (compensated). Both sums of every
    month are kept, and at each date the one the plain path would take on the rows known then
    (``_pairwise_at``), so the table is the plain path's to the bit, not within a tolerance."""

    compensated: pd.DataFrame  # _by_month of every dated row, sums as the Cython kernel gives them
    pairwise: dict[str, np.ndarray]  # kwh, night_kwh (scaled) as reduceat gives them, by row of ``compensated``
    row_month: np.ndarray  # month ordinal of each dated power row
    row_group: np.ndarray  # row of ``compensated`` of each dated power row (its sorted group id)
    first_nan: dict[str, int]  # earliest month ordinal with a NaN value, by summed column

    @classmethod
    def of(cls, electricity: pd.DataFrame) -> PowerMonths | None:
        """None where the cut would not be exact: rows without an enterprise (pandas drops them)."""
        e = electricity[electricity["date"].notna()]
        if e["enterprise_id"].isna().any():
            return None
        e = e.assign(month=e["date"].dt.to_period("M"))
        if "night_kwh" not in e:
            e = e.assign(night_kwh=np.nan)
        group = e.groupby(["enterprise_id", "month"], observed=True, sort=True).ngroup().to_numpy(np.int64)
        month = e["month"].array.asi8
        # the Cython kernel: forced by one NaN row in a month of its own, dropped after
        lead = e.iloc[:1].assign(month=pd.Period("1000-01", "M"), kwh=np.nan, night_kwh=np.nan)
        table = _by_month(pd.concat([lead, e]))
        table = table[table["month"].array.asi8 != lead["month"].array.asi8[0]].reset_index(drop=True)
        order = np.argsort(group, kind="stable")
        starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]]) if len(order) else order
        ndays = table["month"].dt.days_in_month.to_numpy()
        scale = np.where(table["coverage"] >= MIN_COVERAGE, ndays / table["days"].to_numpy(), np.nan)
        pairwise, first_nan = {}, {}
        for c in _SUMS:
            v = e[c].to_numpy(np.float64)
            pairwise[c] = (np.add.reduceat(v[order], starts) if len(order) else v[:0]) * scale
            first_nan[c] = int(month[np.isnan(v)].min()) if np.isnan(v).any() else _NEVER
        return cls(table, pairwise, month, group, first_nan)

    def as_of(self, as_of) -> pd.DataFrame | None:
        """The months that ended by ``as_of``; None where none has."""
        last = last_complete_month(as_of).ordinal
        rows = self.compensated["month"].array.asi8 <= last
        if not rows.any():
            return None
        out = self.compensated[rows].reset_index(drop=True)
        sorted_ids = _pairwise_at(self.row_group, self.row_month, last)
        for c in _SUMS:
            if sorted_ids and self.first_nan[c] > last:
                out[c] = self.pairwise[c][rows]
        return out


def _pairwise_at(row_group: np.ndarray, row_month: np.ndarray, last: int) -> bool:
    """Whether the power rows of the months up to ``last`` come in sorted group order (pandas then
    sums a NaN-free column with ``np.add.reduceat``)."""
    g = row_group[row_month <= last]
    return bool(np.all(g[1:] >= g[:-1]))


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
