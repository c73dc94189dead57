"""``hazleads serve``, ``users add|disable|rotate|list``, ``audit verify|checkpoint|rotate-key`` and ``demo``."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from hazleads.cli.console import EXIT_USAGE, console, progress_status
from hazleads.settings import Settings, get_settings

users_app = typer.Typer(help="用户与令牌 / users and their bearer tokens", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / the audit log", no_args_is_help=True)
DEMO_FOLDER = "demo-city"


def _database(settings: Settings, create_key: bool = True):
    from serving.auditkeys import AuditKeyError
    from serving.db.setup import open_database

    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return open_database(settings, create_key=create_key)
    except AuditKeyError as exc:
        console.print(f"审计密钥不可用 audit key unusable: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _add_user(settings: Settings, name: str, role: str, county: str | None, days: int | None = None) -> str:
    from serving import audit
    from serving.auth import UserError, create_user

    db = _database(settings)
    try:
        with db.write() as s:
            user, token = create_user(s, name, role, county, days=days or settings.token_days)
            audit.append(s, None, "user.create", [str(user.id), user.name], result=f"{role} via command line")
    except UserError as exc:
        console.print(f"未创建 not created: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        db.dispose()
    return token


Days = typer.Option(None, "--days", min=1, max=3650, help="days the token is valid (default HAZLEADS_TOKEN_DAYS, 90)")


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="user name / 用户名"),
    role: str = typer.Option(..., "--role", help="investigator, env_bureau, admin or auditor"),
    county: str | None = typer.Option(None, "--county", help="limit an investigator or env_bureau user to one county"),
    days: int | None = Days,
) -> None:
    """创建用户并打印令牌（最后一行）/ Create a user; the bearer token is printed alone on the last line."""
    token = _add_user(get_settings(), name, role, county, days)
    scope = f"，辖区 county {county.strip()}" if county else "，全市 city-wide"
    console.print(f"已创建用户 created user {name} ({role}{scope})；令牌只显示这一次 the token is shown only once:",
                  markup=False, soft_wrap=True)
    print(token)


def _change_user(name: str, action: str, change) -> object:
    from serving import audit
    from serving.auth import UserError, find_user

    db = _database(get_settings())
    try:
        with db.write() as s:
            user = find_user(s, name)
            out = change(s, user)
            audit.append(s, None, f"user.{action}", [str(user.id), user.name], result="via command line")
    except UserError as exc:
        console.print(f"未更改 not changed: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        db.dispose()
    return out


@users_app.command("disable")
def users_disable(name: str = typer.Argument(..., help="user name / 用户名")) -> None:
    """停用用户（令牌立即失效）/ Disable a user: its token stops working at once."""

    def disable(s, user) -> None:
        user.disabled = True

    _change_user(name, "disable", disable)
    console.print(f"已停用 disabled: {name}", markup=False, soft_wrap=True)


@users_app.command("rotate")
def users_rotate(name: str = typer.Argument(..., help="user name / 用户名"), days: int | None = Days) -> None:
    """更换令牌（旧令牌立即失效），新令牌在最后一行 / Replace a user's token (the old one stops working at
    once); the new token is printed alone on the last line."""
    from serving.auth import rotate_token

    settings = get_settings()
    token = _change_user(name, "rotate", lambda s, user: rotate_token(s, user, days or settings.token_days))
    console.print(f"已更换令牌 new token for {name}；令牌只显示这一次 the token is shown only once:",
                  markup=False, soft_wrap=True)
    print(token)


@users_app.command("list")
def users_list() -> None:
    """列出用户 / List users (never their tokens), with when each token expires (UTC)."""
    from sqlalchemy import select

    from serving.db.models import User

    db = _database(get_settings())
    with db.read() as s:
        for u in s.scalars(select(User).order_by(User.id)):
            state = "停用 disabled" if u.disabled else ""
            expires = f"{u.token_expires_at:%Y-%m-%d %H:%M} UTC" if u.token_expires_at else "—"
            console.print(f"{u.id}\t{u.name}\t{u.role}\t{u.county or '全市 city-wide'}\t{expires}\t{state}",
                          markup=False, soft_wrap=True)
    db.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志 / Check the audit chain with its key and against its signed checkpoints; exit 1
    naming the first bad row."""
    from serving import audit

    settings = get_settings()
    db = _database(settings, create_key=False)
    try:
        v = audit.verify_database(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()
    if v.ok:
        console.print(f"审计链完整 audit chain intact: {v.rows} row(s), {v.checkpoints} checkpoint(s)"
                      + (f", {v.legacy_rows} row(s) from before the key" if v.legacy_rows else ""),
                      markup=False, soft_wrap=True)
        return
    where = f" at row {v.first_bad_id}" if v.first_bad_id is not None else ""
    console.print(f"审计链被破坏 audit chain broken{where}: {v.reason}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """导出签名检查点 / Append a signed checkpoint of the chain's head to the checkpoint file (the
    service does so every HAZLEADS_AUDIT_CHECKPOINT_S seconds; run this from cron when it is stopped)."""
    from serving import audit

    settings = get_settings()
    db = _database(settings)
    try:
        cp = audit.write_checkpoint(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()
    where = settings.audit_checkpoint_path
    console.print(f"检查点 checkpoint at row {cp.id} → {where}" if cp else f"无新行 nothing new since the last checkpoint ({where})",
                  markup=False, soft_wrap=True)


@audit_app.command("rotate-key")
def audit_rotate_key() -> None:
    """更换审计密钥 / Make a new audit key; the old one is kept in the keyring folder (rows it signed
    still verify). Checkpoints the chain with the old key first, then records the rotation signed
    with the new one."""
    from serving import audit
    from serving.auditkeys import AuditKeyError, rotate_key

    settings = get_settings()
    db = _database(settings)
    try:
        audit.write_checkpoint(db, settings.audit_checkpoint_path)
        verdict = audit.verify_database(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()
    if not verdict.ok:
        console.print(f"未更换 not rotated: the chain does not verify ({verdict.reason})", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    try:
        old, new = rotate_key(settings)
    except AuditKeyError as exc:
        console.print(f"未更换 not rotated: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    db = _database(settings)
    try:
        with db.write() as s:
            audit.append(s, None, "audit.key_rotated", [old, new], result="via command line")
        audit.write_checkpoint(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()
    console.print(f"审计密钥已更换 audit key rotated: {old} → {new} (old key kept in the keyring folder)",
                  markup=False, soft_wrap=True)


def _run(settings: Settings, data: Path | None, host: str | None, port: int | None, loaded=None) -> None:
    import uvicorn

    from serving import logs
    from serving.app import create_app

    logs.configure(settings.log_level)
    app = create_app(settings, data=data, warm="background", loaded=loaded)
    del loaded  # the service holds it while it needs it, no longer
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
    handoff = []  # the snapshot as the training loaded it, with its stops: the service need not load it again
    if trained and registry.champion_version("enterprise") is not None:
        console.print("[2/4] 已训练，跳过 already trained, skipped", markup=False, soft_wrap=True)
    else:
        try:
            with progress_status("[2/4] 训练 training") as say:
                res = run_training(data, settings, progress=say, keep_loaded=True)
        except TrainingError as exc:
            console.print(f"训练未完成 training stopped: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        write_state(settings, last_trained_snapshot=str(data.resolve()), last_run_id=res.run_id,
                    last_as_of=str(res.as_of.date()))
        handoff.append(res.loaded)
        for d in res.decisions:
            console.print(f"  {d.kind} v{d.version}: {'已晋升 promoted' if d.promoted else '未晋升 not promoted'}",
                          markup=False, soft_wrap=True)
        del res
    token = _add_user(settings, _free_admin_name(settings), "admin", None)
    h, p = host or settings.host, port or settings.port
    console.print("[3/4] 管理员令牌 admin token (Authorization: Bearer …):", markup=False, soft_wrap=True)
    print(token)
    console.print(f"[4/4] 启动服务 starting the service: http://{h}:{p}/  — 首次启动会先生成线索清单 the first start "
                  "scores the lead lists first (see /readyz)", markup=False, soft_wrap=True)
    _run(settings, data, h, p, handoff.pop() if handoff else None)


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
