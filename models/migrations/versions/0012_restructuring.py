"""restructured assets, staff judgement and closed cases' classification (issue 15)

Revision ID: 0012
Revises: 0011 (0009–0011 are written in parallel; the lead fixes the chain at merge)

``loans.observation_from`` / ``loans.restructured_floor``: a restructured asset's (last
restarted) observation period start and the floor it sets while it runs (2023 measures Arts.
17, 20; ``observation_until`` exists since 0001); ``loans.classification_at_close``: the
category a loan had when its case closed (a closed loan has no current classification);
``loans.compound_fen`` / ``loans.delayed_fen``: the compound-interest and delayed-performance
balance components (issue 15 rule 4, zero until booked); ``loans.parent_loan_id``: the loan a
revitalization credit was granted on (issue 15 rule 5).
"""


from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy: SQLite keeps the loans table and its expression index)
    op.add_column('loans', sa.Column('observation_from', sa.Date(), nullable=True))
    op.add_column('loans', sa.Column('restructured_floor', sa.String(length=16), nullable=True))
    op.add_column('loans', sa.Column('classification_at_close', sa.String(length=16), nullable=True))
    op.add_column('loans', sa.Column('compound_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('loans', sa.Column('delayed_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('loans', sa.Column('parent_loan_id', sa.String(length=64), nullable=True))
    # restructured loans recorded before this revision: the floor the old rule applied
    op.execute("UPDATE loans SET restructured_floor = 'substandard', observation_from = restructured_on "
               "WHERE observation_until IS NOT NULL")
    op.execute("UPDATE loans SET classification_at_close = classification WHERE state = 'closed'")


def downgrade() -> None:
    with op.batch_alter_table('loans') as batch:
        batch.drop_column('parent_loan_id')
        batch.drop_column('delayed_fen')
        batch.drop_column('compound_fen')
        batch.drop_column('classification_at_close')
        batch.drop_column('restructured_floor')
        batch.drop_column('observation_from')
