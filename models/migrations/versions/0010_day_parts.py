"""day_parts: a business date split into balanced loan id ranges, claimed by parallel workers

Revision ID: 0010
Revises: 0009 at merge (0008 on this branch, which has no 0009 yet: the lead fixes the chain)

On PostgreSQL the daily run splits a date's due cases into contiguous id ranges
(``lo`` ≤ loan_id < ``hi``; an empty ``hi`` is open-ended); a worker claims a part with
``FOR UPDATE SKIP LOCKED`` and holds it under a lease it renews after every chunk; a part
whose lease has run out is taken by another worker.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'day_parts',
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('lo', sa.String(length=64), nullable=False),
        sa.Column('hi', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('worker', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('business_date', 'part', name=op.f('pk_day_parts')),
    )


def downgrade() -> None:
    op.drop_table('day_parts')
