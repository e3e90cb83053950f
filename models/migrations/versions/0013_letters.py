"""demand letters (issue 14 part 5)

Revision ID: 0013
Revises: 0011 on this branch (at merge: 0012, written on another branch; the lead fixes the chain)

``letters`` holds each demand letter generated for a ``send_demand`` task: number, loan, party
(``borrower`` or the guarantor's name), kind, issue and pay-by dates, the amount stated (fen),
the planned method, the PDF's path, and once served: the day, the method, the tracking number
and who recorded it. No data to carry over: no letter existed before.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('letters',
    sa.Column('letter_no', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('party', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('pay_by', sa.Date(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('method_planned', sa.String(length=16), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=True),
    sa.Column('served_method', sa.String(length=16), nullable=True),
    sa.Column('tracking', sa.Text(), nullable=True),
    sa.Column('served_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_letters_loan_id_loans')),
    sa.PrimaryKeyConstraint('letter_no', name=op.f('pk_letters'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letters_issued_on'), ['issued_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letters_issued_on'))
        batch_op.drop_index(batch_op.f('ix_letters_loan_id'))
    op.drop_table('letters')
