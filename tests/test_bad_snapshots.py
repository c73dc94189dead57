"""A corpus of broken snapshots, each one edit away from the minimal valid one.

Every case names the exact file, row (as a spreadsheet shows it: header = row 1) and column the
loader must report, and a word the message must contain.
"""

from __future__ import annotations

import json

import pytest

from features import SnapshotError, load_snapshot
from tests.minimal_snapshot import PLACES, TABLES, edit, write_minimal

T = TABLES

CASES = [
    # --- files and columns ---
    ("missing required table", {"ledgers": None}, ("ledgers.csv", None, None, "required table")),
    ("missing required column", {"ledgers": T["ledgers"].replace("onsite_t,", "", 1)}, ("ledgers.csv", 1, "onsite_t", "required column")),
    ("duplicate column", {"vehicles": T["vehicles"].replace("capacity_t", "hazmat_permit", 1)}, ("vehicles.csv", 1, "hazmat_permit", "twice")),
    ("empty file", {"licences": ""}, ("licences.csv", 1, None, "empty")),
    ("truncated line", edit("ledgers", "E1,2021-02,900-214-08,10.0,9.0,0.0,3.0", "E1,2021-02,900-214-08,10.0"), ("ledgers.csv", 3, None, "fields")),
    ("too many fields", edit("electricity", "E1,2021-01-02,1180,", "E1,2021-01-02,1180,,7"), ("electricity.csv", 3, None, "fields")),
    ("stray quote in a name", edit("enterprises", "阳朔县某汽修厂", '"阳朔县某汽修厂'), ("enterprises.csv", 5, None, "fields")),
    # --- required values ---
    ("empty required id", edit("enterprises", "E4,阳朔县", ",阳朔县"), ("enterprises.csv", 5, "enterprise_id", "required")),
    ("empty required float", edit("ledgers", "E4,2021-01,900-214-08,1.5", "E4,2021-01,900-214-08,"), ("ledgers.csv", 4, "generated_t", "required")),
    ("empty departed_at", edit("manifests", "2021-02-18 08:30:00", ""), ("manifests.csv", 3, "departed_at", "required")),
    # --- types ---
    ("text in a number", edit("electricity", "1200.5", "一千二"), ("electricity.csv", 2, "kwh", "finite number")),
    ("NaN in a number", edit("electricity", "1180", "NaN"), ("electricity.csv", 3, "kwh", "finite number")),
    ("infinity in a number", edit("ledgers", "1.2,2.0,0.0,0.7", "1.2,inf,0.0,0.7"), ("ledgers.csv", 5, "transferred_t", "finite number")),
    ("fractional head count", edit("enterprises", "120,2015", "12.5,2015"), ("enterprises.csv", 2, "employees", "whole number")),
    ("bad boolean", edit("vehicles", "桂C12345,E2,true", "桂C12345,E2,maybe"), ("vehicles.csv", 2, "hazmat_permit", "true/false")),
    ("bad date", edit("licences", "2019-01-01", "2019-13-01"), ("licences.csv", 2, "valid_from", "YYYY-MM-DD")),
    ("date out of range", edit("cases", "2021-03-05", "2921-03-05"), ("cases.csv", 3, "opened", "between")),
    ("bad month", edit("ledgers", "E4,2021-02", "E4,2021-2-30"), ("ledgers.csv", 5, "month", "YYYY-MM")),
    ("bad datetime", edit("trajectories", "2021-02-10T10:00:00", "2021-02-10T25:00:00"), ("trajectories.csv", 6, "ts", "ISO 8601")),
    ("datetime out of range", edit("tips", "2021-02-12T08:00:00", "1899-02-12T08:00:00"), ("tips.csv", 3, "received_at", "between")),
    # --- ranges ---
    ("negative tonnes", edit("ledgers", "10.0,8.0,0.0,2.0", "10.0,8.0,-1.0,2.0"), ("ledgers.csv", 2, "onsite_t", ">= 0")),
    ("zero manifest quantity", edit("manifests", "900-214-08,8.0,", "900-214-08,0,"), ("manifests.csv", 2, "quantity_t", "> 0")),
    ("latitude out of range", edit("enterprises", "25.28,110.32", "125.28,110.32"), ("enterprises.csv", 3, "lat", "<= 90")),
    ("longitude out of range", edit("trajectories", "25.2420,110.2020", "25.2420,-190.2"), ("trajectories.csv", 4, "lon", ">= -180")),
    ("negative speed", edit("trajectories", "110.2010,20\n桂C12345,2021-01-20T09:01:00", "110.2010,-20\n桂C12345,2021-01-20T09:01:00"), ("trajectories.csv", 3, "speed_kmh", ">= 0")),
    ("negative kwh", edit("electricity", "E4,2021-01-01,80", "E4,2021-01-01,-80"), ("electricity.csv", 4, "kwh", ">= 0")),
    ("night above day", edit("electricity", "1200.5,300", "1200.5,3000"), ("electricity.csv", 2, "night_kwh", "more than")),
    # --- enumerations and patterns ---
    ("unknown role", edit("enterprises", "false,transporter", "false,carrier"), ("enterprises.csv", 3, "roles", "subset")),
    ("unknown licence kind", edit("licences", "L1,E3,disposal", "L1,E3,burning"), ("licences.csv", 2, "kind", "one of")),
    ("unknown channel", edit("tips", ",12369,", ",wechat,"), ("tips.csv", 2, "channel", "one of")),
    ("unknown outcome", edit("cases", "unfounded", "dismissed"), ("cases.csv", 3, "outcome", "one of")),
    ("unknown violation", edit("cases", "water_dumping", "littering"), ("cases.csv", 2, "violation", "one of")),
    ("bad waste code", edit("ledgers", "E1,2021-02,900-214-08", "E1,2021-02,90021408"), ("ledgers.csv", 3, "waste_code", "ddd-ddd-dd")),
    ("bad licence code list", edit("licences", "HW08;HW17", "HW08;废矿物油"), ("licences.csv", 3, "waste_codes", "categories")),
    ("bad industry code", edit("enterprises", "C2662", "2662"), ("enterprises.csv", 2, "industry_code", "GB/T 4754")),
    # --- keys and references ---
    ("duplicate enterprise", edit("enterprises", "E4,阳朔县", "E3,阳朔县"), ("enterprises.csv", 5, "enterprise_id", "duplicate")),
    ("duplicate ledger key", edit("ledgers", "E1,2021-02,", "E1,2021-01,"), ("ledgers.csv", 3, "waste_code", "duplicate")),
    ("duplicate manifest", edit("manifests", "M2,", "M1,"), ("manifests.csv", 3, "manifest_id", "duplicate")),
    ("duplicate electricity day", edit("electricity", "E1,2021-01-02", "E1,2021-01-01"), ("electricity.csv", 3, "date", "duplicate")),
    ("unknown licence holder", edit("licences", "L2,E2", "L2,E7"), ("licences.csv", 3, "enterprise_id", "unknown id")),
    ("unknown receiver", edit("manifests", "M2,E1,E2,E3", "M2,E1,E2,E9"), ("manifests.csv", 3, "receiver_id", "unknown id")),
    ("unknown manifest vehicle", edit("manifests", "E3,桂C54321", "E3,桂C99999"), ("manifests.csv", 4, "vehicle_id", "unknown id")),
    ("unknown trajectory vehicle", edit("trajectories", "桂C54321,2021-02-10T10:00:00", "桂A00000,2021-02-10T10:00:00"), ("trajectories.csv", 6, "vehicle_id", "unknown id")),
    ("unknown tip of a case", edit("cases", "E4,T1", "E4,T9"), ("cases.csv", 2, "tip_id", "unknown id")),
    ("unknown enterprise of a tip", edit("tips", "阳朔县,E4", "阳朔县,E8"), ("tips.csv", 2, "enterprise_id", "unknown id")),
    # --- cross-column rules ---
    ("licence ends before it starts", edit("licences", "2018-01-01,2024-12-31", "2018-01-01,2017-12-31"), ("licences.csv", 3, "valid_to", "before valid_from")),
    ("received before departure", edit("manifests", "7.9,2021-01-20T11:30:00", "7.9,2021-01-19T11:30:00"), ("manifests.csv", 2, "received_at", "before departed_at")),
]


