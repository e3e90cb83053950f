"""guarantee terms under the law in force: the guarantee's signing date and "until repaid"

Revision ID: 0009
Revises: 0008

Issue 18: the law that governs a guarantee is the one in force when it was signed.
``guarantors.signed_on`` (nullable; existing rows backfilled from their loan's ``disbursed_on``,
the import's default) and ``guarantors.until_repaid`` (a period agreed as "until repaid",
default false). ``guarantee_type`` may now also hold ``unstated`` (it fits String(8)).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('guarantors', sa.Column('signed_on', sa.Date(), nullable=True))
    op.add_column(
        'guarantors',
        sa.Column('until_repaid', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE guarantors SET signed_on = "
        "(SELECT loans.disbursed_on FROM loans WHERE loans.loan_id = guarantors.loan_id) "
        "WHERE signed_on IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('guarantors') as batch:
        batch.drop_column('until_repaid')
        batch.drop_column('signed_on')
