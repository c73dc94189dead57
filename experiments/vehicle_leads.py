"""The vehicle lead list against the simulator's truth: precision at k of the driving score
(``features.vehicle_leads``) against a plain count of driving events.

    .venv/bin/python -m experiments.vehicle_leads --scale city --months 4 --seeds 1 2 3 4 --out experiments/RESULTS_VEHICLES.md

For each seed a world is simulated (``--keep DIR`` keeps the snapshots), and at its last day and 30
days before it every registered vehicle is ranked twice: by ``driving_score`` and by
``event_count`` (speeding + fatigue + restricted + silent events: the contract's four columns
added up). A vehicle is positive when ``truth/vehicle_violations.csv`` has a row for it starting in
the 90 days up to the date (any behaviour: speeding, fatigue, restricted, silent, unpermitted; the
dumping runs' switched-off terminals included). Honest vehicles' own near misses, GPS outages and
long days without a recorded driver are not in the truth: they are what the ranking must see past.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

KS = (10, 20, 30, 50)
RANKERS = {"driving score": "driving_score", "plain count of events": "event_count"}


def precision_at(order: pd.Series, k: int) -> float:
    return float(order.head(k).mean())


def average_precision(order: pd.Series) -> float:
    hits = order.to_numpy(bool)
    if not hits.any():
        return float("nan")
    ranks = np.flatnonzero(hits) + 1
    return float((np.arange(1, hits.sum() + 1) / ranks).mean())


def evaluate(folder: Path, days_back: tuple[int, ...] = (0, 30)) -> list[dict]:
    """One row per (as-of date, ranker) with precision at each k, R-precision and average precision."""
    from features import load_snapshot
    from features.build import place_index
    from features.driving import driving_events
    from features.trajectory_features import build_stop_index
    from features.vehicle_leads import vehicle_table

    snap = load_snapshot(folder)
    index, places = build_stop_index(snap), place_index(snap)
    truth = pd.read_csv(folder / "truth" / "vehicle_violations.csv", parse_dates=["start", "end"])
    rows = []
    for back in days_back:
        as_of = snap.last_day - pd.Timedelta(days=back)
        end = as_of + pd.Timedelta(days=1)
        named = set(truth.loc[(truth["start"] >= end - pd.Timedelta(days=90)) & (truth["start"] < end), "vehicle_id"])
        v = vehicle_table(driving_events(snap, as_of, index, places).events, snap.vehicles, snap.enterprises)
        v["positive"] = v.index.isin(named)
        n_pos = int(v["positive"].sum())
        for label, col in RANKERS.items():
            order = v.sort_values([col, "event_count"], ascending=False, kind="stable")["positive"]
            rows.append({"as_of": str(as_of.date()), "ranker": label, "vehicles": len(v), "positives": n_pos,
                         **{f"p@{k}": precision_at(order, k) for k in KS},
                         "R-precision": precision_at(order, n_pos), "AP": average_precision(order)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="city")
    ap.add_argument("--months", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--keep", type=Path, help="keep the simulated snapshots here")
    ap.add_argument("--out", type=Path, help="write the markdown table here")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from simulation import simulate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for seed in args.seeds:
            t0 = time.perf_counter()
            folder = base / f"{args.scale}-{args.months}m-seed{seed}"
            if not (folder / "truth" / "vehicle_violations.csv").exists():
                simulate(folder, seed=seed, scale=args.scale, months=args.months)
            for r in evaluate(folder):
                rows.append({"seed": seed, **r})
            sys.stderr.write(f"seed {seed}: {time.perf_counter() - t0:.0f} s\n")
    table = pd.DataFrame(rows)
    text = markdown(table)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def markdown(table: pd.DataFrame) -> str:
    """Every (seed, date, ranker) row, then each ranker's mean over them."""
    metrics = [f"p@{k}" for k in KS] + ["R-precision", "AP"]
    lines = ["| seed | as of | vehicles | positives | ranker | " + " | ".join(metrics) + " |",
             "| ---: | --- | ---: | ---: | --- | " + " | ".join("---:" for _ in metrics) + " |"]
    for r in table.to_dict("records"):
        lines.append(f"| {r['seed']} | {r['as_of']} | {r['vehicles']} | {r['positives']} | {r['ranker']} | "
                     + " | ".join(f"{r[m]:.3f}" for m in metrics) + " |")
    for ranker, g in table.groupby("ranker", sort=False):
        lines.append(f"| **mean** | | | | **{ranker}** | " + " | ".join(f"**{g[m].mean():.3f}**" for m in metrics) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
