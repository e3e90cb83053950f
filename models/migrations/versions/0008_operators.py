"""the operator register and its one-time-password attempts

Revision ID: 0008
Revises: 0004 on this branch (at merge: the last of 0005–0007)

``operators`` holds who may act and approve (normalized id, display id, name, role, active) and,
for an approver enrolled for one-time passwords, the encrypted secret, the last accepted time
step (a code is used once) and the failed-attempt lockout; ``otp_attempts`` records every check.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operators',
    sa.Column('operator_id', sa.String(length=64), nullable=False),
    sa.Column('display_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('otp_secret_encrypted', sa.Text(), nullable=True),
    sa.Column('otp_last_counter', sa.BigInteger(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('operator_id', name=op.f('pk_operators'))
    )
    op.create_table('otp_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operator_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.operator_id'], name=op.f('fk_otp_attempts_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_attempts'))
    )
    with op.batch_alter_table('otp_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_otp_attempts_operator_id'), ['operator_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('otp_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_otp_attempts_operator_id'))
    op.drop_table('otp_attempts')
    op.drop_table('operators')
