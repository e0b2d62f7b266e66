"""Idempotency-Key on analyses and recording jobs: the client's key and a hash of its request, unique per owner

Revision ID: 5d2a8c0e7f41
Revises: bcf17ddc5249
Create Date: 2026-11-30 00:55:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d2a8c0e7f41"
down_revision = "bcf17ddc5249"
branch_labels = None
depends_on = None

TABLES = ("analyses", "jobs")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
            batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(f"uq_{table}_owner_idempotency_key", ["owner_id", "idempotency_key"])


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_owner_idempotency_key", type_="unique")
            batch_op.drop_column("request_hash")
            batch_op.drop_column("idempotency_key")
