"""label_changes: a person's labels of a recording's beat families and beats, with who, when and undo

Revision ID: c41d7e2a9b13
Revises: c4f18a2e9b73
Create Date: 2026-12-01 22:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c41d7e2a9b13"
down_revision = "c4f18a2e9b73"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "label_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("family", sa.Integer(), nullable=True),
        sa.Column("beat", sa.Integer(), nullable=True),
        sa.Column("old_label", sa.String(length=1), nullable=True),
        sa.Column("label", sa.String(length=1), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["analysis_id"], ["analyses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["undone_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_label_changes_analysis_id", "label_changes", ["analysis_id"], unique=False)


def downgrade():
    op.drop_index("ix_label_changes_analysis_id", table_name="label_changes")
    op.drop_table("label_changes")
