"""the nightly feed: payments keep the core system's reference; ingested files are recorded

Revision ID: 0005
Revises: 0004

A repayment from the core-banking export is booked at most once per ``reference`` (the core
system's transaction id): ``payments.reference``, nullable (payments typed by staff have none),
unique. ``feed_files`` records every file taken from the inbox (name, size, checksum, rows
accepted and rejected, the flow run, the business date), so a file is never applied twice.
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('payments', sa.Column('reference', sa.String(length=64), nullable=True))
    op.create_index('ix_payments_reference', 'payments', ['reference'], unique=True)
    op.create_table(
        'feed_files',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('rows_accepted', sa.Integer(), nullable=False),
        sa.Column('rows_rejected', sa.Integer(), nullable=False),
        sa.Column('flow_run_id', sa.String(length=64), nullable=True),
        sa.Column('ingested_on', sa.Date(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_feed_files'),
        sa.UniqueConstraint('sha256', name='uq_feed_files_sha256'),
    )


def downgrade() -> None:
    op.drop_table('feed_files')
    op.drop_index('ix_payments_reference', table_name='payments')
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('reference')
