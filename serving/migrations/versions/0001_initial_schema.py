"""initial schema: users, scoring runs and their lists, ledger mismatch, tips, outcomes, jobs, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64
RUNNING = sa.text("status = 'running'")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "users", _id(),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("county", sa.String(64)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "scoring_runs", _id(),
        sa.Column("as_of", sa.Date(), nullable=False, index=True),
        sa.Column("snapshot_digest", sa.String(64), nullable=False, index=True),
        sa.Column("enterprise_version", sa.String(32)),
        sa.Column("tip_version", sa.String(32)),
        sa.Column("site_scoring", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("n_enterprise", sa.Integer(), nullable=False),
        sa.Column("n_tip", sa.Integer(), nullable=False),
        sa.Column("n_site", sa.Integer(), nullable=False),
        sa.Column("n_mismatch", sa.Integer(), nullable=False),
    )
    op.create_table(
        "leads", _id(),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("scoring_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("county_rank", sa.Integer(), nullable=False),
        sa.Column("model_rank", sa.Integer()),
        sa.Column("county_model_rank", sa.Integer()),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("exploration", sa.Boolean(), nullable=False),
        sa.Column("inclusion_prob", sa.Float()),
        sa.Column("county", sa.String(64)),
        sa.Column("name", sa.String(200)),
        sa.Column("industries", sa.String(400), nullable=False),
        sa.Column("categories", sa.String(400), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("enterprise_ids", sa.Text(), nullable=False),
        sa.Column("vehicle_ids", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("reasons_en", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
    )
    op.create_index("ix_leads_run_kind_rank", "leads", ["run_id", "kind", "rank"])
    op.create_index("ix_leads_run_kind_county", "leads", ["run_id", "kind", "county", "county_rank"])
    op.create_index("ix_leads_kind_entity", "leads", ["kind", "entity_id"])
    op.create_table(
        "ledger_mismatch", _id(),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("scoring_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("county", sa.String(64)),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("waste_code", sa.String(16), nullable=False),
        sa.Column("category", sa.String(8), nullable=False),
        *[sa.Column(c, sa.Float()) for c in ("generated_t", "accounted_t", "balance_gap_t", "manifest_gap_t",
                                              "receipt_gap_t", "power_gap_t")],
        sa.Column("unaccounted_t", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
    )
    op.create_index("ix_mismatch_run_unacc", "ledger_mismatch", ["run_id", "unaccounted_t"])
    op.create_index("ix_mismatch_run_enterprise", "ledger_mismatch", ["run_id", "enterprise_id"])
    op.create_table(
        "tips",
        sa.Column("tip_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("county", sa.String(64)),
        sa.Column("jurisdiction", sa.String(64), index=True),
        sa.Column("enterprise_id", sa.String(64)),
        sa.Column("score", sa.Float()),
        sa.Column("model_version", sa.String(32)),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("reasons_en", sa.Text(), nullable=False),
        sa.Column("enterprise_ids", sa.Text(), nullable=False),
        sa.Column("vehicle_ids", sa.Text(), nullable=False),
        sa.Column("corroboration", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "outcomes", _id(),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(64)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("violation", sa.String(32)),
        sa.Column("tonnes", sa.Float()),
        sa.Column("criminal", sa.Boolean()),
        sa.Column("opened", sa.Date(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("enterprise_id", sa.String(64)),
        sa.Column("tip_id", sa.String(64)),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_outcomes_entity", "outcomes", ["entity_kind", "entity_id"])
    op.create_table(
        "jobs", _id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("uq_jobs_one_running", "jobs", ["kind"], unique=True, sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_table(
        "audit_log", _id(),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("user_name", sa.String(64)),
        sa.Column("role", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_ids", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(64)),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head", _id(),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_log")
    op.drop_index("uq_jobs_one_running", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_outcomes_entity", table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_table("tips")
    for ix in ("ix_mismatch_run_unacc", "ix_mismatch_run_enterprise"):
        op.drop_index(ix, table_name="ledger_mismatch")
    op.drop_table("ledger_mismatch")
    for ix in ("ix_leads_run_kind_rank", "ix_leads_run_kind_county", "ix_leads_kind_entity"):
        op.drop_index(ix, table_name="leads")
    op.drop_table("leads")
    op.drop_table("scoring_runs")
    op.drop_table("users")
