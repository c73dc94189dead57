"""The service's tables (SQLAlchemy 2). Migrations in ``serving/migrations`` create exactly these.

Times are stored as UTC; ``as_of`` dates are the local (Asia/Shanghai) day the list is computed at.
Lists of ids travel as ``;``-joined text framed by ``;`` (``;E1;E2;``) so that one ``LIKE`` finds a
member; JSON text columns hold reasons and evidence exactly as the scorer produced them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    county: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the bearer token
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    token_issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC; the token was made or rotated
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC; refused from then on


class ScoringRun(Base):
    """One run of the scoring job: the lists of one as-of date, with what produced them."""

    __tablename__ = "scoring_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    snapshot_digest: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_version: Mapped[str | None] = mapped_column(String(32))
    tip_version: Mapped[str | None] = mapped_column(String(32))
    site_scoring: Mapped[str] = mapped_column(String(16), default="rules")
    trigger: Mapped[str] = mapped_column(String(16))  # start, history, promotion, on_demand
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    n_enterprise: Mapped[int] = mapped_column(Integer, default=0)
    n_tip: Mapped[int] = mapped_column(Integer, default=0)
    n_site: Mapped[int] = mapped_column(Integer, default=0)
    n_mismatch: Mapped[int] = mapped_column(Integer, default=0)


class Lead(Base):
    """One entry of a stored lead list (enterprise, tip or site)."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)  # city-wide rank, 1 strongest (exploration included)
    county_rank: Mapped[int] = mapped_column(Integer)  # rank among the same county's entries
    model_rank: Mapped[int | None] = mapped_column(Integer)  # rank by score alone, city-wide
    county_model_rank: Mapped[int | None] = mapped_column(Integer)  # the same within the county
    score: Mapped[float] = mapped_column(Float)
    exploration: Mapped[bool] = mapped_column(Boolean, default=False)
    inclusion_prob: Mapped[float | None] = mapped_column(Float)
    county: Mapped[str | None] = mapped_column(String(64))  # jurisdiction
    name: Mapped[str | None] = mapped_column(String(200))
    industries: Mapped[str] = mapped_column(String(400), default=";")  # ;C2662;
    categories: Mapped[str] = mapped_column(String(400), default=";")  # ;HW08;HW17;
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    enterprise_ids: Mapped[str] = mapped_column(Text, default="")
    vehicle_ids: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    reasons_en: Mapped[str] = mapped_column(Text, default="[]")
    evidence: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (
        Index("ix_leads_run_kind_rank", "run_id", "kind", "rank"),
        Index("ix_leads_run_kind_county", "run_id", "kind", "county", "county_rank"),
        Index("ix_leads_kind_entity", "kind", "entity_id"),
    )


class Mismatch(Base):
    """One row of the ledger cross-check (contract §4 ``ledger_mismatch``) of a scoring run."""

    __tablename__ = "ledger_mismatch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    county: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    waste_code: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(8))
    generated_t: Mapped[float | None] = mapped_column(Float)
    accounted_t: Mapped[float | None] = mapped_column(Float)
    balance_gap_t: Mapped[float | None] = mapped_column(Float)
    manifest_gap_t: Mapped[float | None] = mapped_column(Float)
    receipt_gap_t: Mapped[float | None] = mapped_column(Float)
    power_gap_t: Mapped[float | None] = mapped_column(Float)
    unaccounted_t: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_mismatch_run_unacc", "run_id", "unaccounted_t"),
        Index("ix_mismatch_run_enterprise", "run_id", "enterprise_id"),
    )


class Tip(Base):
    """A tip: mirrored from the snapshot by the scoring job, or received through ``POST /v1/tips``
    and scored at intake."""

    __tablename__ = "tips"
    tip_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="intake")  # snapshot, intake
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # local time, Asia/Shanghai
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    county: Mapped[str | None] = mapped_column(String(64))  # as reported
    jurisdiction: Mapped[str | None] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(32))
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    reasons_en: Mapped[str] = mapped_column(Text, default="[]")
    enterprise_ids: Mapped[str] = mapped_column(Text, default="")
    vehicle_ids: Mapped[str] = mapped_column(Text, default="")
    corroboration: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_tips_created_by_at", "created_by", "created_at"),)  # per-user intake limit


class Outcome(Base):
    """What an investigation found about an enterprise, tip or site: a label for the next training run."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # confirmed, unfounded, open
    violation: Mapped[str | None] = mapped_column(String(32))
    tonnes: Mapped[float | None] = mapped_column(Float)
    criminal: Mapped[bool | None] = mapped_column(Boolean)
    opened: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[str | None] = mapped_column(String(64))  # the enterprise the case concerns
    tip_id: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_outcomes_entity", "entity_kind", "entity_id"),)


class Job(Base):
    """A background job (training or scoring). At most one of each kind runs: the partial unique
    index makes a second ``running`` row of a kind impossible, in every process."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # training, scoring
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    params: Mapped[str] = mapped_column(Text, default="{}")
    result: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_jobs_one_running", "kind", unique=True,
              sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
        Index("ix_jobs_requested_by_started", "requested_by", "started_at"),  # per-user job limit
    )


class AuditEntry(Base):
    """One append-only audit row; ``hash = HMAC(key, prev_hash + canonical row)`` with the key named by
    ``key_id`` (rows written before the key existed: ``key_id`` NULL, plain SHA-256; see ``serving.audit``)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(32))  # UTC ISO 8601 with microseconds, as hashed
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity_ids: Mapped[str] = mapped_column(Text, default="[]")
    model_version: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """The chain's head (one row): the last id and hash, locked while a row is appended."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


# ---- the case desk (revision 0003): a lead's status, its history, the bureau's handovers ----------------

CASE_STATUSES = ("待核查", "核查中", "已立案", "已移送", "已结案-属实", "已结案-不属实")
CONCLUDED = ("已结案-属实", "已结案-不属实")


class Case(Base):
    """The state of one enterprise, tip or site lead on the desk: status, assignee, due date. A lead
    without a row is 待核查 (not yet taken); a concluded one leaves the open lists."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # one of CASE_STATUSES
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)  # UTC; first put on the desk
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    concluded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC; set on 已结案-*

    __table_args__ = (UniqueConstraint("entity_kind", "entity_id", name="uq_cases_entity"),)


class CaseEvent(Base):
    """One step in a case's history: who, when, what changed, and their note."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))  # take, status, assign, outcome, handover, accept, return
    status_from: Mapped[str | None] = mapped_column(String(16))
    status_to: Mapped[str | None] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    due: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class Handover(Base):
    """The environment bureau's findings on an enterprise (整改, 罚款, 移送公安) and, for 移送公安, the
    case handed to the police with its evidence file; the police accept it or return it with a reason."""

    __tablename__ = "handovers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    jurisdiction: Mapped[str | None] = mapped_column(String(64), index=True)
    findings: Mapped[str] = mapped_column(String(64))  # ;整改;罚款;移送公安;
    fine_yuan: Mapped[float | None] = mapped_column(Float)
    tonnes: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the evidence file as handed over
    status: Mapped[str] = mapped_column(String(16))  # recorded (no handover), handed, accepted, returned
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)  # UTC; handed over then if 移送公安
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # the police's reason for returning it


# ---- the data version (revision 0004) ---------------------------------------------------------------


class DataVersion(Base):
    """One row whose ``n`` triggers move on every change to a table a reader can see (all but the
    audit chain's; ``serving/migrations/versions/0004_data_version.py``): what a kept answer is valid for."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
