"""Review agents (issue 15): agent runs (seed 003 table 6), the usage log's agent columns
(table 5: agent_type, agent_run_id, project_id, files_analyzed), and users.username (table 1).

Revision ID: 4e7f5a6b7c83
Revises: 3d6e4f5a6b72
Create Date: 2026-12-07 01:20:09
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '4e7f5a6b7c83'
down_revision = '3d6e4f5a6b72'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent_runs',
    sa.Column('subject_kind', sa.String(length=100), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('agent_type', sa.String(length=50), nullable=False),
    sa.Column('trigger', sa.Enum('manual', 'commit', 'pr', 'scheduled', 'webhook', name='agent_trigger', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('trigger_ref', sa.String(length=255), nullable=True),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'completed', 'failed', 'canceled', name='agent_run_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('results', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('issues_found', sa.Integer(), nullable=False),
    sa.Column('severity_breakdown', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error_code', sa.String(length=50), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('retry_count', sa.Integer(), nullable=False),
    sa.Column('max_retries', sa.Integer(), nullable=False),
    sa.Column('github_comment_id', sa.BigInteger(), nullable=True),
    sa.Column('github_check_run_id', sa.BigInteger(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=100), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('priority BETWEEN 1 AND 10', name=op.f('ck_agent_runs_valid_priority')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_agent_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_runs'))
    )
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_runs_agent_type'), ['agent_type'], unique=False)
        batch_op.create_index('ix_agent_runs_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_status'), ['status'], unique=False)
        batch_op.create_index('ix_agent_runs_subject', ['subject_kind', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_trigger'), ['trigger'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sa.String(length=39), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_username'), ['username'])

    with op.batch_alter_table('ai_usage_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_type', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('agent_run_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('project_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('files_analyzed', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ai_usage_log_agent_run_id'), ['agent_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_usage_log_agent_type'), ['agent_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_usage_log_project_id'), ['project_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_ai_usage_log_agent_run_id_agent_runs'), 'agent_runs', ['agent_run_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('ai_usage_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ai_usage_log_agent_run_id_agent_runs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ai_usage_log_project_id'))
        batch_op.drop_index(batch_op.f('ix_ai_usage_log_agent_type'))
        batch_op.drop_index(batch_op.f('ix_ai_usage_log_agent_run_id'))
        batch_op.drop_column('files_analyzed')
        batch_op.drop_column('project_id')
        batch_op.drop_column('agent_run_id')
        batch_op.drop_column('agent_type')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_username'), type_='unique')
        batch_op.drop_column('username')

    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_runs_user_id'))
        batch_op.drop_index(batch_op.f('ix_agent_runs_trigger'))
        batch_op.drop_index(batch_op.f('ix_agent_runs_tenant_id'))
        batch_op.drop_index('ix_agent_runs_subject')
        batch_op.drop_index(batch_op.f('ix_agent_runs_status'))
        batch_op.drop_index(batch_op.f('ix_agent_runs_project_id'))
        batch_op.drop_index('ix_agent_runs_created_at')
        batch_op.drop_index(batch_op.f('ix_agent_runs_agent_type'))

    op.drop_table('agent_runs')
