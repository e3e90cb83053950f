"""compound interest, delayed-performance interest and misused loans (issue 15 rule 4)

Revision ID: 0014
Revises: 0013

``loans.misused_purpose``: the loan was used against its agreed purpose, so its penalty rate
takes the policy's ``money.misused_penalty_uplift`` (50–100 %, PBoC 2003 notice item 三);
``loans.judgment_debt_fen`` / ``loans.judgment_perform_by``: the latest judgment's money debt
still unperformed and its performance date, on which the doubled interest for delayed
performance runs (Civil Procedure Law Art. 264; SPC 2014 interpretation Arts. 1–3);
``payments.compound_fen`` / ``payments.delayed_fen``: the parts of a payment applied to compound
interest and to the delayed-performance interest. Judgments recorded before this revision:
their amount less the payments dated on or after the judgment.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('loans', sa.Column('misused_purpose', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('loans', sa.Column('judgment_debt_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('loans', sa.Column('judgment_perform_by', sa.Date(), nullable=True))
    op.add_column('payments', sa.Column('compound_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('payments', sa.Column('delayed_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    latest = "(SELECT max(j.id) FROM judgments j WHERE j.loan_id = loans.loan_id)"
    op.execute(
        "UPDATE loans SET "
        f"judgment_perform_by = (SELECT j.perform_by FROM judgments j WHERE j.id = {latest}), "
        "judgment_debt_fen = (SELECT CASE WHEN j.amount_fen - coalesce(sum(p.amount_fen), 0) > 0 "
        "THEN j.amount_fen - coalesce(sum(p.amount_fen), 0) ELSE 0 END "
        "FROM judgments j LEFT JOIN payments p ON p.loan_id = j.loan_id AND p.paid_on >= j.judged_on "
        f"WHERE j.id = {latest} GROUP BY j.id, j.amount_fen) "
        "WHERE loan_id IN (SELECT loan_id FROM judgments)"
    )


def downgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('delayed_fen')
        batch.drop_column('compound_fen')
    with op.batch_alter_table('loans') as batch:
        batch.drop_column('judgment_perform_by')
        batch.drop_column('judgment_debt_fen')
        batch.drop_column('misused_purpose')
