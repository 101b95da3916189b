"""Platform services (issue 14): notifications, feature flags, and the usage log's archive.

Revision ID: 1b4c2d3e4f50
Revises: 9e2c4d6f8a15
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '1b4c2d3e4f50'
down_revision = '9e2c4d6f8a15'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('origin_tenant_id', sa.Uuid(), nullable=True),
        sa.Column('type', sa.String(length=50), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('related_entity_type', sa.String(length=50), nullable=True),
        sa.Column('related_entity_id', sa.String(length=64), nullable=True),
        sa.Column('is_read', sa.Boolean(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('action_url', sa.String(length=500), nullable=True),
        sa.Column('action_label', sa.String(length=100), nullable=True),
        sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='notification_priority',
                                      native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['origin_tenant_id'], ['tenants.id'], name=op.f('fk_notifications_origin_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index('ix_notifications_user_unread', 'notifications', ['user_id', 'is_read', 'created_at'])
    op.create_index(op.f('ix_notifications_origin_tenant_id'), 'notifications', ['origin_tenant_id'])
    op.create_index(op.f('ix_notifications_type'), 'notifications', ['type'])
    op.create_index(op.f('ix_notifications_expires_at'), 'notifications', ['expires_at'])

    op.create_table(
        'feature_flags',
        sa.Column('flag_key', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('rollout_percentage', sa.Integer(), nullable=False),
        sa.Column('rollout_user_ids', JSON, nullable=False),
        sa.Column('rollout_tiers', JSON, nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('rollout_percentage >= 0 AND rollout_percentage <= 100',
                           name=op.f('ck_feature_flags_rollout_percentage_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feature_flags')),
        sa.UniqueConstraint('flag_key', name=op.f('uq_feature_flags_flag_key')),
    )

    op.create_table(
        'ai_usage_log_archive',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('record', JSON, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_usage_log_archive')),
    )
    op.create_index(op.f('ix_ai_usage_log_archive_tenant_id'), 'ai_usage_log_archive', ['tenant_id'])
    op.create_index(op.f('ix_ai_usage_log_archive_user_id'), 'ai_usage_log_archive', ['user_id'])
    op.create_index(op.f('ix_ai_usage_log_archive_created_at'), 'ai_usage_log_archive', ['created_at'])


def downgrade():
    op.drop_table('ai_usage_log_archive')
    op.drop_table('feature_flags')
    op.drop_index('ix_notifications_user_unread', table_name='notifications')
    op.drop_table('notifications')
