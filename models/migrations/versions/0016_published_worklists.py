"""the officers' worklist tables the daily run has published (issue 20)

Revision ID: 0016
Revises: 0015

``published_worklists`` holds, per artifact key, the officer, a digest of the table last
published, the artifact's id and the business date it was published for: a daily run publishes
an officer's table again only when it changed. Empty at first: the next run publishes every table.
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('published_worklists',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('officer', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('artifact_id', sa.String(length=36), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_published_worklists'))
    )


def downgrade() -> None:
    op.drop_table('published_worklists')
