"""The ledger cross-check (核实台账): ``ledger_mismatch`` exactly as DATA_CONTRACT.md §4, and ledger features.

Every gap is tonnes, positive where waste is missing, and explainable from the rows it came from:

- ``balance_gap_t`` = stock_end(m-1) + generated - transferred - onsite - stock_end(m): the ledger's
  own imbalance. ``accounted_t`` = transferred + onsite + (stock_end(m) - stock_end(m-1)), so
  ``balance_gap_t = generated_t - accounted_t``. The first month of an enterprise in the snapshot
  has no known opening stock: both are empty (not checked). A code absent the month before had no
  stock (an honest ledger carries a row while stock is held).
- ``manifest_gap_t`` = declared transferred_t - the quantity_t of the producer's manifests that
  departed in that month (local time) with that code.
- ``receipt_gap_t`` = those manifests' quantity_t - received_t; a manifest not confirmed at as_of
  counts wholly missing once 30 days have passed since departure, and 0 before.
- ``power_gap_t`` = implied - generated, implied = month kWh x intensity (t/kWh). The intensity
  blends the enterprise's own median t/kWh over its previous (up to 12) normal months with the
  median of its industry division's peers for the same code (known at as_of), weighting the peers
  as ``PEER_WEIGHT`` months of own history. Shutdown months (kWh under 30% of the enterprise's
  median) do not enter the estimates. Empty where power or any intensity is unknown.
- ``score`` = 1 - exp(-missing / 3 t): missing is the positive part of each gap beyond rounding
  (``tolerance_t``), a load never confirmed counting half (the action plan weighs 联单超期未确认 half of
  运输途中短少), and the power gap only beyond a quarter of the waste power implies (an honest plant's
  month-to-month waste varies by about that much). On randomised cities this ranks the rows that
  hid waste well above the old score (average precision 0.15 -> 0.19 on five, experiments/RESULTS.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.grouped import trailing_nanmedian
from features.power import SHUTDOWN_SHARE, PowerMonths, industry_division, monthly_power
from features.timeutil import as_of_day, cutoff, known, months_known

CRIMINAL_T = 3.0  # 非法排放、倾倒、处置危险废物三吨以上
UNCONFIRMED_DAYS = 30
PEER_WEIGHT = 6.0  # peers count as this many months of the enterprise's own history
MIN_PEERS = 3
OWN_MONTHS = 12
POWER_REL_TOL = 0.25  # the power gap counts only beyond a quarter of the implied waste (honest month-to-month noise)
UNCONFIRMED_WEIGHT = 0.5  # in the score, a load never confirmed counts half: the action plan weighs 联单超期未确认 half of 运输途中短少
SCORE_SCALE_T = CRIMINAL_T  # score = 1 - exp(-missing / scale): 3 t unaccounted -> 0.63

MISMATCH_COLUMNS = ["as_of", "enterprise_id", "month", "waste_code", "generated_t", "accounted_t",
                    "balance_gap_t", "manifest_gap_t", "receipt_gap_t", "power_gap_t", "score"]


def manifest_month_totals(manifests: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per producer, departure month and code: shipped (quantity_t) and missing on receipt, as of ``as_of``."""
    m = known(manifests, "departed_at", as_of)
    end = cutoff(as_of)
    confirmed = m["received_at"].notna() & (m["received_at"] < end) & m["received_t"].notna()
    # received_t without a date cannot be placed in time; it is taken as confirmed
    confirmed |= m["received_at"].isna() & m["received_t"].notna()
    overdue = ~confirmed & (m["departed_at"] + pd.Timedelta(days=UNCONFIRMED_DAYS) < end)
    missing = np.where(confirmed, m["quantity_t"] - m["received_t"].fillna(0.0), np.where(overdue, m["quantity_t"], 0.0))
    frame = pd.DataFrame({
        "enterprise_id": m["producer_id"].to_numpy(),
        "month": m["departed_at"].dt.to_period("M").array,  # a PeriodArray: no Period object per row
        "waste_code": m["waste_code"].to_numpy(),
        "shipped_t": m["quantity_t"].to_numpy(),
        "receipt_missing_t": missing,
        "unconfirmed_t": np.where(~confirmed & overdue, m["quantity_t"], 0.0),
        "manifests": 1,
    })
    return frame.groupby(["enterprise_id", "month", "waste_code"], sort=False).sum().reset_index()


