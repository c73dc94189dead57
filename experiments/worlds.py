"""Many randomised cities: every modelling choice judged by its worst city, some cities kept untouched.

Each world is a ``town``-scale snapshot (about 400 enterprises, 18 months, 2-4 M fixes: the size of
the independent test cities) drawn by ``simulation.worlds.draw_world(seed)``. On each, every
recipe (``experiments.recipes``) is trained as ``hazleads train --as-of T`` would train it and its
lists are scored at T as ``hazleads score`` would; the lists are compared with the truth at T
(who was violating in the 365 days up to T; which tips were genuine; which ledger rows hid waste),
beside the baselines (the action plan's rule score, the anomaly score, random, channel-only tips).

    python -m experiments.worlds run --set dev                # the development worlds
    python -m experiments.worlds run --set holdout --final    # the untouched worlds: only at the end
    python -m experiments.worlds report --set dev             # mean and worst per recipe

Worlds and their feature caches live in ``$HAZLEADS_WORLDS`` (default ``~/.cache/hazleads-worlds``);
results (one CSV per world and set) in ``experiments/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

DEV_SEEDS = tuple(range(101, 113))  # twelve development worlds: every choice is made looking at these
HOLDOUT_SEEDS = (9001, 9002, 9003, 9004, 9005, 9006)  # never looked at while choosing; reported last
SETS = {"dev": DEV_SEEDS, "holdout": HOLDOUT_SEEDS}
SCALE = "town"
K = 20
RESULTS = Path(__file__).resolve().parent / "results"


def worlds_root() -> Path:
    return Path(os.environ.get("HAZLEADS_WORLDS", Path.home() / ".cache" / "hazleads-worlds"))


def world_snapshot(seed: int, root: Path | None = None) -> Path:
    """The snapshot of world ``seed`` (simulated on first use; the world's knobs in truth/meta.json)."""
    import simulation
    from simulation.worlds import draw_world

    root = root or worlds_root()
    folder = root / f"{SCALE}-{seed}"
    if not (folder / "truth" / "meta.json").exists():
        simulation.simulate(folder, seed=seed, scale=SCALE, world=draw_world(seed, available_voices()))
    return folder


def available_voices() -> tuple[str, ...]:
    try:
        from simulation.tipvoices import VOICES
    except ImportError:  # before the voices exist, worlds write in the classic voice only
        return ()
    return tuple(sorted(VOICES))


# ---- metrics against the truth ----------------------------------------------------------------


def list_metrics(y: np.ndarray, score: np.ndarray, k: int = K) -> dict[str, float]:
    from training.evaluate import ap, precision_at_k

    return {f"p@{k}": precision_at_k(y, score, k), "ap": ap(y, score), "base": float(np.mean(y)) if len(y) else np.nan,
            "distinct": float(len(np.unique(np.round(score, 9))))}


def mismatch_truth(truth: dict, mm: pd.DataFrame, min_hidden_t: float = 0.1) -> np.ndarray:
    """1 for ledger rows (enterprise, month, code) in which the truth hid at least ``min_hidden_t``."""
    h = truth.get("hidden_tonnes")
    if h is None or mm.empty:
        return np.zeros(len(mm))
    hid = h.groupby(["enterprise_id", "month", "waste_code"])["hidden_t"].sum()
    hid = hid[hid >= min_hidden_t]
    key = pd.MultiIndex.from_frame(mm[["enterprise_id", "month", "waste_code"]].astype(str))
    return key.isin(hid.index).astype(int)


# ---- one world ------------------------------------------------------------------------------


def evaluation_dates(last_day: pd.Timestamp, n: int) -> list[pd.Timestamp]:
    """The snapshot's last day and the ``n - 1`` month ends before it: one city, several looks,
    so that a recipe's number for a city is not the luck of one list of 20."""
    out = [last_day]
    d = last_day
    while len(out) < n:
        d = (d - pd.offsets.MonthEnd(1)).normalize()  # the month end before d
        out.append(d)
    return out


def evaluate_world(seed: int, recipe_names: list[str], root: Path | None = None, n_dates: int = 3, say=print) -> pd.DataFrame:
    """Rows (world, date, recipe, list, metric, value) for every recipe and baseline on world ``seed``."""
    from experiments.recipes import RECIPES, WorldContext, baseline_scores
    from features.build import build, place_index
    from features.snapshot import load_snapshot, snapshot_digest
    from features.trajectory_features import build_stop_index
    from training.dataset import build_dataset
    from training.labels import load_truth, truth_enterprise_labels, truth_tip_labels
    from training.score import _open_tips
    from training.splits import monthly_as_of_dates

    root = root or worlds_root()
    path = world_snapshot(seed, root)
    t0 = time.perf_counter()
    snap = load_snapshot(path)
    digest = snapshot_digest(path)
    truth = load_truth(path)
    last = snap.last_day
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    dates = monthly_as_of_dates(first_day, last, 30)
    if not dates or dates[-1] != last:
        dates.append(last)
    cache = root / "cache" / "features"
    dataset, _ = build_dataset(snap, dates, digest, cache_dir=cache)
    index = build_stop_index(snap)
    places = place_index(snap)
    rows = []
    for as_of in evaluation_dates(last, n_dates):
        fs = build(snap, as_of, trajectory_index=index, places=places)
        ent = fs.enterprise
        y_ent = truth_enterprise_labels(truth, ent.index, as_of).to_numpy()
        open_tips = _open_tips(fs, snap, as_of)
        y_tip = truth_tip_labels(truth, open_tips.index).to_numpy() if len(open_tips) else np.zeros(0)

        def put(recipe: str, kind: str, m: dict[str, float], seconds: float = np.nan, as_of=as_of) -> None:
            for k, v in m.items():
                rows.append({"world": seed, "date": str(as_of.date()), "recipe": recipe, "list": kind, "metric": k, "value": v})
            if np.isfinite(seconds):
                rows.append({"world": seed, "date": str(as_of.date()), "recipe": recipe, "list": kind, "metric": "seconds",
                             "value": seconds})

        ctx = WorldContext(snap, path, cache, dataset, fs, open_tips, as_of)
        for name, (ent_s, tip_s) in baseline_scores(ctx).items():
            if ent_s is not None:
                put(name, "enterprise", list_metrics(y_ent, ent_s))
            if tip_s is not None and len(open_tips):
                put(name, "tip", list_metrics(y_tip, tip_s))
        mm = fs.ledger_mismatch
        put("mismatch", "ledger", list_metrics(mismatch_truth(truth, mm), mm["score"].to_numpy(float), k=50))
        for name in recipe_names:
            t = time.perf_counter()
            ent_s, tip_s, notes = RECIPES[name](ctx)
            secs = time.perf_counter() - t
            if ent_s is not None:
                put(name, "enterprise", list_metrics(y_ent, ent_s), secs)
            if tip_s is not None and len(open_tips):
                put(name, "tip", list_metrics(y_tip, tip_s))
            for n in notes:
                say(f"  world {seed} {as_of.date()} {name}: {n}")
        labelled = snap.cases[snap.cases["outcome"].isin(("confirmed", "unfounded")) & (snap.cases["opened"] <= as_of)]
        put("world", "info", {"violators": float(y_ent.sum()), "cases": float(len(labelled)),
                              "confirmed": float((labelled["outcome"] == "confirmed").sum()), "open_tips": float(len(open_tips)),
                              "genuine_open_tips": float(y_tip.sum())})
    meta = json.loads((path / "truth" / "meta.json").read_text(encoding="utf-8"))
    rows.append({"world": seed, "date": str(last.date()), "recipe": "world", "list": "info", "metric": "selection_focus",
                 "value": meta["world"]["selection_focus"]})
    say(f"world {seed}: {time.perf_counter() - t0:.0f} s")
    return pd.DataFrame(rows)


# ---- many worlds ----------------------------------------------------------------------------


def _one(args) -> pd.DataFrame:
    seed, recipes, root, n_dates = args
    return evaluate_world(seed, recipes, Path(root), n_dates)


def run(set_name: str, recipes: list[str], jobs: int = 1, out: Path = RESULTS, seeds: list[int] | None = None,
        n_dates: int = 3, tag: str = "") -> pd.DataFrame:
    seeds = list(seeds or SETS[set_name])
    root = worlds_root()
    for s in seeds:  # simulate serially (memory), evaluate in parallel
        world_snapshot(s, root)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            frames = list(pool.map(_one, [(s, recipes, str(root), n_dates) for s in seeds]))
    else:
        frames = [evaluate_world(s, recipes, root, n_dates) for s in seeds]
    res = pd.concat(frames, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out / f"worlds-{set_name}{tag}.csv", index=False)
    return res


def summary(res: pd.DataFrame, lists=("enterprise", "tip", "ledger"), metrics=("p@20", "ap", "p@50")) -> pd.DataFrame:
    """Mean and worst (lowest) over worlds of each world's mean over its evaluation dates, per list,
    recipe and metric; with the worst margin over the reference (rules; random for tips) and the
    number of worlds where the recipe beats it."""
    r = res[res["list"].isin(lists) & res["metric"].isin(metrics)]
    wide = r.pivot_table(index=["list", "metric", "recipe"], columns="world", values="value", aggfunc="mean")
    out = pd.DataFrame({"mean": wide.mean(axis=1), "worst": wide.min(axis=1)})
    for (lst, metric), g in wide.groupby(level=[0, 1]):
        for ref in REFERENCES.get(lst, ()):
            if (lst, metric, ref) in g.index:
                diff = g.sub(g.loc[(lst, metric, ref)], axis=1)
                out.loc[diff.index, f"worst_vs_{ref}"] = diff.min(axis=1)
                out.loc[diff.index, f"wins_vs_{ref}"] = (diff > 0).sum(axis=1).astype(float)
    return out.round(3)


REFERENCES = {"enterprise": ("rules",), "tip": ("random", "channel")}


def per_world(res: pd.DataFrame, lst: str, metric: str, recipes: list[str]) -> pd.DataFrame:
    """One row per world: each recipe's value (mean over the world's dates) and the world's facts
    (violators, concluded cases, open tips), worlds in seed order."""
    r = res[(res["list"] == lst) & (res["metric"] == metric) & res["recipe"].isin(recipes)]
    wide = r.pivot_table(index="world", columns="recipe", values="value", aggfunc="mean")
    wide = wide[[c for c in recipes if c in wide.columns]]
    info = res[res["list"] == "info"].pivot_table(index="world", columns="metric", values="value", aggfunc="mean")
    counts = [c for c in ("violators", "cases", "open_tips") if c in info.columns]
    facts = info[counts].round(0)
    if "selection_focus" in info:
        facts = facts.join(info[["selection_focus"]].round(3))
    return wide.round(3).join(facts)


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (what RESULTS.md shows): numbers to 3 decimals, counts as integers, NaN blank."""
    f = frame.reset_index()
    numeric = [pd.api.types.is_numeric_dtype(f[c]) for c in f.columns]
    whole = [n and bool(((f[c].dropna() % 1) == 0).all()) and str(c).startswith(("wins", "violators", "cases", "open_tips"))
             for c, n in zip(f.columns, numeric, strict=True)]

    def cell(v, is_whole: bool) -> str:
        if isinstance(v, float) and np.isnan(v):
            return ""
        if isinstance(v, (float, np.floating)):
            return f"{v:.0f}" if is_whole else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(str(c) for c in f.columns) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(cell(v, w) for v, w in zip(row, whole, strict=True)) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from experiments.recipes import DEFAULT_RECIPES, RECIPES

    ap = argparse.ArgumentParser(prog="python -m experiments.worlds", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("run", "report"))
    ap.add_argument("--set", default="dev", choices=sorted(SETS))
    ap.add_argument("--recipes", default=",".join(DEFAULT_RECIPES))
    ap.add_argument("--seeds", default="", help="comma-separated seeds (default: the whole set)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--dates", type=int, default=3, help="evaluation dates per world (the last day and month ends before)")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    ap.add_argument("--final", action="store_true", help="required for the holdout set: the last look")
    ap.add_argument("--markdown", action="store_true", help="pipe tables (as in RESULTS.md), with the per-world table")
    ap.add_argument("--compare", default="production,rules", help="recipes of the per-world tables (--markdown)")
    a = ap.parse_args(argv)
    if a.set == "holdout" and a.command == "run" and not a.final:
        print("the holdout worlds are run once, at the end: add --final", file=sys.stderr)
        return 2
    recipes = [r for r in a.recipes.split(",") if r]
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        print(f"unknown recipes {unknown}; known: {sorted(RECIPES)}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in a.seeds.split(",") if s] or None
    if a.command == "run":
        res = run(a.set, recipes, a.jobs, seeds=seeds, n_dates=a.dates, tag=a.tag)
    else:
        res = pd.read_csv(RESULTS / f"worlds-{a.set}{a.tag}.csv")
    if a.markdown:
        print(markdown(summary(res)))
        compare = [c for c in a.compare.split(",") if c]
        for lst, metric in (("enterprise", "p@20"), ("enterprise", "ap"), ("tip", "ap")):
            print(f"\n{lst} {metric} per world\n")
            print(markdown(per_world(res, lst, metric, compare + (["random", "channel"] if lst == "tip" else []))))
        return 0
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(summary(res).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
