"""Soak: the service on loopback for a bounded time at a fixed request rate, mixing lead-list reads,
enterprise details, tip intake and outcomes; then errors (must be zero), latency percentiles and
the server's memory over time (RSS sampled every few seconds).

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 10] [--out benchmarks/results/soak.md]
        [--home DIR --data DIR]   (reuse a trained home instead of simulating and training one)
        [--database-url URL]      (PostgreSQL instead of the home's SQLite)

Without ``--home`` a small city is simulated and trained on (a fast configuration) in a temporary
folder. The server is one uvicorn worker in its own process (``soak.py serve``: the service as
``hazleads serve`` builds it, without the score history). The load is open-loop: a scheduler puts
request *i* at ``t0 + i / rate`` and a pool of keep-alive clients takes them, so a slow server
shows as latency (measured from the scheduled time), not as a lower rate. At the end every
outcome answered 201 is looked for in the database, every intake tip too, and the audit chain is
verified.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FAST = {"name": "soak", "enterprise_models": ["lgbm", "rules"], "tip_models": ["lgbm", "channel"],
        "lgbm": {"n_estimators": 40}, "splits": {"n_folds": 1, "test_days": 60, "step_days": 60, "calib_days": 30,
                                                 "label_days": 90, "min_label_days": 30, "min_history_days": 60}}
# share of requests per kind (sums to 1)
MIX = {"lead list": 0.55, "enterprise detail": 0.10, "tip intake": 0.10, "outcome": 0.15, "outcome list": 0.05,
       "tip list": 0.05}
EXPECTED = {"tip intake": 201, "outcome": 201}
SAMPLE_S = 2.0


# ---- the server ----------------------------------------------------------------------------------


def serve_main(argv: list[str]) -> None:
    """``soak.py serve --port P --data D``: the service in this process (uvicorn, one worker)."""
    import uvicorn

    from hazleads.settings import get_settings
    from serving import logs
    from serving.app import create_app

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args(argv)
    settings = get_settings()
    logs.configure("WARNING")
    app = create_app(settings, data=a.data, warm="background", history_months=0, watch_interval_s=0)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_config=None, access_log=False, server_header=False)


def prepare(work: Path) -> tuple[Path, Path]:
    """Simulate a small city and train on it (fast configuration) in ``work/home``."""
    import simulation
    from hazleads.settings import Settings
    from training.config import TrainConfig
    from training.pipeline import run_training

    data = simulation.simulate(work / "data", seed=0, scale="small")
    settings = Settings(home=work / "home")
    print("training ...", file=sys.stderr, flush=True)
    run_training(data, settings, config=TrainConfig.model_validate(FAST))
    return work / "home", data


def make_users(env: dict[str, str]) -> dict[str, str]:
    """An investigator, an admin and an auditor for the soak (new names each run)."""
    from hazleads.settings import Settings
    from serving.auth import create_user
    from serving.db.engine import Database
    from serving.db.migrate import upgrade

    settings = Settings(home=Path(env["HAZLEADS_HOME"]), database_url=env.get("HAZLEADS_DATABASE_URL"))
    db = Database(settings.db_url)
    upgrade(db.url, engine=db.write_engine)
    tag = f"{int(time.time())}-{os.getpid()}"
    tokens = {}
    with db.write() as s:
        for role in ("investigator", "admin", "auditor"):
            tokens[role] = create_user(s, f"soak-{role}-{tag}", role)[1]
    db.dispose()
    return tokens


class Server:
    def __init__(self, env: dict[str, str], data: Path, log: Path) -> None:
        import socket
        import subprocess

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(self.port),
                                      "--data", str(data)], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, headers: dict, timeout_s: float = 600) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                r = httpx.get(f"{self.url}/readyz", headers=headers, timeout=5)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not ready after {timeout_s} s")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        self._log.close()


# ---- the load ------------------------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    scheduled: float
    latency_s: float  # from the scheduled time to the end of the answer (queueing included)
    service_s: float  # from sending to the end of the answer
    status: int
    error: str = ""
    body: dict = field(default_factory=dict)


@dataclass
class Targets:
    enterprises: list[str]
    sites: list[str]
    tips: list[dict]


def _targets(base: str, h: dict, data: Path) -> Targets:
    import pandas as pd

    ents = httpx.get(f"{base}/v1/leads/enterprises", params={"limit": 200}, headers=h, timeout=30).json()["items"]
    sites = httpx.get(f"{base}/v1/leads/sites", params={"limit": 200}, headers=h, timeout=30).json()["items"]
    path = data / "tips.csv"
    tips = pd.read_csv(path) if path.exists() else pd.read_parquet(data / "tips.parquet")
    tips = tips.dropna(subset=["lat", "lon"]).head(200)
    bodies = [{"channel": random.choice(["12369", "online", "110", "informant"]), "text": str(t.text)[:300],
               "lat": float(t.lat), "lon": float(t.lon), "received_at": str(pd.Timestamp(t.received_at))[:19]}
              for t in tips.itertuples()]
    return Targets([e["enterprise_id"] for e in ents], [s["site_id"] for s in sites], bodies)


def _request(c: httpx.Client, kind: str, rng: random.Random, t: Targets) -> httpx.Response:
    if kind == "lead list":
        which = rng.choice(["enterprises", "enterprises", "tips", "sites"])
        params = {"limit": rng.choice([20, 50, 100]), "offset": rng.choice([0, 0, 50])}
        if rng.random() < 0.3:
            params["min_score"] = round(rng.random() * 0.5, 2)
        return c.get(f"/v1/leads/{which}", params=params)
    if kind == "enterprise detail":
        return c.get(f"/v1/enterprises/{rng.choice(t.enterprises)}")
    if kind == "tip intake":
        return c.post("/v1/tips", json=rng.choice(t.tips))
    if kind == "outcome":
        if rng.random() < 0.8 or not t.sites:
            outcome = rng.choice(["confirmed", "unfounded", "open"])
            body = {"entity_kind": "enterprise", "entity_id": rng.choice(t.enterprises), "outcome": outcome,
                    "note": f"soak {rng.random():.6f}"}
            if outcome == "confirmed":
                body |= {"violation": rng.choice(["dumping_3t", "water_dumping", "other"]), "tonnes": round(rng.random() * 9, 2)}
        else:
            body = {"entity_kind": "site", "entity_id": rng.choice(t.sites), "outcome": "open"}
        return c.post("/v1/outcomes", json=body)
    if kind == "outcome list":
        return c.get("/v1/outcomes", params={"limit": 50})
    return c.get("/v1/tips", params={"limit": 50})


def run_load(base: str, headers: dict, targets: Targets, seconds: float, rate: float, clients: int,
             sample=None, seed: int = 0) -> tuple[list[Result], list[tuple[float, float]]]:
    """Open-loop load for ``seconds`` at ``rate`` requests a second; the results and memory samples."""
    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    n = int(seconds * rate)
    plan = [(i / rate, rng.choices(kinds, weights)[0]) for i in range(n)]
    work: queue.Queue = queue.Queue()
    results: list[Result] = []
    lock = threading.Lock()
    t0 = time.monotonic() + 0.5

    def client(k: int) -> None:
        crng = random.Random(seed * 1000 + k)
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            while True:
                item = work.get()
                if item is None:
                    return
                at, kind = item
                start = time.monotonic()
                try:
                    r = _request(c, kind, crng, targets)
                    end = time.monotonic()
                    want = EXPECTED.get(kind, 200)
                    body = r.json() if r.status_code == want and kind in EXPECTED else {}
                    res = Result(kind, at, end - (t0 + at), end - start, r.status_code,
                                 "" if r.status_code == want else r.text[:300], body)
                except httpx.HTTPError as exc:
                    end = time.monotonic()
                    res = Result(kind, at, end - (t0 + at), end - start, 0, f"{type(exc).__name__}: {exc}")
                with lock:
                    results.append(res)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sampler() -> None:
        while sample is not None:
            samples.append((time.monotonic() - t0, sample()))
            if done.wait(SAMPLE_S):
                samples.append((time.monotonic() - t0, sample()))
                return

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    for at, kind in plan:
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        work.put((at, kind))
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join(timeout=120)
    done.set()
    watcher.join(timeout=10)
    return results, samples


# ---- checks and the report -----------------------------------------------------------------------


def verify(base: str, tokens: dict[str, str], results: list[Result]) -> dict:
    """Every outcome and tip answered 201 is stored; the audit chain holds."""
    inv = {"Authorization": f"Bearer {tokens['investigator']}"}
    aud = {"Authorization": f"Bearer {tokens['auditor']}"}
    outcome_ids = {r.body["id"] for r in results if r.kind == "outcome" and r.status == 201}
    tip_ids = {r.body["tip_id"] for r in results if r.kind == "tip intake" and r.status == 201}
    stored: set[int] = set()
    offset = 0
    with httpx.Client(base_url=base, headers=inv, timeout=60) as c:
        while True:
            page = c.get("/v1/outcomes", params={"limit": 200, "offset": offset}).json()
            stored |= {o["id"] for o in page["items"]}
            offset += 200
            if offset >= page["total"] or offset > 100_000:
                break
        missing_tips = [t for t in list(tip_ids)[:300] if c.get(f"/v1/tips/{t}").status_code != 200]
        chain = c.get("/v1/audit/verify", headers=aud).json()
    return {"outcomes_answered": len(outcome_ids), "outcomes_missing": len(outcome_ids - stored),
            "tips_answered": len(tip_ids), "tips_checked_missing": len(missing_tips), "audit_chain": chain}


def summarise(results: list[Result], samples: list[tuple[float, float]], seconds: float) -> dict:
    lat = np.array([r.latency_s for r in results]) * 1000
    errors = [r for r in results if r.error]
    per_kind = {}
    for kind in MIX:
        k = np.array([r.latency_s for r in results if r.kind == kind]) * 1000
        if len(k):
            per_kind[kind] = {"n": len(k), "errors": sum(1 for r in errors if r.kind == kind),
                              "p50": float(np.percentile(k, 50)), "p95": float(np.percentile(k, 95)),
                              "p99": float(np.percentile(k, 99)), "max": float(k.max())}
    rss = np.array([m for _, m in samples]) if samples else np.array([np.nan])
    times = np.array([t for t, _ in samples]) if samples else np.array([0.0])
    half = times >= times[-1] / 2
    slope = float(np.polyfit(times[half] / 60, rss[half], 1)[0]) if half.sum() >= 3 else float("nan")
    return {"requests": len(results), "seconds": seconds, "achieved_rate": len(results) / seconds if seconds else 0,
            "errors": len(errors), "error_samples": [f"{r.kind}: {r.status} {r.error[:160]}" for r in errors[:10]],
            "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            "p95": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
            "p99": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
            "max": float(lat.max()) if len(lat) else float("nan"), "per_kind": per_kind,
            "rss_start_mb": float(rss[0]), "rss_end_mb": float(rss[-1]), "rss_max_mb": float(np.nanmax(rss)),
            "rss_growth_mb": float(rss[-1] - rss[0]), "rss_slope_second_half_mb_per_min": slope,
            "rss_samples": [(round(t, 1), round(m, 1)) for t, m in samples]}


def soak(home: Path, data: Path, minutes: float, rate: float, clients: int = 16, database_url: str | None = None,
         log: Path | None = None, warmup_s: float = 10.0, mlflow_uri: str | None = None) -> dict:
    """Start the service over ``home``/``data``, drive it, verify, stop; the summary."""
    env = {**os.environ, "HAZLEADS_HOME": str(home), "PYTHONPATH": str(ROOT),
           "HAZLEADS_MLFLOW_TRACKING_URI": mlflow_uri or f"sqlite:///{Path(home).resolve() / 'mlflow.db'}"}
    env.pop("HAZLEADS_DATABASE_URL", None)
    if database_url:
        env["HAZLEADS_DATABASE_URL"] = database_url
    tokens = make_users(env)
    inv = {"Authorization": f"Bearer {tokens['investigator']}"}
    server = Server(env, data, log or home / "soak-server.log")
    try:
        server.wait_ready(inv)
        targets = _targets(server.url, inv, data)
        if warmup_s > 0:  # first requests load lazily built structures: not part of the memory baseline
            run_load(server.url, inv, targets, warmup_s, rate, clients, seed=99)
        seconds = minutes * 60
        results, samples = run_load(server.url, inv, targets, seconds, rate, clients, sample=server.rss_mb)
        summary = summarise(results, samples, seconds)
        summary["checks"] = verify(server.url, tokens, results)
        summary["server_alive"] = server.proc.poll() is None
    finally:
        server.stop()
    return summary


def report(summary: dict, args, out: Path) -> str:
    from benchmarks.machine import facts

    f = facts()
    cmd = f".venv/bin/python benchmarks/soak.py --minutes {args.minutes:g} --rate {args.rate:g} --clients {args.clients}"
    if args.database_url:
        cmd += " --database-url postgresql+psycopg2://…"
    checks = summary["checks"]
    lines = [
        "# Soak", "",
        f"Command: `{cmd}`", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {f['cpu']} ({f['cores']} logical cores shared by the server, the load "
        f"generator and whatever else the machine runs; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}), {f['memory']}, python {platform.python_version()}, "
        f"commit {f['commit']}.", "",
        f"Server: the service as `hazleads serve` builds it (uvicorn, one worker, {'PostgreSQL' if args.database_url else 'SQLite in WAL mode'}, "
        "every read audited) over a simulated `small` city trained with a fast configuration. Load: open-loop at a fixed "
        f"rate of {args.rate:g} requests/s from {args.clients} keep-alive clients, latency measured from each request's "
        "scheduled time (queueing included). Mix: " + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items()) + ".", "",
        "| | value |", "| --- | ---: |",
        f"| duration | {summary['seconds'] / 60:.1f} min |",
        f"| requests | {summary['requests']:,} ({summary['achieved_rate']:.1f}/s) |",
        f"| **errors** | **{summary['errors']}** |",
        f"| latency p50 / p95 / p99 / max | {summary['p50']:.1f} / {summary['p95']:.1f} / {summary['p99']:.1f} / {summary['max']:.0f} ms |",
        f"| server RSS start → end (max) | {summary['rss_start_mb']:.0f} → {summary['rss_end_mb']:.0f} MB ({summary['rss_max_mb']:.0f}) |",
        f"| RSS growth | {summary['rss_growth_mb']:+.1f} MB; second half {summary['rss_slope_second_half_mb_per_min']:+.2f} MB/min |",
        f"| outcomes answered 201 / missing from the database | {checks['outcomes_answered']:,} / {checks['outcomes_missing']} |",
        f"| intake tips answered 201 / missing | {checks['tips_answered']:,} / {checks['tips_checked_missing']} |",
        f"| audit chain | {'intact' if checks['audit_chain'].get('ok') else 'BROKEN'}, {checks['audit_chain'].get('rows', 0):,} rows |",
        "", "| request | n | errors | p50 ms | p95 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, k in summary["per_kind"].items():
        lines.append(f"| {kind} | {k['n']:,} | {k['errors']} | {k['p50']:.1f} | {k['p95']:.1f} | {k['p99']:.1f} | {k['max']:.0f} |")
    step = max(1, len(summary["rss_samples"]) // 12)
    lines += ["", "Server RSS over time (minute: MB): " + ", ".join(
        f"{t / 60:.1f}: {m:.0f}" for t, m in summary["rss_samples"][::step]) + "."]
    if summary["error_samples"]:
        lines += ["", "Errors (first ten):", *[f"- {e}" for e in summary["error_samples"]]]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=10.0, help="requests a second, all kinds together")
    ap.add_argument("--clients", type=int, default=16, help="keep-alive client connections")
    ap.add_argument("--home", type=Path, help="a trained home to reuse (with --data)")
    ap.add_argument("--data", type=Path, help="the snapshot the home was trained on")
    ap.add_argument("--database-url", help="the service's database (default: SQLite in the home)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "soak.md")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="hazleads-soak-") as tmp:
        if args.home is None:
            home, data = prepare(Path(tmp))
        else:
            home, data = args.home, args.data
        print(f"soaking for {args.minutes:g} min at {args.rate:g}/s ...", file=sys.stderr, flush=True)
        summary = soak(home, data, args.minutes, args.rate, args.clients, args.database_url)
    print(json.dumps({k: v for k, v in summary.items() if k != "rss_samples"}, indent=1, default=str))
    print(report(summary, args, args.out))
    ok = summary["errors"] == 0 and summary["checks"]["outcomes_missing"] == 0 and summary["checks"]["audit_chain"].get("ok")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
