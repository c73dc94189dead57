"""Benchmark: the service under load on loopback — lead-list reads and tip intake — side by side
with a bare FastAPI endpoint returning a payload of the same size (the ratio is what the service
itself costs: authentication, jurisdiction, the database read, the audit row, logs, metrics).

    .venv/bin/python benchmarks/bench_service.py [--scale small] [--requests 2000] [--intake-requests 300]
        [--concurrency 8] [--out benchmarks/results/service.md]

A snapshot is simulated and trained on (a fast configuration) in a temporary home, users are
created, then ``hazleads serve`` runs in a subprocess (uvicorn, one worker, default settings:
SQLite, JSON logs at INFO). The bare app runs in another uvicorn subprocess and answers the very
payloads the service answered. The load generator is a pool of threads, each with its own
keep-alive HTTP connection; after a warm-up every request's latency is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI, Request

ROOT = Path(__file__).resolve().parents[1]
FAST = {"name": "bench", "enterprise_models": ["lgbm", "rules"], "tip_models": ["lgbm", "channel"],
        "lgbm": {"n_estimators": 60}, "splits": {"n_folds": 1, "test_days": 60, "step_days": 60, "calib_days": 30,
                                                 "label_days": 90, "min_label_days": 30, "min_history_days": 60}}
LIST_PATH = "/v1/leads/enterprises?limit=50"
NOTES = """Where the time goes (in-process profile of one request, small snapshot):

- Lead list (50 entries, about 77 KB): token lookup 0.4 ms; the run lookup and the page query about 1.5 ms;
  the reader's view of each entry (reasons in the reader's language, county ranks, the exploration note,
  evidence pointers, informant redaction) about 2 ms; the audit row, a committed hash-chained write, about
  1 ms; serialisation through the response model 0.6 ms; access log and metrics the rest. With one uvicorn
  worker and the GIL, concurrent clients queue: throughput stays near one request per ~10 ms.
- Tip intake: `training.score.score_tip` costs about 25 ms of CPU per tip: the tip features against the
  tips of the seven days before it (a third: keyword counts and near-duplicates), the model's probability
  and contributions (a quarter; one pass gives the Chinese and the English reasons), the stops near the
  tip (a tenth); the write is about 1 ms. One worker takes about 35 tips a second; eight concurrent
  clients wait in line. (Before the seven-day window it recomputed every known tip: 110 ms.)
- Long-lived objects (snapshot, features, models: about 470,000 tracked by the garbage collector) are frozen
  out of the collector after each swap; before that, full collections during requests cost up to 0.4 s and
  doubled the p99 of the list at 8 clients."""


# ---- the bare app (run by uvicorn --factory in its own process) ---------------------------------

def make_bare_app():
    """A bare FastAPI app answering the recorded payloads: GET /list and POST /intake."""
    get_payload = json.loads(Path(os.environ["BENCH_GET_PAYLOAD"]).read_text(encoding="utf-8"))
    post_payload = json.loads(Path(os.environ["BENCH_POST_PAYLOAD"]).read_text(encoding="utf-8"))
    app = FastAPI()

    @app.get("/list")
    def bare_list() -> dict:
        return get_payload

    @app.post("/intake", status_code=201)
    async def bare_intake(request: Request) -> dict:
        await request.json()
        return post_payload

    return app


# ---- setup -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(work: Path, scale: str) -> tuple[Path, dict[str, str]]:
    """Simulate and train in ``work/home``; returns (snapshot, tokens by user)."""
    import simulation
    from hazleads.settings import Settings
    from serving.auth import create_user
    from serving.db.engine import Database
    from serving.db.migrate import upgrade
    from training.config import TrainConfig
    from training.pipeline import run_training

    data = simulation.simulate(work / "data", seed=0, scale=scale)
    settings = Settings(home=work / "home")
    print("training ...", file=sys.stderr, flush=True)
    run_training(data, settings, config=TrainConfig.model_validate(FAST) if scale == "small" else None)
    db = Database(settings.db_url)
    upgrade(db.url, engine=db.write_engine)
    tokens = {}
    with db.write() as s:
        for name, role in (("bench-admin", "admin"), ("bench-inv", "investigator")):
            tokens[name] = create_user(s, name, role)[1]
    db.dispose()
    return data, tokens


def start(cmd: list[str], env: dict, log: Path, ready_url: str, headers: dict, timeout_s: float = 900) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:4]} exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(ready_url, headers=headers, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"{ready_url} not ready after {timeout_s} s; see {log}")


def wait_for_history(base: str, headers: dict, runs: int = 7, timeout_s: float = 900) -> None:
    """The score history (6 past month-ends) is scored in the background after start: let it finish."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if len(httpx.get(f"{base}/v1/runs", headers=headers).json()["items"]) >= runs:
            return
        time.sleep(1)


# ---- load --------------------------------------------------------------------------------------

