"""incremental classification refresh and covering indexes for the daily run's publishing

Revision ID: 0002
Revises: 0001

The daily run refreshes classifications only for loans that can have crossed a threshold since
the last refresh (the ``marks`` row says when that was): the expression index on the date the
oldest unpaid amount fell due, the plan lines' due dates and the observation ends find them.
The per-state / per-officer counts the run publishes read covering indexes, and the partial
indexes find touched and awaiting cases without a scan.
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'marks',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_marks')),
    )
    op.drop_index('ix_loans_state', table_name='loans')
    op.create_index('ix_loans_state_classification', 'loans', ['state', 'classification', 'outstanding_principal_fen'])
    op.create_index('ix_loans_state_assigned_to', 'loans', ['state', 'assigned_to'])
    op.create_index('ix_loans_awaiting_approval', 'loans', ['assigned_to', 'state', 'awaiting_approval'],
                    sqlite_where=sa.text('awaiting_approval IS NOT NULL'), postgresql_where=sa.text('awaiting_approval IS NOT NULL'))
    op.create_index('ix_loans_touched', 'loans', ['loan_id'], sqlite_where=sa.text('touched = 1'), postgresql_where=sa.text('touched'))
    op.create_index('ix_loans_oldest_due', 'loans', [sa.text('coalesce(overdue_since, maturity_on)')])
    op.create_index('ix_loans_observation_until', 'loans', ['observation_until'])
    op.create_index('ix_plan_lines_due_on', 'plan_lines', ['due_on'])
    op.create_index('ix_guarantors_period_end', 'guarantors', ['period_end'])
    op.create_index('ix_actions_on', 'actions', ['on'])


def downgrade() -> None:
    for name, table in (('ix_actions_on', 'actions'), ('ix_guarantors_period_end', 'guarantors'), ('ix_plan_lines_due_on', 'plan_lines'),
                        ('ix_loans_observation_until', 'loans'), ('ix_loans_oldest_due', 'loans'), ('ix_loans_touched', 'loans'),
                        ('ix_loans_awaiting_approval', 'loans'), ('ix_loans_state_assigned_to', 'loans'),
                        ('ix_loans_state_classification', 'loans')):
        op.drop_index(name, table_name=table)
    op.create_index('ix_loans_state', 'loans', ['state'])
    op.drop_table('marks')
