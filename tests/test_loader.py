"""The loader accepts the minimal snapshot with the right types, and reports every broken rule exactly."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features import SnapshotError, load_snapshot
from tests.minimal_snapshot import TABLES, edit, write_minimal


def test_minimal_snapshot_loads_with_types_and_counts(tmp_path):
    snap = load_snapshot(write_minimal(tmp_path / "s"))
    assert len(snap.enterprises) == 4
    assert snap.enterprises["lat"].dtype == "float64"
    assert snap.enterprises["employees"].dtype == "Int64"
    assert snap.enterprises["key_discharge_unit"].tolist() == [True, False, True, False]
    assert snap.enterprises["opened"].dtype == "datetime64[ns]"
    assert snap.ledgers["month"].dtype == "period[M]"
    assert str(snap.ledgers["month"].iloc[1]) == "2021-02"
    assert snap.vehicles["hazmat_permit"].tolist() == [True, False]
    assert snap.cases["criminal"].tolist()[0] is True
    assert pd.isna(snap.cases["criminal"].tolist()[1])
    # zoned datetimes are converted to local time, naive ones are local already
    m3 = snap.manifests.set_index("manifest_id").loc["M3"]
    assert m3["departed_at"] == pd.Timestamp("2021-02-10 10:00:00")
    m2 = snap.manifests.set_index("manifest_id").loc["M2"]
    assert pd.isna(m2["received_t"]) and pd.isna(m2["received_at"])
    assert snap.manifests["departed_at"].dtype == "datetime64[ns]"
    # trajectories: sorted by vehicle then time, one duplicate dropped, one fix out of order
    t = snap.trajectories
    assert len(t) == 5
    assert snap.report.trajectories.fixes_read == 6
    assert snap.report.trajectories.duplicates_dropped == 1
    assert isinstance(t["vehicle_id"].dtype, pd.CategoricalDtype)
    for _, g in t.groupby("vehicle_id", observed=True):
        assert g["ts"].is_monotonic_increasing
    assert {p.kind for p in snap.places} == {"river", "karst", "reservoir"}
    assert snap.licences.set_index("licence_id").loc["L1", "waste_codes"] == "HW08;900-041-49"
    assert snap.last_day == pd.Timestamp("2021-03-05")
    assert snap.report.rows["tips"] == 2


def test_optional_tables_may_be_absent(tmp_path):
    folder = write_minimal(tmp_path / "s", tables={"tips": None, "cases": None})
    snap = load_snapshot(folder)
    assert snap.tips.empty and list(snap.tips.columns)[:3] == ["tip_id", "received_at", "channel"]
    assert snap.cases.empty


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig"])
def test_chinese_office_encodings_load_like_utf8(tmp_path, encoding):
    ref = load_snapshot(write_minimal(tmp_path / "utf8"))
    other = load_snapshot(write_minimal(tmp_path / encoding, encoding=encoding))
    for name in TABLES:
        pd.testing.assert_frame_equal(ref.table(name), other.table(name), check_dtype=True)


def test_gb18030_file_with_ascii_head_longer_than_the_sniff(tmp_path):
    # A GBK file whose first megabyte is ASCII: the sniff says UTF-8, the read must still succeed.
    rows = "".join(f"E{i},公司{i},,C2662,临桂区,25.2,110.2,,,producer,,\n" for i in range(5, 6))
    filler = "".join(f"X{i:07d},name,,C2662,county,25.2,110.2,,,producer,,\n" for i in range(40000))
    text = TABLES["enterprises"] + filler + rows
    folder = write_minimal(tmp_path / "s", tables={"enterprises": text})
    (folder / "enterprises.csv").write_bytes(text.encode("gb18030"))
    snap = load_snapshot(folder)
    assert snap.enterprises.set_index("enterprise_id").loc["E5", "name"] == "公司5"


def test_parquet_tables_load_like_csv(tmp_path):
    ref = load_snapshot(write_minimal(tmp_path / "csv"))
    folder = write_minimal(tmp_path / "pq")
    for name in ("ledgers", "trajectories", "manifests", "enterprises"):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "trajectories":
            frame["ts"] = pd.to_datetime(frame["ts"])
            for c in ("lat", "lon", "speed_kmh"):
                frame[c] = frame[c].astype(float)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / f"{name}.parquet")
        (folder / f"{name}.csv").unlink()
    snap = load_snapshot(folder)
    for name in ("ledgers", "trajectories", "manifests", "enterprises"):
        pd.testing.assert_frame_equal(ref.table(name), snap.table(name))


def test_zoned_parquet_timestamps_become_local_time(tmp_path):
    folder = write_minimal(tmp_path / "s")
    (folder / "trajectories.csv").unlink()
    ts = pd.to_datetime(["2021-01-20T01:00:00Z", "2021-01-20T01:00:30Z"], utc=True)
    frame = pd.DataFrame({"vehicle_id": ["桂C12345"] * 2, "ts": ts, "lat": [25.0, 25.0], "lon": [110.0, 110.0]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "trajectories.parquet")
    snap = load_snapshot(folder)
    assert snap.trajectories["ts"].iloc[0] == pd.Timestamp("2021-01-20 09:00:00")


def test_parquet_folder_of_parts_is_one_table(tmp_path):
    folder = write_minimal(tmp_path / "s")
    (folder / "trajectories.csv").unlink()
    parts = folder / "trajectories.parquet"
    parts.mkdir()
    for i in range(3):
        frame = pd.DataFrame({"vehicle_id": ["桂C12345"] * 2,
                              "ts": pd.date_range(f"2021-01-2{i}", periods=2, freq="30s"),
                              "lat": [25.0, 25.0], "lon": [110.0, 110.0]})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parts / f"part-{i}.parquet")
    snap = load_snapshot(folder)
    assert len(snap.trajectories) == 6


def test_extra_columns_are_kept(tmp_path):
    text = TABLES["vehicles"].replace("capacity_t\n", "capacity_t,colour\n").replace(",10\n", ",10,red\n").replace(",5\n", ",5,blue\n")
    snap = load_snapshot(write_minimal(tmp_path / "s", tables={"vehicles": text}))
    assert snap.vehicles["colour"].tolist() == ["red", "blue"]


def test_warnings_do_not_block(tmp_path):
    # E1 is a producer only; using it as a receiver is a warning, not an error
    folder = write_minimal(tmp_path / "s", tables=edit("manifests", "M1,E1,E2,E3", "M1,E4,E2,E1"))
    snap = load_snapshot(folder)
    assert any(w.file == "manifests.csv" and w.row == 2 and w.column == "receiver_id" for w in snap.report.warnings)


def test_role_warnings_name_exactly_the_rows_whose_enterprise_lacks_the_role(tmp_path):
    # E1 becomes producer and receiver ("producer;receiver" is split, not matched as a substring);
    # E3 is used as the producer of M3 and the transporter of M2: neither listed
    tables = {**edit("enterprises", "是,producer,120", "是,producer;receiver,120"),
              **edit("manifests", "M1,E1,E2,E3", "M1,E1,E2,E1")}
    tables["manifests"] = tables["manifests"].replace("M2,E1,E2,E3", "M2,E1,E3,E3").replace("M3,E4,E2,E3", "M3,E3,E2,E3")
    snap = load_snapshot(write_minimal(tmp_path / "s", tables=tables))
    roles = sorted((w.file, w.row, w.column) for w in snap.report.warnings if "roles do not list" in w.message)
    assert roles == [("manifests.csv", 3, "transporter_id"), ("manifests.csv", 4, "producer_id")]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="not a folder"):
        load_snapshot(tmp_path / "nope")


def test_every_problem_is_reported_at_once(tmp_path):
    tables = {**edit("ledgers", "E1,2021-01,900-214-08,10.0", "E1,2021-01,900-214-08,-10.0"),
              **edit("vehicles", "桂C54321,E2,否,5", "桂C54321,E9,否,5")}
    with pytest.raises(SnapshotError) as info:
        load_snapshot(write_minimal(tmp_path / "s", tables=tables))
    where = {(p.file, p.row, p.column) for p in info.value.errors}
    assert ("ledgers.csv", 2, "generated_t") in where
    assert ("vehicles.csv", 3, "transporter_id") in where


def test_trajectory_duplicates_are_counted_not_rejected(tmp_path):
    rows = "".join("桂C12345,2021-01-20T09:00:00,25.24,110.20,0\n" for _ in range(4))
    folder = write_minimal(tmp_path / "s", tables={"trajectories": TABLES["trajectories"] + rows})
    snap = load_snapshot(folder)
    assert snap.report.trajectories.duplicates_dropped == 5
    assert np.all(np.diff(snap.trajectories.loc[snap.trajectories.vehicle_id == "桂C12345", "ts"].to_numpy().view("i8")) > 0)


def test_copying_a_snapshot_keeps_it_valid(tmp_path):
    src = write_minimal(tmp_path / "a")
    shutil.copytree(src, tmp_path / "b")
    assert len(load_snapshot(tmp_path / "b").manifests) == 3


@pytest.mark.parametrize("offset,skipped", [(1, ()), (2, ()), (2, (3,)), (2, (5, 3, 9, 10)), (2, (2,))])
def test_row_numbers_asked_for_are_those_of_every_row(offset, skipped):
    from features.readers import RowNumbers

    every = np.arange(40, dtype=np.int64) + offset  # the display rows of all 40 records, as before
    for line in sorted(skipped):
        every[every >= line] += 1
    rows = RowNumbers(40, offset, tuple(sorted(skipped)))
    mask = np.random.default_rng(len(skipped)).random(40) < 0.3
    assert len(rows) == 40
    np.testing.assert_array_equal(rows[mask], every[mask])
    np.testing.assert_array_equal(rows[np.array([0, 39, -1, 7])], every[np.array([0, 39, -1, 7])])
    np.testing.assert_array_equal(rows[5:12], every[5:12])
    np.testing.assert_array_equal(rows[:], every)
    with pytest.raises(IndexError):
        rows[np.ones(39, dtype=bool)]
    with pytest.raises(IndexError):
        rows[np.array([40])]


def test_rows_after_a_skipped_line_are_reported_where_they_stand(tmp_path):
    # line 3 (M2) is malformed and dropped; the bad quantity on line 4 (M3) is still reported as row 4
    text = TABLES["manifests"].replace("M2,E1,E2,E3,桂C12345,900-214-08,9.0,", "M2,E1,E2,E3,桂C12345,9.0,")
    text = text.replace("900-214-08,2.0,2021-02-10T10:00:00+08:00", "900-214-08,-2.0,2021-02-10T10:00:00+08:00")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(write_minimal(tmp_path / "s", tables={"manifests": text}))
    where = {(p.file, p.row, p.column) for p in info.value.errors}
    assert ("manifests.csv", 3, None) in where and ("manifests.csv", 4, "quantity_t") in where, where


def test_fixes_out_of_order_are_sorted_with_every_column_kept_on_its_row(tmp_path):
    # shuffled fixes of two vehicles, dictionary-encoded ids, a driver and a speed that name their
    # row: after sorting by (vehicle, time) every value still sits with its own fix
    rng = np.random.default_rng(5)
    n = 300
    vid = rng.choice(["桂C12345", "桂C54321"], n)
    ts = pd.Timestamp("2021-01-20") + pd.to_timedelta(rng.permutation(n) * 30, unit="s")
    frame = pd.DataFrame({"vehicle_id": pd.Categorical(vid), "ts": ts, "lat": 25.0 + np.arange(n) * 1e-4,
                          "lon": 110.0 + np.arange(n) * 1e-4, "speed_kmh": np.arange(n, dtype=float),
                          "driver_id": [f"D{i}" for i in range(n)]})
    folder = write_minimal(tmp_path / "s")
    (folder / "trajectories.csv").unlink()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "trajectories.parquet")
    snap = load_snapshot(folder)
    t = snap.trajectories
    assert isinstance(t.index, pd.RangeIndex) and len(t) == n and snap.report.trajectories.out_of_order > 0
    key = t["vehicle_id"].astype(str).to_numpy(), t["ts"].to_numpy()
    assert (np.lexsort((key[1], key[0])) == np.arange(n)).all()  # sorted by vehicle, then time
    row = t["speed_kmh"].to_numpy().astype(int)  # each fix's own row in the file
    assert (t["driver_id"].astype(str).to_numpy() == np.array([f"D{i}" for i in row])).all()
    np.testing.assert_array_equal(t["lat"].to_numpy(), 25.0 + row * 1e-4)
    assert (t["vehicle_id"].astype(str).to_numpy() == vid[row]).all()
    assert (t["ts"].to_numpy() == ts.to_numpy()[row]).all()


def test_vehicles_listed_out_of_id_order_come_out_in_id_order(tmp_path):
    # a feed written vehicle by vehicle, the ids not in sorted order (a file's dictionary lists them
    # as they first appear), with two late rows and a repeat: the loader's categories are the sorted
    # ids and its rows follow them, so the stop index finds them in order; "out of order" counts the
    # rows that came after a later row of their own vehicle, not the vehicles' order in the file
    base = pd.Timestamp("2021-01-20 08:00")
    rows = []
    for v in ["桂C90000", "桂C10000", "桂C50000"]:
        rows += [(v, base + pd.Timedelta(seconds=30 * k)) for k in range(20)]
    rows.append(("桂C10000", base + pd.Timedelta(seconds=15)))  # late, between its first two
    rows.append(("桂C90000", base + pd.Timedelta(seconds=30 * 5)))  # late, and a repeat of its 6th
    rows.append(("桂C90000", base - pd.Timedelta(seconds=30)))  # late, before its first
    frame = pd.DataFrame(rows, columns=["vehicle_id", "ts"]).assign(lat=25.0, lon=110.0)
    frame["speed_kmh"] = np.arange(len(frame), dtype=float)  # each row's own line
    vehicles = "vehicle_id,transporter_id,hazmat_permit,capacity_t\n" + "".join(
        f"{v},E2,true,10\n" for v in ["桂C12345", "桂C54321", "桂C90000", "桂C10000", "桂C50000"])
    folder = write_minimal(tmp_path / "s", tables={"vehicles": vehicles})
    frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(folder / "trajectories.csv", index=False)
    snap = load_snapshot(folder)
    t = snap.trajectories
    assert list(t["vehicle_id"].cat.categories) == ["桂C10000", "桂C50000", "桂C90000"]
    assert (np.diff(t["vehicle_id"].cat.codes.to_numpy()) >= 0).all()
    want = frame.drop(index=61).sort_values(["vehicle_id", "ts"], kind="stable")  # the repeat's later row dropped
    assert t["speed_kmh"].astype(int).tolist() == want["speed_kmh"].astype(int).tolist()
    rep = snap.report.trajectories
    assert (rep.duplicates_dropped, rep.out_of_order) == (1, 3)  # the repeat came late too


def test_a_line_break_in_a_dictionary_encoded_id_is_reported_on_its_row(tmp_path):
    frame = pd.DataFrame({"vehicle_id": pd.Categorical(["桂C12345", "桂C1\n2345", "桂C12345", None]),
                          "ts": pd.date_range("2021-01-20", periods=4, freq="30s"),
                          "lat": [25.0] * 4, "lon": [110.0] * 4})
    folder = write_minimal(tmp_path / "s")
    (folder / "trajectories.csv").unlink()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "trajectories.parquet")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(folder)
    broken = [e for e in info.value.errors if "line break" in str(e)]
    assert [(e.row, e.column) for e in broken] == [(2, "vehicle_id")], info.value.errors  # Parquet rows count from 1
