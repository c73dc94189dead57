"""Manifest, licence, network, tip and profile features on the hand-built snapshot."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import build
from features.geo import LocalProjection, PlaceIndex
from features.manifests import manifest_checks, manifest_features
from features.network import case_features, network_features, tip_count_features
from features.profile import profile_features
from features.tips import tip_features
from tests.feature_fixtures import CODE, load_features_snapshot, manifests

AS_OF = "2021-05-31"


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    return load_features_snapshot(tmp_path_factory.mktemp("m") / "s")


def checks(snap, as_of=AS_OF):
    return manifest_checks(snap.manifests, snap.licences, snap.vehicles, snap.enterprises, as_of)


def feats(snap, as_of=AS_OF):
    return manifest_features(checks(snap, as_of), snap.ledgers, snap.licences, snap.vehicles, snap.enterprises, as_of)


def test_manifest_checks(snap):
    c = checks(snap).set_index("manifest_id")
    assert c.loc["MX4", "receiver_licence"] == "none"  # R2 holds only an expired HW17 licence
    assert c.loc["MX1", "receiver_licence"] == "valid"
    assert not c.loc["MX3", "hazmat_permit"]
    assert c.loc["MX3", "shrink_t"] == pytest.approx(1.0)
    assert c.loc["MX3", "transit_h"] == pytest.approx(11.0)
    assert c.loc["MX4", "overdue"] and not c.loc["MX3", "overdue"]
    assert c.loc["MX1", "cross_county"]  # 阳朔县 -> 雁山区


def test_an_unknown_county_or_party_counts_as_another_county(snap):
    """``cross_county`` as the two mapped counties compared: the same only when both are known and equal."""
    ent = snap.enterprises.copy()
    ent.loc[ent["enterprise_id"] == "P3", "county"] = None
    m = snap.manifests.copy()
    for mid, receiver in (("MP11", "P1"), ("MP12", "NOT-AN-ENTERPRISE"), ("MP32", "P3")):
        m.loc[m["manifest_id"] == mid, "receiver_id"] = receiver
    c = manifest_checks(m, snap.licences, snap.vehicles, ent, AS_OF).set_index("manifest_id")["cross_county"]
    county = ent.set_index("enterprise_id")["county"]
    known = m[m["departed_at"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)].set_index("manifest_id")
    assert c[known.index].tolist() == (known["producer_id"].map(county) != known["receiver_id"].map(county)).tolist()
    assert not c["MP11"] and not c["MX4"]  # one enterprise; X1 and R2 both in 阳朔县
    assert c["MP12"] and c["MP31"] and c["MP32"]  # not an enterprise; P3's county unknown (even to itself)
    assert c["MX1"]  # 阳朔县 -> 雁山区


def test_expired_licence_is_told_apart_from_none(snap):
    lic = snap.licences.copy()
    lic.loc[lic.licence_id == "L3", "waste_codes"] = "HW08"
    c = manifest_checks(snap.manifests, lic, snap.vehicles, snap.enterprises, AS_OF).set_index("manifest_id")
    assert c.loc["MX4", "receiver_licence"] == "expired"


def test_producer_features(snap):
    f = feats(snap).loc["X1"]
    assert f["unlicensed_receiver_t_365d"] == pytest.approx(5.0)
    assert f["unlicensed_receiver_t_365d@manifest_id"] == "MX4"
    assert f["unlicensed_receiver_t_365d@receiver_id"] == "R2"
    assert f["unlicensed_transport_manifests_365d"] == 1.0  # MX3 on a vehicle without a hazmat permit
    assert f["unlicensed_transport_manifests_365d@vehicle_id"] == "桂C10002"
    assert f["unconfirmed_t_365d"] == pytest.approx(5.0)
    assert f["shrinkage_t_365d"] == pytest.approx(1.0 - 0.02 * 5)
    assert f["shrink_share_max_365d"] == pytest.approx(0.2)
    assert f["late_confirmation_share_365d"] == pytest.approx(0.0)
    assert f["manifests_365d"] == 4
    assert f["receiver_concentration_365d"] == pytest.approx((13 / 18) ** 2 + (5 / 18) ** 2)
    p1 = feats(snap).loc["P1"]
    assert p1["unlicensed_receiver_t_365d"] == 0 and p1["shrinkage_t_365d"] == 0


def test_receiver_and_carrier_features(snap):
    f = feats(snap)
    # R1 received 12 x 10 t from peers and 13 t from X1 = 133 t against 100 t capacity
    assert f.loc["R1", "receiver_load_vs_capacity_365d"] == pytest.approx(1.33)
    assert f.loc["R2", "received_unlicensed_t_365d"] == pytest.approx(5.0)
    assert f.loc["T1", "carrier_non_hazmat_share"] == pytest.approx(0.5)
    assert f.loc["T1", "carrier_unconfirmed_share_365d"] == pytest.approx(1 / 16)


def test_network_and_cases(snap):
    c = checks(snap)
    net = network_features(c, snap.cases, snap.enterprises, AS_OF)
    # P3 has a confirmed case; T1 and R1 served P3, so they link X1, P1, P2 (not P3 through its own case)
    assert net.loc["X1", "partners_with_confirmed_cases_365d"] == 2
    assert net.loc["P3", "partners_with_confirmed_cases_365d"] == 0
    assert net.loc["X1", "shared_vehicles_with_flagged_365d"] == 1
    cf = case_features(snap.cases, snap.enterprises, AS_OF)
    assert cf.loc["P3", "prior_confirmed_cases"] == 1 and cf.loc["P2", "prior_unfounded_cases"] == 1
    assert cf.loc["P3", "days_since_investigated"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2021-02-01")).days
    before = case_features(snap.cases, snap.enterprises, "2021-01-31")
    assert before.loc["P3", "prior_confirmed_cases"] == 0


def test_tip_features(snap):
    places = PlaceIndex(snap.places, LocalProjection(25.0, 110.4))
    stops = pd.DataFrame({"vehicle_id": ["桂C10001", "桂C10002"], "start": pd.to_datetime(["2021-04-18 23:00", "2021-04-01 10:00"]),
                          "end": pd.to_datetime(["2021-04-18 23:30", "2021-04-01 10:20"]),
                          "lat": [24.785, 24.78], "lon": [110.49, 110.49], "night": [True, False]})
    tf = tip_features(snap.tips, snap.enterprises, places, stops, AS_OF)
    k1 = tf.loc["K1"]
    assert k1["tip_channel_informant"] == 1 and k1["tip_names_enterprise"] == 1
    assert k1["tip_mentions_night"] >= 1 and k1["tip_mentions_water"] >= 1 and k1["tip_mentions_vehicle"] >= 1
    assert k1["tip_stops_nearby_14d"] == 1 and k1["tip_night_stops_nearby_14d"] == 1  # the April 1 stop is 19 days earlier
    assert k1["tip_nearest_stop_m"] == pytest.approx(556, abs=5)
    assert k1["tip_stops_nearby_14d@vehicle_id"] == "桂C10001"
    assert k1["tip_similar_14d"] == 1 and tf.loc["K2", "tip_similar_14d"] == 1
    assert tf.loc["K2", "tip_similar_14d@group"] == "K1"
    assert tf.loc["K3", "tip_mentions_dispute"] >= 2
    assert tf.loc["K1", "tip_producers_within_1km"] == 1  # X1 itself
    assert "X1" in tf.loc["K1", "tip_names_enterprise@enterprise_ids"]
    assert list(tip_features(snap.tips, snap.enterprises, places, stops, "2021-04-21").index) == ["K1", "K3"]


def test_tip_counts_and_profile(snap):
    t = tip_count_features(snap.tips, snap.enterprises, AS_OF)
    assert t.loc["X1", "tips_naming_90d"] == 1 and t.loc["X1", "informant_tips_365d"] == 1
    p = profile_features(snap.enterprises, AS_OF)
    assert p.loc["P1", "key_industry"] == 1 and p.loc["P1", "key_industry@industry"] == "chemical"
    assert p.loc["P1", "in_park"] == 1 and p.loc["P2", "in_park"] == 0
    assert p.loc["X1", "age_years"] == pytest.approx((pd.Timestamp(AS_OF) - pd.Timestamp("2018-06-01")).days / 365.25)


def test_rows_after_as_of_change_nothing(tmp_path):
    as_of = "2021-04-30"
    base = load_features_snapshot(tmp_path / "a")
    later = load_features_snapshot(tmp_path / "b", extra={
        "manifests": manifests([("MZ", "X1", "T1", "R2", "桂C10002", CODE, 30, "2021-05-01T00:00:00", 1, "2021-05-03T00:00:00")]).split("\n", 1)[1],
        "cases": "C9,2021-05-02,X1,,confirmed,dumping_3t,30,true\n",
        "tips": "K9,2021-05-01T01:00:00,informant,又在河边倒油,24.78,110.49,阳朔县,X1\n",
        "licences": "L9,R2,disposal,HW08,10,2021-05-01,2022-01-01\n",
        "enterprises": "N1,新开化工厂,C2661,临桂区,25.19,110.19,producer,false,40,2021-05-01,\n",
    })
    for f in (lambda s: manifest_features(checks(s, as_of), s.ledgers, s.licences, s.vehicles, s.enterprises, as_of),
              lambda s: network_features(checks(s, as_of), s.cases, s.enterprises, as_of),
              lambda s: case_features(s.cases, s.enterprises, as_of),
              lambda s: tip_count_features(s.tips, s.enterprises, as_of),
              lambda s: tip_features(s.tips, s.enterprises, None, None, as_of),
              lambda s: profile_features(s.enterprises, as_of)):
        # the per-source tables list every registered enterprise; build drops the not-yet-registered
        pd.testing.assert_frame_equal(f(base), f(later).drop(index="N1", errors="ignore"))
    # the assembled tables: an enterprise registered after the as-of date is not in them, and nothing
    # dated after it changes any other row
    a, b = build(base, as_of), build(later, as_of)
    assert "N1" not in b.enterprise.index and "N1" in build(later, "2021-05-31").enterprise.index
    pd.testing.assert_frame_equal(a.enterprise, b.enterprise)
    # distances are measured in a local projection centred on the registry: a new enterprise moves the
    # centre by metres, and distances change in the fifth digit (no fact about it can be read from that)
    pd.testing.assert_frame_equal(a.tip, b.tip, rtol=1e-4)
    pd.testing.assert_frame_equal(a.ledger_mismatch, b.ledger_mismatch)
