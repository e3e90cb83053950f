"""the guarantee debt's own limitation period (Civil Code Art. 694)

Revision ID: 0004
Revises: 0003

Once a joint guarantee is preserved by a demand, the guarantee debt's three-year limitation runs
from that demand and restarts from each later demand on the guarantor or payment by them:
``guarantors.limitation_interrupted_on`` keeps the latest.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('guarantors') as batch:
        batch.add_column(sa.Column('limitation_interrupted_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('guarantors') as batch:
        batch.drop_column('limitation_interrupted_on')
