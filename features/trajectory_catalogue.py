"""The trajectory features' catalogue entries: what each stop and trip feature counts, by enterprise
and by vehicle, in which windows, and the reason a lead quotes (``features.catalogue``). The
features themselves are computed in ``features.trajectory_features``."""

from __future__ import annotations

from features.catalogue import feature
from features.trips import NEAR_KARST_M, NEAR_PROTECTED_M, NEAR_WATER_M

WINDOW_ZH = {30: "近30天", 90: "近90天", 365: "近12个月"}
WINDOW_EN = {30: "last 30 days", 90: "last 90 days", 365: "last 12 months"}
ENTERPRISE_STOP_FEATURES = {
    # name stem: (windows, zh description, en description, zh reason, en reason)
    "night_stops_near_water": (
        (30, 90, 365), "关联车辆夜间（22时至6时）在河流、水库{m}米内的停留次数",
        "stops by its vehicles at night (22:00–06:00) within {m} m of a river or reservoir",
        "{w}{value:.0f} 次夜间水边停留（如 {when} 车辆 {vehicle_id} 在{place}旁 {dist_m} 米停 {minutes} 分钟，联单 {manifest_id}）",
        "{value:.0f} night stops by water, {w} (e.g. {when}, vehicle {vehicle_id}, {dist_m} m from {place}, {minutes} min, manifest {manifest_id})"),
    "offsite_stops_loaded": (
        (30, 90, 365), "载有联单危废途中在登记场所{r}米以外的停留次数",
        "stops with a manifest load on board more than {r} m from any registered enterprise",
        "{w}{value:.0f} 次载货途中在非登记地点停留（如 {when} 车辆 {vehicle_id} 在 {where} 停 {minutes} 分钟，联单 {manifest_id}）",
        "{value:.0f} stops with a load away from registered sites, {w} (e.g. {when}, vehicle {vehicle_id} at {where}, {minutes} min, manifest {manifest_id})"),
    "offbook_pickups": (
        (30, 90, 365), "车辆到访产废单位但前后{h}小时内无该车该单位联单的次数（疑似无联单拉运）",
        "visits of vehicles to a producer with no manifest of that vehicle and producer within {h} hours (off-book pickups)",
        "{w}{value:.0f} 次无联单到厂拉运嫌疑（如 {when} 车辆 {vehicle_id} 在 {where} 停 {minutes} 分钟）",
        "{value:.0f} producer visits without a manifest, {w} (e.g. {when}, vehicle {vehicle_id} at {where}, {minutes} min)"),
    "offsite_stops_near_karst": (
        (90, 365), "关联车辆在岩溶（溶洞、落水洞）{k}米内的停留次数",
        "stops by its vehicles within {k} m of a karst feature (caves, sinkholes)",
        "{w}{value:.0f} 次在岩溶地貌旁停留（如 {when} 车辆 {vehicle_id} 在 {where}，距 {dist_m} 米）",
        "{value:.0f} stops by karst features, {w} (e.g. {when}, vehicle {vehicle_id} at {where}, {dist_m} m away)"),
    "unpermitted_vehicle_visits": (
        (90, 365), "无危险货物运输资质的车辆到访产废单位的次数",
        "visits to producers by vehicles without a hazmat permit",
        "{w}{value:.0f} 次无危货资质车辆到厂（如 {when} 车辆 {vehicle_id}）",
        "{value:.0f} producer visits by vehicles without a hazmat permit, {w} (e.g. {when}, vehicle {vehicle_id})"),
    "stops_in_protected_area": (
        (365,), "关联车辆在自然保护区、水源保护区内（{p}米内）的停留次数",
        "stops by its vehicles inside (within {p} m of) a protected area",
        "{w}{value:.0f} 次在保护区内停留（如 {when} 车辆 {vehicle_id} 在 {where}）",
        "{value:.0f} stops inside protected areas, {w} (e.g. {when}, vehicle {vehicle_id} at {where})"),
}
FMT = {"m": int(NEAR_WATER_M), "r": 300, "h": 6, "k": int(NEAR_KARST_M), "p": int(NEAR_PROTECTED_M)}
for _stem, (_windows, _zh, _en, _rzh, _ren) in ENTERPRISE_STOP_FEATURES.items():
    for _w in _windows:
        for _prefix, _entity in (("", "enterprise"), ("vehicle_", "vehicle")):
            feature(f"{_prefix}{_stem}_{_w}d", _entity, "trajectories", "count",
                    WINDOW_ZH[_w] + _zh.format(**FMT), _en.format(**FMT) + ", " + WINDOW_EN[_w],
                    _rzh.replace("{w}", WINDOW_ZH[_w]), _ren.replace("{w}", WINDOW_EN[_w]), direction=1, min_reason=1)

