"""``build(snapshot, as_of)``: every source's features at one as-of date, assembled per entity.

Returns a ``FeatureSet``: the enterprise, tip and site tables (catalogue features plus evidence
pointers ``<feature>@<field>`` and a few context columns), the ledger-mismatch table exactly as
the contract's ``ledger_mismatch.csv``, the evidence tables an investigator opens (manifest
checks, classified stops), and the driving violations of every vehicle (``FeatureSet.driving``:
events, the vehicle table with counts, score and reasons, totals per carrier; computed when first
read). Only rows dated on or before ``as_of`` are used anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, EVIDENCE_SEP, feature
from features.driving import DRIVING, DrivingParams, driving_events
from features.gazetteer import Gazetteer
from features.geo import LocalProjection, PlaceIndex
from features.incremental import AsOfCache
from features.ledgers import MISMATCH_COLUMNS, ledger_features, ledger_table
from features.manifests import manifest_checks, manifest_features
from features.network import case_features, network_features, tip_count_features
from features.power import power_features
from features.profile import industry_group, profile_features
from features.snapshot import Snapshot
from features.timeutil import as_of_day, known
from features.tips import tip_features
from features.trajectory_features import TrajectoryEvidence, build_stop_index, trajectory_part
from features.vehicle_leads import carrier_totals, vehicle_table

Progress = Callable[[str], None]

ENTERPRISE_CONTEXT = ["county", "industry_code", "industry_group", "roles", "name"]
TIP_CONTEXT = ["received_at", "channel", "county", "text", "lat", "lon", "enterprise_id"]


@dataclass
class FeatureSet:
    """One date's tables. ``site`` (by site_id, with the rule score) and ``vehicle`` (trajectory
    features by vehicle_id) are made from ``trajectory`` when first read, as ``driving`` is: training
    builds dozens of dates and reads only the enterprise and tip tables."""

    as_of: pd.Timestamp
    enterprise: pd.DataFrame  # by enterprise_id
    tip: pd.DataFrame  # by tip_id
    ledger_mismatch: pd.DataFrame  # contract §4 columns
    manifest_checks: pd.DataFrame  # one row per manifest known at as_of
    stops: pd.DataFrame  # classified stops known at as_of
    trajectory: TrajectoryEvidence | None = field(default=None, repr=False)  # what ``site`` and ``vehicle`` are made from
    driving: DrivingPart | None = field(default=None, repr=False)  # the driving rules, computed when first read

    @cached_property
    def site(self) -> pd.DataFrame:
        return _stringify_evidence(self.trajectory.sites) if self.trajectory is not None else pd.DataFrame()

    @cached_property
    def vehicle(self) -> pd.DataFrame:
        return self.trajectory.vehicle if self.trajectory is not None else pd.DataFrame()

    def settle(self) -> FeatureSet:
        """Make now every table made on first read (sites, the vehicles' trajectory features, the
        driving rules), then let go of what they were made from (the date's trips, the stops'
        evidence: 34 and 11 MB on the city): a feature set served for long holds its tables only."""
        self.site, self.vehicle  # noqa: B018
        if self.driving is not None:
            self.driving.vehicle  # noqa: B018
            self.driving.trajectory = None
        self.trajectory = None
        return self


@dataclass
class DrivingPart:
    """The driving rules at a feature set's date (``features.driving``), computed on first use:
    training builds features at dozens of dates and never reads them; ``hazleads score`` does.

    ``events``: the events of the 90 days up to as_of (``EVENT_COLUMNS``); ``vehicle``: the feature
    set's vehicle table with each vehicle's counts, score and reasons (``vehicle_leads.vehicle_table``);
    ``carrier``: totals by transporter_id (``vehicle_leads.carrier_totals``)."""

    snapshot: Snapshot = field(repr=False)
    as_of: pd.Timestamp
    index: object = field(repr=False)  # the stop index (a StopIndex, or a ClusterStopIndex)
    places: PlaceIndex = field(repr=False)
    params: DrivingParams = DRIVING
    trajectory: TrajectoryEvidence | None = field(default=None, repr=False)  # its ``vehicle`` table leads the columns

    @cached_property
    def events(self) -> pd.DataFrame:
        return driving_events(self.snapshot, self.as_of, self.index, self.places, self.params).events

    @cached_property
    def vehicle(self) -> pd.DataFrame:
        v = vehicle_table(self.events, self.snapshot.vehicles, self.snapshot.enterprises)
        t = self.trajectory.vehicle if self.trajectory is not None else pd.DataFrame()
        return pd.concat([t, v.drop(columns=t.columns.intersection(v.columns))], axis=1)

    @cached_property
    def carrier(self) -> pd.DataFrame:
        return carrier_totals(self.vehicle)


def place_index(snapshot: Snapshot) -> PlaceIndex:
    proj = LocalProjection.around(snapshot.enterprises["lat"].to_numpy(), snapshot.enterprises["lon"].to_numpy())
    return PlaceIndex(snapshot.places, proj)


def _stringify_evidence(frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence pointers as plain strings (times as 'YYYY-MM-DD HH:MM'), so tables store anywhere.

    A text column becomes an object column of str and None. Any other column's values are written
    with ``str``: a column with at least one value becomes pandas' string dtype (missing: NaN), one
    with none an object column of None (what ``Series.map`` infers from such values). The columns
    are put back at once, in their places: one frame of 150 columns a date, not 150 assignments
    (a frame without rows comes out as column-by-column assignment left it too)."""
    cols = [c for c in frame.columns if EVIDENCE_SEP in c]
    if not cols:
        return frame
    done = {}
    for c in cols:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d %H:%M").str.replace(" 00:00", "", regex=False)
        if isinstance(s.dtype, pd.StringDtype):
            done[c] = pd.Series(s.to_numpy(dtype=object, na_value=None), index=frame.index, dtype=object)
            continue
        values = s.to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.all():
            done[c] = pd.Series([None] * len(values), index=frame.index, dtype=object)
        else:
            done[c] = pd.Series([None if m else str(v) for v, m in zip(values, missing, strict=True)],
                                index=frame.index, dtype="str")
    rest = frame.drop(columns=cols)
    out = pd.concat([rest, pd.DataFrame(done, index=frame.index)], axis=1)
    return out[list(frame.columns)]


