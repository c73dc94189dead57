"""``hazleads validate`` on a snapshot whose trajectory table holds N fixes (default 5 million).

    .venv/bin/python -m benchmarks.bench_validate [--fixes 5000000] [--format csv parquet]

Builds the snapshot from the hand-made minimal one plus N synthetic fixes (unsorted, 1% duplicated),
then runs the real CLI under /usr/bin/time -v: wall time and peak memory against the table's size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.machine import facts, peak_rss_mb, print_facts


def write_fixes(folder: Path, n: int, fmt: str, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    vehicles = np.array(["桂C12345", "桂C54321"])
    ts = pd.Timestamp("2021-01-01").value + rng.integers(0, 365 * 86400, n).astype("int64") * 1_000_000_000
    dup = rng.random(n) < 0.01
    ts[dup] = np.roll(ts, 1)[dup]
    frame = pd.DataFrame({
        "vehicle_id": vehicles[rng.integers(0, 2, n)],
        "ts": pd.to_datetime(ts),
        "lat": 25.0 + rng.random(n) * 0.5,
        "lon": 110.0 + rng.random(n) * 0.5,
        "speed_kmh": rng.random(n) * 60,
    })
    (folder / "trajectories.csv").unlink()
    if fmt == "csv":
        path = folder / "trajectories.csv"
        frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")
        frame.to_csv(path, index=False, float_format="%.6f")
    else:
        path = folder / "trajectories.parquet"
        frame.to_parquet(path, index=False)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixes", type=int, default=5_000_000)
    ap.add_argument("--format", nargs="+", choices=("csv", "parquet"), default=["csv", "parquet"])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "validate.md")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.minimal_snapshot import write_minimal

    print_facts()
    rows = ["| fixes | format | file MB | wall s | fixes/s | peak RSS MB | RSS / file | valid |", "|---|---|---|---|---|---|---|---|"]
    for fmt in args.format:
        tmp = Path(tempfile.mkdtemp(prefix="hz-bench-validate-"))
        try:
            folder = write_minimal(tmp / "s")
            path = write_fixes(folder, args.fixes, fmt)
            size_mb = path.stat().st_size / 1e6
            exe = str(Path(sys.executable).parent / "hazleads")
            wall, rss, out = peak_rss_mb([exe, "validate", str(folder)])
            ok = "usable" in out
            rows.append(f"| {args.fixes:,} | {fmt} | {size_mb:,.0f} | {wall:.1f} | {args.fixes / wall:,.0f} | {rss:,.0f} | "
                        f"{rss / size_mb:.1f} | {ok} |")
            print(rows[-1], flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    f = facts()
    text = (f"# Validate benchmark\n\nCommand: `.venv/bin/python -m benchmarks.bench_validate --fixes {args.fixes}`\n\n"
            f"Run {time.strftime('%Y-%m-%d %H:%M')} on {f['cpu']} ({f['cores']} logical cores), {f['memory']}, python {f['python']}, "
            f"pandas {f.get('pandas', '?')}, pyarrow {f.get('pyarrow', '?')}, commit {f['commit']}; load average at the end "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}.\n\n"
            "`hazleads validate` (the real CLI, one process) on the hand-made minimal snapshot whose trajectory table is "
            "replaced by N synthetic fixes (two vehicles, unsorted, 1% duplicated timestamps). Wall time and peak "
            "resident memory from `/usr/bin/time -v`.\n\n" + "\n".join(rows) + "\n")
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
