"""Driving events → one row per registered vehicle: counts by category (contract §4's
``*_events`` columns), a rule score in [0, 1], reasons in Chinese and English, and totals per carrier.

The score weighs each category by how serious and how repeated it is: for each category, the
worst event of each day counts once (a bad day is one day, however many fixes it took), scaled by
its severity (how far over the limit, how long, how far the silent vehicle moved); categories
add up with weights, and ``1 - exp(-total / SCORE_SCALE)`` maps the sum into [0, 1). An honest
driver's occasional brush with a limit scores low; a vehicle that violates on many days, by wide
margins, in several ways, scores high. The plain count of events is kept beside it
(``event_count``) for comparison (experiments/RESULTS_VEHICLES.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.driving import CATEGORIES

COUNT_COLUMNS = {c: f"{c}_events" for c in CATEGORIES}
CONTRACT_COUNTS = ["speeding_events", "fatigue_events", "restricted_events", "silent_events"]
WEIGHTS = {"speeding": 1.0, "fatigue": 1.0, "restricted": 1.5, "silent": 1.0, "unpermitted": 2.0}
SCORE_SCALE = 4.0
LABEL_ZH = {"speeding": "超速", "fatigue": "疲劳驾驶", "restricted": "禁限行区域行驶", "silent": "终端离线",
            "unpermitted": "无资质承运危险废物"}
LABEL_EN = {"speeding": "speeding", "fatigue": "fatigue", "restricted": "restricted zone", "silent": "terminal silent",
            "unpermitted": "carrying waste without a hazmat permit"}


def severity(ev: pd.DataFrame) -> np.ndarray:
    """How serious each event is, in [0, 1]: speeding by the square of the share over the limit (30%
    over is 1, 10% over 0.11, 3% over 0.01: the honest near miss counts little) and its length; fatigue by the hours past the limit (2 h past 4 at a stretch, or 4 h past 8 in a day,
    is 1), halved when no driver is recorded (two drivers taking turns cannot be told from one tired
    one by the vehicle alone); a restricted zone by minutes inside; a silence
    by the distance moved, or, under a manifest, by its length; carrying without a permit: 1."""
    v = ev["value"].to_numpy(float)
    lim = pd.to_numeric(ev["limit"], errors="coerce").to_numpy(float)
    minutes = (ev["end"] - ev["start"]).dt.total_seconds().to_numpy(float) / 60.0
    cat, kind = ev["category"].to_numpy(object), ev["kind"].to_numpy(object)
    km = ev["distance_km"].to_numpy(float) if "distance_km" in ev else np.full(len(ev), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.select(
            [cat == "speeding", cat == "fatigue", cat == "restricted", (cat == "silent") & (kind == "manifest"), cat == "silent"],
            [np.clip((v / lim - 1.0) / 0.3, 0.0, 1.0) ** 2 * (0.5 + 0.5 * np.clip(minutes / 5.0, 0.0, 1.0)),
             np.clip(np.where(kind == "continuous", (v - lim) / 2.0, (v - lim) / 4.0), 0.1, 1.0)
             * np.where(pd.notna(ev["driver_id"]).to_numpy(), 1.0, 0.5),
             0.5 + 0.5 * np.clip(minutes / 10.0, 0.0, 1.0),
             np.clip(v / 60.0, 0.3, 1.0),
             np.clip(np.nan_to_num(km) / 20.0, 0.1, 1.0)],
            default=1.0)
    return np.nan_to_num(out, nan=0.1)


def vehicle_table(events: pd.DataFrame, vehicles: pd.DataFrame, enterprises: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per registered vehicle (index ``vehicle_id``): ``transporter_id``, ``<category>_events``,
    ``event_count`` (the four contract categories), ``driving_score``, ``reasons_zh``/``reasons_en``
    (lists, strongest first) and ``worst_event_ids`` (the events the reasons cite)."""
    v = vehicles.assign(vehicle_id=vehicles["vehicle_id"].astype("str")).drop_duplicates("vehicle_id").set_index("vehicle_id")
    out = pd.DataFrame(index=pd.Index(v.index, name="vehicle_id"))
    out["transporter_id"] = v["transporter_id"].astype("str")
    ev = events[events["vehicle_id"].isin(out.index)].copy()
    ev["severity"] = severity(ev) if len(ev) else np.empty(0)
    ev["day"] = ev["start"].dt.floor("D")
    for cat, col in COUNT_COLUMNS.items():
        out[col] = ev[ev["category"] == cat].groupby("vehicle_id").size().reindex(out.index).fillna(0).astype("int64")
    out["event_count"] = out[CONTRACT_COUNTS].sum(axis=1)
    daily = ev.groupby(["vehicle_id", "category", "day"])["severity"].max().groupby(level=[0, 1]).sum()
    contrib = daily.unstack("category").reindex(index=out.index, columns=list(CATEGORIES)).fillna(0.0)
    total = sum(contrib[c] * WEIGHTS[c] for c in CATEGORIES)
    out["driving_score"] = (1.0 - np.exp(-total / SCORE_SCALE)).astype("float64")
    names = _names(enterprises)
    zh, en, worst = _reasons(out, ev, contrib, names)
    out["reasons_zh"], out["reasons_en"], out["worst_event_ids"] = zh, en, worst
    return out


