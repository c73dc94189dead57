"""``hazleads train``, ``score`` and ``models list|promote|rollback``."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import typer
from rich.table import Table

from features import SnapshotError
from hazleads.cli.cluster import CLUSTER, cluster_address, dask_client
from hazleads.cli.console import EXIT_USAGE, console, progress_status
from hazleads.settings import get_settings
from hazleads.state import write_state

models_app = typer.Typer(help="模型注册表 / the model registry", no_args_is_help=True)
KINDS = ("enterprise", "tip")


def _quiet_mlflow() -> None:
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def train(
    data: Path = typer.Option(..., "--data", help="snapshot folder / 快照目录"),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD; default: the snapshot's last day"),
    experiment: Path | None = typer.Option(None, "--experiment", help="experiment TOML (experiments/*.toml)"),
    cluster: str | None = CLUSTER,
) -> None:
    """训练、评估并登记模型 / Train, evaluate, record the run and register the models (with the promotion gate)."""
    from training.config import ConfigError, load_config
    from training.pipeline import TrainingError, run_training
    from training.report import results_table

    _quiet_mlflow()
    settings = get_settings()
    try:
        config = load_config(experiment)
    except ConfigError as exc:
        console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        with progress_status("训练 training") as say, dask_client(cluster_address(cluster, settings)) as client:
            result = run_training(data, settings, as_of=as_of, config=config, progress=say, client=client)
    except SnapshotError as exc:
        for p in exc.errors[:50]:
            console.print(str(p), markup=False)
        console.print(f"快照不可用 snapshot unusable: {len(exc.errors)} problem(s)", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    except TrainingError as exc:
        console.print(f"训练未完成 training stopped: {exc}", markup=False)
        raise typer.Exit(1) from None
    write_state(settings, last_trained_snapshot=str(Path(data).resolve()), last_run_id=result.run_id,
                last_as_of=str(result.as_of.date()))
    console.print(results_table(result.metrics), markup=False, soft_wrap=True)
    for d in result.decisions:
        verdict = "已晋升 promoted" if d.promoted else "未晋升 not promoted"
        console.print(f"{d.kind} v{d.version}: {verdict} — {d.reason}", markup=False)
    for n in result.notes:
        console.print(f"note: {n}", markup=False)
    console.print(f"MLflow run {result.run_id}", markup=False)


def score(
    data: Path = typer.Option(..., "--data", help="snapshot folder / 快照目录"),
    as_of: str = typer.Option(..., "--as-of", help="YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", help="folder for the five lead files / 输出目录"),
    cluster: str | None = CLUSTER,
) -> None:
    """用在役模型生成线索清单 / Write the five lead files with the champion models."""
    from features.snapshot import load_snapshot, snapshot_digest
    from training import registry
    from training.distributed import score_on_cluster
    from training.score import score_snapshot

    _quiet_mlflow()
    settings = get_settings()
    registry.configure(settings)
    try:
        ent = registry.load_version("enterprise", alias=registry.CHAMPION, cache=settings.models_dir)
    except registry.ModelLoadError as exc:
        console.print(f"没有可用的企业模型 no enterprise champion: {exc}; run `hazleads train` first", markup=False)
        raise typer.Exit(1) from None
    try:
        tip = registry.load_version("tip", alias=registry.CHAMPION, cache=settings.models_dir)
    except registry.ModelLoadError:
        tip = None
    try:
        with progress_status("评分 scoring") as say, dask_client(cluster_address(cluster, settings)) as client:
            on_cluster = {"trajectories": "cluster", "client": client} if client is not None else {}
            snap = load_snapshot(data, progress=say, **on_cluster)
            scorer = score_snapshot if client is None else functools.partial(score_on_cluster, client=client)
            leads = scorer(snap, as_of, ent.model, tip.model if tip else None,
                           {"enterprise": ent.version, "tip": tip.version if tip else ""},
                           snapshot_digest(data), k=settings.gate_k, share=settings.exploration_share, progress=say,
                           driving=settings.driving_params)
    except SnapshotError as exc:
        for p in exc.errors[:50]:
            console.print(str(p), markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    for p in leads.write(out):
        console.print(f"写入 wrote {p}", markup=False)


@models_app.command("list")
def list_models() -> None:
    """列出登记的模型版本 / List registered versions and the champion."""
    from training import registry

    _quiet_mlflow()
    registry.configure(get_settings())
    for kind in KINDS:
        t = registry.list_versions(kind)
        table = Table(title=registry.NAMES[kind])
        for c in ("version", "champion", "created", "gate"):
            table.add_column(c)
        for _, r in t.iterrows():
            table.add_row(str(r["version"]), "★" if r["champion"] else "", str(r["created"])[:19], str(r["gate"]))
        console.print(table)


@models_app.command("promote")
def promote(kind: str = typer.Argument(..., help="enterprise or tip"), version: str = typer.Argument(...)) -> None:
    """手动晋升某版本 / Make a version the champion (it must load and verify)."""
    from training import registry

    _quiet_mlflow()
    registry.configure(get_settings())
    if kind not in KINDS:
        console.print(f"kind must be one of {', '.join(KINDS)}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        registry.promote(kind, version)
    except registry.ModelLoadError as exc:
        console.print(f"未晋升 not promoted: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"{registry.NAMES[kind]} v{version} 为在役模型 is now champion", markup=False)


@models_app.command("rollback")
def rollback(kind: str = typer.Argument(..., help="enterprise or tip")) -> None:
    """回滚到上一个在役模型 / Return the champion to the version it replaced."""
    from training import registry

    _quiet_mlflow()
    registry.configure(get_settings())
    if kind not in KINDS:
        console.print(f"kind must be one of {', '.join(KINDS)}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        v = registry.rollback(kind)
    except registry.ModelLoadError as exc:
        console.print(f"无法回滚 cannot roll back: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"{registry.NAMES[kind]} champion → v{v}", markup=False)
