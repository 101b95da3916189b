"""Steps count executions, regenerations and time waiting for a person apart from attempts.

Revision ID: 4b7e9c1d2a30
Revises: 5c1e0a7b3d21
Create Date: 2026-12-02 10:20:00

Regenerating candidates used to spend the retry budget and a step's duration included
the wait for a person (issue 9). Existing rows: every execution so far was an attempt.
"""
from alembic import op
import sqlalchemy as sa

revision = '4b7e9c1d2a30'
down_revision = '5c1e0a7b3d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('run_steps') as batch:
        batch.add_column(sa.Column('executions', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('regenerations', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('waiting_ms', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE run_steps SET executions = attempt")
    with op.batch_alter_table('step_attempts') as batch:
        batch.add_column(sa.Column('regeneration', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The models declare no server defaults: drop them so autogenerate sees no difference.
    with op.batch_alter_table('run_steps') as batch:
        batch.alter_column('executions', server_default=None)
        batch.alter_column('regenerations', server_default=None)
        batch.alter_column('waiting_ms', server_default=None)
    with op.batch_alter_table('step_attempts') as batch:
        batch.alter_column('regeneration', server_default=None)


def downgrade():
    with op.batch_alter_table('step_attempts') as batch:
        batch.drop_column('regeneration')
    with op.batch_alter_table('run_steps') as batch:
        batch.drop_column('waiting_ms')
        batch.drop_column('regenerations')
        batch.drop_column('executions')
