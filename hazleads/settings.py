"""The one settings object. Every value can be set by an environment variable ``HAZLEADS_<NAME>``.

State lives in the home folder (``HAZLEADS_HOME``, default ``.hazleads/`` under the working
directory): the service's SQLite database, the MLflow SQLite store and its artifacts, the
snapshot last trained on. Pointing ``database_url`` at PostgreSQL, ``mlflow_tracking_uri`` at a
tracking server and ``dask_scheduler`` at a Dask cluster is how hazleads grows beyond one machine.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAZLEADS_", extra="ignore")

    home: Path = Field(default=Path(".hazleads"), description="state folder; relative to the working directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default MLFLOW_TRACKING_URI, else SQLite in home"
    )
    dask_scheduler: str | None = Field(default=None, description="tcp://host:port of a Dask scheduler; unset = pandas")
    lang: str = Field(default="zh", description="language of reasons: zh or en")
    exploration_share: float = Field(default=0.10, ge=0.0, le=0.5, description="share of each lead list drawn below the cut")
    gate_k: int = Field(default=20, ge=1, description="length of the short list (top k) the exploration draw is placed in")
    lead_list_size: int = Field(default=200, ge=10, le=100_000, description="entries stored per lead list")
    driving: dict[str, float] = Field(
        default_factory=dict,
        description="limits of the driving rules overriding features.driving.DrivingParams, as JSON in HAZLEADS_DRIVING, "
                    'e.g. {"default_limit_kmh": 50, "night_factor": 1.0}',
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # the audit chain's secret and checkpoints (serving/auditkeys.py, serving/audit.py; rotation: DEVELOPERS.md)
    audit_key: SecretStr | None = Field(default=None, description="audit HMAC key (32+ characters); default the key file")
    audit_key_file: Path | None = Field(default=None, description="default audit.key in home, made 0600 on first use")
    audit_keyring: Path | None = Field(default=None, description="retired audit keys; default audit-keys/ in home")
    audit_checkpoints: Path | None = Field(default=None, description="signed checkpoints; default audit-checkpoints.jsonl in home")
    audit_checkpoint_s: float = Field(default=60.0, ge=1.0, description="seconds between the service's checkpoints")
    # tokens and per-user limits (serving/auth.py, serving/limits.py)
    token_days: int = Field(default=90, ge=1, le=3650, description="days a new or rotated token is valid")
    tip_intake_per_hour: int = Field(default=120, ge=1, description="tips one user may submit in any hour")
    jobs_per_hour: int = Field(default=12, ge=1, description="training and scoring jobs one user may start in any hour")
    # the case desk (serving/repo/handovers.py, serving/repo/stats.py)
    handover_decision_days: float = Field(
        default=3.0, gt=0, le=365,
        description="days the police have to decide on a case the bureau hands over: 《行政执法机关移送涉嫌犯罪案件的规定》"
                    "(国务院令第310号) 第八条, 公安机关自接受移送之日起3日内决定是否立案")
    campaign_stages: dict[str, str] = Field(
        default_factory=dict,
        description="stages of the action plan by their first day, as JSON in HAZLEADS_CAMPAIGN_STAGES, e.g. "
                    '{"排查摸底": "2021-01-01", "集中整治": "2021-03-01", "巩固提升": "2021-06-01"}; '
                    "none: one stage 全程")
    precision_k: int = Field(default=20, ge=1, le=1000, description="the top k of each month's list whose precision is reported")

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("zh", "en"):
            raise ValueError("lang must be 'zh' or 'en'")
        return v

    @field_validator("campaign_stages")
    @classmethod
    def _stages(cls, v: dict[str, str]) -> dict[str, str]:
        import datetime as dt

        for name, first in v.items():
            try:
                dt.date.fromisoformat(first)
            except ValueError:
                raise ValueError(f"campaign_stages[{name!r}] = {first!r}: a first day as YYYY-MM-DD") from None
        return v

    @field_validator("driving")
    @classmethod
    def _driving(cls, v: dict[str, float]) -> dict[str, float]:
        from dataclasses import fields

        from features.driving import DrivingParams

        known = {f.name for f in fields(DrivingParams)}
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown driving limits {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        DrivingParams(**v)  # its own checks (ranges)
        return v

    @property
    def driving_params(self):
        """``features.driving.DrivingParams`` with the overrides of ``driving``."""
        from features.driving import DrivingParams

        return DrivingParams(**self.driving)

    @cached_property
    def home_dir(self) -> Path:
        """The home folder as an absolute path, created on first use, readable by its owner only
        (it holds the database with informants' words, the audit key and the models)."""
        path = self.home.expanduser().resolve()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'hazleads.db'}"

    @property
    def audit_checkpoint_path(self) -> Path:
        return Path(self.audit_checkpoints) if self.audit_checkpoints else self.home_dir / "audit-checkpoints.jsonl"

    @property
    def mlflow_uri(self) -> str:
        uri = self.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        return uri or f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.home_dir / "mlartifacts"

    @property
    def models_dir(self) -> Path:
        """Local copies of registered models, verified by checksum before loading."""
        path = self.home_dir / "models"
        path.mkdir(parents=True, exist_ok=True)
        return path


def get_settings() -> Settings:
    """A fresh settings object read from the environment (cheap; tests change the environment)."""
    return Settings()
