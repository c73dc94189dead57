"""Tips (举报线索): what the text says, where and when, and what corroborates it.

Text features work on Chinese without a word segmenter: keyword groups matched as substrings here,
character n-grams in the tip model. Where a tip has no coordinates, the places and enterprises its
words name place it (``features.gazetteer``). Corroboration: waste vehicles that stopped away from
any registered site near the tip's place in the 14 days before it came in (night stops counted
apart), a plate the caller saw that belongs to one of them, and the named enterprise's own
evidence. Tips about one event are grouped (``features.tip_groups``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.contract import CHANNELS
from features.gazetteer import Gazetteer, plate_patterns, plates_matching
from features.geo import LocalProjection, PlaceIndex, haversine_m
from features.timeutil import known
from features.tip_groups import group_tips

CORROBORATION_RADIUS_M = 2000.0  # around coordinates; a named place adds its own uncertainty
CORROBORATION_DAYS = 14
DUPLICATE_DAYS = 14

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
feature("tip_has_location", "tip", "tips", "", "举报附有坐标", "the tip has coordinates", "附有坐标", "has coordinates", direction=0)
feature("tip_place_named", "tip", "tips", "", "举报内容点出可定位的地名（村、镇、溶洞、水库或企业）",
        "the words name a place that can be located (village, town, cave, reservoir or enterprise)",
        "举报点出地点：{place}", "names the place: {place}", direction=0)
feature("tip_names_water_place", "tip", "places", "count", "举报点名的河流、水库数", "rivers and reservoirs the tip names",
        "举报点名水体：{names}", "names water: {names}", direction=1, min_reason=1)
feature("tip_names_enterprise", "tip", "tips", "", "举报点名企业（填报或文中提及）", "the tip names an enterprise (field or words)",
        "点名企业 {enterprise_id}", "names enterprise {enterprise_id}", direction=1, min_reason=0.5)
feature("tip_similar_14d", "tip", "tips", "count", "同一事件的其他举报数（多人或多次举报，14天内同一地点或内容相同）",
        "other tips about the same event (same place within 14 days, or the same words)", "同一事件另有 {value:.0f} 条举报（{others}）",
        "{value:.0f} other tips about the same event ({others})", direction=1, min_reason=1)
feature("tip_stops_nearby_14d", "tip", "trajectories", "count", "举报前14天内举报地点附近运输车辆在非登记地点的停留次数",
        "stops of waste vehicles away from registered sites near the reported place in the 14 days before the tip",
        "举报前14天附近有 {value:.0f} 次危废车辆停留（如 {vehicle_id} 于 {when}）",
        "{value:.0f} waste-vehicle stops nearby in the 14 days before (e.g. {vehicle_id} at {when})", direction=1, min_reason=1)
feature("tip_night_stops_nearby_14d", "tip", "trajectories", "count", "举报前14天内举报地点附近运输车辆的夜间停留次数",
        "night stops of waste vehicles near the reported place in the 14 days before the tip", "其中夜间停留 {value:.0f} 次",
        "{value:.0f} of them at night", direction=1, min_reason=1)
feature("tip_plate_seen_nearby", "tip", "trajectories", "count", "举报人看到的车牌与附近停留车辆相符的车辆数",
        "vehicles that fit the plate the caller saw and stopped near the place", "举报所述车牌与 {vehicle_ids} 相符，且该车曾在附近停留",
        "the plate the caller saw fits {vehicle_ids}, which stopped nearby", direction=1, min_reason=1)
feature("tip_nearest_stop_m", "tip", "trajectories", "m", "最近一次附近车辆停留的距离", "distance to the nearest such stop",
        "最近停留点距举报位置 {value:,.0f} 米", "nearest stop {value:,.0f} m from the reported place", direction=-1, min_reason=2000)
feature("tip_water_distance_m", "tip", "places", "m", "举报位置到河流水库的距离", "distance from the reported place to a river or reservoir",
        "举报位置距水体 {value:,.0f} 米", "reported place {value:,.0f} m from water", direction=-1, min_reason=1000)
feature("tip_karst_distance_m", "tip", "places", "m", "举报位置到溶洞的距离", "distance from the reported place to a karst feature",
        "举报位置距溶洞 {value:,.0f} 米", "reported place {value:,.0f} m from a karst feature", direction=-1, min_reason=1000)
feature("tip_producers_within_1km", "tip", "tips", "count", "举报位置1公里内的产废单位数", "producers within 1 km of the reported place",
        "附近1公里有 {value:.0f} 家产废单位", "{value:.0f} producers within 1 km", direction=0)


def keyword_counts(text: pd.Series) -> pd.DataFrame:
    """Words of each keyword group in each text, counted as substrings without overlap (a missing
    text counts none). ``str.count`` per text and word: the keywords are literal (no pattern), and at
    intake the texts are a month of tips, where one Arrow call per word costs more than the counting."""
    texts = [v if isinstance(v, str) else ("" if pd.isna(v) else str(v)) for v in text.astype("object").to_numpy()]
    return pd.DataFrame({f"tip_mentions_{g}": np.array([float(sum(t.count(w) for w in words)) for t in texts], dtype=float)
                         for g, words in KEYWORDS.items()}, index=text.index)


def _pairs_within(lat: np.ndarray, lon: np.ndarray, times: np.ndarray, radius_m: float, days: float,
                  lat2: np.ndarray, lon2: np.ndarray, times2: np.ndarray, before_only: bool) -> list[tuple[int, int, float]]:
    """Index pairs (i, j) with point j within radius of i and time j in [t_i - days, t_i] (or +-days),
    each with its distance in metres."""
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
        ok = d <= radius_m
        out.extend((i, int(j), float(dj)) for j, dj in zip(js[ok], d[ok], strict=True))
    return out


def tip_places(t: pd.DataFrame, gazetteer: Gazetteer | None) -> pd.DataFrame:
    """Each tip's place: its coordinates (uncertainty ``CORROBORATION_RADIUS_M``), else the most
    precise place its words name; with the mentions found (enterprises, water, the place's name)."""
    n = len(t)
    lat, lon = t["lat"].to_numpy(dtype=float, copy=True), t["lon"].to_numpy(dtype=float, copy=True)
    has = np.isfinite(lat) & np.isfinite(lon)
    radius = np.where(has, CORROBORATION_RADIUS_M, np.nan)
    place = np.array([None] * n, dtype=object)
    named_place = np.zeros(n)
    water: list[list[str]] = [[] for _ in range(n)]
    ents: list[set] = [set() for _ in range(n)]
    if gazetteer is not None and len(gazetteer):
        counties = t["county"].astype("object").where(t["county"].notna(), None).to_numpy() if "county" in t else [None] * n
        for k, (text, county) in enumerate(zip(t["text"].to_numpy(), counties, strict=True)):
            mentions = gazetteer.find(text)
            if not mentions:
                continue
            ents[k] = {m.ref for m in mentions if m.kind == "enterprise"}
            water[k] = sorted({m.name for m in mentions if m.kind in ("river", "reservoir")})
            loc = gazetteer.locate(mentions, county)
            if loc is not None:
                named_place[k] = 1.0
                place[k] = loc[3]
                if not has[k]:
                    lat[k], lon[k], radius[k] = loc[0], loc[1], max(CORROBORATION_RADIUS_M, loc[2])
    return pd.DataFrame({"lat": lat, "lon": lon, "radius": radius, "place": place, "named_place": named_place,
                         "water": water, "ents": ents}, index=t.index)


def tip_features(tips: pd.DataFrame, enterprises: pd.DataFrame, places: PlaceIndex | None,
                 offsite_stops: pd.DataFrame | None, as_of, gazetteer: Gazetteer | None = None,
                 plates=None) -> pd.DataFrame:
    """Tip features by tip_id for tips received on or before ``as_of``.

    ``offsite_stops`` (vehicle_id, start, end, lat, lon, night) are stops of waste vehicles away from
    registered sites, already restricted to as_of; stops in the 14 days up to each tip corroborate it.
    ``gazetteer`` places tips by the names in their words; ``plates`` (the registered vehicles'
    plates) lets a plate the caller saw point at a vehicle.
    """
    t = known(tips, "received_at", as_of).reset_index(drop=True)
    out: dict[str, object] = {c: col.to_numpy() for c, col in keyword_counts(t["text"]).items()}  # one frame at the end
    for ch in CHANNELS:
        out[f"tip_channel_{ch}"] = (t["channel"] == ch).astype(float).to_numpy()
    out["tip_text_length"] = t["text"].fillna("").str.len().astype(float).to_numpy()
    has_coords = (t["lat"].notna() & t["lon"].notna()).to_numpy()
    out["tip_has_location"] = has_coords.astype(float)
    where = tip_places(t, gazetteer)
    lat, lon, radius = where["lat"].to_numpy(float), where["lon"].to_numpy(float), where["radius"].to_numpy(float)
    has_place = np.isfinite(lat) & np.isfinite(lon)
    out["tip_place_named"] = where["named_place"].to_numpy()
    out["tip_place_named@place"] = where["place"].to_numpy()
    out["tip_place_named@lat"] = np.where(has_place, lat, np.nan)  # the place corroboration searched around
    out["tip_place_named@lon"] = np.where(has_place, lon, np.nan)
    out["tip_place_named@radius_m"] = radius
    out["tip_names_water_place"] = [float(len(w)) for w in where["water"]]
    out["tip_names_water_place@names"] = ["、".join(w) for w in where["water"]]
    field = t["enterprise_id"].astype("object").where(t["enterprise_id"].notna(), None).to_numpy()
    named = [({f} if f else set()) | e for f, e in zip(field, where["ents"], strict=True)]
    out["tip_names_enterprise"] = np.array([float(bool(x)) for x in named])
    out["tip_names_enterprise@enterprise_id"] = [f if f else (sorted(x)[0] if x else None) for f, x in zip(field, named, strict=True)]
    times = t["received_at"].to_numpy()
    # one event, several tips
    group = group_tips(times, lat, lon, np.nan_to_num(radius, nan=CORROBORATION_RADIUS_M), t["text"].tolist(), named)
    ids = t["tip_id"].to_numpy()
    sizes = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
    out["tip_similar_14d"] = (sizes - 1).astype(float)
    out["tip_similar_14d@group"] = ids[group]
    members = pd.Series(ids).groupby(group).agg(list)
    out["tip_similar_14d@others"] = ["、".join([x for x in members[g] if x != me][:5]) for g, me in zip(group, ids, strict=True)]
    # corroboration by vehicle stops near the place in the days before the tip
    n_stops = np.zeros(len(t))
    n_night = np.zeros(len(t))
    nearest = np.full(len(t), np.nan)
    ev_vehicle = np.array([None] * len(t), dtype=object)
    ev_when = np.array([None] * len(t), dtype=object)
    vehicles_near: list[set] = [set() for _ in range(len(t))]
    if offsite_stops is not None and len(offsite_stops) and has_place.any():
        s = offsite_stops.reset_index(drop=True)
        slat, slon = s["lat"].to_numpy(float), s["lon"].to_numpy(float)
        sp = _pairs_within(lat, lon, times, float(np.nanmax(radius)), CORROBORATION_DAYS, slat, slon, s["start"].to_numpy(),
                           before_only=True)
        night = s["night"].to_numpy(bool) if "night" in s else np.zeros(len(s), bool)
        svid = s["vehicle_id"].astype(str).to_numpy()
        for i, j, d in sp:
            if d > radius[i]:
                continue
            n_stops[i] += 1
            n_night[i] += night[j]
            vehicles_near[i].add(svid[j])
            if np.isnan(nearest[i]) or d < nearest[i]:
                nearest[i] = d
                ev_vehicle[i] = svid[j]
                ev_when[i] = s.at[j, "start"]
    out["tip_stops_nearby_14d"] = np.where(has_place, n_stops, np.nan)
    out["tip_stops_nearby_14d@vehicle_id"] = ev_vehicle
    out["tip_stops_nearby_14d@when"] = ev_when
    out["tip_night_stops_nearby_14d"] = np.where(has_place, n_night, np.nan)
    out["tip_nearest_stop_m"] = nearest
    # a plate the caller saw, among the vehicles that stopped nearby
    plate_hits = [set() for _ in range(len(t))]
    if plates is not None and len(plates):
        arr = np.asarray(plates, dtype=object)
        for i, text in enumerate(t["text"].to_numpy()):
            pats = plate_patterns(text)
            if pats and vehicles_near[i]:
                plate_hits[i] = plates_matching(pats, np.array(sorted(vehicles_near[i]), dtype=object)) & set(arr)
    out["tip_plate_seen_nearby"] = [float(len(h)) for h in plate_hits]
    out["tip_plate_seen_nearby@vehicle_ids"] = [";".join(sorted(h)) for h in plate_hits]
    # the plate's vehicles first, then the others, nearest first
    out["tip_stops_nearby_14d@vehicle_ids"] = [";".join(sorted(h) + sorted(v - h)) for h, v in zip(plate_hits, vehicles_near, strict=True)]
    if places is not None and has_place.any():
        la, lo = np.nan_to_num(lat), np.nan_to_num(lon)
        out["tip_water_distance_m"] = np.where(has_place, places.water_distance(la, lo), np.nan)
        out["tip_karst_distance_m"] = np.where(has_place, places.distance("karst", la, lo), np.nan)
        for c in ("tip_water_distance_m", "tip_karst_distance_m"):
            out[c] = np.where(np.isfinite(out[c]), out[c], np.nan)
    else:
        out["tip_water_distance_m"] = np.nan
        out["tip_karst_distance_m"] = np.nan
    producers = enterprises[enterprises["roles"].astype("str").str.contains("producer")]
    # producers near a tip's own coordinates (a named village is too coarse to say which plant)
    clat, clon = np.where(has_coords, lat, np.nan), np.where(has_coords, lon, np.nan)
    near = _pairs_within(clat, clon, np.zeros(len(t), dtype="datetime64[s]"), 1000.0, 1.0,
                         producers["lat"].to_numpy(float), producers["lon"].to_numpy(float),
                         np.zeros(len(producers), dtype="datetime64[s]"), before_only=False)
    counts = np.zeros(len(t))
    near_ids: list[set] = [set() for _ in range(len(t))]
    pid = producers["enterprise_id"].to_numpy()
    for i, j, _d in near:
        counts[i] += 1
        near_ids[i].add(str(pid[j]))
    out["tip_producers_within_1km"] = np.where(has_coords, counts, np.nan)
    out["tip_names_enterprise@enterprise_ids"] = [";".join(sorted(x | ids_)) for x, ids_ in zip(named, near_ids, strict=True)]
    return pd.DataFrame(out, index=pd.Index(t["tip_id"], name="tip_id"))


def tip_local_projection(enterprises: pd.DataFrame) -> LocalProjection:
    return LocalProjection.around(enterprises["lat"].to_numpy(), enterprises["lon"].to_numpy())


feature("tip_text_score", "tip", "tips", "share", "举报文字与以往查实举报的相似度（字符n元模型）",
        "how much the text resembles tips that were confirmed (character n-gram model)",
        "举报内容与以往查实的线索相似（{value:.0%}）", "the wording resembles confirmed tips ({value:.0%})",
        direction=1, min_reason=0.5)
