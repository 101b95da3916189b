"""WriteIt: articles and the tenant's own style primers.

The first revision of the plugin's own branch: no parent, the branch label ``writeit``,
and a dependency on the core revision it builds on (runs, users, tenants).

Revision ID: 3f6b2a9c8d14
Revises:
Create Date: 2026-11-22 06:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3f6b2a9c8d14"
down_revision = None
branch_labels = ("writeit",)
depends_on = "5c1e0a7b3d21"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "writeit_articles",
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("primer_id", sa.String(length=64), nullable=False),
        sa.Column("root_run_id", sa.Uuid(), nullable=False),
        sa.Column("current_run_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("final_markdown", sa.Text(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["root_run_id"], ["runs.id"], name=op.f("fk_writeit_articles_root_run_id_runs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_writeit_articles_created_by_user_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_writeit_articles_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeit_articles")),
    )
    with op.batch_alter_table("writeit_articles") as batch_op:
        batch_op.create_index(batch_op.f("ix_writeit_articles_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_writeit_articles_root_run_id"), ["root_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_writeit_articles_current_run_id"), ["current_run_id"], unique=False)

    op.create_table(
        "writeit_primers",
        sa.Column("primer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("voice_attributes", JSON, nullable=False),
        sa.Column("example_openings", JSON, nullable=False),
        sa.Column("guidelines", JSON, nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_writeit_primers_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeit_primers")),
        sa.UniqueConstraint("tenant_id", "primer_id", name=op.f("uq_writeit_primers_tenant_id_primer_id")),
    )
    with op.batch_alter_table("writeit_primers") as batch_op:
        batch_op.create_index(batch_op.f("ix_writeit_primers_tenant_id"), ["tenant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("writeit_primers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_writeit_primers_tenant_id"))
    op.drop_table("writeit_primers")
    with op.batch_alter_table("writeit_articles") as batch_op:
        batch_op.drop_index(batch_op.f("ix_writeit_articles_current_run_id"))
        batch_op.drop_index(batch_op.f("ix_writeit_articles_root_run_id"))
        batch_op.drop_index(batch_op.f("ix_writeit_articles_tenant_id"))
    op.drop_table("writeit_articles")
