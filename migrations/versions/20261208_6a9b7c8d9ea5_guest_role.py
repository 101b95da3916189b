"""A guest role for memberships and API keys (issue 16): let in for a shared project only.

Revision ID: 6a9b7c8d9ea5
Revises: 5f8a6b7c8d94
Create Date: 2026-12-08 00:00:00
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '6a9b7c8d9ea5'
down_revision = '5f8a6b7c8d94'
branch_labels = None
depends_on = None

BEFORE = ('owner', 'admin', 'member', 'viewer')
AFTER = BEFORE + ('guest',)
#: table → the CHECK constraint on its role column (the models' enum names, as the naming
#: convention spells them).
CHECKS = {'memberships': 'ck_memberships_membership_role', 'api_keys': 'ck_api_keys_api_key_role'}


def allow(roles):
    listed = ", ".join(f"'{role}'" for role in roles)
    for table, constraint in CHECKS.items():
        # batch: SQLite rebuilds the table to change a CHECK; PostgreSQL alters it in place.
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(constraint), type_='check')
            batch.create_check_constraint(op.f(constraint), f"role IN ({listed})")


def upgrade():
    allow(AFTER)


def downgrade():
    op.execute("DELETE FROM memberships WHERE role = 'guest'")
    op.execute("UPDATE api_keys SET role = 'viewer' WHERE role = 'guest'")
    allow(BEFORE)
