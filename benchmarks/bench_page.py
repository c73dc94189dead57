"""Benchmark: the web page over a simulated city in Debian's Chromium — how long an investigator waits
for the enterprise list after signing in, and for each of the top enterprises' pages (its map drawn)
after clicking it in the list.

    .venv/bin/python benchmarks/bench_page.py [--data CITY] [--scale city] [--top 10] [--out benchmarks/results/page.md]
    .venv/bin/python benchmarks/bench_page.py --quick      # the small city, three enterprises

The service is the one of ``bench_detail.py`` (the app over the snapshot, its features at the last
day, one list scored by the graded rules) served by uvicorn on a loopback port; the browser is the
one the browser tests drive (``tests/web_support.py``). Each wait is from the click to the page's
own sign that it is done (the list's rows; the enterprise page's map), so it includes the API, the
network stack and the page's rendering. Nothing is asserted: the numbers are written to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_detail import build_service, snapshot_or_simulated  # noqa: E402
from benchmarks.machine import facts, print_facts  # noqa: E402


def walk(url: str, token: str, top: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.web_support import CHROMIUM_ARGS, chromium_path

    out: dict = {"list_s": [], "enterprise_s": [], "ids": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{url}/#/login")
            page.fill("#token", token)
            t0 = time.perf_counter()
            page.click("form.signin button[type=submit]")
            page.wait_for_selector("table.leads tbody tr", timeout=120_000)
            out["signin_to_list_s"] = time.perf_counter() - t0
            ids = page.eval_on_selector_all("table.leads tbody tr[data-id]", "trs => trs.map(t => t.dataset.id)")[:top]
            out["ids"] = ids
            for eid in ids:
                t0 = time.perf_counter()
                page.click(f"tr[data-id='{eid}'] a")
                page.wait_for_selector("svg.map", timeout=120_000)
                page.wait_for_function("id => location.hash.includes(id)", arg=eid)
                out["enterprise_s"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page.go_back()
                page.wait_for_selector(f"tr[data-id='{eid}']", timeout=120_000)
                out["list_s"].append(time.perf_counter() - t0)
        finally:
            browser.close()
    return out


def report(args, setup: dict, res: dict) -> str:
    def row(name: str, xs: list[float]) -> str:
        return (f"| {name} | {len(xs)} | {1000 * statistics.median(xs):,.0f} | {1000 * max(xs):,.0f} |")

    lines = ["# The web page over a city: list and enterprise pages in Chromium", "",
             f"Command: `.venv/bin/python benchmarks/bench_page.py {' '.join(args.argv)}`", "",
             *[f"- {k}: {v}" for k, v in facts().items()], "",
             f"Snapshot: {setup['data']}; service set up in {setup['setup_s']:.0f} s.", "",
             f"Sign-in to the list's first rows: {1000 * res['signin_to_list_s']:,.0f} ms.", "",
             "| wait (click to done) | n | median ms | max ms |", "| --- | ---: | ---: | ---: |",
             row("enterprise page, its map drawn (click in the list)", res["enterprise_s"]),
             row("back to the list, its rows drawn", res["list_s"]), "",
             f"Enterprises opened: {', '.join(res['ids'])}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a snapshot folder (default: simulate --scale into a temporary folder)")
    ap.add_argument("--scale", default="city")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "page.md")
    args = ap.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if args.quick:
        args.scale, args.top = "small", 3
    print_facts()
    with tempfile.TemporaryDirectory(prefix="hazleads-bench-page-") as tmp:
        work = Path(tmp)
        data = snapshot_or_simulated(args.data, args.scale, work, lambda m: print(m, flush=True))
        t0 = time.perf_counter()
        client, app, tokens = build_service(data, work)
        setup = {"data": str(data), "setup_s": time.perf_counter() - t0}
        try:
            from tests.web_support import LiveServer

            with LiveServer(app, lifespan="off") as served:
                res = walk(served.url, tokens["city"], args.top)
        finally:
            client.__exit__(None, None, None)
    text = report(args, setup, res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
