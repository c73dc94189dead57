"""keyed audit chain, expiring tokens, per-user limits

- ``audit_log.key_id``: the HMAC key that signed a row (NULL for the rows written before: they keep
  their plain SHA-256 hashes and are sealed by the first keyed row, ``serving.audit``);
- ``users.token_issued_at`` and ``users.token_expires_at``: tokens that exist when this runs are
  valid for ``EXISTING_TOKEN_DAYS`` more days (rotate them with ``hazleads users rotate NAME``);
- indexes for the per-user limits on tip intake and job requests.

Rows are kept: columns are added, nothing is rewritten but the new columns.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-15
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("key_id", sa.String(16)))  # ALTER TABLE ADD COLUMN: no table copy
    op.add_column("users", sa.Column("token_issued_at", sa.DateTime()))
    op.add_column("users", sa.Column("token_expires_at", sa.DateTime()))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    users = sa.table("users", sa.column("created_at", sa.DateTime()), sa.column("token_issued_at", sa.DateTime()),
                     sa.column("token_expires_at", sa.DateTime()))
    op.execute(users.update().values(token_issued_at=users.c.created_at,
                                     token_expires_at=now + dt.timedelta(days=EXISTING_TOKEN_DAYS)))
    op.create_index("ix_tips_created_by_at", "tips", ["created_by", "created_at"])
    op.create_index("ix_jobs_requested_by_started", "jobs", ["requested_by", "started_at"])


def _drop(table: str, column: str) -> None:
    """Drop a plain column in place (SQLite 3.35+ can): a batch copy of ``users`` would delete and
    re-insert rows other tables point at, which foreign keys forbid."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    op.drop_index("ix_jobs_requested_by_started", table_name="jobs")
    op.drop_index("ix_tips_created_by_at", table_name="tips")
    _drop("users", "token_expires_at")
    _drop("users", "token_issued_at")
    _drop("audit_log", "key_id")
