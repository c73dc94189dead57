"""The cluster path of feature building: fixes checked and kept on Dask workers, stops and trip
evidence computed there per vehicle group — the same tables as the pandas path, and the same
problems (file, row, column) for a bad trajectory table."""

from __future__ import annotations

import operator
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features import SnapshotError, load_snapshot
from features.build import build
from features.distributed import ClusterStopIndex
from features.distributed_loader import ClusterFixes
from features.problems import ROWS_PER_RULE
from tests.minimal_snapshot import write_minimal

pytestmark = pytest.mark.slow

FRAMES = ("enterprise", "tip", "site", "ledger_mismatch", "manifest_checks", "stops", "vehicle",
          "driving.events", "driving.vehicle", "driving.carrier")


def assert_same_features(a, b) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(operator.attrgetter(name)(a), operator.attrgetter(name)(b), check_exact=False,
                                      rtol=1e-12, obj=name)


def test_cluster_load_keeps_the_fixes_on_the_workers_with_the_same_report(small_on_cluster, small_snapshot, dask_client):
    memory, _ = small_on_cluster
    cluster = load_snapshot(small_snapshot, trajectories="cluster", client=dask_client)  # its own: frames not yet released
    assert isinstance(cluster.trajectories, ClusterFixes)
    assert cluster.report.rows == memory.report.rows and cluster.report.spans == memory.report.spans
    assert cluster.last_day == memory.last_day
    rm, rc = memory.report.trajectories, cluster.report.trajectories
    assert (rc.fixes_read, rc.duplicates_dropped) == (rm.fixes_read, rm.duplicates_dropped)
    assert rc.out_of_order == rm.out_of_order  # both count rows late within their vehicle
    got = cluster.trajectories.collect()
    cols = ["vehicle_id", "ts", "lat", "lon", "speed_kmh", "driver_id"]  # the optional columns are kept too
    want = memory.trajectories.assign(vehicle_id=memory.trajectories["vehicle_id"].astype("str"))
    want = want.sort_values(["vehicle_id", "ts"], ignore_index=True)[cols]
    got = got.assign(vehicle_id=got["vehicle_id"].astype("str"))[cols]
    assert want["driver_id"].notna().any()
    for frame in (got, want):
        frame["driver_id"] = frame["driver_id"].astype(object).where(frame["driver_id"].notna(), None)
    pd.testing.assert_frame_equal(got, want)


def test_dask_build_gives_the_pandas_tables(small_features):
    assert len(small_features) == 2
    for pandas_fs, cluster_fs in small_features.values():
        assert_same_features(cluster_fs, pandas_fs)
        assert len(cluster_fs.stops) and cluster_fs.enterprise["manifest_gps_gap_max_h_365d"].notna().any()


def test_fixes_in_memory_are_split_by_vehicle_for_the_dask_engine(small_on_cluster, small_features, dask_client):
    from features.trajectory_features import trajectory_evidence, trajectory_part

    memory, _ = small_on_cluster
    day = memory.last_day
    got = trajectory_part(memory, day, engine="dask", dask_client=dask_client)
    want = trajectory_evidence(memory, day)
    for name in ("stops", "trips", "enterprise", "vehicle", "sites"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)


def test_stop_index_on_the_cluster_is_split_by_vehicle(small_on_cluster):
    from features.trajectory_features import build_stop_index

    memory, cluster = small_on_cluster
    index = build_stop_index(cluster)
    assert isinstance(index, ClusterStopIndex) and len(index.parts) >= 2
    ids = np.concatenate(index.vehicles)
    assert len(ids) == len(set(ids)) and list(ids) == sorted(ids)
    local = build_stop_index(memory)
    pd.testing.assert_frame_equal(index.stops, local.stops)
    assert index.report == local.report


