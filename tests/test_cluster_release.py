"""Fixes on the cluster are released once their stop index is built: a worker holds a vehicle
group's validated frame or its index, not both (issue 18, the province year within 6 GB a process).
The features do not change, the frames really leave the workers, and a later read says why it cannot."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from features import load_snapshot
from features.build import build
from features.distributed_loader import ClusterFixes, FixesReleased
from features.trajectories import StopParams
from tests.test_distributed import assert_same_features

pytestmark = pytest.mark.slow


def _held(client, keys: set[str]) -> dict[str, int]:
    """Bytes each of ``keys`` takes on the workers that hold it (summed over workers)."""

    def sizes(dask_worker, keys=frozenset(keys)):
        from dask.sizeof import sizeof

        return {k: sizeof(v) for k, v in dask_worker.data.items() if k in keys}

    out: dict[str, int] = {}
    for per_worker in client.run(sizes).values():
        for k, n in per_worker.items():
            out[k] = out.get(k, 0) + n
    return out


def _settled(client, keys: set[str], patience_s: float = 30.0) -> dict[str, int]:
    """``_held`` once the scheduler has caught up with released futures (releases are asynchronous:
    polled, never timed; a frame still held after ``patience_s`` is held)."""
    end = time.monotonic() + patience_s
    held = _held(client, keys)
    while held and time.monotonic() < end:
        time.sleep(0.2)
        held = _held(client, keys)
    return held


@pytest.fixture()
def fresh(small_snapshot, dask_client) -> ClusterFixes:
    """The small snapshot with its fixes on the cluster, loaded for one test (its frames not released)."""
    return load_snapshot(small_snapshot, trajectories="cluster", client=dask_client)


def test_features_are_those_of_pandas_with_the_frames_released(fresh, small_on_cluster, dask_client):
    memory, _ = small_on_cluster
    for day in ("2021-06-30", memory.last_day):
        assert_same_features(build(fresh, day, engine="dask", dask_client=dask_client), build(memory, day))
    assert fresh.trajectories.released  # built from the index alone: the frames went after the first date


def test_the_frames_leave_the_workers_once_the_index_is_built(fresh, dask_client):
    from features.trajectory_features import build_stop_index

    fixes = fresh.trajectories
    keys = {g.key for g in fixes.groups}
    before = _held(dask_client, keys)
    assert set(before) == keys and sum(before.values()) > 28 * len(fixes)  # every frame there, ~40 bytes a fix
    index = build_stop_index(fresh)
    assert fixes.released and len(index.stops) > 100
    assert _settled(dask_client, keys) == {}  # no worker keeps a byte of them
    who_has = dask_client.who_has()
    assert not keys & {k for k, where in who_has.items() if where}


def test_a_read_after_release_fails_and_says_why(fresh):
    from features.trajectory_features import build_stop_index

    index = build_stop_index(fresh)
    assert build_stop_index(fresh) is index  # the same parameters: the index kept, nothing read again
    with pytest.raises(FixesReleased, match="(?s)released on the workers once the stop index was built.*cannot collect them.*Load the snapshot again"):
        fresh.trajectories.collect()
    with pytest.raises(FixesReleased, match="cannot build a stop index"):
        build_stop_index(fresh, StopParams(max_diameter_m=500.0))


def test_a_unit_hands_each_group_over_once_and_keeps_no_copy(small_snapshot):
    """While the groups are assembled a worker holds each fix once: a unit gives up a group's piece
    when it hands it over (kept, every fix sat on the worker twice until the last group was joined)."""
    from features.distributed_loader import plan_units, unit_piece, validate_unit
    from features.problems import ProblemLog

    units, _ = plan_units(small_snapshot / "trajectories.csv", ProblemLog())
    vehicles = load_snapshot(small_snapshot, trajectories="skip").vehicles["vehicle_id"].astype("str")
    group_of = {v: (i % 3, i // 3) for i, v in enumerate(sorted(vehicles))}
    result = validate_unit(units[0], None, group_of)
    assert sorted(result.pieces) == [0, 1, 2]
    pieces = {g: unit_piece(result, g) for g in (0, 1, 2)}
    assert sum(p["ts"].size for p in pieces.values()) == result.rows and not result.pieces
    with pytest.raises(RuntimeError, match="already taken"):
        unit_piece(result, 1)
    assert unit_piece(result, 7) is None  # a group without fixes in this unit


def test_groups_assembled_in_waves_are_the_groups_assembled_at_once(small_snapshot, dask_client, monkeypatch):
    """Many small vehicle groups, one a worker in flight: the same fixes as the default load."""
    import features.distributed_loader as dl
    from features.problems import ProblemLog

    vehicles = load_snapshot(small_snapshot, trajectories="skip").vehicles
    at_once = dl.load_fixes_on_cluster(small_snapshot, vehicles, dask_client, ProblemLog()).collect()
    submitted: list[int] = []
    submit = dask_client.submit

    def counted(fn, *args, **kwargs):
        if fn is dl.assemble_group:
            submitted.append(1)
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(dask_client, "submit", counted)
    monkeypatch.setattr(dl, "GROUPS_IN_FLIGHT", 1)
    waves = dl.load_fixes_on_cluster(small_snapshot, vehicles, dask_client, ProblemLog(), fixes_per_group=100_000)
    assert len(waves.groups) >= 8 and len(submitted) == len(waves.groups)
    assert len(waves) == len(at_once)
    pd.testing.assert_frame_equal(waves.collect(), at_once)
