"""Benchmark: the lead-list pages (enterprises, tips, sites), in process, against a bare route
answering the same bytes; and a byte-for-byte check of every page/filter combination.

    .venv/bin/python benchmarks/bench_lists.py [--data CITY] [--scale small] [--rounds 5]
        [--save answers.jsonl | --compare answers.jsonl] [--profile frames.md] [--out benchmarks/results/lists.md]

The service is ``bench_detail.build_service`` (one stored list and its history), with a few leads
put on the case desk (every status, an assignee, due dates) so that the desk's filters and sorts
have something to do. ``--save`` writes the answer (status and body) of every list for a
city-wide and a county investigator under each filter and sort (``combos``); ``--compare``
checks this code answers the same bytes, both when an answer is computed and when it is read again
(kept, where the service keeps answers): run an older checkout with ``--save``, this one with
``--compare``. Timings are the best of ``--rounds`` rounds of 10 requests, wall and CPU (the
process's CPU time: the TestClient runs the app in worker threads of this process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detail import CREATED, build_service, peak_rss_mb, snapshot_or_simulated, spy_summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REQUEST_ID = re.compile(r'"request_id":"[^"]*"')  # an error's request id is new each time
PATHS = {"enterprise": "/v1/leads/enterprises", "tip": "/v1/leads/tips", "site": "/v1/leads/sites"}
ROUTES = {"enterprise": "enterprise_leads", "tip": "tip_leads", "site": "site_leads"}
SORTS = ("rank", "score", "name", "county", "industry", "status", "assignee", "due")


def put_on_desk(app, n: int = 12) -> None:
    """The first ``n`` leads of each list on the desk: every status in turn, half assigned, some due."""
    from sqlalchemy import select

    from serving.db.models import CASE_STATUSES, Case, Lead, User

    rt = app.state.runtime
    with rt.db.write() as s:
        uid = s.scalar(select(User.id).where(User.name == "bench-city"))
        run_id = s.scalar(select(Lead.run_id).order_by(Lead.run_id.desc()).limit(1))
        for kind in PATHS:
            ids = s.scalars(select(Lead.entity_id).where(Lead.run_id == run_id, Lead.kind == kind)
                            .order_by(Lead.rank).limit(n)).all()
            for k, eid in enumerate(ids):
                s.add(Case(entity_kind=kind, entity_id=eid, jurisdiction=None, status=CASE_STATUSES[k % len(CASE_STATUSES)],
                           assignee_id=uid if k % 2 else None, due=dt.date(2026, 1, 1 + k) if k % 3 else None))


def combos(county: str, name: str) -> list[str]:
    """Query strings of every filter and sort on its own, and a few together."""
    out = ["", "limit=200", "offset=5&limit=7", "lang=en", "lang=en&limit=200", f"county={county}", "industry=C",
           "industry=C26", "category=HW08", "category=HW17", "min_score=0.3", "max_score=0.5", "exploration=true",
           "exploration=false", "include_concluded=true", "status=待核查", "status=核查中", "status=已结案-属实",
           "mine=true", "assignee_id=1", f"name={name}", "industry_name=化学", "over_3t=true", "as_of=2001-01-01",
           "channel=informant", "channel=hotline", "corroborated=true", "corroborated=false",
           f"county={county}&industry=C&min_score=0.1&limit=100", "include_concluded=true&sort=status&desc=true"]
    out += [f"sort={s}" for s in SORTS] + [f"sort={s}&desc=true&include_concluded=true" for s in SORTS]
    return out


def answers_of(client, tokens: dict, county: str, name: str) -> dict[str, str]:
    out = {}
    for reader, token in tokens.items():
        h = {"Authorization": f"Bearer {token}"}
        for path in PATHS.values():
            for q in combos(county, name):
                url = f"{path}?{q}" if q else path
                r = client.get(url, headers=h)
                out[f"{reader} {url}"] = f"{r.status_code} " + REQUEST_ID.sub("", CREATED.sub("", r.text))
    return out


def forget(client) -> None:
    """Drop the service's kept list answers (``serving.listcache``; absent in older checkouts), as a
    change of the data would: the next read is computed afresh."""
    lists = getattr(client.app.state.runtime, "lists", None)
    if lists is not None:
        lists.clear()


def time_lists(client, tokens: dict, rounds: int) -> list[dict]:
    """Each list (50 entries) for each reader against a bare route answering its bytes: read again
    (the kept answer, where the service keeps one) and read afresh (after ``forget``)."""
    from fastapi import FastAPI
    from fastapi.responses import Response
    from fastapi.testclient import TestClient

    bare = FastAPI()
    payloads: dict[str, bytes] = {}

    @bare.get("/bare/{key}")
    def bare_list(key: str) -> Response:
        return Response(payloads[key], media_type="application/json")

    rows = []
    with TestClient(bare) as bc:
        for reader, token in tokens.items():
            h = {"Authorization": f"Bearer {token}"}
            for kind, path in PATHS.items():
                url = f"{path}?limit=50"
                key = f"{reader}-{kind}"
                payloads[key] = client.get(url, headers=h).content
                best = {"served": (1e9, 1e9), "fresh": (1e9, 1e9), "bare": (1e9, 1e9)}
                for _ in range(rounds):
                    for which, c, u, hh in (("served", client, url, h), ("fresh", client, url, h),
                                            ("bare", bc, f"/bare/{key}", {})):
                        c0, t0 = time.process_time(), time.perf_counter()
                        for _ in range(10):
                            if which == "fresh":
                                forget(client)
                            c.get(u, headers=hh)
                        w, cp = (time.perf_counter() - t0) / 10, (time.process_time() - c0) / 10
                        best[which] = (min(best[which][0], w), min(best[which][1], cp))
                rows.append({"reader": reader, "kind": kind, "bytes": len(payloads[key]),
                             "ms": best["served"][0] * 1000, "cpu_ms": best["served"][1] * 1000,
                             "fresh_ms": best["fresh"][0] * 1000, "fresh_cpu_ms": best["fresh"][1] * 1000,
                             "bare_ms": best["bare"][0] * 1000, "bare_cpu_ms": best["bare"][1] * 1000})
    return rows


def profile(client, tokens: dict, work: Path, n: int = 40) -> str:
    """py-spy's samples of ``n`` requests of each list, for each reader (the app runs in worker
    threads, out of cProfile's sight)."""
    import signal
    import subprocess

    spy = Path(sys.executable).with_name("py-spy")
    out = []
    for reader, token in tokens.items():
        raw = work / f"spy-{reader}.txt"
        proc = subprocess.Popen([str(spy), "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "200",
                                 "--nonblocking", "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        h = {"Authorization": f"Bearer {token}"}
        for _ in range(n):
            for path in PATHS.values():
                client.get(f"{path}?limit=50", headers=h)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        out.append(f"## {reader} reader\n\n" + (spy_summary(raw, 30, ROUTES, "{kind} list") if raw.exists() else "py-spy wrote nothing\n"))
    return "\n".join(out)


def report(args, rows: list[dict], data) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["# Lead lists", "", f"Command: `.venv/bin/python benchmarks/bench_lists.py {' '.join(sys.argv[1:])}`", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} UTC; {os.cpu_count()} logical cores (load {load}); python "
             f"{platform.python_version()}; snapshot {data}; peak memory {peak_rss_mb():.0f} MB.", "",
             "50 entries, in process (TestClient), best of rounds of 10, per request:", "",
             "| reader | list | bytes | read again ms | CPU ms | afresh ms | CPU ms | bare ms | bare CPU ms "
             "| again/bare req/s | afresh/bare req/s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['reader']} | {r['kind']} | {r['bytes']:,} | {r['ms']:.1f} | {r['cpu_ms']:.1f} | "
                     f"{r['fresh_ms']:.1f} | {r['fresh_cpu_ms']:.1f} | {r['bare_ms']:.1f} | {r['bare_cpu_ms']:.1f} | "
                     f"{r['bare_ms'] / r['ms']:.2f} | {r['bare_ms'] / r['fresh_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a snapshot folder (default: simulate --scale)")
    ap.add_argument("--scale", default="small")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as tmp:
        work = Path(tmp)
        say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        data = snapshot_or_simulated(args.data, args.scale, work, say)
        client, app, tokens = build_service(data, work, say)
        try:
            put_on_desk(app)
            rt = app.state.runtime
            county = sorted(set(rt.ctx.county_of.values()))[0]
            name = str(rt.ctx.enterprises["name"].iloc[0])[:2]
            if args.save or args.compare:
                answers = answers_of(client, tokens, county, name)
                again = answers_of(client, tokens, county, name)  # read again: kept answers where the service keeps them
            if args.profile:
                args.profile.write_text(profile(client, tokens, work), encoding="utf-8")
            rows = time_lists(client, tokens, args.rounds) if args.rounds else []
        finally:
            client.__exit__(None, None, None)
    text = report(args, rows, data)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.save or args.compare:
        (args.save or args.compare.with_suffix(".new.jsonl")).write_text("".join(json.dumps({"key": k, "answer": v}, ensure_ascii=False) + "\n"
                                     for k, v in answers.items()), encoding="utf-8")
    if args.compare:
        saved = {}
        for line in args.compare.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            saved[row["key"]] = row["answer"]
        saved = {k: REQUEST_ID.sub("", v) for k, v in saved.items()}
        differ = sorted(k for k in saved if saved[k] != answers.get(k) or saved[k] != again.get(k))
        print(f"compared {len(saved)} saved answers (each read twice: computed, then read again): {len(differ)} differ"
              + "".join(f"\n  {k}" for k in differ[:20]))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