def _parquet_parts(src, dst, rows_per_group: int) -> None:
    """A copy of snapshot ``src`` whose trajectories are a folder of two Parquet parts (the second
    shuffled), with small row groups: many units, vehicles spread over all of them."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("trajectories.csv", "truth"))
    fixes = pd.read_csv(src / "trajectories.csv", parse_dates=["ts"])
    half = len(fixes) // 2
    parts = dst / "trajectories.parquet"
    parts.mkdir()
    first, second = fixes.iloc[:half], fixes.iloc[half:].sample(frac=1.0, random_state=0)
    for name, frame in (("part-a.parquet", first), ("part-b.parquet", second)):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parts / name, row_group_size=rows_per_group)


def test_parquet_parts_in_many_units_load_and_build_as_in_memory(small_snapshot, dask_client, tmp_path):
    from features.trajectory_features import trajectory_evidence

    folder = tmp_path / "parts"
    _parquet_parts(small_snapshot, folder, rows_per_group=60_000)
    memory = load_snapshot(folder)
    cluster = load_snapshot(folder, trajectories="cluster", client=dask_client)
    assert int(cluster.report.files["trajectories"].split("(")[1].split()[0]) > 4  # parts (row groups) on the cluster
    assert cluster.report.rows == memory.report.rows
    assert cluster.report.trajectories.duplicates_dropped == memory.report.trajectories.duplicates_dropped
    got, want = trajectory_evidence(cluster, "2021-09-30"), trajectory_evidence(memory, "2021-09-30")
    for name in ("stops", "trips", "enterprise"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)


BAD_FIXES = 60


def _bad_fixes() -> pd.DataFrame:
    """60 fixes with broken rows spread over every row group of 10: out-of-range latitudes (more
    than ROWS_PER_RULE of them), unknown vehicles, a missing time."""
    ts = pd.date_range("2021-01-20 09:00", periods=BAD_FIXES, freq="30s")
    frame = pd.DataFrame({"vehicle_id": ["桂C12345"] * BAD_FIXES, "ts": ts, "lat": 25.24, "lon": 110.20, "speed_kmh": 10.0})
    frame.loc[::2, "lat"] = 95.0
    frame.loc[[7, 33], "vehicle_id"] = "桂X00000"
    frame["ts"] = frame["ts"].astype("object")
    frame.loc[41, "ts"] = None
    assert (frame["lat"] > 90).sum() > ROWS_PER_RULE
    return frame


def test_bad_trajectory_file_is_reported_as_the_memory_loader_reports_it(dask_client, tmp_path):
    folder = write_minimal(tmp_path / "m", tables={"trajectories": None})
    table = pa.Table.from_pandas(_bad_fixes(), preserve_index=False).cast(
        pa.schema([("vehicle_id", pa.string()), ("ts", pa.timestamp("s")), ("lat", pa.float64()), ("lon", pa.float64()),
                   ("speed_kmh", pa.float64())]))
    pq.write_table(table, folder / "trajectories.parquet", row_group_size=10)
    with pytest.raises(SnapshotError) as memory:
        load_snapshot(folder)
    with pytest.raises(SnapshotError) as cluster:
        load_snapshot(folder, trajectories="cluster", client=dask_client)
    assert cluster.value.problems == memory.value.problems
    listed = {(p.row, p.column) for p in cluster.value.errors}
    assert {(8, "vehicle_id"), (42, "ts"), (1, "lat"), (39, "lat")} <= listed  # display rows: record + 1
    assert any(p.row is None and "more rows like this (30 in all)" in p.message for p in cluster.value.errors)


def test_bad_part_is_named_with_its_own_row(dask_client, tmp_path):
    folder = write_minimal(tmp_path / "m", tables={"trajectories": None})
    parts = folder / "trajectories.parquet"
    parts.mkdir()
    good = pd.DataFrame({"vehicle_id": ["桂C12345"] * 4, "ts": pd.date_range("2021-01-20 09:00", periods=4, freq="30s"),
                         "lat": 25.24, "lon": 110.20})
    bad = good.assign(ts=good["ts"] + pd.Timedelta(hours=1))
    bad.loc[2, "lon"] = 200.0
    pq.write_table(pa.Table.from_pandas(good, preserve_index=False), parts / "part-a.parquet")
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), parts / "part-b.parquet")
    (parts / "part-c.parquet").write_bytes(b"not parquet")
    with pytest.raises(SnapshotError) as exc:
        load_snapshot(folder, trajectories="cluster", client=dask_client)
    errors = [(p.file, p.row, p.column) for p in exc.value.errors]
    assert ("trajectories.parquet/part-b.parquet", 3, "lon") in errors
    assert ("trajectories.parquet/part-c.parquet", None, None) in errors
    assert len(errors) == 2


def test_missing_trajectories_are_reported_as_in_memory(dask_client, tmp_path):
    folder = write_minimal(tmp_path / "m", tables={"trajectories": None})
    with pytest.raises(SnapshotError) as memory:
        load_snapshot(folder)
    with pytest.raises(SnapshotError) as cluster:
        load_snapshot(folder, trajectories="cluster", client=dask_client)
    assert cluster.value.problems == memory.value.problems


def test_minimal_snapshot_on_the_cluster(dask_client, tmp_path):
    """Duplicates and disorder handled per vehicle; GPS evidence of each manifest as in memory."""
    folder = write_minimal(tmp_path / "m")
    memory, cluster = load_snapshot(folder), load_snapshot(folder, trajectories="cluster", client=dask_client)
    assert cluster.report.trajectories.duplicates_dropped == memory.report.trajectories.duplicates_dropped == 1
    assert_same_features(build(cluster, memory.last_day, engine="dask", dask_client=dask_client), build(memory, memory.last_day))


def test_the_client_never_receives_a_fix(small_snapshot, dask_client, monkeypatch):
    """Load, stop detection and features with every way a fix could reach the client process shut:
    the in-memory readers, sorting and indexing of fixes refuse to run here, and a stop index or a
    group of fixes refuses to be unpickled here. (Dask workers are other processes: unaffected.)"""
    import features.snapshot
    import features.trajectories
    from features.distributed_loader import FixGroup, UnitResult
    from features.trajectories import StopIndex

    def refuse(*_args, **_kwargs):
        raise AssertionError("fixes materialised in the client process")

    def summary_only(self, state):
        assert not state.get("pieces"), "a unit's fixes came to the client"
        self.__dict__.update(state)

    read_table = features.snapshot.read_table
    monkeypatch.setattr(features.snapshot, "read_table",
                        lambda folder, name, log: refuse() if name == "trajectories" else read_table(folder, name, log))
    monkeypatch.setattr(features.snapshot, "_tidy_trajectories", refuse)
    monkeypatch.setattr(features.trajectories, "fix_arrays", refuse)
    monkeypatch.setattr(features.trajectories, "clean_arrays", refuse)
    monkeypatch.setattr(StopIndex, "build", classmethod(refuse))
    monkeypatch.setattr(StopIndex, "__setstate__", refuse, raising=False)
    monkeypatch.setattr(FixGroup, "__setstate__", refuse, raising=False)
    monkeypatch.setattr(UnitResult, "__setstate__", summary_only, raising=False)
    received: list[int] = []
    gather = dask_client.gather

    def measured_gather(futures, *args, **kwargs):
        from dask.sizeof import sizeof

        out = gather(futures, *args, **kwargs)
        received.append(sizeof(out))
        return out

    monkeypatch.setattr(dask_client, "gather", measured_gather)
    snap = load_snapshot(small_snapshot, trajectories="cluster", client=dask_client)
    seen = load_snapshot(small_snapshot, trajectories="cluster", client=dask_client)  # collected below, never indexed
    fs = build(snap, "2021-08-31", engine="dask", dask_client=dask_client)
    assert len(fs.stops) > 100 and fs.enterprise["manifest_gps_gap_max_h_365d"].notna().any()
    assert len(fs.driving.events) > 10 and fs.driving.vehicle["driving_score"].gt(0).any()  # driving rules: on the workers
    fixes_bytes = 28 * len(snap.trajectories)  # vehicle code, time, latitude, longitude
    assert max(received) < fixes_bytes / 10, (max(received), fixes_bytes)  # stops and trip columns: small
    seen.trajectories.collect()  # what the cluster path never does: it is seen (snap's frames are released)
    assert received[-1] > fixes_bytes / 2


def test_empty_trajectories_on_the_cluster(dask_client, tmp_path):
    from features.trajectory_features import trajectory_evidence

    folder = write_minimal(tmp_path / "e", tables={"trajectories": "vehicle_id,ts,lat,lon\n"})
    cluster = load_snapshot(folder, trajectories="cluster", client=dask_client)
    assert len(cluster.trajectories) == 0 and "trajectories" not in cluster.report.spans
    got, want = trajectory_evidence(cluster, "2021-03-01"), trajectory_evidence(load_snapshot(folder), "2021-03-01")
    assert got.stops.empty and not got.trips["has_gps"].any()
    pd.testing.assert_frame_equal(got.trips, want.trips)
    pd.testing.assert_frame_equal(got.enterprise, want.enterprise)
