"""Idempotency-Key on recording jobs: the client's key and a hash of its request, unique per owner

Revision ID: 8b3f1e6a2c90
Revises: 5d2a8c0e7f41
Create Date: 2026-11-30 02:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8b3f1e6a2c90'
down_revision = '5d2a8c0e7f41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_jobs_owner_idempotency_key', ['owner_id', 'idempotency_key'])


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_jobs_owner_idempotency_key', type_='unique')
        batch_op.drop_column('request_hash')
        batch_op.drop_column('idempotency_key')
