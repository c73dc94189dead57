"""``hazleads validate``: check a snapshot against the data contract."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from features import SnapshotError, load_snapshot
from hazleads.cli.cluster import CLUSTER, cluster_address, dask_client
from hazleads.cli.console import EXIT_USAGE, console, progress_status
from hazleads.settings import get_settings

MAX_LINES = 200


def validate(
    data: Path = typer.Argument(..., help="snapshot folder / 快照目录"),
    max_lines: int = typer.Option(MAX_LINES, help="print at most this many problems"),
    cluster: str | None = CLUSTER,
) -> None:
    """检查快照是否符合数据契约 / Check a snapshot against the data contract (exit 0 usable, 2 not)."""
    try:
        address = cluster_address(cluster, get_settings())
        with progress_status(f"检查快照 validating {data}") as say, dask_client(address) as client:
            snap = load_snapshot(data, progress=say, **({"trajectories": "cluster", "client": client} if client is not None else {}))
    except SnapshotError as exc:
        errors = exc.errors
        for p in errors[:max_lines]:
            console.print(str(p), markup=False, soft_wrap=True)
        if len(errors) > max_lines:
            console.print(f"... 另有 {len(errors) - max_lines} 个问题 / {len(errors) - max_lines} more problems", markup=False)
        console.print(f"快照不可用：{len(errors)} 个问题 / snapshot unusable: {len(errors)} problem(s)", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    rep = snap.report
    table = Table(title=f"快照 snapshot {data}")
    table.add_column("表 table")
    table.add_column("文件 file")
    table.add_column("行数 rows", justify="right")
    table.add_column("时间范围 span")
    for name, n in rep.rows.items():
        span = rep.spans.get(name)
        span_text = "" if span is None else f"{_day(span[0])} … {_day(span[1])}"
        table.add_row(name, rep.files.get(name, "(absent)"), f"{n:,}", span_text)
    table.add_row("places", "places.geojson" if snap.places else "(absent)", f"{len(snap.places):,}", "")
    console.print(table)
    t = rep.trajectories
    console.print(
        f"轨迹 trajectories: 读取 read {t.fixes_read:,}, 去重 duplicates dropped {t.duplicates_dropped:,}, "
        f"乱序 out of order {t.out_of_order:,}, 保留 kept {t.fixes_kept:,}",
        markup=False,
    )
    for w in rep.warnings[:max_lines]:
        console.print(f"warning: {w}", markup=False, soft_wrap=True)
    console.print(f"快照可用 snapshot usable; last day {snap.last_day.date()}; {len(rep.warnings)} warning(s)", markup=False)


def _day(ts) -> str:
    return str(ts)[:10] if not hasattr(ts, "strftime") else ts.strftime("%Y-%m-%d")
