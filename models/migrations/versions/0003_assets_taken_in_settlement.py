"""assets taken in settlement: when taken and when disposed of

Revision ID: 0003
Revises: 0002

Commercial Bank Law Art. 42: property a bank takes in settlement of a debt must be disposed of
within two years. A collateral item taken in settlement has status ``taken`` and ``taken_on``;
its disposal sets status ``sold`` and ``disposed_on``. The partial index finds the assets whose
disposal clock runs.
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('collateral') as batch:
        batch.add_column(sa.Column('taken_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('disposed_on', sa.Date(), nullable=True))
    op.create_index('ix_collateral_taken_on', 'collateral', ['taken_on'],
                    sqlite_where=sa.text('disposed_on IS NULL'), postgresql_where=sa.text('disposed_on IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_collateral_taken_on', table_name='collateral')
    with op.batch_alter_table('collateral') as batch:
        batch.drop_column('disposed_on')
        batch.drop_column('taken_on')
