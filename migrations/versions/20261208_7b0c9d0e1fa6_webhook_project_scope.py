"""Webhooks scoped to a project (seed 003 table 10's project_id, issue 14): such a webhook hears
only the events that name that project (or store) in their data.

Revision ID: 7b0c9d0e1fa6
Revises: 6a9b7c8d9ea5
Create Date: 2026-12-08 00:00:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7b0c9d0e1fa6'
down_revision = '6a9b7c8d9ea5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhooks') as batch:
        batch.add_column(sa.Column('project_id', sa.Uuid(), nullable=True))
        batch.create_index(batch.f('ix_webhooks_project_id'), ['project_id'], unique=False)


def downgrade():
    with op.batch_alter_table('webhooks') as batch:
        batch.drop_index(batch.f('ix_webhooks_project_id'))
        batch.drop_column('project_id')
