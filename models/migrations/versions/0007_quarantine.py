"""quarantine: cases the daily run could not judge

Revision ID: 0007
Revises: 0006

A case whose evaluation raises is left out of the daily run (the rest of the book advances and
the date completes) and recorded here with the error, until a later run judges it again
(``released_on``).
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quarantine',
        sa.Column('loan_id', sa.String(length=64), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_quarantine_loan_id_loans')),
        sa.PrimaryKeyConstraint('loan_id', 'business_date', name=op.f('pk_quarantine')),
    )


def downgrade() -> None:
    op.drop_table('quarantine')