def carrier_totals(vehicle: pd.DataFrame) -> pd.DataFrame:
    """Per carrier (index ``transporter_id``): registered vehicles, vehicles with events, events by
    category, the highest and mean vehicle score and the vehicle with the highest."""
    if vehicle.empty:
        return pd.DataFrame(columns=["vehicles", "vehicles_with_events", *COUNT_COLUMNS.values(), "event_count",
                                     "max_score", "mean_score", "top_vehicle_id"])
    v = vehicle.reset_index()
    v["with_events"] = v[list(COUNT_COLUMNS.values())].sum(axis=1) > 0
    g = v.groupby("transporter_id")
    out = pd.DataFrame({"vehicles": g.size(), "vehicles_with_events": g["with_events"].sum().astype("int64")})
    for col in [*COUNT_COLUMNS.values(), "event_count"]:
        out[col] = g[col].sum().astype("int64")
    out["max_score"] = g["driving_score"].max()
    out["mean_score"] = g["driving_score"].mean()
    top = v.sort_values(["driving_score", "vehicle_id"], ascending=[False, True]).drop_duplicates("transporter_id")
    out["top_vehicle_id"] = top.set_index("transporter_id")["vehicle_id"].reindex(out.index)
    return out.sort_values(["max_score", "event_count"], ascending=False)


def _names(enterprises: pd.DataFrame | None) -> pd.Series:
    if enterprises is None or "name" not in enterprises:
        return pd.Series(dtype=object)
    return enterprises.drop_duplicates("enterprise_id").set_index("enterprise_id")["name"].astype(str)


