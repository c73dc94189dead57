"""``hazleads serve``, ``users add|list``, ``audit verify`` and ``demo``."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from hazleads.cli.console import EXIT_USAGE, console, progress_status
from hazleads.settings import Settings, get_settings

users_app = typer.Typer(help="用户与令牌 / users and their bearer tokens", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / the audit log", no_args_is_help=True)
DEMO_FOLDER = "demo-city"


def _database(settings: Settings):
    from serving.db.engine import Database
    from serving.db.migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    db = Database(settings.db_url)
    upgrade(db.url, engine=db.write_engine)
    return db


def _add_user(settings: Settings, name: str, role: str, county: str | None) -> str:
    from serving import audit
    from serving.auth import UserError, create_user

    db = _database(settings)
    try:
        with db.write() as s:
            user, token = create_user(s, name, role, county)
            audit.append(s, None, "user.create", [str(user.id), user.name], result=f"{role} via command line")
    except UserError as exc:
        console.print(f"未创建 not created: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        db.dispose()
    return token


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="user name / 用户名"),
    role: str = typer.Option(..., "--role", help="investigator, env_bureau, admin or auditor"),
    county: str | None = typer.Option(None, "--county", help="limit an investigator or env_bureau user to one county"),
) -> None:
    """创建用户并打印令牌（最后一行）/ Create a user; the bearer token is printed alone on the last line."""
    token = _add_user(get_settings(), name, role, county)
    scope = f"，辖区 county {county}" if county else "，全市 city-wide"
    console.print(f"已创建用户 created user {name} ({role}{scope})；令牌只显示这一次 the token is shown only once:",
                  markup=False, soft_wrap=True)
    print(token)


@users_app.command("list")
def users_list() -> None:
    """列出用户 / List users (never their tokens)."""
    from sqlalchemy import select

    from serving.db.models import User

    db = _database(get_settings())
    with db.read() as s:
        for u in s.scalars(select(User).order_by(User.id)):
            state = "停用 disabled" if u.disabled else ""
            console.print(f"{u.id}\t{u.name}\t{u.role}\t{u.county or '全市 city-wide'}\t{state}", markup=False, soft_wrap=True)
    db.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志的哈希链 / Check the audit log's hash chain; exit 1 naming the first bad row."""
    from serving import audit

    db = _database(get_settings())
    with db.read() as s:
        v = audit.verify(s)
    db.dispose()
    if v.ok:
        console.print(f"审计链完整 audit chain intact: {v.rows} row(s)", markup=False, soft_wrap=True)
        return
    console.print(f"审计链被破坏 audit chain broken at row {v.first_bad_id}: {v.reason}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _run(settings: Settings, data: Path | None, host: str | None, port: int | None) -> None:
    import uvicorn

    from serving import logs
    from serving.app import create_app

    logs.configure(settings.log_level)
    app = create_app(settings, data=data, warm="background")
    h, p = host or settings.host, port or settings.port
    console.print(f"服务地址 serving at http://{h}:{p}  (API: /v1, 健康检查 health: /healthz)", markup=False, soft_wrap=True)
    uvicorn.run(app, host=h, port=p, log_config=None, access_log=False, server_header=False)


def serve(
    data: Path | None = typer.Option(None, "--data", help="snapshot folder; default the one last trained on"),
    host: str | None = typer.Option(None, "--host", help="default 127.0.0.1"),
    port: int | None = typer.Option(None, "--port", help="default 8000"),
) -> None:
    """启动服务 / Start the API over the snapshot last trained on, or DATA."""
    _run(get_settings(), data, host, port)


def _has_snapshot(folder: Path) -> bool:
    return any((folder / f"enterprises.{ext}").exists() for ext in ("csv", "parquet"))


def demo(
    host: str | None = typer.Option(None, "--host"),
    port: int | None = typer.Option(None, "--port"),
    scale: str = typer.Option("city", "--scale", help="small, city or province"),
) -> None:
    """演示：模拟城市、训练、创建管理员、启动服务 / Simulate a city, train, create an admin, serve."""
    from hazleads.state import read_state, write_state
    from simulation import simulate
    from training import registry
    from training.pipeline import TrainingError, run_training

    settings = get_settings()
    data = settings.home_dir / DEMO_FOLDER
    if _has_snapshot(data):
        console.print(f"[1/4] 已有模拟快照，跳过 snapshot already there, skipped: {data}", markup=False, soft_wrap=True)
    else:
        with progress_status(f"[1/4] 模拟城市 simulating a {scale} snapshot into {data}") as say:
            simulate(data, seed=0, scale=scale,
                     progress=lambda msg, done=None, total=None: say(f"{msg} {done}/{total}" if total else msg))
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    registry.configure(settings)
    trained = read_state(settings).get("last_trained_snapshot") == str(data.resolve())
    if trained and registry.champion_version("enterprise") is not None:
        console.print("[2/4] 已训练，跳过 already trained, skipped", markup=False, soft_wrap=True)
    else:
        try:
            with progress_status("[2/4] 训练 training") as say:
                res = run_training(data, settings, progress=say)
        except TrainingError as exc:
            console.print(f"训练未完成 training stopped: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        write_state(settings, last_trained_snapshot=str(data.resolve()), last_run_id=res.run_id,
                    last_as_of=str(res.as_of.date()))
        for d in res.decisions:
            console.print(f"  {d.kind} v{d.version}: {'已晋升 promoted' if d.promoted else '未晋升 not promoted'}",
                          markup=False, soft_wrap=True)
    token = _add_user(settings, _free_admin_name(settings), "admin", None)
    h, p = host or settings.host, port or settings.port
    console.print("[3/4] 管理员令牌 admin token (Authorization: Bearer …):", markup=False, soft_wrap=True)
    print(token)
    console.print(f"[4/4] 启动服务 starting the service: http://{h}:{p}/  — 首次启动会先生成线索清单 the first start "
                  "scores the lead lists first (see /readyz)", markup=False, soft_wrap=True)
    _run(settings, data, h, p)


def _free_admin_name(settings: Settings) -> str:
    from sqlalchemy import select

    from serving.db.models import User

    db = _database(settings)
    with db.read() as s:
        taken = set(s.scalars(select(User.name)))
    db.dispose()
    n = 1
    while (name := "demo-admin" if n == 1 else f"demo-admin-{n}") in taken:
        n += 1
    return name
