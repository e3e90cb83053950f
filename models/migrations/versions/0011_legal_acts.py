"""legal acts with evidence (issue 14)

Revision ID: 0011
Revises: 0008 on this branch (at merge: 0010; 0009 and 0010 are written on other branches)

``legal_acts`` holds the acts that move the legal clocks: demands that took effect, filings,
enforcement applications and the ruling ending enforcement. Data: each demand an operator
recorded (``actions`` of kind ``demand`` with ``by`` other than ``system``) becomes a demand act
that took effect on its date, method unknown (null), evidence "recorded before issue 14". The
daily run's own "demands" (``by = 'system'``) were intentions, not acts: they become nothing.
A judgment's enforcement application recorded with ``npl enforce`` becomes an
``enforcement_application`` act.
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = "0010"
branch_labels = None
depends_on = None

LEGACY = "recorded before issue 14 (no evidence reference kept)"


def upgrade() -> None:
    op.create_table('legal_acts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('party', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('took_effect_on', sa.Date(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('court', sa.String(length=200), nullable=True),
    sa.Column('case_no', sa.String(length=100), nullable=True),
    sa.Column('letter_no', sa.String(length=64), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_legal_acts_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_acts'))
    )
    with op.batch_alter_table('legal_acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_acts_loan_id'), ['loan_id'], unique=False)
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO legal_acts (loan_id, party, kind, method, took_effect_on, evidence, recorded_by, recorded_on) "
        "SELECT loan_id, COALESCE(target, 'borrower'), 'demand', NULL, \"on\", :legacy, by, \"on\" "
        "FROM actions WHERE kind = 'demand' AND by <> 'system' ORDER BY id"
    ), {"legacy": LEGACY})
    bind.execute(sa.text(
        "INSERT INTO legal_acts (loan_id, party, kind, method, took_effect_on, evidence, recorded_by, recorded_on) "
        "SELECT loan_id, 'borrower', 'enforcement_application', NULL, \"on\", :legacy, by, \"on\" "
        "FROM actions WHERE kind = 'enforcement_application' AND by <> 'system' ORDER BY id"
    ), {"legacy": LEGACY})


def downgrade() -> None:
    with op.batch_alter_table('legal_acts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_acts_loan_id'))
    op.drop_table('legal_acts')
