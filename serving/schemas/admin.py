"""Users, jobs (training, scoring), models and scoring runs: the administrator's resources."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from serving.schemas.common import In, Num, Out, UtcTime, _finite
from serving.schemas.leads import ListInfo

Role = Literal["investigator", "env_bureau", "admin", "auditor"]


class UserIn(In):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    role: Role
    county: str | None = Field(None, min_length=1, max_length=64, description="investigator or env_bureau only")
    days: int | None = Field(None, ge=1, le=3650, description="days the token is valid; default HAZLEADS_TOKEN_DAYS")

    @model_validator(mode="after")
    def _county(self) -> UserIn:
        if self.county is not None and self.role not in ("investigator", "env_bureau"):
            raise ValueError(f"a county applies to investigator and env_bureau only; {self.role} is city-wide")
        return self


class UserOut(Out):
    id: int
    name: str
    role: str
    county: str | None = None
    created_at: UtcTime
    disabled: bool
    token_expires_at: UtcTime | None = Field(None, description="the token is refused from then on")


class UserCreated(UserOut):
    token: str = Field(description="the bearer token: shown once, stored only as a hash")


class UserList(Out):
    items: list[UserOut]


class TrainingIn(In):
    as_of: dt.date | None = Field(None, description="train up to this day; default the snapshot's last day")
    experiment: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9_]+$",
                                   description="an experiment of experiments/*.toml; default the service's")


class ScoringIn(In):
    as_of: dt.date | None = Field(None, description="default the snapshot's last day")


class JobOut(Out):
    id: int
    kind: str
    status: Literal["running", "succeeded", "failed"]
    started_at: UtcTime
    finished_at: UtcTime | None = None
    requested_by: str | None = None
    params: dict[str, Any] = {}
    progress: str | None = None
    result: dict[str, Any] = {}
    error: str | None = None
    promoted: bool | None = Field(None, description="training: whether any new model became champion")


class JobList(Out):
    items: list[JobOut]


class PromoteIn(In):
    version: str = Field(min_length=1, max_length=16, pattern=r"^[0-9]+$")


class EvaluationRow(Out):
    entity: str
    fold: str
    model: str
    metric: str
    value: Num = None


# a share in [0, 1] and a ratio ≥ 0, or None (NaN and infinities read as None, as in ``Num``)
Share = Annotated[Annotated[float, Field(ge=0, le=1)] | None, BeforeValidator(_finite)]
Ratio = Annotated[Annotated[float, Field(ge=0, le=1e6)] | None, BeforeValidator(_finite)]


class GroupRow(Out):
    """One county or industry group of a version's evaluation (the enterprise list of the run's
    latest fold), as ``training.evaluate.bias_audit`` computes it."""

    group: str = Field(min_length=1, max_length=64, description="the county, or the industry group's code name")
    name: str = Field(min_length=1, max_length=64, description="the group's name in Chinese")
    name_en: str = Field(min_length=1, max_length=64)
    rows: int = Field(ge=0, le=10_000_000, description="enterprise-months scored")
    investigated: Share = Field(None, description="share of rows with a concluded investigation")
    confirmed_rate: Share = Field(None, description="share of investigated rows confirmed")
    mean_score: Share = None
    top_k_share: Share = Field(None, description="share of rows the model put in the top k of their month")
    labels_n: int | None = Field(None, ge=0, le=10_000_000, description="investigated rows")
    labels_precision_at_k: Share = Field(None, description="per month, confirmed share of the group's top min(k, investigated) investigated rows")
    labels_ap: Share = Field(None, description="average precision on the group's investigated rows (none without a confirmed one)")
    violating: Share = Field(None, description="share truly violating (simulated cities only)")
    investigated_vs_violating: Ratio = None
    listed_vs_violating: Ratio = None


class ModelVersionOut(Out):
    version: str
    champion: bool
    created: UtcTime | None = None
    gate: str | None = None
    run_id: str | None = None
    source: str | None = Field(None, description="learned (a fitted model) or rules (the rule score), tag `model`")
    evaluation: list[EvaluationRow] = Field(default_factory=list,
                                            description="the main metrics of the version's run, per fold and model")
    by_county: list[GroupRow] = Field(default_factory=list, max_length=200,
                                      description="enterprise models: the run's evaluation per county")
    by_industry: list[GroupRow] = Field(default_factory=list, max_length=200,
                                        description="enterprise models: the run's evaluation per industry group")


class TrainingRunOut(Out):
    run_id: str
    started: UtcTime | None = None
    status: str | None = None
    as_of: str | None = None
    decisions: dict[str, str] = {}


class KindModels(Out):
    kind: str
    champion: str | None = None
    serving: str | None = Field(None, description="the version this service is scoring with")
    load_error: str | None = None
    champion_source: str | None = Field(None, description="what the champion is: learned or rules")
    versions: list[ModelVersionOut] = []
    evaluation: list[EvaluationRow] = Field(default_factory=list, description="the champion's run: every metric per fold and model")


class ModelsOut(Out):
    models: list[KindModels]
    runs: list[TrainingRunOut] = Field(default_factory=list, description="the last training runs")


class RunList(Out):
    items: list[ListInfo]
    snapshot_digest: str | None = None
    as_of_dates: list[dt.date] = []
