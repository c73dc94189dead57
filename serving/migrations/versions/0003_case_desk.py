"""the case desk: a lead's status, assignee and due date with its history; the bureau's handovers

- ``cases``: one row per enterprise, tip or site lead put on the desk (status, assignee, due date);
- ``case_events``: each step of a case (who, when, from which status to which, the note);
- ``handovers``: the environment bureau's findings on an enterprise and the cases it hands to the police.

Rows are kept: three tables are added and nothing existing is rewritten. Outcomes recorded before
this revision put their lead on the desk as the newest outcome says (confirmed: 已结案-属实,
unfounded: 已结案-不属实, open: 核查中), with one history step each, so concluded leads leave the open
lists after the upgrade as they would have had the desk existed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUS_OF_OUTCOME = {"confirmed": "已结案-属实", "unfounded": "已结案-不属实", "open": "核查中"}


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("concluded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name="fk_cases_assignee_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("entity_kind", "entity_id", name="uq_cases_entity"),
    )
    op.create_index("ix_cases_jurisdiction", "cases", ["jurisdiction"])
    op.create_index("ix_cases_assignee_id", "cases", ["assignee_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status_from", sa.String(16), nullable=True),
        sa.Column("status_to", sa.String(16), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_events_case_id_cases", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_events_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.Column("findings", sa.String(64), nullable=False),
        sa.Column("fine_yuan", sa.Float(), nullable=True),
        sa.Column("tonnes", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name="fk_handovers_recorded_by_users"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name="fk_handovers_decided_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_handovers"),
    )
    op.create_index("ix_handovers_enterprise_id", "handovers", ["enterprise_id"])
    op.create_index("ix_handovers_jurisdiction", "handovers", ["jurisdiction"])
    _cases_from_outcomes()


def _cases_from_outcomes() -> None:
    """Each lead with recorded outcomes goes on the desk as its newest outcome says."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT entity_kind, entity_id, jurisdiction, outcome, recorded_by, recorded_at "
                                "FROM outcomes ORDER BY id")).all()
    newest = {(r.entity_kind, r.entity_id): r for r in rows}
    cases = sa.table("cases", *(sa.column(c) for c in ("id", "entity_kind", "entity_id", "jurisdiction", "status",
                                                       "created_at", "updated_at", "concluded_at")))
    events = sa.table("case_events", *(sa.column(c) for c in ("case_id", "at", "user_id", "action", "status_from",
                                                              "status_to", "note")))
    for n, ((kind, entity), r) in enumerate(sorted(newest.items()), start=1):
        status = STATUS_OF_OUTCOME.get(r.outcome, "核查中")
        concluded = r.recorded_at if status.startswith("已结案") else None
        bind.execute(cases.insert().values(id=n, entity_kind=kind, entity_id=entity, jurisdiction=r.jurisdiction,
                                           status=status, created_at=r.recorded_at, updated_at=r.recorded_at,
                                           concluded_at=concluded))
        bind.execute(events.insert().values(case_id=n, at=r.recorded_at, user_id=r.recorded_by, action="outcome",
                                            status_from=None, status_to=status, note="由升级前记录的核查结果生成"))
    if newest and bind.dialect.name == "postgresql":  # ids were given: move the sequence past them
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))


def downgrade() -> None:
    op.drop_index("ix_handovers_jurisdiction", table_name="handovers")
    op.drop_index("ix_handovers_enterprise_id", table_name="handovers")
    op.drop_table("handovers")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_assignee_id", table_name="cases")
    op.drop_index("ix_cases_jurisdiction", table_name="cases")
    op.drop_table("cases")
