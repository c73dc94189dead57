"""Candidate illegal sites (contract §4 ``site_leads``): where waste vehicles stop away from every
registered enterprise, clustered into places and scored by rule.

Stops more than 300 m from every registered enterprise, started in the 365 days to as_of, are
clustered with DBSCAN (haversine, eps 200 m, two stops make a cluster; a lone stop is a site of
its own). Labels for sites rarely exist, so the score is a documented rule, not a model:

    carrying   = max(loaded share, linked share)   visits with a manifest load on board, or made within
                                                   12 h after the same vehicle's off-book producer visit
    place      = max(e^(-water_m/250), e^(-karst_m/250), 1 if in a protected area)
    repetition = 1 - e^(-(visits - 1)/4)
    crowd      = min(max(vehicles - 2, 0) / 4, 1)   many different vehicles: a public place
    z = -4 + 2.0·carrying + 1.5·night share (visits under 4 h whose middle is 22:00–06:00) + 2.0·place + 1.0·repetition + 1.5·shortfall share - 1.5·crowd
    score = 1 / (1 + e^-z)

``shortfall share`` is the share of visits whose manifest arrived lighter (> 2% short) or was not
confirmed 30 days after departure. Being away from an enterprise alone scores 0.02; a service
area used by many vehicles by day stays low; repeated night visits with loads by the river or a
sinkhole score near 1.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN

from features.catalogue import feature
from features.geo import EARTH_RADIUS_M, PlaceIndex
from features.timeutil import cutoff
from features.trips import NEAR_PROTECTED_M

SITE_EPS_M = 200.0
LINK_WINDOW_H = 12.0  # an off-book producer visit this long before a stop links the stop to the producer
LONG_STAY_H = 4.0  # longer stays are parking, not a night drop: they do not count as night visits
SITE_MIN_SAMPLES = 2
SHORTFALL_SHARE = 0.02  # honest weighing differences
UNCONFIRMED_DAYS = 30
W = {"intercept": -4.0, "carrying": 2.0, "night": 1.5, "place": 2.0, "repetition": 1.0, "shortfall": 1.5, "crowd": -1.5}

feature("site_visits_365d", "site", "trajectories", "count", "近12个月运输车辆在此停留次数",
        "stops of waste vehicles here, last 12 months", "近12个月 {value:.0f} 次停留（{first_seen} 至 {last_seen}）",
        "{value:.0f} stops in 12 months ({first_seen} to {last_seen})", direction=1, min_reason=2)
feature("site_vehicles_365d", "site", "trajectories", "count", "近12个月在此停留的不同车辆数",
        "distinct vehicles that stopped here, last 12 months", "{value:.0f} 辆车到过此处（{vehicle_ids}）",
        "{value:.0f} vehicles stopped here ({vehicle_ids})", direction=0)
feature("site_transporters_365d", "site", "trajectories", "count", "在此停留车辆所属的不同运输单位数",
        "distinct carriers whose vehicles stopped here", "{value:.0f} 家运输单位的车辆到过此处",
        "vehicles of {value:.0f} carriers stopped here", direction=-1)
feature("site_night_share_365d", "site", "trajectories", "share", "夜间（22时至6时）短暂停留（4小时内）占比",
        "share of the stops that were short (under 4 h) and at night (22:00–06:00)", "{value:.0%} 的停留在夜间", "{value:.0%} of the stops at night",
        direction=1, min_reason=0.3)
feature("site_loaded_share_365d", "site", "trajectories", "share", "载有联单危废时的停留占比",
        "share of the stops made with a manifest load on board", "{value:.0%} 的停留发生在载货途中（如联单 {manifest_id}）",
        "{value:.0%} of the stops with a load on board (e.g. manifest {manifest_id})", direction=1, min_reason=0.3)
feature("site_shortfall_share_365d", "site", "trajectories", "share", "停留所属联单到货短少或超30天未确认的占比",
        "share of the stops whose manifest arrived short or was unconfirmed after 30 days",
        "{value:.0%} 的停留所属联单到货短少或未确认（如 {manifest_id}）",
        "{value:.0%} of the stops belong to manifests that arrived short or unconfirmed (e.g. {manifest_id})",
        direction=1, min_reason=0.2)
feature("site_linked_share_365d", "site", "trajectories", "share", "同车12小时内先无联单到过产废单位后来此停留的占比",
        "share of the stops made within 12 h after the same vehicle visited a producer off the books",
        "{value:.0%} 的停留前车辆12小时内无联单到过产废单位（{enterprise_ids}）",
        "{value:.0%} of the stops came within 12 h after an off-book producer visit ({enterprise_ids})",
        direction=1, min_reason=0.3)
feature("site_linked_producers_365d", "site", "trajectories", "count", "与此处停留关联的产废单位数（12小时内先无联单到访或联单产生单位）",
        "producers linked to the stops here (visited off the books in the 12 h before, or the load's producer)",
        "关联 {value:.0f} 家产废单位（{enterprise_ids}）", "linked to {value:.0f} producers ({enterprise_ids})",
        direction=1, min_reason=1)
feature("site_water_distance_m", "site", "trajectories", "m", "距最近河流、水库的距离（米）", "distance to the nearest river or reservoir (m)",
        "距{place} {value:.0f} 米", "{value:.0f} m from {place}", direction=-1, min_reason=500)
feature("site_karst_distance_m", "site", "trajectories", "m", "距最近岩溶地貌（溶洞、落水洞）的距离（米）",
        "distance to the nearest karst feature (m)", "距岩溶地貌 {value:.0f} 米", "{value:.0f} m from a karst feature",
        direction=-1, min_reason=500)
feature("site_protected_distance_m", "site", "trajectories", "m", "距最近保护区的距离（米，区内为0）",
        "distance to the nearest protected area (m, 0 inside)", "位于保护区内或距其 {value:.0f} 米",
        "inside or {value:.0f} m from a protected area", direction=-1, min_reason=NEAR_PROTECTED_M)
feature("site_dwell_h_365d", "site", "trajectories", "h", "近12个月在此停留的总时长（小时）", "total hours stopped here, last 12 months",
        "累计停留 {value:.1f} 小时", "{value:.1f} hours stopped here in total", direction=0)

SITE_FEATURES = ["site_visits_365d", "site_vehicles_365d", "site_transporters_365d", "site_night_share_365d",
                 "site_loaded_share_365d", "site_shortfall_share_365d", "site_linked_share_365d",
                 "site_linked_producers_365d", "site_water_distance_m", "site_karst_distance_m",
                 "site_protected_distance_m", "site_dwell_h_365d"]


def candidate_sites(stops: pd.DataFrame, trips: pd.DataFrame, places: PlaceIndex | None, as_of) -> pd.DataFrame:
    """Candidate sites by ``site_id`` from classified ``stops`` (all of them: producer visits link
    enterprises) and ``trips`` (for shortfalls): lat, lon (median of the stops), ``score`` in
    [0, 1], ``reasons`` (JSON list, Chinese, strongest first), ``vehicle_ids`` and
    ``enterprise_ids`` (``;``-separated), first/last seen, and the site features with evidence."""
    off = stops[~stops["registered"].to_numpy(bool)].copy()
    if off.empty:
        return _empty()
    off["short_night"] = off["night"].to_numpy(bool) & (off["duration_min"].to_numpy(float) <= LONG_STAY_H * 60)
    off["cluster"] = cluster_stops(off["lat"].to_numpy(float), off["lon"].to_numpy(float))
    off["linked"] = _linked_producers(off, stops)
    short = _shortfall(trips, as_of)
    off["shortfall"] = off["manifest_id"].isin(short.index[short.to_numpy(bool)]).to_numpy()
    g = off.groupby("cluster", sort=False)
    out = pd.DataFrame({"lat": g["lat"].median(), "lon": g["lon"].median()})
    out["site_visits_365d"] = g.size().astype(float)
    out["site_vehicles_365d"] = g["vehicle_id"].nunique().astype(float)
    out["site_transporters_365d"] = g["owner_id"].nunique().astype(float)
    out["site_night_share_365d"] = g["short_night"].mean()
    out["site_loaded_share_365d"] = g["loaded"].mean()
    out["site_shortfall_share_365d"] = g["shortfall"].mean()
    linked_share, producers, vehicles, owners = _cluster_sets(off, out.index)
    out["site_linked_share_365d"] = linked_share
    out["site_linked_producers_365d"] = producers.map(len).astype(float)
    out["site_dwell_h_365d"] = g["duration_min"].sum() / 60.0
    out["first_seen"] = g["start"].min()
    out["last_seen"] = g["end"].max()
    out["vehicle_ids"] = vehicles
    out["enterprise_ids"] = [";".join(sorted(set(p) | o)) for p, o in zip(producers, owners, strict=True)]
    lat, lon = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    if places is not None:
        river, rname = places.nearest("river", lat, lon)
        res, resname = places.nearest("reservoir", lat, lon)
        out["site_water_distance_m"] = np.minimum(river, res)
        out["site_water_distance_m@place"] = np.where(river <= res, np.asarray(rname, object), np.asarray(resname, object))
        out["site_karst_distance_m"] = places.distance("karst", lat, lon)
        out["site_protected_distance_m"] = places.distance("protected", lat, lon)
    else:
        for c in ("site_water_distance_m", "site_karst_distance_m", "site_protected_distance_m"):
            out[c] = np.inf
        out["site_water_distance_m@place"] = None
    for c in ("site_water_distance_m", "site_karst_distance_m", "site_protected_distance_m"):
        out[c] = out[c].where(np.isfinite(out[c]))
    top = off.sort_values(["suspicion", "start"], ascending=[False, False]).drop_duplicates("cluster").set_index("cluster")
    out["site_visits_365d@first_seen"] = out["first_seen"]
    out["site_visits_365d@last_seen"] = out["last_seen"]
    out["site_vehicles_365d@vehicle_ids"] = out["vehicle_ids"]
    out["site_loaded_share_365d@manifest_id"] = top["manifest_id"].reindex(out.index)
    short = off[off["shortfall"]].sort_values("start", ascending=False).drop_duplicates("cluster").set_index("cluster")
    out["site_shortfall_share_365d@manifest_id"] = short["manifest_id"].reindex(out.index)
    out["site_linked_share_365d@enterprise_ids"] = producers.map(";".join)
    out["site_linked_producers_365d@enterprise_ids"] = producers.map(";".join)
    out["score"], out["reasons"] = site_score(out)
    out["site_id"] = site_ids(lat, lon, out["site_visits_365d"].to_numpy())
    out = out.set_index("site_id").sort_values(["score", "site_visits_365d"], ascending=[False, False])
    return out


def _cluster_sets(off: pd.DataFrame, clusters: pd.Index) -> tuple[np.ndarray, pd.Series, pd.Series, list[set]]:
    """For each cluster in ``clusters``, in one pass over its stops: the share of stops linked to an
    off-book producer visit, the producers linked (visited, or the load's producer: a sorted list),
    the vehicles (``;``-joined, sorted) and the owners (a set). Ids are compared as text."""
    pos = clusters.get_indexer(off["cluster"].to_numpy())
    n = len(clusters)
    producers: list[set] = [set() for _ in range(n)]
    vehicles: list[set] = [set() for _ in range(n)]
    owners: list[set] = [set() for _ in range(n)]
    linked = np.zeros(len(off))
    for k, (p, link, made_by, vid, owner) in enumerate(zip(
            pos, off["linked"], off["m_producer_id"].to_numpy(object), off["vehicle_id"].astype("str").to_numpy(object),
            off["owner_id"].to_numpy(object), strict=True)):
        if link:
            producers[p] |= link
            linked[k] = 1.0
        if not pd.isna(made_by):
            producers[p].add(str(made_by))
        vehicles[p].add(vid)
        if not pd.isna(owner):
            owners[p].add(str(owner))
    share = np.bincount(pos, weights=linked, minlength=n) / np.bincount(pos, minlength=n)
    return (share, pd.Series([sorted(x) for x in producers], index=clusters, dtype=object),
            pd.Series([";".join(sorted(x)) for x in vehicles], index=clusters), owners)


def cluster_stops(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """DBSCAN labels (haversine, SITE_EPS_M, SITE_MIN_SAMPLES); each lone stop gets its own label."""
    if lat.size == 0:
        return np.empty(0, dtype=np.int64)
    x = np.radians(np.column_stack([lat, lon]))
    labels = DBSCAN(eps=SITE_EPS_M / EARTH_RADIUS_M, min_samples=SITE_MIN_SAMPLES, metric="haversine",
                    algorithm="ball_tree").fit_predict(x)
    noise = labels < 0
    labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
    return labels


def _linked_producers(off: pd.DataFrame, stops: pd.DataFrame) -> list[set]:
    """For each off-site stop, the producers its vehicle visited off the books (no manifest) in
    the LINK_WINDOW_H before it: waste that may be on board without papers."""
    prod = stops[stops["offbook"].to_numpy(bool)]
    out: list[set] = [set() for _ in range(len(off))]
    if prod.empty:
        return out
    day = off["start"].dt.normalize()
    left = pd.concat([pd.DataFrame({"i": np.arange(len(off)), "vehicle_id": off["vehicle_id"].astype(str).to_numpy(),
                                    "day": (day - pd.Timedelta(days=k)).to_numpy(), "start": off["start"].to_numpy()})
                      for k in range(int(np.ceil(LINK_WINDOW_H / 24.0)) + 1)])
    right = pd.DataFrame({"vehicle_id": prod["vehicle_id"].astype(str).to_numpy(), "day": prod["end"].dt.normalize().to_numpy(),
                          "p_end": prod["end"].to_numpy(), "producer": prod["at_enterprise_id"].astype(str).to_numpy()})
    m = left.merge(right, on=["vehicle_id", "day"])
    m = m[(m["p_end"] <= m["start"]) & (m["p_end"] >= m["start"] - pd.Timedelta(hours=LINK_WINDOW_H))]
    for i, p in zip(m["i"].to_numpy(), m["producer"].to_numpy(), strict=True):
        out[i].add(p)
    return out


def _shortfall(trips: pd.DataFrame, as_of) -> pd.Series:
    """By manifest_id: arrived more than 2% light, or not confirmed 30 days after departure, as of as_of."""
    if trips.empty:
        return pd.Series(dtype=bool)
    confirmed = trips["received_known"].notna() & trips["received_t"].notna()
    short = confirmed & (trips["received_t"] < trips["quantity_t"] * (1 - SHORTFALL_SHARE))
    overdue = ~confirmed & (trips["departed_at"] + pd.Timedelta(days=UNCONFIRMED_DAYS) < cutoff(as_of))
    return pd.Series((short | overdue).to_numpy(bool), index=trips["manifest_id"].to_numpy())


def site_score(sites: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The rule score (module docstring) and its reasons, strongest first (JSON lists, Chinese)."""
    water = sites["site_water_distance_m"].fillna(np.inf).to_numpy(float)
    karst = sites["site_karst_distance_m"].fillna(np.inf).to_numpy(float)
    prot = sites["site_protected_distance_m"].fillna(np.inf).to_numpy(float)
    parts = {
        "carrying": np.maximum(sites["site_loaded_share_365d"], sites["site_linked_share_365d"]).to_numpy(float),
        "night": sites["site_night_share_365d"].to_numpy(float),
        "place": np.maximum.reduce([np.exp(-water / 250.0), np.exp(-karst / 250.0), (prot <= NEAR_PROTECTED_M).astype(float)]),
        "repetition": 1.0 - np.exp(-(sites["site_visits_365d"].to_numpy(float) - 1.0) / 4.0),
        "shortfall": sites["site_shortfall_share_365d"].to_numpy(float),
        "crowd": np.clip((sites["site_vehicles_365d"].to_numpy(float) - 2.0) / 4.0, 0.0, 1.0),
    }
    z = W["intercept"] + sum(W[k] * v for k, v in parts.items())
    score = 1.0 / (1.0 + np.exp(-z))
    reasons = []
    for i in range(len(sites)):
        r = sites.iloc[i]
        said = []
        text = {
            "carrying": f"{r['site_loaded_share_365d']:.0%} 的停留载有联单危废，{r['site_linked_share_365d']:.0%} 在无联单到访产废单位之后12小时内",
            "night": f"{r['site_night_share_365d']:.0%} 的停留在夜间（22时至6时）",
            "place": _place_text(water[i], karst[i], prot[i], r.get("site_water_distance_m@place")),
            "repetition": f"{r['site_visits_365d']:.0f} 次停留，{r['site_vehicles_365d']:.0f} 辆车（{_day(r['first_seen'])} 至 {_day(r['last_seen'])}）",
            "shortfall": f"{r['site_shortfall_share_365d']:.0%} 的停留所属联单到货短少或未确认",
        }
        for k in sorted(text, key=lambda k: -W[k] * parts[k][i]):
            if W[k] * parts[k][i] >= 0.3:
                said.append(text[k])
        if not said:
            said.append(f"运输车辆在登记场所300米外停留 {r['site_visits_365d']:.0f} 次")
        reasons.append(json.dumps(said, ensure_ascii=False))
    return score, reasons


def _place_text(water: float, karst: float, prot: float, name) -> str:
    bits = []
    if np.isfinite(water):
        bits.append(f"距{name or '水体'} {water:.0f} 米")
    if np.isfinite(karst):
        bits.append(f"距岩溶地貌 {karst:.0f} 米")
    if prot <= NEAR_PROTECTED_M:
        bits.append("位于保护区内")
    return "，".join(bits) or "远离水体和岩溶"


def _day(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(lat: float, lon: float, precision: int = 7) -> str:
    """Standard geohash (precision 7 ≈ 150 m cells)."""
    lat_r, lon_r = [-90.0, 90.0], [-180.0, 180.0]
    bits, even, code, ch = 0, True, [], 0
    while len(code) < precision:
        rng, v = (lon_r, lon) if even else (lat_r, lat)
        mid = (rng[0] + rng[1]) / 2
        ch <<= 1
        if v >= mid:
            ch |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even = not even
        bits += 1
        if bits == 5:
            code.append(_BASE32[ch])
            bits, ch = 0, 0
    return "".join(code)


def site_ids(lat: np.ndarray, lon: np.ndarray, visits: np.ndarray) -> list[str]:
    """Stable ids from the site's location: ``S`` + geohash-7 of its centre; sites sharing a cell
    get ``-2``, ``-3`` … in order of visits, then position."""
    base = [f"S{geohash(a, b)}" for a, b in zip(lat, lon, strict=True)]
    order = sorted(range(len(base)), key=lambda i: (base[i], -visits[i], lat[i], lon[i]))
    out = [""] * len(base)
    seen: dict[str, int] = {}
    for i in order:
        k = seen.get(base[i], 0) + 1
        seen[base[i]] = k
        out[i] = base[i] if k == 1 else f"{base[i]}-{k}"
    return out


def _empty() -> pd.DataFrame:
    cols = ["lat", "lon", *SITE_FEATURES, "first_seen", "last_seen", "vehicle_ids", "enterprise_ids", "score", "reasons"]
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).rename_axis("site_id")
