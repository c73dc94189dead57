"""the data version: one number that moves whenever a row a reader can see changes

- ``data_version``: one row, ``n``; triggers on every table but the audit chain's (``audit_log``,
  ``audit_head``: every read appends to it) add one to ``n`` on each insert, update and delete, in the
  writer's own transaction, whichever process or code path writes.

The service keeps a lead list's answer for a reader until ``n`` moves (``serving.listcache``), so a
repeated read is a lookup; a case taken, an outcome recorded, a tip received or a new scoring run, in
this process or another one on the same database, moves ``n`` and the next read computes afresh.
Nothing existing is rewritten.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# every table of revision 0003 a reader's answer can depend on (all but the audit chain's)
WATCHED = ("users", "scoring_runs", "leads", "ledger_mismatch", "tips", "outcomes", "jobs", "cases",
           "case_events", "handovers")
OPS = ("INSERT", "UPDATE", "DELETE")
PG_FUNCTION = "hazleads_data_version_bump"


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_version"),
    )
    op.execute("INSERT INTO data_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE data_version SET n = n + 1 WHERE id = 1; RETURN NULL; END $$")
        for table in WATCHED:  # once per statement, however many rows it touches
            op.execute(f"CREATE TRIGGER dv_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()")
    else:  # SQLite has row triggers only
        for table in WATCHED:
            for what in OPS:
                op.execute(f"CREATE TRIGGER dv_{table}_{what.lower()} AFTER {what} ON {table} "
                           "BEGIN UPDATE data_version SET n = n + 1 WHERE id = 1; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS dv_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    else:
        for table in WATCHED:
            for what in OPS:
                op.execute(f"DROP TRIGGER IF EXISTS dv_{table}_{what.lower()}")
    op.drop_table("data_version")
