"""``hazleads simulate``: write a synthetic snapshot and its ground truth."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulation import simulate as run_simulation
from simulation.config import SCALES

console = Console(highlight=False)


def simulate(
    out: Path = typer.Option(..., "--out", help="snapshot folder to write / 输出快照目录"),
    seed: int = typer.Option(0, "--seed", help="random seed / 随机种子"),
    scale: str = typer.Option("small", "--scale", help="small, town, city or province / 规模"),
    start: str = typer.Option("2021-01", "--start", help="first month YYYY-MM / 起始月份"),
    months: int | None = typer.Option(None, "--months", help="number of months (default: 12, 18, 36, 12 by scale) / 月数"),
    world: str = typer.Option("standard", "--world",
                              help="standard, or random: a different city drawn from the seed (simulation.worlds) / 城市特征"),
) -> None:
    """生成模拟城市快照 / Write a synthetic city snapshot (data contract) and its truth under OUT/truth."""
    if scale not in SCALES:
        console.print(f"未知规模 unknown scale {scale!r}; use one of {', '.join(SCALES)}", markup=False)
        raise typer.Exit(2)
    if world not in ("standard", "random"):
        console.print(f"未知城市特征 unknown world {world!r}; use standard or random", markup=False)
        raise typer.Exit(2)
    drawn = None
    if world == "random":
        from simulation.tipvoices import VOICES
        from simulation.worlds import draw_world

        drawn = draw_world(seed, tuple(sorted(VOICES)))
    if scale == "small" or not console.is_terminal:
        def say(msg: str, done: int | None = None, total: int | None = None) -> None:
            if done is None or done == total:
                console.print(f"  {msg}" + (f" ({total}/{total})" if total else ""), markup=False)

        try:
            folder = run_simulation(out, seed=seed, scale=scale, start=start, months=months, progress=say, world=drawn)
        except ValueError as exc:
            console.print(f"参数错误 bad argument: {exc}", markup=False)
            raise typer.Exit(2) from None
    else:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            stage = bar.add_task("准备 preparing", total=None)
            gps = None

            def say(msg: str, done: int | None = None, total: int | None = None) -> None:
                nonlocal gps
                if total:
                    if gps is None:
                        bar.update(stage, total=1, completed=1)
                        gps = bar.add_task(msg, total=total)
                    bar.update(gps, completed=done)
                else:
                    bar.update(stage, description=msg)

            try:
                folder = run_simulation(out, seed=seed, scale=scale, start=start, months=months, progress=say, world=drawn)
            except ValueError as exc:
                console.print(f"参数错误 bad argument: {exc}", markup=False)
                raise typer.Exit(2) from None
    console.print(f"快照已写入 snapshot written to {folder} (真值 truth in {folder / 'truth'})", markup=False)