def gazetteer_of(snapshot: Snapshot) -> Gazetteer:
    """The names a tip's words may use: every named place and every registered enterprise."""
    return Gazetteer(snapshot.places, snapshot.enterprises)


def build(snapshot: Snapshot, as_of=None, trajectory_index=None, places: PlaceIndex | None = None,
          progress: Progress | None = None, engine: str = "pandas", dask_client=None,
          gazetteer: Gazetteer | None = None, driving: DrivingParams = DRIVING,
          cache: AsOfCache | None = None) -> FeatureSet:
    """All feature tables at ``as_of`` (default: the snapshot's last day).

    ``trajectory_index`` is a precomputed stop index (from ``features.trajectory_features``), so that
    building at many as-of dates detects stops once. ``engine="dask"`` computes the trajectory part
    on a Dask cluster (``dask_client``), partitioned by vehicle; the result is the same. ``driving``
    holds the limits of the driving rules (``features.driving.DrivingParams``). ``cache``
    (``features.incremental.AsOfCache``), passed for every date of one snapshot and stop index,
    shares the work that does not depend on the date; the values are the same without it.
    """
    say = progress or (lambda _m: None)
    as_of = as_of_day(as_of if as_of is not None else snapshot.last_day)
    places = places or place_index(snapshot)
    s = snapshot
    say("台账核对 ledgers")
    power = cache.power_of(s.electricity) if cache is not None else None
    table = ledger_table(s.ledgers, s.manifests, s.electricity, s.enterprises, as_of, power)
    mm = table[MISMATCH_COLUMNS]
    parts = [profile_features(s.enterprises, as_of)]
    parts.append(ledger_features(table, s.ledgers, s.electricity, s.enterprises, as_of, power))
    say("用电 power")
    parts.append(power_features(s.electricity, s.enterprises, as_of))
    say("联单 manifests")
    cover = cache.licences_of(s.manifests, s.licences) if cache is not None else None
    checks = manifest_checks(s.manifests, s.licences, s.vehicles, s.enterprises, as_of, cover)
    parts.append(manifest_features(checks, s.ledgers, s.licences, s.vehicles, s.enterprises, as_of))
    parts.append(network_features(checks, s.cases, s.enterprises, as_of))
    parts.append(case_features(s.cases, s.enterprises, as_of))
    parts.append(tip_count_features(s.tips, s.enterprises, as_of))
    say("轨迹 trajectories")
    if trajectory_index is None:  # built once here: the stops and the driving rules read the same index
        if engine == "dask":
            from features.distributed import cluster_stop_index

            trajectory_index = cluster_stop_index(s, dask_client)
        else:
            trajectory_index = build_stop_index(s)
    traj = trajectory_part(s, as_of, trajectory_index, places, checks, engine=engine, dask_client=dask_client, cache=cache)
    parts.append(traj.enterprise)
    enterprise = pd.concat(parts, axis=1)
    enterprise = enterprise.loc[:, ~enterprise.columns.duplicated()]
    e = s.enterprises.set_index("enterprise_id")
    for c in ("county", "industry_code", "roles", "name"):
        enterprise[c] = e[c].reindex(enterprise.index)
    enterprise["industry_group"] = industry_group(enterprise["industry_code"])
    if "opened" in e:  # an enterprise registered after the as-of date did not exist then
        later = e["opened"].reindex(enterprise.index) > as_of
        enterprise = enterprise[~later.fillna(False).to_numpy(dtype=bool)]
    say("举报 tips")
    offsite = traj.offsite_stops
    if gazetteer is None:  # the same names at every date: made once per cache
        gazetteer = cache.gazetteer_for(s, gazetteer_of) if cache is not None else gazetteer_of(s)
    tip = tip_features(s.tips, s.enterprises, places, offsite, as_of, gazetteer,
                       s.vehicles["vehicle_id"].to_numpy())
    tip = _with_named_enterprise(tip, enterprise)
    t = known(s.tips, "received_at", as_of).set_index("tip_id")
    for c in TIP_CONTEXT:
        tip[c] = t[c].reindex(tip.index) if c in t else np.nan
    return FeatureSet(
        as_of=as_of,
        enterprise=_stringify_evidence(enterprise).copy(),  # copy: one block per dtype, not hundreds
        tip=_stringify_evidence(tip).copy(),
        ledger_mismatch=mm,
        manifest_checks=checks,
        stops=traj.stops,
        trajectory=traj,
        driving=DrivingPart(s, as_of, trajectory_index, places, driving, traj),
    )


NAMED = ("unaccounted_t_365d", "unlicensed_receiver_t_365d", "night_share_excess_90d", "prior_confirmed_cases")
for _f in NAMED:
    _base = CATALOGUE[_f]
    feature(f"named_{_f}", "tip", "network", _base.unit, f"举报点名企业的{_base.description_zh}",
            f"the named enterprise's {_base.description_en}", f"被点名企业：{_base.description_zh} {{value:.2f}}",
            f"named enterprise: {_base.description_en} {{value:.2f}}", _base.direction, _base.min_reason)


def _with_named_enterprise(tip: pd.DataFrame, enterprise: pd.DataFrame) -> pd.DataFrame:
    """The named enterprise's own evidence (named in the field, else in the words), as tip features ``named_<feature>``."""
    named = tip["tip_names_enterprise@enterprise_id"] if "tip_names_enterprise@enterprise_id" in tip else pd.Series(None, index=tip.index)
    for f in NAMED:
        col = enterprise[f] if f in enterprise else pd.Series(dtype=float)
        tip[f"named_{f}"] = named.map(col).astype("float64").to_numpy()
    return tip
