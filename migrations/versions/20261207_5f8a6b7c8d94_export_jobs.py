"""Export jobs (issue 16): one book rendered to one file on a worker (seed 003 table 8).

Revision ID: 5f8a6b7c8d94
Revises: 4e7f5a6b7c83
Create Date: 2026-12-07 14:48:04
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '5f8a6b7c8d94'
down_revision = '4e7f5a6b7c83'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_jobs',
    sa.Column('subject_kind', sa.String(length=100), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('export_type', sa.Enum('epub', 'pdf', 'docx', 'html', 'markdown', name='export_type', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('export_format_version', sa.String(length=20), nullable=True),
    sa.Column('source_ref', sa.String(length=255), nullable=True),
    sa.Column('source_branch', sa.String(length=100), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'processing', 'completed', 'failed', name='export_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('progress_percent', sa.Integer(), nullable=False),
    sa.Column('output_url', sa.Text(), nullable=True),
    sa.Column('output_uri', sa.String(length=2048), nullable=True),
    sa.Column('output_filename', sa.String(length=255), nullable=True),
    sa.Column('output_size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('output_checksum', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=50), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('build_log', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('progress_percent BETWEEN 0 AND 100', name=op.f('ck_export_jobs_valid_progress')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_export_jobs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_jobs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    sa.UniqueConstraint('tenant_id', 'user_id', 'idempotency_key', name=op.f('uq_export_jobs_tenant_id_user_id_idempotency_key'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_export_jobs_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_output_checksum'), ['output_checksum'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_status'), ['status'], unique=False)
        batch_op.create_index('ix_export_jobs_subject', ['subject_kind', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_user_id'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_tenant_id'))
        batch_op.drop_index('ix_export_jobs_subject')
        batch_op.drop_index(batch_op.f('ix_export_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_project_id'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_output_checksum'))
        batch_op.drop_index('ix_export_jobs_expires_at')
        batch_op.drop_index('ix_export_jobs_created_at')

    op.drop_table('export_jobs')
