"""Transfer manifests (转移联单) cross-checked against licences, vehicles and receipts.

``manifest_checks`` gives one row per manifest known at as_of with every check — the evidence an
investigator opens. ``manifest_features`` aggregates it to enterprises in their three roles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import feature
from features.ledgers import UNCONFIRMED_DAYS
from features.licences import EXPIRED, NONE, RECEIVING_KINDS, LicenceCover, capacity_at, licence_status
from features.timeutil import as_of_day, cutoff, in_window, known, months_known

LATE_DAYS = 3.0  # a receipt confirmed later than this after departure is late
SHRINK_TOLERANCE = 0.02  # honest weighing differences


def manifest_checks(manifests: pd.DataFrame, licences: pd.DataFrame, vehicles: pd.DataFrame,
                    enterprises: pd.DataFrame, as_of, cover: tuple[LicenceCover, LicenceCover] | None = None) -> pd.DataFrame:
    """One row per manifest departed on or before ``as_of``, with licence, receipt and route checks.
    ``cover`` is ``licence_cover(manifests, licences)``, computed once for many as-of dates."""
    end = cutoff(as_of)
    m = known(manifests, "departed_at", as_of).copy()
    if cover is not None and len(m):
        rows = np.flatnonzero((manifests["departed_at"] < end).to_numpy(bool))
        m["receiver_licence"] = cover[0].status(rows, m.index, end)
        m["transport_licence"] = cover[1].status(rows, m.index, end)
    else:
        lic = licences[licences["valid_from"] < end]
        m["receiver_licence"] = licence_status(m["receiver_id"], m["waste_code"], m["departed_at"], lic, RECEIVING_KINDS)
        m["transport_licence"] = licence_status(m["transporter_id"], m["waste_code"], m["departed_at"], lic, ("transport",))
    permit = vehicles.set_index("vehicle_id")["hazmat_permit"]
    m["hazmat_permit"] = m["vehicle_id"].map(permit).astype("boolean")
    received_known = m["received_at"].notna() & (m["received_at"] < end)
    confirmed = (received_known | (m["received_at"].isna() & m["received_t"].notna())) & m["received_t"].notna()
    m["confirmed"] = confirmed
    m["overdue"] = ~confirmed & (m["departed_at"] + pd.Timedelta(days=UNCONFIRMED_DAYS) < end)
    transit_h = (m["received_at"] - m["departed_at"]).dt.total_seconds() / 3600.0
    m["transit_h"] = transit_h.where(received_known)
    m["late"] = received_known & (m["transit_h"] > LATE_DAYS * 24)
    m["shrink_t"] = (m["quantity_t"] - m["received_t"]).where(confirmed)
    m["shrink_share"] = m["shrink_t"] / m["quantity_t"]
    route = m.groupby(["producer_id", "receiver_id"])["transit_h"].transform("median")
    m["transit_excess_ratio"] = m["transit_h"] / route.where(route > 0)
    m["cross_county"] = _cross_county(m, enterprises)
    return m.reset_index(drop=True)


def _cross_county(m: pd.DataFrame, enterprises: pd.DataFrame) -> np.ndarray:
    """Whether producer and receiver are in different counties, an unknown county (or enterprise)
    differing from every county: ``producer.map(county) != receiver.map(county)``, by county code."""
    ent = pd.Index(enterprises["enterprise_id"])
    code = np.append(pd.factorize(enterprises["county"])[0], -1)  # -1: no county, or not an enterprise
    p, r = code[ent.get_indexer(m["producer_id"])], code[ent.get_indexer(m["receiver_id"])]
    return (p < 0) | (r < 0) | (p != r)


def licence_cover(manifests: pd.DataFrame, licences: pd.DataFrame) -> tuple[LicenceCover, LicenceCover]:
    """The receiver's and the carrier's licence cover of every manifest, for ``manifest_checks(cover=)``."""
    return (LicenceCover.of(manifests["receiver_id"], manifests["waste_code"], manifests["departed_at"], licences, RECEIVING_KINDS),
            LicenceCover.of(manifests["transporter_id"], manifests["waste_code"], manifests["departed_at"], licences, ("transport",)))


def _windows(checks: pd.DataFrame, as_of, days: int) -> pd.DataFrame:
    return in_window(checks, "departed_at", as_of, days)


feature("unlicensed_receiver_t_365d", "enterprise", "manifests", "t",
        "近12个月交给无相应经营许可的接收单位的危废（吨）", "waste sent to receivers without a licence for the code, last 12 months (t)",
        "{value:.1f} 吨危废交给无该类别许可的单位（联单 {manifest_id}，接收方 {receiver_id}）",
        "{value:.1f} t handed to receivers not licensed for the code (manifest {manifest_id}, receiver {receiver_id})",
        direction=1, min_reason=0.01)
feature("expired_licence_manifests_365d", "enterprise", "manifests", "count",
        "近12个月接收单位许可证已过期的联单数", "manifests to a receiver whose licence had expired, last 12 months",
        "{value:.0f} 张联单的接收单位许可证已过期（如 {manifest_id}）", "{value:.0f} manifests to receivers with an expired licence (e.g. {manifest_id})",
        direction=1, min_reason=1)
feature("unlicensed_transport_manifests_365d", "enterprise", "manifests", "count",
        "近12个月由无运输许可承运单位或无危险货物运输资质车辆承运的联单数",
        "manifests carried by a carrier without a transport licence for the code or a vehicle without a hazmat permit, last 12 months",
        "{value:.0f} 张联单承运方无资质（如 {manifest_id}，车辆 {vehicle_id}）",
        "{value:.0f} manifests carried without the licence or permit (e.g. {manifest_id}, vehicle {vehicle_id})",
        direction=1, min_reason=1)
feature("unconfirmed_t_365d", "enterprise", "manifests", "t",
        "近12个月超过30天未确认接收的联单量（吨）", "tonnes on manifests unconfirmed 30 days after departure, last 12 months",
        "{value:.1f} 吨联单超过30天未确认接收（如 {manifest_id}）", "{value:.1f} t on manifests unconfirmed after 30 days (e.g. {manifest_id})",
        direction=1, min_reason=0.1)
feature("late_confirmation_share_365d", "enterprise", "manifests", "share",
        "近12个月迟于3天确认接收的联单比例", "share of manifests confirmed more than 3 days after departure, last 12 months",
        "{value:.0%} 的联单迟于3天确认", "{value:.0%} of manifests confirmed more than 3 days late",
        direction=1, min_reason=0.2)
feature("shrinkage_t_365d", "enterprise", "manifests", "t",
        "近12个月运输途中减少的危废（吨，超出2%称重误差部分）", "tonnes lost between departure and receipt beyond 2% weighing error, last 12 months",
        "运输途中短少 {value:.1f} 吨（联单 {manifest_id} 短少最多）", "{value:.1f} t lost in transit (most on manifest {manifest_id})",
        direction=1, min_reason=0.2)
feature("shrink_share_max_365d", "enterprise", "manifests", "share",
        "单张联单最大短少比例", "largest share of a load lost in transit, last 12 months",
        "联单 {manifest_id} 到货比出厂少 {value:.0%}", "manifest {manifest_id} arrived {value:.0%} lighter than it left",
        direction=1, min_reason=0.05)
feature("transit_excess_ratio_max_365d", "enterprise", "manifests", "ratio",
        "联单在途时间与该线路通常时间之比（最大）", "longest transit relative to the route's usual, last 12 months",
        "联单 {manifest_id} 在途时间是该线路通常的 {value:.1f} 倍", "manifest {manifest_id} took {value:.1f} times the route's usual time",
        direction=1, min_reason=2.0)
feature("cross_county_share_365d", "enterprise", "manifests", "share",
        "近12个月跨县（区）转移的危废比例", "share of tonnes shipped to another county, last 12 months",
        "{value:.0%} 的危废跨县转移", "{value:.0%} of tonnes shipped across county lines",
        direction=0)
feature("manifests_365d", "enterprise", "manifests", "count",
        "近12个月作为产生单位的联单数", "manifests as producer, last 12 months", "近12个月 {value:.0f} 张联单",
        "{value:.0f} manifests in 12 months", direction=0)
feature("months_without_manifest_365d", "enterprise", "manifests", "count",
        "近12个月有产废却无任何联单的月数", "months in the last 12 with declared generation but no manifest",
        "近12个月有 {value:.0f} 个月产废却无转移联单", "{value:.0f} months with waste generated but no manifest",
        direction=1, min_reason=4)
feature("receiver_concentration_365d", "enterprise", "manifests", "share",
        "接收单位集中度（赫芬达尔指数）", "concentration of tonnes on receivers (Herfindahl index), last 12 months",
        "危废集中交给少数接收单位（集中度 {value:.2f}）", "tonnes concentrated on few receivers (index {value:.2f})", direction=0)
feature("receiver_load_vs_capacity_365d", "enterprise", "manifests", "ratio",
        "作为接收单位：近12个月接收量与许可年处置能力之比", "as receiver: tonnes received in 12 months over licensed annual capacity",
        "接收量达许可能力的 {value:.0%}", "received {value:.0%} of its licensed annual capacity",
        direction=1, min_reason=1.0)
feature("received_unlicensed_t_365d", "enterprise", "manifests", "t",
        "作为接收单位：近12个月接收无许可类别的危废（吨）", "as receiver: tonnes received of codes it was not licensed for, last 12 months",
        "接收了 {value:.1f} 吨超出许可范围的危废（如 {manifest_id}）", "received {value:.1f} t outside its licence (e.g. {manifest_id})",
        direction=1, min_reason=0.01)
feature("carrier_unconfirmed_share_365d", "enterprise", "manifests", "share",
        "作为承运单位：近12个月超30天未确认的联单比例", "as carrier: share of its manifests unconfirmed after 30 days, last 12 months",
        "承运的联单中 {value:.0%} 超30天未确认", "{value:.0%} of the manifests it carried unconfirmed after 30 days",
        direction=1, min_reason=0.05)
feature("carrier_shrink_share_365d", "enterprise", "manifests", "share",
        "作为承运单位：近12个月在途短少比例", "as carrier: share of tonnes lost in transit on its trips, last 12 months",
        "承运途中短少 {value:.1%}", "{value:.1%} of the tonnes it carried lost in transit",
        direction=1, min_reason=0.03)
feature("carrier_non_hazmat_share", "enterprise", "manifests", "share",
        "作为承运单位：无危险货物运输资质车辆的比例", "as carrier: share of its vehicles without a hazmat permit",
        "{value:.0%} 的车辆无危险货物运输资质", "{value:.0%} of its vehicles lack a hazmat permit",
        direction=1, min_reason=0.01)


def _top(frame: pd.DataFrame, by: str, value: str, fields: list[str]) -> pd.DataFrame:
    """For each ``by`` group, the fields of the row with the largest ``value``."""
    f = frame[frame[value] > 0].sort_values(value, ascending=False).drop_duplicates(by)
    return f.set_index(by)[fields]


def manifest_features(checks: pd.DataFrame, ledgers: pd.DataFrame, licences: pd.DataFrame,
                      vehicles: pd.DataFrame, enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    """Manifest features by enterprise_id (as producer, receiver and carrier) over 365 days to ``as_of``."""
    idx = pd.Index(enterprises["enterprise_id"], name="enterprise_id")
    out = pd.DataFrame(index=idx)
    y = _windows(checks, as_of, 365).copy()
    by_p = y.groupby("producer_id")

    def put(name: str, values: pd.Series, fill=0.0) -> None:
        out[name] = values.reindex(idx).fillna(fill) if fill is not None else values.reindex(idx)

    def evidence(name: str, frame: pd.DataFrame, value: str, fields: list[str], by: str = "producer_id") -> None:
        top = _top(frame, by, value, fields)
        for f in fields:
            out[f"{name}@{f}"] = top[f].reindex(idx) if f in top else pd.NA

    y["unlicensed_t"] = np.where(y["receiver_licence"] == NONE, y["quantity_t"], 0.0)
    put("unlicensed_receiver_t_365d", y.groupby("producer_id")["unlicensed_t"].sum())
    evidence("unlicensed_receiver_t_365d", y, "unlicensed_t", ["manifest_id", "receiver_id"])
    y["expired"] = (y["receiver_licence"] == EXPIRED).astype(float)
    put("expired_licence_manifests_365d", by_p["expired"].sum() if len(y) else pd.Series(dtype=float))
    evidence("expired_licence_manifests_365d", y, "expired", ["manifest_id"])
    y["bad_transport"] = ((y["transport_licence"] != "valid") | (y["hazmat_permit"] == False)).astype(float)  # noqa: E712
    put("unlicensed_transport_manifests_365d", y.groupby("producer_id")["bad_transport"].sum())
    evidence("unlicensed_transport_manifests_365d", y, "bad_transport", ["manifest_id", "vehicle_id"])
    y["overdue_t"] = np.where(y["overdue"], y["quantity_t"], 0.0)
    put("unconfirmed_t_365d", y.groupby("producer_id")["overdue_t"].sum())
    evidence("unconfirmed_t_365d", y, "overdue_t", ["manifest_id"])
    put("late_confirmation_share_365d", y.groupby("producer_id")["late"].mean(), fill=None)
    y["shrink_excess_t"] = (y["shrink_t"] - SHRINK_TOLERANCE * y["quantity_t"]).clip(lower=0).fillna(0.0)
    put("shrinkage_t_365d", y.groupby("producer_id")["shrink_excess_t"].sum())
    evidence("shrinkage_t_365d", y, "shrink_excess_t", ["manifest_id"])
    put("shrink_share_max_365d", y.groupby("producer_id")["shrink_share"].max(), fill=None)
    evidence("shrink_share_max_365d", y.assign(s=y["shrink_share"].fillna(0)), "s", ["manifest_id"])
    put("transit_excess_ratio_max_365d", y.groupby("producer_id")["transit_excess_ratio"].max(), fill=None)
    evidence("transit_excess_ratio_max_365d", y.assign(r=y["transit_excess_ratio"].fillna(0)), "r", ["manifest_id"])
    tons = y.groupby("producer_id")["quantity_t"].sum()
    cross = y.assign(ct=np.where(y["cross_county"], y["quantity_t"], 0.0)).groupby("producer_id")["ct"].sum()
    put("cross_county_share_365d", cross / tons, fill=None)
    put("manifests_365d", by_p.size() if len(y) else pd.Series(dtype=float))
    share = y.groupby(["producer_id", "receiver_id"])["quantity_t"].sum() / y["producer_id"].map(tons).groupby([y["producer_id"], y["receiver_id"]]).first()
    put("receiver_concentration_365d", (share**2).groupby(level=0).sum(), fill=None)
    _months_without_manifest(out, ledgers, checks, as_of)
    _receiver_features(out, checks, licences, as_of)
    _carrier_features(out, y, vehicles)
    return out


def _months_without_manifest(out: pd.DataFrame, ledgers: pd.DataFrame, checks: pd.DataFrame, as_of) -> None:
    """Months (of the last 12 complete ones) in which a producer declared generation but no manifest departed."""
    led = months_known(ledgers, as_of)
    if led.empty:
        out["months_without_manifest_365d"] = 0.0
        return
    last = led["month"].max()
    gen = led[(led["month"] > last - 12) & (led["generated_t"] > 0)][["enterprise_id", "month"]].drop_duplicates()
    shipped = pd.DataFrame({"enterprise_id": checks["producer_id"].to_numpy(),
                            "month": checks["departed_at"].dt.to_period("M").array}).drop_duplicates()
    m = gen.merge(shipped.assign(shipped=True), on=["enterprise_id", "month"], how="left")
    counts = m[m["shipped"].isna()].groupby("enterprise_id").size().astype("float64")
    out["months_without_manifest_365d"] = counts.reindex(out.index).fillna(0.0)


def _receiver_features(out: pd.DataFrame, checks: pd.DataFrame, licences: pd.DataFrame, as_of) -> None:
    idx = out.index
    y = _windows(checks, as_of, 365)
    received = y.groupby("receiver_id")["quantity_t"].sum()
    cap = capacity_at(licences[licences["valid_from"] <= as_of_day(as_of)], as_of_day(as_of))
    out["receiver_load_vs_capacity_365d"] = (received / cap.where(cap > 0)).reindex(idx)
    y = y.assign(unl=np.where(y["receiver_licence"] != "valid", y["quantity_t"], 0.0))
    out["received_unlicensed_t_365d"] = y.groupby("receiver_id")["unl"].sum().reindex(idx).fillna(0.0)
    top = _top(y, "receiver_id", "unl", ["manifest_id"])
    out["received_unlicensed_t_365d@manifest_id"] = top["manifest_id"].reindex(idx)


def _carrier_features(out: pd.DataFrame, y: pd.DataFrame, vehicles: pd.DataFrame) -> None:
    idx = out.index
    g = y.groupby("transporter_id")
    out["carrier_unconfirmed_share_365d"] = g["overdue"].mean().reindex(idx)
    lost = g["shrink_excess_t"].sum() / g["quantity_t"].sum()
    out["carrier_shrink_share_365d"] = lost.reindex(idx)
    nonhaz = (~vehicles["hazmat_permit"].fillna(False).astype(bool)).groupby(vehicles["transporter_id"]).mean()
    out["carrier_non_hazmat_share"] = nonhaz.reindex(idx)
