"""The producer-carrier-receiver network and past cases: who works with whom, and who was caught.

Only cases opened on or before as_of are used (the contract dates a case by ``opened``).
"""

from __future__ import annotations

import pandas as pd

from features.catalogue import feature
from features.timeutil import as_of_day, in_window, known

feature("prior_confirmed_cases", "enterprise", "network", "count",
        "以往查实的案件数", "past investigations that confirmed a violation",
        "以往 {value:.0f} 起案件查实违法（最近 {opened}）", "{value:.0f} past cases confirmed (latest opened {opened})",
        direction=1, min_reason=1)
feature("confirmed_cases_365d", "enterprise", "network", "count",
        "近12个月立案并查实的案件数（违法行为很可能仍在一年内）", "cases opened in the last 12 months that confirmed a violation",
        "近12个月已有 {value:.0f} 起案件查实（{opened} 立案）", "{value:.0f} cases confirmed in the last 12 months (opened {opened})",
        direction=1, min_reason=1)
feature("prior_unfounded_cases", "enterprise", "network", "count",
        "以往查无实据的案件数", "past investigations found unfounded", "以往 {value:.0f} 起案件查无实据",
        "{value:.0f} past cases found unfounded", direction=0)
feature("days_since_investigated", "enterprise", "network", "days",
        "距上次立案调查的天数", "days since the last investigation was opened", "距上次调查 {value:.0f} 天",
        "{value:.0f} days since last investigated", direction=0)
feature("partners_with_confirmed_cases_365d", "enterprise", "network", "count",
        "近12个月合作的承运/接收单位中，有查实案件或服务过查实企业的数量",
        "carriers and receivers worked with in 12 months that had, or served producers with, confirmed cases",
        "{value:.0f} 个合作承运/接收单位涉及已查实案件（如 {partner_id}）",
        "{value:.0f} partners linked to confirmed cases (e.g. {partner_id})", direction=1, min_reason=1)
feature("shared_vehicles_with_flagged_365d", "enterprise", "network", "count",
        "近12个月与已查实企业共用的运输车辆数", "vehicles shared with producers that had confirmed cases, last 12 months",
        "{value:.0f} 辆运输车也为已查实企业运输（如 {vehicle_id}）",
        "{value:.0f} vehicles also carried for producers with confirmed cases (e.g. {vehicle_id})", direction=1, min_reason=1)
feature("tips_naming_90d", "enterprise", "tips", "count",
        "近90天点名该企业的举报数", "tips naming the enterprise in the last 90 days",
        "近90天有 {value:.0f} 条举报点名该企业", "{value:.0f} tips named it in the last 90 days", direction=1, min_reason=1)
feature("tips_naming_365d", "enterprise", "tips", "count",
        "近12个月点名该企业的举报数", "tips naming the enterprise in the last 12 months",
        "近12个月有 {value:.0f} 条举报点名该企业", "{value:.0f} tips named it in the last 12 months", direction=1, min_reason=1)
feature("informant_tips_365d", "enterprise", "tips", "count",
        "近12个月内部知情人举报数", "insider (informant) tips naming it in the last 12 months",
        "近12个月有 {value:.0f} 条内部知情人举报", "{value:.0f} insider tips in the last 12 months", direction=1, min_reason=1)


def case_features(cases: pd.DataFrame, enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    c = known(cases, "opened", as_of)
    c = c[c["enterprise_id"].notna()]
    out = pd.DataFrame(index=idx)
    conf = c[c["outcome"] == "confirmed"]
    out["prior_confirmed_cases"] = conf.groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    out["prior_confirmed_cases@opened"] = conf.groupby("enterprise_id")["opened"].max().reindex(idx)
    recent = conf[conf["opened"] > as_of_day(as_of) - pd.Timedelta(days=365)]
    out["confirmed_cases_365d"] = recent.groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    out["confirmed_cases_365d@opened"] = recent.groupby("enterprise_id")["opened"].max().reindex(idx)
    out["prior_unfounded_cases"] = c[c["outcome"] == "unfounded"].groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    last = c.groupby("enterprise_id")["opened"].max().reindex(idx)
    out["days_since_investigated"] = (as_of_day(as_of) - last).dt.days.astype("float64")
    return out


def network_features(checks: pd.DataFrame, cases: pd.DataFrame, enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    """Links to enterprises with confirmed cases, through shared carriers, receivers and vehicles."""
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    out = pd.DataFrame(index=idx)
    c = known(cases, "opened", as_of)
    flagged = set(c.loc[(c["outcome"] == "confirmed") & c["enterprise_id"].notna(), "enterprise_id"])
    y = in_window(checks, "departed_at", as_of, 365)
    pairs = pd.concat([
        y[["producer_id", "transporter_id"]].set_axis(["producer_id", "partner_id"], axis=1),
        y[["producer_id", "receiver_id"]].set_axis(["producer_id", "partner_id"], axis=1),
    ]).drop_duplicates()
    # a partner is linked if it had a confirmed case itself, or served a flagged producer other than p
    served = pairs[pairs["producer_id"].isin(flagged)].groupby("partner_id")["producer_id"].agg(frozenset).to_dict()
    linked = [
        q != p and (q in flagged or bool(served.get(q, frozenset()) - {p}))
        for p, q in zip(pairs["producer_id"].tolist(), pairs["partner_id"].tolist(), strict=True)  # lists: not Arrow item by item
    ]
    bad_partner = pd.Series(linked, index=pairs.index, dtype=bool)
    bp = pairs[bad_partner]
    out["partners_with_confirmed_cases_365d"] = bp.groupby("producer_id").size().reindex(idx).fillna(0.0).astype(float)
    out["partners_with_confirmed_cases_365d@partner_id"] = bp.drop_duplicates("producer_id").set_index("producer_id")["partner_id"].reindex(idx)
    veh = y[["producer_id", "vehicle_id"]].drop_duplicates()
    flagged_veh = veh[veh["producer_id"].isin(flagged)].groupby("vehicle_id")["producer_id"].agg(set).to_dict()  # a dict: looked up per row
    shared = [bool(flagged_veh.get(v, set()) - {p}) for p, v in zip(veh["producer_id"].tolist(), veh["vehicle_id"].tolist(), strict=True)]
    sv = veh[pd.Series(shared, index=veh.index, dtype=bool)]
    out["shared_vehicles_with_flagged_365d"] = sv.groupby("producer_id").size().reindex(idx).fillna(0.0).astype(float)
    out["shared_vehicles_with_flagged_365d@vehicle_id"] = sv.drop_duplicates("producer_id").set_index("producer_id")["vehicle_id"].reindex(idx)
    return out


def tip_count_features(tips: pd.DataFrame, enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    out = pd.DataFrame(index=idx)
    named = tips[tips["enterprise_id"].notna()]
    q = in_window(named, "received_at", as_of, 90)
    y = in_window(named, "received_at", as_of, 365)
    out["tips_naming_90d"] = q.groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    out["tips_naming_365d"] = y.groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    out["informant_tips_365d"] = y[y["channel"] == "informant"].groupby("enterprise_id").size().reindex(idx).fillna(0.0).astype(float)
    return out