def _when(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M")


def _say(cat: str, n: int, days: int, e: pd.Series, n_manifest: int) -> tuple[str, str]:
    """One category's reason: the count and its worst event, with time and place."""
    when, place = _when(e["start"]), (e["place"] if isinstance(e["place"], str) and e["place"] else "")
    drv_zh = f"，驾驶员 {e['driver_id']}" if isinstance(e["driver_id"], str) and e["driver_id"] else ""
    drv_en = f", driver {e['driver_id']}" if drv_zh else ""
    if cat == "speeding":
        where_zh, where_en = (f"在{place}" if place else "在一般道路"), (f"on {place}" if place else "off mapped roads")
        return (f"近90天超速 {n} 次（{days} 天），最严重 {when} {where_zh}时速 {e['value']:.0f} 公里（限速 {float(e['limit']):.0f}）{drv_zh}",
                f"speeding {n} times on {days} days in 90; worst {when} {where_en} at {e['value']:.0f} km/h "
                f"(limit {float(e['limit']):.0f}){drv_en}")
    if cat == "fatigue":
        how_zh, how_en = ("连续驾驶", "continuous driving") if e["kind"] == "continuous" else ("当日累计驾驶", "driving in the day")
        return (f"疲劳驾驶 {n} 次，最长 {when} 起{how_zh} {e['value']:.1f} 小时（限 {float(e['limit']):g} 小时）{drv_zh}",
                f"fatigue {n} times; longest {how_en} {e['value']:.1f} h from {when} (limit {float(e['limit']):g} h){drv_en}")
    if cat == "restricted":
        return (f"禁限行区域内行驶 {n} 次，如 {when} 在{place}（限行时段 {e['limit']}）{e['value']:.0f} 分钟",
                f"driving in restricted zones {n} times, e.g. {when} in {place} (restricted {e['limit']}) for {e['value']:.0f} min")
    if cat == "silent":
        km = f"，其间移动 {e['distance_km']:.1f} 公里" if pd.notna(e.get("distance_km")) else ""
        km_en = f", moved {e['distance_km']:.1f} km" if km else ""
        mid = f"，联单 {e['manifest_id']}" if isinstance(e.get("manifest_id"), str) else ""
        mid_en = f", manifest {e['manifest_id']}" if mid else ""
        return (f"终端离线 {n} 次（其中载货途中 {n_manifest} 次），最严重 {when} 起 {e['value'] / 60:.1f} 小时{km}{mid}",
                f"terminal silent {n} times ({n_manifest} with a load); worst {e['value'] / 60:.1f} h from {when}{km_en}{mid_en}")
    return (f"无危险货物运输资质车辆承运危险废物 {n} 次（如 {when} 联单 {e.get('manifest_id')}）",
            f"carried hazardous waste without a hazmat permit {n} times (e.g. {when}, manifest {e.get('manifest_id')})")


def _reasons(out: pd.DataFrame, ev: pd.DataFrame, contrib: pd.DataFrame, names: pd.Series) -> tuple[list, list, list]:
    """Reasons per vehicle: categories by their part of the score, then the carrier's other violating vehicles."""
    worst = ev.sort_values(["severity", "start"], ascending=[False, False]).drop_duplicates(["vehicle_id", "category"])
    worst = worst.set_index(["vehicle_id", "category"])
    days = ev.groupby(["vehicle_id", "category"])["day"].nunique()
    n_manifest = ev[(ev["category"] == "silent") & (ev["kind"] == "manifest")].groupby("vehicle_id").size()
    flagged = out.index[out[list(COUNT_COLUMNS.values())].sum(axis=1).to_numpy() > 0]
    peers = out.loc[flagged].reset_index().groupby("transporter_id")["vehicle_id"].agg(list)
    zh_all, en_all, ids_all = [], [], []
    for vid, row in out.iterrows():
        zh, en, ids = [], [], []
        order = (contrib.loc[vid] * pd.Series(WEIGHTS)).sort_values(ascending=False, kind="stable")
        for cat in order.index:
            n = int(row[COUNT_COLUMNS[cat]])
            if n == 0:
                continue
            e = worst.loc[(vid, cat)]
            a, b = _say(cat, n, int(days.get((vid, cat), 0)), e, int(n_manifest.get(vid, 0)))
            zh.append(a)
            en.append(b)
            ids.append(str(e["event_id"]))
        others = [p for p in peers.get(row["transporter_id"], []) if p != vid]
        if zh and others:
            carrier = names.get(row["transporter_id"], row["transporter_id"])
            shown = "、".join(others[:3]) + ("等" if len(others) > 3 else "")
            zh.append(f"所属运输企业 {carrier} 另有 {len(others)} 辆车有违规（{shown}）")
            en.append(f"{len(others)} other vehicles of carrier {row['transporter_id']} also have violations ({', '.join(others[:3])})")
        zh_all.append(zh or ["近90天未发现驾驶违规"])
        en_all.append(en or ["no driving violation in the last 90 days"])
        ids_all.append(";".join(ids))
    return zh_all, en_all, ids_all


LEAD_COLUMNS = ["as_of", "vehicle_id", "transporter_id", "score", "rank", "reasons", "speeding_events", "fatigue_events",
                "restricted_events", "silent_events"]


def ranked_vehicles(vehicle: pd.DataFrame, as_of) -> pd.DataFrame:
    """The vehicle lead list of contract §4 (``LEAD_COLUMNS``) plus ``reasons_en``,
    ``unpermitted_events``, ``event_count`` and ``worst_event_ids``: every registered vehicle, rank 1
    the highest score (ties: more events, then vehicle_id); reasons as JSON lists, strongest first."""
    import json

    cols = ["transporter_id", "driving_score", "reasons_zh", "reasons_en", *COUNT_COLUMNS.values(), "event_count", "worst_event_ids"]
    v = vehicle.reindex(columns=cols).reset_index()
    v = v.sort_values(["driving_score", "event_count", "vehicle_id"], ascending=[False, False, True], kind="stable",
                      ignore_index=True)
    v.insert(0, "as_of", pd.Timestamp(as_of).strftime("%Y-%m-%d"))
    v["rank"] = np.arange(1, len(v) + 1)
    v["score"] = v.pop("driving_score").astype("float64").clip(0.0, 1.0)
    v["reasons"] = [json.dumps(r, ensure_ascii=False) for r in v.pop("reasons_zh")]
    v["reasons_en"] = [json.dumps(r, ensure_ascii=False) for r in v["reasons_en"]]
    return v[LEAD_COLUMNS + ["reasons_en", "unpermitted_events", "event_count", "worst_event_ids"]]