@pytest.mark.parametrize("label,tables,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_snapshot_reports_file_row_column(tmp_path, label, tables, expected):
    folder = write_minimal(tmp_path / "s", tables=tables)
    if tables.get("ledgers", "") is None:
        (folder / "ledgers.csv").unlink(missing_ok=True)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    file, row, column, word = expected
    hits = [p for p in info.value.errors if (p.file, p.row, p.column) == (file, row, column)]
    assert hits, f"{label}: expected {file}:{row}:{column}, got:\n" + "\n".join(map(str, info.value.errors))
    assert any(word in p.message for p in hits), [p.message for p in hits]


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_both_csv_and_parquet(tmp_path):
    folder = write_minimal(tmp_path / "s")
    (folder / "vehicles.parquet").write_bytes(b"PAR1")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    assert any(p.file == "vehicles.csv" and "both" in p.message for p in info.value.errors)


def test_corrupt_parquet(tmp_path):
    folder = write_minimal(tmp_path / "s")
    (folder / "vehicles.csv").unlink()
    (folder / "vehicles.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    assert any(p.file == "vehicles.parquet" and "Parquet" in p.message for p in info.value.errors)


def test_undecodable_file(tmp_path):
    folder = write_minimal(tmp_path / "s")
    (folder / "tips.csv").write_bytes(b"tip_id,received_at\n\xff\xfe\xfa\x81\x30\xff")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    assert any(p.file == "tips.csv" and "UTF-8" in p.message for p in info.value.errors)


@pytest.mark.parametrize("broken,where", [
    ("{not json", (1, None, "not valid JSON")),
    (json.dumps({**PLACES, "features": [{"type": "Feature", "properties": {"name": "x"}, "geometry": PLACES["features"][1]["geometry"]}]}), (1, "kind", "kind")),
    (json.dumps({**PLACES, "features": [{"type": "Feature", "properties": {"kind": "karst"}, "geometry": {"type": "Point", "coordinates": [25.0, 110.0]}}]}), (1, "geometry", "out of range")),
    (json.dumps({**PLACES, "features": [{"type": "Feature", "properties": {"kind": "karst"}, "geometry": {"type": "Circle", "coordinates": [1, 2]}}]}), (1, "geometry", "one of")),
    # coordinates an object, not a list (found by tests/test_reliability_snapshots.py's fuzzing)
    (json.dumps({**PLACES, "features": [{"type": "Feature", "properties": {"kind": "karst"}, "geometry": {"type": "Polygon", "coordinates": {"a": 1}}}]}), (1, "geometry", "cannot be read")),
    (json.dumps({**PLACES, "features": [{"type": "Feature", "properties": {"kind": "karst"}, "geometry": {"type": "MultiPolygon", "coordinates": [{"b": [1]}]}}]}), (1, "geometry", "cannot be read")),
])
def test_broken_places(tmp_path, broken, where):
    folder = write_minimal(tmp_path / "s")
    (folder / "places.geojson").write_text(broken, encoding="utf-8")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    row, column, word = where
    assert any(p.file == "places.geojson" and p.row == row and p.column == column and word in p.message
               for p in info.value.errors), list(map(str, info.value.errors))


def test_many_bad_rows_are_summarised_not_dropped(tmp_path):
    rows = "".join(f"E1,2021-01-{d:02d},-1,\n" for d in range(3, 31))
    folder = write_minimal(tmp_path / "s", tables={"electricity": T["electricity"] + rows})
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    bad = [p for p in info.value.errors if p.column == "kwh"]
    assert sum(p.row is not None for p in bad) == 20
    assert any(p.row is None and "28 in all" in p.message for p in bad)


def _errors_or_tables(folder):
    try:
        snap = load_snapshot(folder)
    except SnapshotError as exc:
        return [str(p) for p in exc.problems]
    return snap


@pytest.mark.parametrize("label,tables,expected", CASES, ids=[c[0] for c in CASES])
def test_a_long_tables_columns_parsed_a_column_ahead_report_the_same(tmp_path, monkeypatch, label, tables, expected):
    """A table of a million rows or more parses its next column in a second thread while the last
    one is checked (``features.validation``): the same problems, in the same order, as one at a
    time. Every table here is made to count as long."""
    from features import validation

    folder = write_minimal(tmp_path / "s", tables=tables)
    if tables.get("ledgers", "") is None:
        (folder / "ledgers.csv").unlink(missing_ok=True)
    one = _errors_or_tables(folder)
    monkeypatch.setattr(validation, "PARSE_AHEAD_ROWS", 0)
    ahead = _errors_or_tables(folder)
    assert isinstance(one, list) and ahead == one


def test_a_valid_snapshot_parsed_a_column_ahead_is_the_same(tmp_path, monkeypatch):
    import pandas as pd

    from features import validation

    folder = write_minimal(tmp_path / "s")
    one = load_snapshot(folder)
    monkeypatch.setattr(validation, "PARSE_AHEAD_ROWS", 0)
    ahead = load_snapshot(folder)
    for name in ("enterprises", "ledgers", "electricity", "manifests", "trajectories", "tips", "cases", "vehicles"):
        pd.testing.assert_frame_equal(getattr(ahead, name), getattr(one, name), check_exact=True, obj=name)
