"""DraftForge: writing projects and their statistics (seed 003 tables 2, 3).

The first revision of the plugin's own branch: no parent, the branch label ``draftforge``,
and a dependency on the core revision it builds on (users, tenants, agent runs).

Revision ID: 6a9b7c8d9e05
Revises:
Create Date: 2026-12-07 02:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "6a9b7c8d9e05"
down_revision = None
branch_labels = ("draftforge",)
depends_on = "4e7f5a6b7c83"


def upgrade():
    op.create_table('draftforge_projects',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('project_type', sa.Enum('novel', 'screenplay', 'technical-book', 'non-fiction', 'poetry', 'short-story', name='draftforge_project_type', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('github_repo_id', sa.BigInteger(), nullable=True),
    sa.Column('github_repo_name', sa.String(length=255), nullable=True),
    sa.Column('github_repo_url', sa.Text(), nullable=True),
    sa.Column('github_default_branch', sa.String(length=100), nullable=False),
    sa.Column('github_webhook_id', sa.BigInteger(), nullable=True),
    sa.Column('github_webhook_secret', sa.Text(), nullable=True),
    sa.Column('chapters_directory', sa.String(length=255), nullable=False),
    sa.Column('manuscript_directory', sa.String(length=255), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('genre', sa.String(length=100), nullable=True),
    sa.Column('target_word_count', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('status', sa.Enum('active', 'archived', 'completed', name='draftforge_project_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('visibility', sa.Enum('private', 'unlisted', 'public', name='draftforge_visibility', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_draftforge_projects_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_draftforge_projects_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draftforge_projects')),
    sa.UniqueConstraint('user_id', 'slug', name=op.f('uq_draftforge_projects_user_id_slug'))
    )
    with op.batch_alter_table('draftforge_projects', schema=None) as batch_op:
        batch_op.create_index('ix_draftforge_projects_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_projects_github_repo_id'), ['github_repo_id'], unique=False)
        batch_op.create_index('ix_draftforge_projects_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_projects_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_projects_user_id'), ['user_id'], unique=False)

    op.create_table('draftforge_project_stats',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('chapter_count', sa.Integer(), nullable=False),
    sa.Column('character_count', sa.Integer(), nullable=False),
    sa.Column('last_commit_sha', sa.String(length=255), nullable=True),
    sa.Column('last_commit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_commits', sa.Integer(), nullable=False),
    sa.Column('current_streak_days', sa.Integer(), nullable=False),
    sa.Column('longest_streak_days', sa.Integer(), nullable=False),
    sa.Column('last_write_date', sa.Date(), nullable=True),
    sa.Column('stats_history', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('file_counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['draftforge_projects.id'], name=op.f('fk_draftforge_project_stats_project_id_draftforge_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_draftforge_project_stats_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draftforge_project_stats')),
    sa.UniqueConstraint('project_id', name=op.f('uq_draftforge_project_stats_project_id'))
    )
    with op.batch_alter_table('draftforge_project_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draftforge_project_stats_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_draftforge_project_stats_updated_at', ['updated_at'], unique=False)



def downgrade():
    with op.batch_alter_table('draftforge_project_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_draftforge_project_stats_updated_at')
        batch_op.drop_index(batch_op.f('ix_draftforge_project_stats_tenant_id'))

    op.drop_table('draftforge_project_stats')
    with op.batch_alter_table('draftforge_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draftforge_projects_user_id'))
        batch_op.drop_index(batch_op.f('ix_draftforge_projects_tenant_id'))
        batch_op.drop_index('ix_draftforge_projects_status')
        batch_op.drop_index(batch_op.f('ix_draftforge_projects_github_repo_id'))
        batch_op.drop_index('ix_draftforge_projects_created_at')

    op.drop_table('draftforge_projects')
