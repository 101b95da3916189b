"""DraftForge collaborators (seed 003 table 7, issue 16): who shares a project, from
invitation to removal. Depends on the core's guest role, which accepting one gives.

Revision ID: 7b0c8d9e0f16
Revises: 6a9b7c8d9e05
Create Date: 2026-12-07 23:03:40
"""
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '7b0c8d9e0f16'
down_revision = '6a9b7c8d9e05'
branch_labels = None
depends_on = '6a9b7c8d9ea5'


def upgrade():
    op.create_table('draftforge_collaborators',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('invited_email', sa.String(length=320), nullable=True),
    sa.Column('invited_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('role', sa.Enum('owner', 'editor', 'reviewer', 'viewer', name='draftforge_collaborator_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('permissions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('invitation_status', sa.Enum('pending', 'accepted', 'declined', 'revoked', name='draftforge_invitation_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('invitation_token', sa.String(length=64), nullable=True),
    sa.Column('invitation_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_accessed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_user_id'], ['users.id'], name=op.f('fk_draftforge_collaborators_invited_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['draftforge_projects.id'], name=op.f('fk_draftforge_collaborators_project_id_draftforge_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_draftforge_collaborators_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_draftforge_collaborators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draftforge_collaborators')),
    sa.UniqueConstraint('invitation_token', name=op.f('uq_draftforge_collaborators_invitation_token')),
    sa.UniqueConstraint('project_id', 'invited_email', name=op.f('uq_draftforge_collaborators_project_id_invited_email')),
    sa.UniqueConstraint('project_id', 'user_id', name=op.f('uq_draftforge_collaborators_project_id_user_id'))
    )
    with op.batch_alter_table('draftforge_collaborators', schema=None) as batch_op:
        batch_op.create_index('ix_draftforge_collaborators_invitation_status', ['invitation_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_collaborators_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_draftforge_collaborators_role', ['role'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_collaborators_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draftforge_collaborators_user_id'), ['user_id'], unique=False)
    owner_rows()


PERMISSIONS = ("can_read", "can_write", "can_delete", "can_invite", "can_run_agents", "can_view_stats",
               "can_export", "can_manage_settings")


def owner_rows():
    """Every project made before collaborators existed gets its owner's row, as a new one does."""
    projects = sa.table('draftforge_projects', sa.column('id', sa.Uuid()), sa.column('tenant_id', sa.Uuid()),
                        sa.column('user_id', sa.Uuid()), sa.column('created_at', sa.DateTime(timezone=True)))
    collaborators = sa.table(
        'draftforge_collaborators', sa.column('id', sa.Uuid()), sa.column('tenant_id', sa.Uuid()),
        sa.column('project_id', sa.Uuid()), sa.column('user_id', sa.Uuid()), sa.column('role', sa.String()),
        sa.column('permissions', sa.JSON()), sa.column('invitation_status', sa.String()),
        sa.column('accepted_at', sa.DateTime(timezone=True)), sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    rows = [{'id': uuid.uuid4(), 'tenant_id': tenant_id, 'project_id': project_id, 'user_id': user_id,
             'role': 'owner', 'permissions': {key: True for key in PERMISSIONS}, 'invitation_status': 'accepted',
             'accepted_at': created_at, 'created_at': created_at, 'updated_at': created_at}
            for project_id, tenant_id, user_id, created_at in connection.execute(
                sa.select(projects.c.id, projects.c.tenant_id, projects.c.user_id, projects.c.created_at))]
    if rows:
        op.bulk_insert(collaborators, rows)



def downgrade():
    with op.batch_alter_table('draftforge_collaborators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draftforge_collaborators_user_id'))
        batch_op.drop_index(batch_op.f('ix_draftforge_collaborators_tenant_id'))
        batch_op.drop_index('ix_draftforge_collaborators_role')
        batch_op.drop_index(batch_op.f('ix_draftforge_collaborators_project_id'))
        batch_op.drop_index('ix_draftforge_collaborators_invitation_status')

    op.drop_table('draftforge_collaborators')