def load(url: str, n: int, concurrency: int, headers: dict, bodies: list[dict] | None = None,
         warmup: int = 30) -> dict:
    """``n`` requests from ``concurrency`` threads (keep-alive); throughput and latency percentiles."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(n))

    def worker(k: int) -> None:
        with httpx.Client(headers=headers, timeout=60) as c:
            for _ in range(warmup):  # per connection, not recorded
                _one(c, url, bodies, k)
            mine = []
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter()
                ok = _one(c, url, bodies, i)
                mine.append(time.perf_counter() - t0)
                if not ok:
                    with lock:
                        errors[0] += 1
            with lock:
                lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    a = np.array(lat) * 1000
    return {"requests": len(a), "errors": errors[0], "rps": len(a) / wall, "p50": float(np.percentile(a, 50)),
            "p99": float(np.percentile(a, 99))}


def _one(c: httpx.Client, url: str, bodies: list[dict] | None, i: int) -> bool:
    if bodies is None:
        return c.get(url).status_code == 200
    return c.post(url, json=bodies[i % len(bodies)]).status_code == 201


def tip_bodies(data: Path, count: int = 200) -> list[dict]:
    import pandas as pd

    tips = pd.read_csv(data / "tips.csv") if (data / "tips.csv").exists() else pd.read_parquet(data / "tips.parquet")
    tips = tips.dropna(subset=["lat", "lon"]).head(count)
    return [{"channel": "12369", "text": str(t.text)[:500], "lat": float(t.lat), "lon": float(t.lon),
             "received_at": str(pd.Timestamp(t.received_at))[:19]} for t in tips.itertuples()]


# ---- report ------------------------------------------------------------------------------------

def report(rows: list[dict], args, sizes: dict[str, int], out: Path) -> str:
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# Service load benchmark", "",
        f"Command: `.venv/bin/python benchmarks/bench_service.py --scale {args.scale} --requests {args.requests} "
        f"--intake-requests {args.intake_requests} --concurrency {args.concurrency}`", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} logical cores shared by server and load generator "
        f"(and by whatever else the machine runs: load average at the end {load_avg}); python {platform.python_version()}.",
        "",
        "Server: `hazleads serve` (uvicorn, one worker, SQLite in WAL mode, JSON logs at INFO, every read audited), "
        f"over a simulated `{args.scale}` snapshot. Bare: a FastAPI app answering the same JSON payload from memory. "
        "Loopback, keep-alive connections, one per client thread.", "",
        "| endpoint | server | clients | requests | errors | req/s | p50 ms | p99 ms | response bytes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['endpoint']} | {r['server']} | {r['clients']} | {r['requests']:,} | {r['errors']} | "
                     f"{r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {sizes[r['endpoint']]:,} |")
    by = {(r["endpoint"], r["server"], r["clients"]): r for r in rows}
    lines.append("")
    for ep in ("lead list", "tip intake"):
        for c in sorted({r["clients"] for r in rows}):
            s, b = by[(ep, "hazleads", c)], by[(ep, "bare FastAPI", c)]
            lines.append(f"- {ep}, {c} client(s): the service reaches {s['rps'] / b['rps']:.0%} of the bare endpoint's "
                         f"throughput; p50 {s['p50'] / b['p50']:.1f}× and p99 {s['p99'] / b['p99']:.1f}× its latency.")
    lines += ["", NOTES]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small", choices=["small", "city"])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--intake-requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (home, snapshot, logs)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "service.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hazleads-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data, tokens = prepare(work, args.scale)
        env = {**os.environ, "HAZLEADS_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
        env.pop("HAZLEADS_DATABASE_URL", None)
        # one bench user sends every tip: above the default hourly limit (120) the service answers 429
        env["HAZLEADS_TIP_INTAKE_PER_HOUR"] = str(10 * (args.intake_requests + 10))
        inv = {"Authorization": f"Bearer {tokens['bench-inv']}"}
        port, bare_port = free_port(), free_port()
        base = f"http://127.0.0.1:{port}"
        print("starting the service ...", file=sys.stderr, flush=True)
        server = start([sys.executable, "-m", "hazleads.cli.main", "serve", "--data", str(data), "--port", str(port)],
                       env, work / "server.log", f"{base}/readyz", inv)
        bare = None
        try:
            wait_for_history(base, inv)
            bodies = tip_bodies(data)
            get_payload = httpx.get(base + LIST_PATH, headers=inv).content
            post_payload = httpx.post(base + "/v1/tips", headers=inv, json=bodies[0]).content
            (work / "get.json").write_bytes(get_payload)
            (work / "post.json").write_bytes(post_payload)
            benv = {**env, "BENCH_GET_PAYLOAD": str(work / "get.json"), "BENCH_POST_PAYLOAD": str(work / "post.json")}
            bare = start([sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bench_service:make_bare_app",
                          "--port", str(bare_port), "--log-level", "warning"], benv, work / "bare.log",
                         f"http://127.0.0.1:{bare_port}/list", {})
            rows = []
            for endpoint, s_url, b_url, n, b in (
                    ("lead list", base + LIST_PATH, f"http://127.0.0.1:{bare_port}/list", args.requests, None),
                    ("tip intake", base + "/v1/tips", f"http://127.0.0.1:{bare_port}/intake", args.intake_requests, bodies)):
                for clients in (1, args.concurrency):
                    for server_name, url, hdr in (("hazleads", s_url, inv), ("bare FastAPI", b_url, {})):
                        print(f"{endpoint} / {server_name} / {clients} client(s) ...", file=sys.stderr, flush=True)
                        count = n if clients > 1 else max(n // 4, 50)
                        rows.append({"endpoint": endpoint, "server": server_name, "clients": clients,
                                     **load(url, count, clients, hdr, b, warmup=3 if b else 30)})
            sizes = {"lead list": len(get_payload), "tip intake": len(post_payload)}
            print(report(rows, args, sizes, args.out))
        finally:
            for p in (server, bare):
                if p is not None:
                    p.terminate()
                    p.wait(timeout=30)


if __name__ == "__main__":
    main()
