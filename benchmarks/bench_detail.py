"""Benchmark: detail pages (enterprise, site, tip, vehicle) one client at a time, and the lead-list
pages against a bare endpoint answering the same bytes, in process over a simulated city.

    .venv/bin/python benchmarks/bench_detail.py [--data CITY] [--scale city] [--top 30]
        [--save answers.jsonl | --compare answers.jsonl] [--profile frames.md] [--out benchmarks/results/detail.md]
    .venv/bin/python benchmarks/bench_detail.py --quick      # the small city, a few entities

The service is the app of ``serving.app.create_app`` (no warm-up) over the snapshot, with the
features at its last day built the way the service builds them (``Runtime.build_features``) and
one lead list stored, scored by the graded rules (no training: the detail pages read the features
and the snapshot, not the model), plus the same list filed at the month-end before as history.
Requests go through FastAPI's TestClient (no socket): what is timed is the service's own work.
``--save`` writes every answer (status and body) of the sample, ``--compare`` checks that this code
answers the same bytes as a saved run (the sample is the same for the same snapshot): run an older
checkout with ``--save``, this one with ``--compare``. ``--profile``: py-spy's samples of the detail
requests, the functions by their share of each route's samples.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CREATED = re.compile(r'"created_at":"[^"]*"')

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("enterprise", "site", "tip", "vehicle")
LISTS = {"enterprise": "/v1/leads/enterprises?limit=50", "site": "/v1/leads/sites?limit=50",
         "tip": "/v1/leads/tips?limit=50", "vehicle": "/v1/vehicles?limit=50"}
READERS = {"city": ("investigator", None), "county": ("investigator", "*")}  # "*": the county of the top lead


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


COLUMN_VIEWS = ("_ts", "manifest_departed")  # a lookup's views of the tables' own columns: no memory of its own


def lookup_mb(obj) -> float:
    """The memory a lookup holds of its own (the buffers under its arrays and its dicts of row
    positions, each once; not its views of the tables' columns), in MB."""
    roots: dict[int, int] = {}

    def walk(x) -> None:
        if isinstance(x, np.ndarray):
            while isinstance(x.base, np.ndarray):
                x = x.base
            roots[id(x)] = x.nbytes
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif hasattr(x, "__dict__"):
            for k, v in vars(x).items():
                if k not in COLUMN_VIEWS:
                    walk(v)

    walk(obj)
    return sum(roots.values()) / 1e6


def snapshot_or_simulated(data: Path | None, scale: str, work: Path, say=print) -> Path:
    """``data`` resolved, or a city of ``scale`` (seed 0) simulated into ``work`` when none is given."""
    if data is not None:
        return Path(data).resolve()
    import simulation

    say(f"simulating {scale} …")
    return Path(simulation.simulate(work / "data", seed=0, scale=scale)).resolve()


def build_service(data: Path, work: Path, say=print):
    """(client, app, tokens by reader) of a service over ``data`` with one stored list (and its history)."""
    import pandas as pd
    from fastapi.testclient import TestClient

    from features import load_snapshot
    from features.build import place_index
    from features.snapshot import snapshot_digest
    from hazleads.settings import Settings
    from models.baselines import LEAD_RULES
    from models.fallback import RuleLeadModel
    from serving import lookup
    from serving.app import create_app
    from serving.auth import create_user
    from serving.repo import runs
    from training.score import score_snapshot

    settings = Settings(home=work / "home", mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    app = create_app(settings, data=data, warm="off", watch_interval_s=0)
    client = TestClient(app, raise_server_exceptions=True)
    client.__enter__()
    rt = app.state.runtime
    t0 = time.perf_counter()
    snap = load_snapshot(data)
    say(f"snapshot loaded in {time.perf_counter() - t0:.0f} s")
    places = place_index(snap)
    t0 = time.perf_counter()
    rt.use_snapshot(snap, data, snapshot_digest(data), places)
    say(f"snapshot taken (its lookups built) in {time.perf_counter() - t0:.1f} s; lookups {lookup_mb(lookup.for_snapshot(snap)):.0f} MB")
    t0 = time.perf_counter()
    fs = rt.build_features(snap.last_day)
    say(f"features built in {time.perf_counter() - t0:.0f} s")
    model = RuleLeadModel(LEAD_RULES, anomaly_weight=0.0, graded=True).fit(fs.enterprise)
    leads = score_snapshot(snap, snap.last_day, model, None, {"enterprise": "rules", "tip": "rules"}, rt.digest,
                           features=fs)
    before = (snap.last_day - pd.offsets.MonthEnd(1)).normalize()
    day = before.strftime("%Y-%m-%d")
    earlier = dataclasses.replace(leads, as_of=before, enterprise=leads.enterprise.assign(as_of=day),
                                  tip=leads.tip.assign(as_of=day), site=leads.site.assign(as_of=day))
    with rt.db.write() as s:
        runs.store(s, earlier, rt.ctx, "history", 0.1, with_mismatch=False)
    with rt.db.write() as s:
        runs.store(s, leads, rt.ctx, "start", 0.1, with_mismatch=True)
        runs.sync_snapshot_tips(s, snap, rt.ctx, leads.tip, "rules")
    t0 = time.perf_counter()
    rt.serve_features(leads.features)
    say(f"features served (their lookups built) in {time.perf_counter() - t0:.1f} s; "
        f"lookups {lookup_mb(lookup.for_features(leads.features)):.0f} MB")
    rt.phase = "ready"
    rt.settle_memory()
    top = str(leads.enterprise.sort_values("rank")["enterprise_id"].iloc[0])
    county = rt.ctx.county_of[top]
    tokens = {}
    with rt.db.write() as s:
        for name, (role, c) in READERS.items():
            tokens[name] = create_user(s, f"bench-{name}", role, county if c == "*" else c)[1]
    return client, app, tokens


def sample(client, token: str, top: int) -> dict[str, list[str]]:
    """The ids of the first ``top`` entries of each list as the reader sees them."""
    h = {"Authorization": f"Bearer {token}"}
    out = {}
    for kind, path in LISTS.items():
        items = client.get(path.replace("limit=50", f"limit={top}"), headers=h).json()["items"]
        out[kind] = [str(i[f"{kind}_id"]) for i in items]
    return out


ROUTES = {"enterprise": "enterprise_detail", "site": "site_detail", "tip": "get_tip", "vehicle": "vehicle_detail"}


def spy_summary(raw: Path, lines: int = 20, routes: dict[str, str] | None = None, heading: str = "{kind}") -> str:
    """Per route kind (``routes``: kind -> the route function's name; default the detail routes), from
    py-spy's raw samples (``--format raw``): the functions by the share of the route's samples they
    were on the stack, and the share they were the innermost frame."""
    import collections

    routes = routes or ROUTES
    inclusive = {k: collections.Counter() for k in routes}
    own = {k: collections.Counter() for k in routes}
    total = dict.fromkeys(routes, 0)
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        names = [f.split(" (")[0] + " (" + f.rsplit("/", 1)[-1] for f in stack.split(";") if " (" in f]
        kind = next((k for k, route in routes.items() if any(x.startswith(route + " (") for x in names)), None)
        if kind is None:
            continue  # another thread, or outside these routes
        total[kind] += int(n)
        for name in set(names):
            inclusive[kind][name] += int(n)
        own[kind][names[-1]] += int(n)
    out = []
    for kind in routes:
        rows = [f"### {heading.format(kind=kind)} ({total[kind]} samples)", "", "| on the stack | innermost | function |", "| ---: | ---: | --- |"]
        for name, n in inclusive[kind].most_common(lines):
            rows.append(f"| {n / max(total[kind], 1):.0%} | {own[kind][name] / max(total[kind], 1):.0%} | `{name}` |")
        out.append("\n".join(rows))
    return "\n\n".join(out) + "\n"


def profile(client, token: str, ids: dict[str, list[str]], work: Path) -> str:
    """py-spy's samples of the detail requests (the app runs in worker threads, out of cProfile's sight)."""
    import signal
    import subprocess

    spy = Path(sys.executable).with_name("py-spy")
    raw = work / "spy.txt"
    proc = subprocess.Popen([str(spy), "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "200",
                             "--nonblocking", "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)  # attached
    h = {"Authorization": f"Bearer {token}"}
    for kind in KINDS:
        for eid in ids[kind]:
            client.get(detail_path(kind, eid), headers=h)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    return spy_summary(raw) if raw.exists() else "py-spy wrote nothing (no permission to attach?)\n"


def detail_path(kind: str, entity_id: str) -> str:
    return {"enterprise": "/v1/enterprises/", "site": "/v1/sites/", "tip": "/v1/tips/", "vehicle": "/v1/vehicles/"}[kind] + entity_id


def time_details(client, tokens: dict, ids: dict[str, dict[str, list[str]]], answers: dict | None) -> list[dict]:
    rows = []
    for reader, token in tokens.items():
        h = {"Authorization": f"Bearer {token}"}
        for kind in KINDS:
            wall, cpu = [], []
            for eid in ids[reader][kind]:
                path = detail_path(kind, eid)
                for lang in ("zh", "en"):
                    c0, t0 = time.process_time(), time.perf_counter()
                    r = client.get(f"{path}?lang={lang}", headers=h)
                    wall.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    if answers is not None:  # the lists' creation times differ from one run to the next
                        answers[f"{reader} {path}?lang={lang}"] = f"{r.status_code} " + CREATED.sub("", r.text)
            w, c = np.array(wall) * 1000, np.array(cpu) * 1000
            rows.append({"reader": reader, "kind": kind, "n": len(w), "p50": np.percentile(w, 50), "p95": np.percentile(w, 95),
                         "max": w.max(), "cpu_p50": np.percentile(c, 50), "cpu_p95": np.percentile(c, 95)})
    return rows


def time_lists(client, tokens: dict, repeats: int) -> list[dict]:
    """Each list page against a bare FastAPI route answering its bytes (best of ``repeats`` rounds of 10)."""
    from fastapi import FastAPI
    from fastapi.responses import Response
    from fastapi.testclient import TestClient

    h = {"Authorization": f"Bearer {tokens['city']}"}
    payloads = {kind: client.get(path, headers=h).content for kind, path in LISTS.items()}
    bare = FastAPI()

    @bare.get("/bare/{kind}")
    def bare_list(kind: str) -> Response:
        return Response(payloads[kind], media_type="application/json")

    rows = []
    with TestClient(bare) as bc:
        for kind, path in LISTS.items():
            served, plain = [], []
            for _ in range(repeats):
                for target, c, url, hh in ((served, client, path, h), (plain, bc, f"/bare/{kind}", {})):
                    t0 = time.perf_counter()
                    for _ in range(10):
                        c.get(url, headers=hh)
                    target.append((time.perf_counter() - t0) / 10)
            rows.append({"kind": kind, "bytes": len(payloads[kind]), "served_rps": 1 / min(served), "bare_rps": 1 / min(plain)})
    return rows


def report(args, detail: list[dict], lists: list[dict], setup: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["# Detail pages", "",
             f"Command: `.venv/bin/python benchmarks/bench_detail.py {' '.join(sys.argv[1:])}`", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} UTC; {os.cpu_count()} logical cores (load average at the end {load}); "
             f"python {platform.python_version()}; snapshot {setup['data']}; peak memory of the process {setup['peak_mb']:.0f} MB.",
             "", "One client, in process (TestClient): each of the first "
             f"{args.top} entities of each list (as the reader sees it), in Chinese and in English, for a city-wide and a county investigator.", "",
             "| reader | kind | requests | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in detail:
        lines.append(f"| {r['reader']} | {r['kind']} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
                     f"{r['cpu_p50']:.1f} | {r['cpu_p95']:.1f} |")
    lines += ["", "List pages (50 entries) against a bare route answering the same bytes (best of rounds of 10):", "",
              "| list | bytes | served req/s | bare req/s | ratio |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in lists:
        lines.append(f"| {r['kind']} | {r['bytes']:,} | {r['served_rps']:.0f} | {r['bare_rps']:.0f} | "
                     f"{r['served_rps'] / r['bare_rps']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a snapshot folder (default: simulate --scale)")
    ap.add_argument("--scale", default="city")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--list-rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="the small city, 5 entities of each kind")
    ap.add_argument("--save", type=Path, help="write every answer of the sample here (JSON lines)")
    ap.add_argument("--compare", type=Path, help="check every answer against a file written by --save")
    ap.add_argument("--out", type=Path, help="default benchmarks/results/detail.md (--quick: none)")
    ap.add_argument("--profile", type=Path, help="write cProfile's top frames of each kind's details here")
    args = ap.parse_args(argv)
    if args.quick:
        args.scale, args.top, args.list_rounds = "small", 5, 2
    elif args.out is None:
        args.out = ROOT / "benchmarks" / "results" / "detail.md"
    with tempfile.TemporaryDirectory(prefix="bench-detail-") as tmp:
        work = Path(tmp)
        say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        data = snapshot_or_simulated(args.data, args.scale, work, say)
        client, _app, tokens = build_service(data, work, say)
        try:
            ids = {reader: sample(client, token, args.top) for reader, token in tokens.items()}
            if args.profile:
                args.profile.write_text(profile(client, tokens["city"], ids["city"], work), encoding="utf-8")
            answers: dict | None = {} if (args.save or args.compare) else None
            detail = time_details(client, tokens, ids, answers)
            lists = time_lists(client, tokens, args.list_rounds)
        finally:
            client.__exit__(None, None, None)
        text = report(args, detail, lists, {"data": data, "peak_mb": peak_rss_mb()})
        print(text)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        if args.save:
            args.save.write_text("".join(json.dumps({"key": k, "answer": v}, ensure_ascii=False) + "\n"
                                         for k, v in answers.items()), encoding="utf-8")
        if args.compare:
            saved = {}
            for line in args.compare.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                saved[row["key"]] = row["answer"]
            differ = sorted(k for k in saved if saved[k] != answers.get(k))  # a saved run of fewer entities: its sample
            print(f"compared {len(saved)} saved answers: {len(differ)} differ" + "".join(f"\n  {k}" for k in differ[:20]))
            return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
