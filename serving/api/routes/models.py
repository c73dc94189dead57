"""The models in service and in the registry, their evaluation, promotion and rollback (admins)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException, Request

from serving import audit
from serving.api.deps import Admin, RuntimeDep, request_id
from serving.jobs import after_champion_change
from serving.model_groups import group_tables
from serving.runtime import KINDS
from serving.schemas.admin import KindModels, ModelsOut, PromoteIn
from serving.schemas.common import ERRORS, NOT_FOUND, ErrorBody

router = APIRouter(prefix="/v1/models", tags=["models"], responses={**ERRORS, **NOT_FOUND})
Kind = Literal["enterprise", "tip"]
REFUSED = {409: {"model": ErrorBody, "description": "the registry refused: the version does not load or verify"}}


# the metrics each version is shown with beside its baselines (every metric is in the champion's table)
MAIN_METRICS = ("labels/precision@20", "labels/ap", "labels/recall@20", "truth/precision@20", "truth/ap")


def _evaluation(client, run_id: str | None, only: tuple[str, ...] | None = None) -> list[dict]:
    """The run's metrics ``entity/fold/model/metric``, where the metric may itself hold a slash
    (``labels/precision_at_20``: on the investigated rows; ``truth/…``: on the simulated truth)."""
    if not run_id:
        return []
    try:
        metrics = client.get_run(run_id).data.metrics
    except Exception:  # noqa: BLE001 - a missing run shows no table
        return []
    rows = []
    for key, value in sorted(metrics.items()):
        parts = key.split("/")
        if len(parts) >= 4:
            metric = "/".join(parts[3:]).replace("_at_", "@")
            if only is None or metric in only:
                rows.append({"entity": parts[0], "fold": parts[1], "model": parts[2], "metric": metric, "value": value})
    return rows[:4000]


def _kind(rt, client, registry, kind: str) -> dict:
    t = registry.list_versions(kind)
    champ = registry.champion_version(kind)
    versions = [] if t.empty else [
        {"version": str(r["version"]), "champion": str(r["version"]) == champ,
         "created": r["created"].to_pydatetime() if hasattr(r["created"], "to_pydatetime") else None,
         "gate": r.get("gate") or None, "run_id": r.get("run_id"), "source": r.get("source") or None}
        for _, r in t.iloc[::-1].head(50).iterrows()]
    runs_seen: dict[str, list[dict]] = {}
    for v in versions[:10]:  # the newest ten: each beside the baselines of its own run
        if v["run_id"] not in runs_seen:
            runs_seen[v["run_id"]] = _evaluation(client, v["run_id"], MAIN_METRICS)
        v["evaluation"] = [r for r in runs_seen[v["run_id"]] if r["entity"] == kind]
    champ_row = next((v for v in versions if v["version"] == champ), None)
    if kind == "enterprise":  # the per-group tables are of the enterprise lists
        tables: dict[str, dict] = {}
        for v in [*versions[:10], *([champ_row] if champ_row and champ_row not in versions[:10] else [])]:
            if v["run_id"] not in tables:
                tables[v["run_id"]] = group_tables(client, v["run_id"])
            v.update(tables[v["run_id"]])
    serving = rt.models.get(kind)
    return {"kind": kind, "champion": champ, "serving": serving.version if serving else None,
            "champion_source": champ_row["source"] if champ_row else None,
            "load_error": rt.model_errors.get(kind), "versions": versions,
            "evaluation": _evaluation(client, champ_row["run_id"] if champ_row else None)}


def _runs(client, registry) -> list[dict]:
    exp = client.get_experiment_by_name(registry.EXPERIMENT)
    if exp is None:
        return []
    out = []
    for r in client.search_runs([exp.experiment_id], max_results=10, order_by=["attributes.start_time DESC"]):
        tags = r.data.tags
        out.append({"run_id": r.info.run_id, "status": r.info.status,
                    "started": dt.datetime.fromtimestamp(r.info.start_time / 1000, dt.UTC) if r.info.start_time else None,
                    "as_of": tags.get("as_of"),
                    "decisions": {k: v for k, v in tags.items() if k.endswith(("_gate", "_version", "_model"))}})
    return out


@router.get("", response_model=ModelsOut, summary="Champions, versions, evaluation, last runs")
def models_info(request: Request, user: Admin, rt: RuntimeDep):
    from mlflow import MlflowClient

    from training import registry

    registry.configure(rt.settings)
    client = MlflowClient()
    return {"models": [KindModels(**_kind(rt, client, registry, k)) for k in KINDS], "runs": _runs(client, registry)}


@router.post("/{kind}/promote", response_model=ModelsOut, responses=REFUSED, summary="Make a version the champion")
def promote(kind: Kind, body: PromoteIn, request: Request, user: Admin, rt: RuntimeDep):
    """The version must load and verify its checksum; the service then serves it and re-scores."""
    from training import registry

    registry.configure(rt.settings)
    try:
        registry.promote(kind, body.version)
    except registry.ModelLoadError as exc:
        _audit(rt, request, user, f"model.promote.{kind}", body.version, "refused")
        raise HTTPException(409, f"not promoted: {exc}") from None
    after_champion_change(rt, user)
    _audit(rt, request, user, f"model.promote.{kind}", body.version, "ok")
    return models_info(request, user, rt)


@router.post("/{kind}/rollback", response_model=ModelsOut, responses=REFUSED, summary="Return to the previous champion")
def rollback(kind: Kind, request: Request, user: Admin, rt: RuntimeDep):
    from training import registry

    registry.configure(rt.settings)
    try:
        version = registry.rollback(kind)
    except registry.ModelLoadError as exc:
        _audit(rt, request, user, f"model.rollback.{kind}", None, "refused")
        raise HTTPException(409, f"cannot roll back: {exc}") from None
    after_champion_change(rt, user)
    _audit(rt, request, user, f"model.rollback.{kind}", version, "ok")
    return models_info(request, user, rt)


@router.post("/reload", response_model=ModelsOut, summary="Pick up champions promoted outside the service")
def reload(request: Request, user: Admin, rt: RuntimeDep):
    changed = after_champion_change(rt, user)
    _audit(rt, request, user, "model.reload", None, "changed" if changed else "unchanged")
    return models_info(request, user, rt)


def _audit(rt, request, user, action: str, version: str | None, result: str) -> None:
    with rt.db.write() as s:
        audit.append(s, user, action, [version] if version else [], result=result, model_version=version,
                     request_id=request_id(request))
