"""Throwaway notes.

The first revision of the plugin's own branch: no parent, its own branch label, and a
dependency on the core revision that created ``tenants`` (the notes refer to it).

Revision ID: 7d0a1c9e3b21
Revises:
Create Date: 2026-11-22 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "7d0a1c9e3b21"
down_revision = None
branch_labels = ("throwaway",)
depends_on = "2915a224f1b2"


def upgrade():
    op.create_table(
        "throwaway_notes",
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_throwaway_notes_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throwaway_notes")),
    )
    with op.batch_alter_table("throwaway_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_throwaway_notes_tenant_id"), ["tenant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("throwaway_notes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_throwaway_notes_tenant_id"))
    op.drop_table("throwaway_notes")
