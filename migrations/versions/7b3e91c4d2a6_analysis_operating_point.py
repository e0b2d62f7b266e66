"""A recording's operating point in its own column; ``analyses.threshold`` keeps the beat detector's threshold only

Revision ID: 7b3e91c4d2a6
Revises: 5d2a8c0e7f41
Create Date: 2026-12-01 22:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7b3e91c4d2a6"
down_revision = "5d2a8c0e7f41"
branch_labels = None
depends_on = None

analyses = sa.table(
    "analyses", sa.column("kind", sa.String), sa.column("threshold", sa.Float), sa.column("operating_point", sa.Float)
)


def upgrade():
    # a plain ADD COLUMN (a batch copy of the table would, on SQLite, null the jobs' links to analyses)
    op.add_column("analyses", sa.Column("operating_point", sa.Double(), nullable=True))
    # recordings stored their operating point in `threshold`: move it
    op.execute(
        analyses.update()
        .where(analyses.c.kind == "recording")
        .values(operating_point=analyses.c.threshold, threshold=None)
    )


def downgrade():
    op.execute(analyses.update().where(analyses.c.kind == "recording").values(threshold=analyses.c.operating_point))
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_column("operating_point")
