"""Stories and their chapters (seed 000).

The first revision of the plugin's own branch: no parent, the branch label ``stories``,
and a dependency on the core revision whose tables (tenants, users, runs) it refers to.

Revision ID: 3b7e91c4d2a8
Revises:
Create Date: 2026-11-22 06:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3b7e91c4d2a8"
down_revision = None
branch_labels = ("stories",)
depends_on = "5c1e0a7b3d21"


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "stories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Enum("draft", "generating", "completed", "failed", name="story_status",
                                    native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("metadata", JSON,
                  nullable=False),
        sa.Column("parameters", JSON,
                  nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("error", JSON, nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("generation_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generation_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_stories_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_stories_run_id_runs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name=op.f("fk_stories_created_by_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    with op.batch_alter_table("stories") as batch_op:
        batch_op.create_index(batch_op.f("ix_stories_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_stories_tenant_id_created_at", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "story_chapters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("story_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_story_chapters_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name=op.f("fk_story_chapters_story_id_stories"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_chapters")),
        sa.UniqueConstraint("story_id", "order", name=op.f("uq_story_chapters_story_id_order")),
    )
    with op.batch_alter_table("story_chapters") as batch_op:
        batch_op.create_index(batch_op.f("ix_story_chapters_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_story_chapters_story_id"), ["story_id"], unique=False)


def downgrade():
    with op.batch_alter_table("story_chapters") as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_chapters_story_id"))
        batch_op.drop_index(batch_op.f("ix_story_chapters_tenant_id"))
    op.drop_table("story_chapters")
    with op.batch_alter_table("stories") as batch_op:
        batch_op.drop_index("ix_stories_tenant_id_created_at")
        batch_op.drop_index(batch_op.f("ix_stories_run_id"))
        batch_op.drop_index(batch_op.f("ix_stories_status"))
        batch_op.drop_index(batch_op.f("ix_stories_tenant_id"))
    op.drop_table("stories")
