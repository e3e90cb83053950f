"""where each case's legal clocks end: the deadlines at risk read only the cases near an end (issue 20)

Revision ID: 0015
Revises: 0014

``loans.clocks_ahead_on`` / ``loans.clocks_behind_on``: every clock that the deadlines at risk
can list (``services.worklist.legal_deadlines``) ends on or after the first or on or before the
second. Existing cases start unknown (both empty): the next daily run's deadlines read each open
case's clocks once and store them, as the run did for every case before this revision.
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('loans', sa.Column('clocks_ahead_on', sa.Date(), nullable=True))
    op.add_column('loans', sa.Column('clocks_behind_on', sa.Date(), nullable=True))
    op.create_index('ix_loans_clocks_ahead_on', 'loans', ['clocks_ahead_on'], unique=False)
    op.create_index('ix_loans_clocks_behind_on', 'loans', ['clocks_behind_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_loans_clocks_behind_on', table_name='loans')
    op.drop_index('ix_loans_clocks_ahead_on', table_name='loans')
    with op.batch_alter_table('loans') as batch:
        batch.drop_column('clocks_behind_on')
        batch.drop_column('clocks_ahead_on')
