"""Hand-built snapshots for feature tests: every expected number can be worked out on paper."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features import load_snapshot
from tests.minimal_snapshot import TABLES, write_minimal

ENTERPRISES = """enterprise_id,name,industry_code,county,lat,lon,roles,key_discharge_unit,employees,opened,park
P1,化工一厂,C2661,临桂区,25.20,110.20,producer,true,200,2010-01-01,临桂工业园
P2,化工二厂,C2662,临桂区,25.21,110.21,producer,false,50,2012-01-01,
P3,化工三厂,C2663,灵川县,25.40,110.30,producer,false,30,2015-01-01,
X1,化工嫌疑厂,C2665,阳朔县,24.78,110.49,producer,false,20,2018-06-01,
T1,运输公司,G5430,七星区,25.28,110.32,transporter,,,,
R1,处置公司,N7724,雁山区,25.06,110.30,receiver,,,,
R2,无证作坊,C4220,阳朔县,24.70,110.50,receiver,,,,
"""
LICENCES = """licence_id,enterprise_id,kind,waste_codes,capacity_t,valid_from,valid_to
L1,R1,disposal,HW08,100,2020-01-01,2021-12-31
L2,T1,transport,HW08,,2020-01-01,2021-12-31
L3,R2,utilisation,HW17,50,2019-01-01,2020-12-31
"""
VEHICLES = """vehicle_id,transporter_id,hazmat_permit,capacity_t
桂C10001,T1,true,10
桂C10002,T1,false,5
"""
CODE = "900-249-08"


def electricity(enterprises: list[str], start: str, end: str, kwh: dict[str, float], night_share: dict[str, float]) -> str:
    """Daily rows with constant kWh per enterprise (kwh is per month, spread evenly over its days)."""
    rows = ["enterprise_id,date,kwh,night_kwh"]
    for d in pd.date_range(start, end, freq="D"):
        for e in enterprises:
            day = kwh[e] / d.days_in_month
            rows.append(f"{e},{d:%Y-%m-%d},{day:.6f},{day * night_share.get(e, 0.2):.6f}")
    return "\n".join(rows) + "\n"


def ledger_rows(rows: list[tuple]) -> str:
    head = "enterprise_id,month,waste_code,generated_t,transferred_t,onsite_t,stock_end_t"
    return "\n".join([head] + [",".join(str(x) for x in r) for r in rows]) + "\n"


def manifests(rows: list[tuple]) -> str:
    head = "manifest_id,producer_id,transporter_id,receiver_id,vehicle_id,waste_code,quantity_t,departed_at,received_t,received_at"
    return "\n".join([head] + [",".join("" if x is None else str(x) for x in r) for r in rows]) + "\n"


# P1..P3 are honest peers at 0.001 t/kWh (10 t per 10,000 kWh a month). X1 declares 5 t on the
# same power; its ledger loses 2 t in February, declares 4 t of transfers without manifests in
# March, one March load of 5 t arrives 1 t short, and one April load is never confirmed.
LEDGERS = ledger_rows(
    [(p, m, CODE, 10, 10, 0, 0) for p in ("P1", "P2", "P3") for m in ("2021-01", "2021-02", "2021-03", "2021-04")]
    + [
        ("X1", "2021-01", CODE, 5, 3, 0, 2),
        ("X1", "2021-02", CODE, 5, 5, 0, 0),   # 2 + 5 - 5 - 0 - 0 = 2 t missing
        ("X1", "2021-03", CODE, 5, 9, 0, 0),   # 0 + 5 - 9 = -4 (over-declared transfers); manifests 5 -> manifest gap 4
        ("X1", "2021-04", CODE, 5, 5, 0, 0),
    ]
)
MANIFESTS = manifests(
    [(f"M{p}{m}", p, "T1", "R1", "桂C10001", CODE, 10, f"2021-0{m}-10T09:00:00", 10, f"2021-0{m}-10T12:00:00")
     for p in ("P1", "P2", "P3") for m in (1, 2, 3, 4)]
    + [
        ("MX1", "X1", "T1", "R1", "桂C10001", CODE, 3, "2021-01-15T09:00:00", 3, "2021-01-15T12:00:00"),
        ("MX2", "X1", "T1", "R1", "桂C10001", CODE, 5, "2021-02-15T09:00:00", 5, "2021-02-15T12:00:00"),
        ("MX3", "X1", "T1", "R1", "桂C10002", CODE, 5, "2021-03-15T09:00:00", 4, "2021-03-15T20:00:00"),
        ("MX4", "X1", "T1", "R2", "桂C10001", CODE, 5, "2021-04-15T09:00:00", None, None),
    ]
)
ELECTRICITY = electricity(["P1", "P2", "P3", "X1"], "2021-01-01", "2021-04-30",
                          {e: 10_000.0 for e in ("P1", "P2", "P3", "X1")}, {"X1": 0.6})
TIPS = """tip_id,received_at,channel,text,lat,lon,county,enterprise_id
K1,2021-04-20T21:00:00,informant,厂里晚上用罐车把废油拉到河边倒掉,24.78,110.49,阳朔县,X1
K2,2021-04-22T08:00:00,12369,河边有股臭味,24.781,110.491,阳朔县,
K3,2021-03-01T08:00:00,110,邻居吵架噪音扰民,25.0,110.0,,
"""
CASES = """case_id,opened,enterprise_id,tip_id,outcome,violation,tonnes,criminal
C1,2021-02-01,P3,,confirmed,other,1,false
C2,2021-03-01,P2,,unfounded,,,
"""

TABLE_TEXTS = {
    "enterprises": ENTERPRISES, "licences": LICENCES, "vehicles": VEHICLES, "ledgers": LEDGERS,
    "manifests": MANIFESTS, "electricity": ELECTRICITY, "tips": TIPS, "cases": CASES,
    "trajectories": "vehicle_id,ts,lat,lon,speed_kmh\n桂C10001,2021-01-15T09:00:00,24.78,110.49,0\n",
}


def write_features_snapshot(folder: Path, extra: dict[str, str] | None = None) -> Path:
    tables = dict(TABLE_TEXTS)
    for name, text in (extra or {}).items():
        tables[name] = tables[name] + text
    assert set(tables) <= set(TABLES)
    return write_minimal(folder, tables=tables)


def load_features_snapshot(folder: Path, extra: dict[str, str] | None = None):
    return load_snapshot(write_features_snapshot(folder, extra))
