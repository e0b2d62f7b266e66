"""Users: must_change_password, set for the first admin whose password was generated at start-up

Revision ID: a7c3e91f0b52
Revises: 7b3e91c4d2a6
Create Date: 2026-12-01 22:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e91f0b52"
down_revision = "7b3e91c4d2a6"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, not a batch copy of the table: on SQLite a batch rebuild drops the users table,
# and with foreign keys on, that deletes every row that cascades from it (patients, analyses, tokens).


def upgrade():
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column("users", "must_change_password")