def _intensity(led: pd.DataFrame, power: pd.DataFrame, enterprises: pd.DataFrame) -> pd.Series:
    """Estimated t/kWh for each ledger row (see module docstring); NaN where unknown.

    Enterprises, divisions and codes are taken by their codes (``pd.factorize``; -1 where missing,
    which no group holds, as pandas' ``groupby`` drops missing keys), not mapped string by string."""
    d = led.merge(power[["enterprise_id", "month", "kwh"]], on=["enterprise_id", "month"], how="left")
    ent, ent_ids = pd.factorize(d["enterprise_id"])
    code, _codes = pd.factorize(d["waste_code"])
    kwh = d["kwh"].to_numpy(dtype="float64")
    med = d.drop_duplicates(["enterprise_id", "month"]).groupby("enterprise_id")["kwh"].median()
    normal = kwh >= SHUTDOWN_SHARE * _by_code(med.reindex(ent_ids).to_numpy(dtype="float64"), ent, np.nan)
    ratio = (d["generated_t"] / d["kwh"]).where(normal & (kwh > 0)).to_numpy(dtype="float64")
    div_of = industry_division(enterprises.set_index("enterprise_id")["industry_code"]).reindex(ent_ids)
    div_code, divisions = pd.factorize(div_of)
    div = _by_code(div_code, ent, -1)
    # peers: median over enterprises of each enterprise's median ratio, per division and code
    grouped = (div >= 0) & (code >= 0) & (ent >= 0)
    per_ent = (pd.DataFrame({"div": div[grouped], "code": code[grouped], "ent": ent[grouped], "ratio": ratio[grouped]})
               .groupby(["div", "code", "ent"])["ratio"].median().dropna())
    peer_stats = per_ent.groupby(level=[0, 1]).agg(["median", "size"])
    peer_stats = peer_stats[peer_stats["size"] >= MIN_PEERS]["median"]
    peer_of = np.full((len(divisions), len(_codes)), np.nan)  # (division, code) -> the peers' median
    if len(peer_stats):
        peer_of[peer_stats.index.get_level_values(0), peer_stats.index.get_level_values(1)] = peer_stats.to_numpy(dtype="float64")
    peer = pd.Series(np.where(grouped, peer_of[np.maximum(div, 0), np.maximum(code, 0)] if peer_of.size else np.nan, np.nan),
                     index=d.index)
    # own: median over the previous (up to 12) ledger rows of the same code, month by month, that
    # were normal: strictly earlier, so point-in-time by construction (one compiled pass)
    own_med, own_n = trailing_nanmedian(ratio, [ent, code], d["month"].array.asi8, OWN_MONTHS)
    n_own = pd.Series(own_n.astype("float64"), index=d.index)
    own = pd.Series(own_med, index=d.index)
    blended = (n_own * own.fillna(0) + PEER_WEIGHT * peer.fillna(0)) / (n_own * own.notna() + PEER_WEIGHT * peer.notna())
    est = pd.Series(blended.where((own.notna() & (n_own > 0)) | peer.notna()), index=d.index)
    return (est * d["kwh"]).reindex(led.index).rename("implied_t"), d["kwh"].reindex(led.index)


