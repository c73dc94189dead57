"""Tips (举报线索): what the text says, where and when, and what corroborates it.

Text features work on Chinese without a word segmenter: keyword groups matched as substrings here,
character n-grams in the tip model. Near-duplicates (several callers, one event) are grouped by
place and time. Corroboration: waste-carrying vehicles that stopped near the tip's location in the
days before it, and the named enterprise's own evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.contract import CHANNELS
from features.geo import LocalProjection, PlaceIndex, haversine_m
from features.timeutil import known

CORROBORATION_RADIUS_M = 2000.0
CORROBORATION_DAYS = 7
DUPLICATE_RADIUS_M = 3000.0
DUPLICATE_DAYS = 7

KEYWORDS: dict[str, tuple[str, ...]] = {
    "dumping": ("倒", "倾倒", "偷排", "直排", "排放", "排污", "暗管", "渗坑", "渗井", "埋", "拉走", "运走", "偷运", "处理掉", "放掉"),
    "water": ("河", "江", "水库", "溪", "沟", "渠", "塘", "水里", "水边"),
    "karst": ("溶洞", "山洞", "天坑", "落水洞", "岩洞", "洞里"),
    "night": ("夜", "凌晨", "晚上", "半夜", "深夜", "天黑"),
    "vehicle": ("车", "罐车", "槽罐", "车牌", "桂"),
    "waste": ("油", "废液", "桶", "污泥", "黑水", "废渣", "电池", "医疗废物", "针头", "化工", "废酸", "危废", "危险废物"),
    "odour": ("臭", "味道", "气味", "刺鼻", "难闻"),
    "dispute": ("邻居", "吵", "纠纷", "噪音", "扰民", "矛盾"),
}

for _group, _zh in (("dumping", "倾倒/偷排"), ("water", "水体"), ("karst", "溶洞"), ("night", "夜间"),
                    ("vehicle", "车辆"), ("waste", "废物种类"), ("odour", "气味"), ("dispute", "纠纷")):
    feature(f"tip_mentions_{_group}", "tip", "tips", "count", f"举报内容提及{_zh}的词数", f"words about {_group} in the tip's text",
            f"举报提及{_zh}", f"the tip mentions {_group}", direction=0 if _group in ("odour", "dispute") else 1, min_reason=1)
for _ch in CHANNELS:
    feature(f"tip_channel_{_ch}", "tip", "tips", "", f"举报渠道：{_ch}", f"channel: {_ch}", f"来自{_ch}渠道",
            f"via {_ch}", direction=0 if _ch != "informant" else 1, min_reason=0.5)
feature("tip_text_length", "tip", "tips", "count", "举报内容字数", "characters in the tip's text", "举报 {value:.0f} 字",
        "{value:.0f} characters", direction=0)
feature("tip_has_location", "tip", "tips", "", "举报附有位置", "the tip has a location", "附有位置", "has a location", direction=0)
feature("tip_names_enterprise", "tip", "tips", "", "举报点名企业", "the tip names an enterprise", "点名企业 {enterprise_id}",
        "names enterprise {enterprise_id}", direction=1, min_reason=0.5)
feature("tip_similar_7d", "tip", "tips", "count", "7天内3公里内的其他举报数（多人举报同一事件）",
        "other tips within 3 km and 7 days (several callers, one event)", "7天内附近另有 {value:.0f} 条举报",
        "{value:.0f} other tips nearby within 7 days", direction=1, min_reason=1)
feature("tip_stops_nearby_7d", "tip", "trajectories", "count", "举报前7天内2公里内运输车辆的非登记地点停留次数",
        "stops of waste vehicles away from registered sites within 2 km in the 7 days before the tip",
        "举报前7天附近有 {value:.0f} 次危废车辆停留（如 {vehicle_id} 于 {when}）",
        "{value:.0f} waste-vehicle stops nearby in the 7 days before (e.g. {vehicle_id} at {when})", direction=1, min_reason=1)
feature("tip_night_stops_nearby_7d", "tip", "trajectories", "count", "举报前7天内2公里内运输车辆的夜间停留次数",
        "night stops of waste vehicles within 2 km in the 7 days before the tip", "其中夜间停留 {value:.0f} 次",
        "{value:.0f} of them at night", direction=1, min_reason=1)
feature("tip_nearest_stop_m", "tip", "trajectories", "m", "最近一次附近车辆停留的距离", "distance to the nearest such stop",
        "最近停留点距举报位置 {value:,.0f} 米", "nearest stop {value:,.0f} m from the reported place", direction=-1, min_reason=2000)
feature("tip_water_distance_m", "tip", "places", "m", "举报位置到河流水库的距离", "distance from the reported place to a river or reservoir",
        "举报位置距水体 {value:,.0f} 米", "reported place {value:,.0f} m from water", direction=-1, min_reason=1000)
feature("tip_karst_distance_m", "tip", "places", "m", "举报位置到溶洞的距离", "distance from the reported place to a karst feature",
        "举报位置距溶洞 {value:,.0f} 米", "reported place {value:,.0f} m from a karst feature", direction=-1, min_reason=1000)
feature("tip_producers_within_1km", "tip", "tips", "count", "举报位置1公里内的产废单位数", "producers within 1 km of the reported place",
        "附近1公里有 {value:.0f} 家产废单位", "{value:.0f} producers within 1 km", direction=0)


def keyword_counts(text: pd.Series) -> pd.DataFrame:
    t = text.fillna("").astype("str")
    return pd.DataFrame({f"tip_mentions_{g}": sum(t.str.count(w) for w in words).astype(float) for g, words in KEYWORDS.items()},
                        index=text.index)


def _pairs_within(lat: np.ndarray, lon: np.ndarray, times: np.ndarray, radius_m: float, days: float,
                  lat2: np.ndarray, lon2: np.ndarray, times2: np.ndarray, before_only: bool) -> list[tuple[int, int]]:
    """Index pairs (i, j) with point j within radius of i and time j in [t_i - days, t_i] (or +-days)."""
    if len(lat) == 0 or len(lat2) == 0:
        return []
    order = np.argsort(times2, kind="stable")
    t2 = times2[order]
    span = np.timedelta64(int(days * 86400), "s")
    lo = np.searchsorted(t2, times - span, side="left")
    hi = np.searchsorted(t2, times if before_only else times + span, side="right")
    out = []
    for i in range(len(lat)):
        if np.isnan(lat[i]) or hi[i] <= lo[i]:
            continue
        js = order[lo[i]:hi[i]]
        d = haversine_m(lat[i], lon[i], lat2[js], lon2[js])
        out.extend((i, int(j)) for j in js[d <= radius_m])
    return out


def tip_features(tips: pd.DataFrame, enterprises: pd.DataFrame, places: PlaceIndex | None,
                 offsite_stops: pd.DataFrame | None, as_of) -> pd.DataFrame:
    """Tip features by tip_id for tips received on or before ``as_of``.

    ``offsite_stops`` (vehicle_id, start, end, lat, lon, night) are stops of waste vehicles away from
    registered sites, already restricted to as_of; stops in the 7 days up to each tip corroborate it.
    """
    t = known(tips, "received_at", as_of).reset_index(drop=True)
    out = pd.DataFrame(index=pd.Index(t["tip_id"], name="tip_id"))
    kw = keyword_counts(t["text"])
    kw.index = out.index
    out = out.join(kw)
    for ch in CHANNELS:
        out[f"tip_channel_{ch}"] = (t["channel"] == ch).astype(float).to_numpy()
    out["tip_text_length"] = t["text"].fillna("").str.len().astype(float).to_numpy()
    has_loc = (t["lat"].notna() & t["lon"].notna()).to_numpy()
    out["tip_has_location"] = has_loc.astype(float)
    out["tip_names_enterprise"] = t["enterprise_id"].notna().astype(float).to_numpy()
    out["tip_names_enterprise@enterprise_id"] = t["enterprise_id"].to_numpy()
    lat, lon = t["lat"].to_numpy(dtype=float), t["lon"].to_numpy(dtype=float)
    times = t["received_at"].to_numpy()
    # near-duplicates: other tips within 3 km and 7 days either side (known at as_of)
    pairs = _pairs_within(lat, lon, times, DUPLICATE_RADIUS_M, DUPLICATE_DAYS, lat, lon, times, before_only=False)
    similar = np.zeros(len(t))
    group = np.arange(len(t))
    for i, j in pairs:
        if i != j:
            similar[i] += 1
            group[max(i, j)] = min(group[max(i, j)], group[min(i, j)])
    out["tip_similar_7d"] = similar
    out["tip_similar_7d@group"] = t["tip_id"].to_numpy()[group]
    # corroboration by vehicle stops
    n_stops = np.zeros(len(t))
    n_night = np.zeros(len(t))
    nearest = np.full(len(t), np.nan)
    ev_vehicle = np.array([None] * len(t), dtype=object)
    ev_when = np.array([None] * len(t), dtype=object)
    vehicles_near: list[set] = [set() for _ in range(len(t))]
    if offsite_stops is not None and len(offsite_stops):
        s = offsite_stops.reset_index(drop=True)
        sp = _pairs_within(lat, lon, times, CORROBORATION_RADIUS_M, CORROBORATION_DAYS,
                           s["lat"].to_numpy(float), s["lon"].to_numpy(float), s["start"].to_numpy(), before_only=True)
        night = s["night"].to_numpy(bool) if "night" in s else np.zeros(len(s), bool)
        for i, j in sp:
            n_stops[i] += 1
            n_night[i] += night[j]
            d = float(haversine_m(lat[i], lon[i], s.at[j, "lat"], s.at[j, "lon"]))
            vehicles_near[i].add(str(s.at[j, "vehicle_id"]))
            if np.isnan(nearest[i]) or d < nearest[i]:
                nearest[i] = d
                ev_vehicle[i] = str(s.at[j, "vehicle_id"])
                ev_when[i] = s.at[j, "start"]
    out["tip_stops_nearby_7d"] = np.where(has_loc, n_stops, np.nan)
    out["tip_stops_nearby_7d@vehicle_id"] = ev_vehicle
    out["tip_stops_nearby_7d@when"] = ev_when
    out["tip_night_stops_nearby_7d"] = np.where(has_loc, n_night, np.nan)
    out["tip_nearest_stop_m"] = nearest
    out["tip_stops_nearby_7d@vehicle_ids"] = [";".join(sorted(v)) for v in vehicles_near]
    if places is not None and has_loc.any():
        out["tip_water_distance_m"] = np.where(has_loc, places.water_distance(np.nan_to_num(lat), np.nan_to_num(lon)), np.nan)
        out["tip_karst_distance_m"] = np.where(has_loc, places.distance("karst", np.nan_to_num(lat), np.nan_to_num(lon)), np.nan)
        out.loc[~np.isfinite(out["tip_water_distance_m"]), "tip_water_distance_m"] = np.nan
        out.loc[~np.isfinite(out["tip_karst_distance_m"]), "tip_karst_distance_m"] = np.nan
    else:
        out["tip_water_distance_m"] = np.nan
        out["tip_karst_distance_m"] = np.nan
    producers = enterprises[enterprises["roles"].astype("str").str.contains("producer")]
    near = _pairs_within(lat, lon, np.zeros(len(t), dtype="datetime64[s]"), 1000.0, 1.0,
                         producers["lat"].to_numpy(float), producers["lon"].to_numpy(float),
                         np.zeros(len(producers), dtype="datetime64[s]"), before_only=False)
    counts = np.zeros(len(t))
    near_ids: list[set] = [set() for _ in range(len(t))]
    pid = producers["enterprise_id"].to_numpy()
    for i, j in near:
        counts[i] += 1
        near_ids[i].add(str(pid[j]))
    out["tip_producers_within_1km"] = np.where(has_loc, counts, np.nan)
    named = t["enterprise_id"].astype("object").where(t["enterprise_id"].notna(), None).to_numpy()
    out["tip_names_enterprise@enterprise_ids"] = [";".join(sorted(({n} if n else set()) | ids)) for n, ids in zip(named, near_ids, strict=True)]
    return out


def tip_local_projection(enterprises: pd.DataFrame) -> LocalProjection:
    return LocalProjection.around(enterprises["lat"].to_numpy(), enterprises["lon"].to_numpy())


feature("tip_text_score", "tip", "tips", "share", "举报文字与以往查实举报的相似度（字符n元模型）",
        "how much the text resembles tips that were confirmed (character n-gram model)",
        "举报内容与以往查实的线索相似（{value:.0%}）", "the wording resembles confirmed tips ({value:.0%})",
        direction=1, min_reason=0.5)
