"""A tiny valid snapshot built by hand, as text, so that every broken variant is one edit away."""

from __future__ import annotations

import json
from pathlib import Path

TABLES: dict[str, str] = {
    "enterprises": """enterprise_id,name,credit_code,industry_code,county,lat,lon,park,key_discharge_unit,roles,employees,opened
E1,桂林市某化工有限公司,91450300MA5K000001,C2662,临桂区,25.24,110.20,临桂工业园,是,producer,120,2015-03-01
E2,桂林某运输有限公司,91450300MA5K000002,G5430,七星区,25.28,110.32,,false,transporter,40,2012-06-15
E3,广西某环保处置有限公司,91450300MA5K000003,N7724,雁山区,25.06,110.30,,yes,receiver,80,2010-01-10
E4,阳朔县某汽修厂,,O8111,阳朔县,24.78,110.49,,0,producer,8,
""",
    "licences": """licence_id,enterprise_id,kind,waste_codes,capacity_t,valid_from,valid_to
L1,E3,disposal,HW08;900-041-49,5000,2019-01-01,2023-12-31
L2,E2,transport,HW08;HW17,,2018-01-01,2024-12-31
""",
    "ledgers": """enterprise_id,month,waste_code,generated_t,transferred_t,onsite_t,stock_end_t
E1,2021-01,900-214-08,10.0,8.0,0.0,2.0
E1,2021-02,900-214-08,10.0,9.0,0.0,3.0
E4,2021-01,900-214-08,1.5,0.0,0.0,1.5
E4,2021-02,900-214-08,1.2,2.0,0.0,0.7
""",
    "electricity": """enterprise_id,date,kwh,night_kwh
E1,2021-01-01,1200.5,300
E1,2021-01-02,1180,
E4,2021-01-01,80,5
""",
    "manifests": """manifest_id,producer_id,transporter_id,receiver_id,vehicle_id,waste_code,quantity_t,departed_at,received_t,received_at
M1,E1,E2,E3,桂C12345,900-214-08,8.0,2021-01-20T09:00:00,7.9,2021-01-20T11:30:00
M2,E1,E2,E3,桂C12345,900-214-08,9.0,2021-02-18 08:30:00,,
M3,E4,E2,E3,桂C54321,900-214-08,2.0,2021-02-10T10:00:00+08:00,2.0,2021-02-10T12:00:00+08:00
""",
    "vehicles": """vehicle_id,transporter_id,hazmat_permit,capacity_t
桂C12345,E2,true,10
桂C54321,E2,否,5
""",
    "trajectories": """vehicle_id,ts,lat,lon,speed_kmh
桂C12345,2021-01-20T09:00:00,25.2400,110.2000,0
桂C12345,2021-01-20T09:00:30,25.2410,110.2010,20
桂C12345,2021-01-20T09:01:00,25.2420,110.2020,30
桂C12345,2021-01-20T09:00:30,25.2410,110.2010,20
桂C54321,2021-02-10T10:00:00,24.7800,110.4900,0
桂C54321,2021-02-10T09:59:30,24.7800,110.4900,0
""",
    "tips": """tip_id,received_at,channel,text,lat,lon,county,enterprise_id
T1,2021-02-11T20:15:00,12369,"有人夜里往河边倒黑色的油，味道很大",24.79,110.48,阳朔县,E4
T2,2021-02-12T08:00:00,informant,内部人员反映厂里偷偷把废液拉走,,,,E1
""",
    "cases": """case_id,opened,enterprise_id,tip_id,outcome,violation,tonnes,criminal
C1,2021-03-01,E4,T1,confirmed,water_dumping,3.5,是
C2,2021-03-05,E1,,unfounded,,,
""",
}

PLACES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"kind": "river", "name": "漓江"},
         "geometry": {"type": "LineString", "coordinates": [[110.29, 25.30], [110.35, 25.10], [110.49, 24.78]]}},
        {"type": "Feature", "properties": {"kind": "karst", "name": "某溶洞"},
         "geometry": {"type": "Point", "coordinates": [110.45, 24.80]}},
        {"type": "Feature", "properties": {"kind": "reservoir", "name": "青狮潭水库"},
         "geometry": {"type": "Polygon", "coordinates": [[[110.15, 25.45], [110.20, 25.45], [110.20, 25.50], [110.15, 25.45]]]}},
    ],
}


def write_minimal(folder: Path, encoding: str = "utf-8", tables: dict[str, str] | None = None) -> Path:
    """Write the minimal snapshot (or ``tables`` replacing some of it) as CSV in ``encoding``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**TABLES, **(tables or {})}.items():
        if text is None:
            continue
        (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    (folder / "places.geojson").write_text(json.dumps(PLACES, ensure_ascii=False), encoding="utf-8")
    return folder


def edit(table: str, old: str, new: str) -> dict[str, str]:
    """The minimal snapshot's ``table`` with one substring replaced (it must occur)."""
    text = TABLES[table]
    assert old in text, f"{old!r} not in {table}"
    return {table: text.replace(old, new, 1)}