TRIP_FEATURES = {
    "manifest_gps_gap_max_h": ("h", "联单运输途中最长的GPS信号中断（小时）", "longest GPS silence while a manifest load was on the road (hours)",
                               "联单 {manifest_id} 途中 GPS 中断 {value:.1f} 小时（车辆 {vehicle_id}，自 {when}）",
                               "GPS silent {value:.1f} h during manifest {manifest_id} (vehicle {vehicle_id}, from {when})", 1.0),
    "manifest_gps_gaps_over_10min": ("count", "联单运输途中超过10分钟的GPS中断次数", "GPS silences over 10 minutes while a manifest load was on the road",
                                     "{value:.0f} 次载货途中 GPS 中断超10分钟（如联单 {manifest_id}）",
                                     "{value:.0f} GPS silences over 10 min with a load (e.g. manifest {manifest_id})", 2.0),
    "trip_duration_excess_ratio": ("ratio", "联单运输用时与同线路以往通常用时之比（最大）", "longest trip relative to the usual duration of earlier trips on the route",
                                   "联单 {manifest_id}（{when} 出发）用时 {actual:.1f} 小时，是该线路通常（{usual:.1f} 小时）的 {value:.1f} 倍",
                                   "manifest {manifest_id} (left {when}) took {actual:.1f} h, {value:.1f} times the route's usual {usual:.1f} h", 2.0),
    "detour_excess_ratio": ("ratio", "联单实际行驶里程绕行系数与同线路通常之比（最大）", "largest detour (path over straight line) relative to the route's usual",
                            "联单 {manifest_id}（{when} 出发）行驶里程为直线距离的 {actual:.1f} 倍，是该线路通常（{usual:.1f}）的 {value:.1f} 倍",
                            "manifest {manifest_id} (left {when}) drove {actual:.1f} times the straight line, {value:.1f} times the route's usual {usual:.1f}", 1.5),
    "receipts_without_gps_visit": ("count", "已确认接收但车辆轨迹从未到达接收单位1公里内的联单数", "receipts confirmed although the vehicle's fixes never came within 1 km of the receiver",
                                   "{value:.0f} 张联单已确认接收但车辆未到过接收单位（如 {manifest_id}，车辆 {vehicle_id}）",
                                   "{value:.0f} receipts without the vehicle ever reaching the receiver (e.g. {manifest_id}, vehicle {vehicle_id})", 1.0),
    "manifests_without_gps": ("count", "车辆在运输期间没有任何轨迹数据的联单数", "manifests whose vehicle has no GPS data at all",
                              "{value:.0f} 张联单的车辆无任何轨迹（如 {manifest_id}，车辆 {vehicle_id}）",
                              "{value:.0f} manifests on vehicles without any GPS data (e.g. {manifest_id}, vehicle {vehicle_id})", 1.0),
}
TRIP_WINDOWS = {"manifest_gps_gap_max_h": (90, 365), "manifest_gps_gaps_over_10min": (90, 365),
                "trip_duration_excess_ratio": (365,), "detour_excess_ratio": (365,),
                "receipts_without_gps_visit": (365,), "manifests_without_gps": (365,)}
VEHICLE_TRIP_FEATURES = ("manifest_gps_gap_max_h", "manifest_gps_gaps_over_10min", "receipts_without_gps_visit")
for _stem, (_unit, _zh, _en, _rzh, _ren, _min) in TRIP_FEATURES.items():
    for _w in TRIP_WINDOWS[_stem]:
        feature(f"{_stem}_{_w}d", "enterprise", "trajectories", _unit, WINDOW_ZH[_w] + _zh, _en + ", " + WINDOW_EN[_w],
                _rzh, _ren, direction=1, min_reason=_min)
        if _stem in VEHICLE_TRIP_FEATURES:
            feature(f"vehicle_{_stem}_{_w}d", "vehicle", "trajectories", _unit, WINDOW_ZH[_w] + _zh, _en + ", " + WINDOW_EN[_w],
                    _rzh, _ren, direction=1, min_reason=_min)
feature("vehicle_offsite_stops_365d", "vehicle", "trajectories", "count",
        "近12个月在登记场所300米以外的停留次数", "stops more than 300 m from any registered enterprise, last 12 months",
        "近12个月 {value:.0f} 次在非登记地点停留", "{value:.0f} stops away from registered sites in 12 months", direction=0)
feature("vehicle_night_offsite_stop_share_365d", "vehicle", "trajectories", "share",
        "近12个月非登记地点停留中夜间停留的比例", "share of its stops away from registered sites made at night, last 12 months",
        "非登记地点停留中 {value:.0%} 在夜间", "{value:.0%} of its stops away from registered sites were at night",
        direction=1, min_reason=0.3)
