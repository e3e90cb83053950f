"""operation keys: a retried operation returns what it recorded and books nothing

Revision ID: 0006
Revises: 0005 (the nightly feed's payment reference; 0004 on this branch until it is merged)

``operation_keys`` holds each operation's idempotency key (the Prefect flow run id, or a key the
caller supplies with ``--key``), the operation, its loan, the result it returned (JSON) and when
it was recorded; the row is written in the operation's own transaction.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'operation_keys',
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('operation', sa.String(length=32), nullable=False),
        sa.Column('loan_id', sa.String(length=64), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name='pk_operation_keys'),
    )


def downgrade() -> None:
    op.drop_table('operation_keys')