def _by_code(values: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """``values[codes]``, ``missing`` where a code is -1."""
    return np.append(values, np.asarray([missing], dtype=values.dtype))[codes]


def ledger_mismatch(ledgers: pd.DataFrame, manifests: pd.DataFrame, electricity: pd.DataFrame,
                    enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per ledger row whose month ended on or before ``as_of``, columns as contract §4."""
    return ledger_table(ledgers, manifests, electricity, enterprises, as_of)[MISMATCH_COLUMNS]


def ledger_table(ledgers: pd.DataFrame, manifests: pd.DataFrame, electricity: pd.DataFrame,
                 enterprises: pd.DataFrame, as_of, power: PowerMonths | None = None) -> pd.DataFrame:
    """``ledger_mismatch`` with two more columns the features use: ``unconfirmed_t`` (the part of the
    receipt gap that is loads never confirmed) and ``suspect_t`` (the tonnes the score counts).
    ``power`` is ``power.PowerMonths.of(electricity)`` when it was computed once for many dates."""
    led = months_known(ledgers, as_of)[["enterprise_id", "month", "waste_code", "generated_t",
                                        "transferred_t", "onsite_t", "stock_end_t"]].reset_index(drop=True)
    first_month = led.groupby("enterprise_id")["month"].transform("min")
    prev = led[["enterprise_id", "month", "waste_code", "stock_end_t"]].copy()
    prev["month"] = prev["month"] + 1
    led = led.merge(prev.rename(columns={"stock_end_t": "stock_prev_t"}), on=["enterprise_id", "month", "waste_code"], how="left")
    unknown_opening = (led["month"] == first_month).to_numpy()
    stock_prev = led["stock_prev_t"].fillna(0.0)
    accounted = led["transferred_t"] + led["onsite_t"] + led["stock_end_t"] - stock_prev
    accounted = accounted.where(~unknown_opening)
    ship = manifest_month_totals(manifests, as_of)
    led = led.merge(ship, on=["enterprise_id", "month", "waste_code"], how="left")
    shipped = led["shipped_t"].fillna(0.0)
    implied, _kwh = _intensity(led, monthly_power(electricity, as_of, power), enterprises)
    out = pd.DataFrame({
        "as_of": as_of_day(as_of).strftime("%Y-%m-%d"),
        "enterprise_id": led["enterprise_id"],
        "month": _month_labels(led["month"]),
        "waste_code": led["waste_code"],
        "generated_t": led["generated_t"],
        "accounted_t": accounted,
        "balance_gap_t": led["generated_t"] - accounted,
        "manifest_gap_t": led["transferred_t"] - shipped,
        "receipt_gap_t": led["receipt_missing_t"].fillna(0.0),
        "power_gap_t": implied - led["generated_t"],
    })
    out["unconfirmed_t"] = led["unconfirmed_t"].fillna(0.0).to_numpy()
    out["suspect_t"] = suspect_t(out, out["unconfirmed_t"].to_numpy())
    out["score"] = 1.0 - np.exp(-out["suspect_t"] / SCORE_SCALE_T)
    for c in ("accounted_t", "balance_gap_t", "manifest_gap_t", "receipt_gap_t", "power_gap_t"):
        out[c] = out[c].round(3) + 0.0  # no "-0.0" in the CSV
    out["score"] = out["score"].round(4)
    return out.sort_values(["enterprise_id", "month", "waste_code"]).reset_index(drop=True)


def tolerance_t(generated_t: pd.Series) -> pd.Series:
    """Rounding a ledger honestly makes: 0.05 t or 2% of the month's generation, whichever is larger."""
    return np.maximum(0.05, 0.02 * generated_t.fillna(0.0).abs())


def power_excess_t(frame: pd.DataFrame) -> pd.Series:
    """The power gap beyond ``POWER_REL_TOL`` of the waste power implies (tonnes, never negative)."""
    gap = frame["power_gap_t"]
    implied = frame["generated_t"].fillna(0.0) + gap
    return (gap - POWER_REL_TOL * implied).clip(lower=0.0).fillna(0.0)


def unaccounted_t(frame: pd.DataFrame) -> pd.Series:
    """Tonnes missing beyond rounding: positive parts of balance, manifest and receipt gaps, plus the
    power gap beyond honest noise (``power_excess_t``)."""
    tol = tolerance_t(frame["generated_t"])
    pos = lambda c: (frame[c].fillna(0.0) - tol).clip(lower=0.0)  # noqa: E731
    return pos("balance_gap_t") + pos("manifest_gap_t") + pos("receipt_gap_t") + power_excess_t(frame)


def suspect_t(frame: pd.DataFrame, unconfirmed_t=0.0) -> pd.Series:
    """``unaccounted_t`` with loads never confirmed (``unconfirmed_t``, part of the receipt gap)
    counted at ``UNCONFIRMED_WEIGHT``: the tonnes the mismatch score rests on."""
    discount = (1.0 - UNCONFIRMED_WEIGHT) * np.asarray(unconfirmed_t, dtype=float)
    tol = tolerance_t(frame["generated_t"])
    receipt = (frame["receipt_gap_t"].fillna(0.0) - tol).clip(lower=0.0)
    return unaccounted_t(frame) - receipt + (frame["receipt_gap_t"].fillna(0.0) - discount - tol).clip(lower=0.0)


def mismatch_score(frame: pd.DataFrame, unconfirmed_t=0.0) -> pd.Series:
    """In [0, 1]: 1 - exp(-suspect_t / 3 t)."""
    return 1.0 - np.exp(-suspect_t(frame, unconfirmed_t) / SCORE_SCALE_T)


# ---- enterprise-level ledger features -------------------------------------------------------

_GAPS = {
    "balance_gap_t": ("台账自身不平", "ledger does not balance"),
    "manifest_gap_t": ("申报转移量多于联单", "declared transfers exceed manifests"),
    "receipt_gap_t": ("联单未接收或短少", "manifests not received or short"),
    "power_gap_t": ("用电推算产废多于申报", "power implies more waste than declared"),
}
for _gap, (_zh, _en) in _GAPS.items():
    feature(f"{_gap}_365d", "enterprise", "ledgers", "t",
            f"近12个月{_zh}（吨，正值之和）", f"{_en}, last 12 months (tonnes, sum of positive gaps)",
            f"近12个月{_zh}共 {{value:.1f}} 吨，最大在 {{month}} {{waste_code}}",
            f"{_en}: {{value:.1f}} t in 12 months, largest in {{month}} {{waste_code}}",
            direction=1, min_reason=0.5)
feature("unaccounted_t_365d", "enterprise", "ledgers", "t",
        "近12个月去向不明的危险废物（吨）", "hazardous waste unaccounted for in the last 12 months (tonnes)",
        "近12个月约 {value:.1f} 吨危废去向不明（{month} {waste_code} 最多）",
        "about {value:.1f} t unaccounted for in 12 months (most in {month} {waste_code})",
        direction=1, min_reason=0.5)
feature("suspect_t_365d", "enterprise", "ledgers", "t",
        "近12个月去向存疑的危险废物（吨；超期未确认的联单按一半计）",
        "hazardous waste in doubt in the last 12 months (tonnes; loads never confirmed count half)",
        "近12个月约 {value:.1f} 吨危废去向存疑（{month} {waste_code} 最多）",
        "about {value:.1f} t in doubt in 12 months (most in {month} {waste_code})",
        direction=1, min_reason=0.5)
feature("unaccounted_t_90d", "enterprise", "ledgers", "t",
        "近3个月去向不明的危险废物（吨）", "hazardous waste unaccounted for in the last 3 months (tonnes)",
        "近3个月约 {value:.1f} 吨危废去向不明", "about {value:.1f} t unaccounted for in the last 3 months",
        direction=1, min_reason=0.5)
feature("over_3t_365d", "enterprise", "ledgers", "",
        "近12个月去向不明达3吨（刑事立案标准）", "3 t or more unaccounted for in 12 months (the criminal threshold)",
        "去向不明累计达3吨以上，达到非法处置危险废物刑事标准", "3 t or more unaccounted for: the criminal threshold for illegal disposal",
        direction=1, min_reason=0.5)
feature("unaccounted_share_365d", "enterprise", "ledgers", "share",
        "去向不明量占申报产生量的比例", "share of declared generation unaccounted for, last 12 months",
        "去向不明量占产生量的 {value:.0%}", "{value:.0%} of declared generation unaccounted for",
        direction=1, min_reason=0.05)
feature("generated_t_365d", "enterprise", "ledgers", "t",
        "近12个月申报产生量", "declared generation, last 12 months", "近12个月申报产生 {value:.1f} 吨",
        "{value:.1f} t declared generated in 12 months", direction=0)
feature("intensity_vs_peers_365d", "enterprise", "ledgers", "ratio",
        "单位用电产废量与同行业中位数之比", "waste per kWh relative to industry peers' median, last 12 months",
        "单位用电产废量仅为同行的 {value:.0%}", "waste per kWh only {value:.0%} of industry peers",
        direction=-1, min_reason=0.6)
feature("waste_drop_vs_power_90d", "enterprise", "ledgers", "ratio",
        "近3个月申报产废降幅超过用电降幅", "drop in declared waste not matched by power, last 3 vs previous 9 months",
        "近3个月申报产废相对用电下降 {value:.0%}", "declared waste fell {value:.0%} more than power in the last 3 months",
        direction=1, min_reason=0.2)
feature("ledger_months_missing_365d", "enterprise", "ledgers", "count",
        "近12个月缺报台账的月份数（有用电无台账）", "months in the last 12 with power use but no ledger",
        "近12个月有 {value:.0f} 个月有用电但未报台账", "{value:.0f} months with power use but no ledger in the last 12",
        direction=1, min_reason=1)


def ledger_features(mismatch: pd.DataFrame, ledgers: pd.DataFrame, electricity: pd.DataFrame,
                    enterprises: pd.DataFrame, as_of, power: PowerMonths | None = None) -> pd.DataFrame:
    """Ledger features by enterprise_id from the as-of mismatch table, with month/code evidence
    (``power`` as in ``ledger_table``)."""
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    out = pd.DataFrame(index=idx)
    last = as_of_day(as_of).to_period("M")
    if (as_of_day(as_of) + pd.Timedelta(days=1)).month == as_of_day(as_of).month:
        last = last - 1  # the as-of month is not complete
    mm = mismatch.assign(period=pd.to_datetime(mismatch["month"], format="%Y-%m").dt.to_period("M"))
    y = mm[mm["period"] > last - 12].copy()
    q = mm[mm["period"] > last - 3].copy()
    tol = tolerance_t(y["generated_t"])
    for gap in _GAPS:
        y[gap + "_pos"] = (y[gap].fillna(0.0) - tol).clip(lower=0.0)
        total = y.groupby("enterprise_id")[gap + "_pos"].sum()
        out[f"{gap}_365d"] = total.reindex(idx).fillna(0.0)
        _evidence(out, y, gap + "_pos", f"{gap}_365d")
    y["unacc"] = unaccounted_t(y)
    q["unacc"] = unaccounted_t(q)
    out["unaccounted_t_365d"] = y.groupby("enterprise_id")["unacc"].sum().reindex(idx).fillna(0.0)
    _evidence(out, y, "unacc", "unaccounted_t_365d")
    out["unaccounted_t_90d"] = q.groupby("enterprise_id")["unacc"].sum().reindex(idx).fillna(0.0)
    if "suspect_t" in y:
        out["suspect_t_365d"] = y.groupby("enterprise_id")["suspect_t"].sum().reindex(idx).fillna(0.0)
        _evidence(out, y, "suspect_t", "suspect_t_365d")
    out["over_3t_365d"] = (out["unaccounted_t_365d"] >= CRIMINAL_T).astype("float64")
    gen = y.groupby("enterprise_id")["generated_t"].sum().reindex(idx)
    out["generated_t_365d"] = gen.fillna(0.0)
    out["unaccounted_share_365d"] = (out["unaccounted_t_365d"] / gen.where(gen > 0)).clip(upper=5.0)
    _intensity_features(out, ledgers, electricity, enterprises, as_of, last, power)
    return out


def _evidence(out: pd.DataFrame, frame: pd.DataFrame, column: str, name: str) -> None:
    """The month and waste code of each enterprise's largest contribution to ``column``."""
    nonzero = frame[frame[column] > 0]
    if nonzero.empty:
        out[f"{name}@month"] = pd.Series(pd.NA, index=out.index, dtype="str")
        out[f"{name}@waste_code"] = pd.Series(pd.NA, index=out.index, dtype="str")
        return
    top = nonzero.sort_values(column, ascending=False).drop_duplicates("enterprise_id").set_index("enterprise_id")
    out[f"{name}@month"] = top["month"].reindex(out.index)
    out[f"{name}@waste_code"] = top["waste_code"].reindex(out.index)


def _intensity_features(out: pd.DataFrame, ledgers: pd.DataFrame, electricity: pd.DataFrame,
                        enterprises: pd.DataFrame, as_of, last: pd.Period, months: PowerMonths | None = None) -> None:
    idx = out.index
    led = months_known(ledgers, as_of)
    power = monthly_power(electricity, as_of, months)
    gen_m = led.groupby(["enterprise_id", "month"])["generated_t"].sum().rename("gen").reset_index()
    d = power.merge(gen_m, on=["enterprise_id", "month"], how="left")
    y = d[d["month"] > last - 12]
    tot = y.groupby("enterprise_id")[["gen", "kwh"]].sum(min_count=1)
    inten = (tot["gen"] / tot["kwh"].where(tot["kwh"] > 0)).reindex(idx)
    producer = enterprises.set_index("enterprise_id")["roles"].astype("str").str.contains("producer").reindex(idx)
    div = industry_division(enterprises.set_index("enterprise_id")["industry_code"]).reindex(idx)
    peer = inten.where(producer).groupby(div.to_numpy()).transform("median")
    out["intensity_vs_peers_365d"] = (inten / peer.where(peer > 0)).where(producer).clip(upper=10.0)
    q = d[d["month"] > last - 3].groupby("enterprise_id")[["gen", "kwh"]].mean()
    p = d[(d["month"] <= last - 3) & (d["month"] > last - 12)].groupby("enterprise_id")[["gen", "kwh"]].mean()
    gen_ratio = (q["gen"] / p["gen"].where(p["gen"] > 0)).reindex(idx)
    kwh_ratio = (q["kwh"] / p["kwh"].where(p["kwh"] > 0)).reindex(idx)
    out["waste_drop_vs_power_90d"] = (1.0 - gen_ratio / kwh_ratio.where(kwh_ratio > 0)).clip(-5, 1)
    metered = y[y["kwh"] > 0].groupby("enterprise_id")["month"].nunique()
    with_ledger = y[y["kwh"] > 0].dropna(subset=["gen"]).groupby("enterprise_id")["month"].nunique()
    missing = (metered - with_ledger.reindex(metered.index).fillna(0)).reindex(idx)
    out["ledger_months_missing_365d"] = missing.where(producer).fillna(0.0)


def _month_labels(month: pd.Series) -> pd.Series:
    """``month.astype("str")`` ("2023-01"), each distinct month formatted once."""
    codes, months = pd.factorize(month)
    if (codes < 0).any():
        return month.astype("str")
    return pd.Series(months.astype("str"), copy=False).take(codes).set_axis(month.index)
