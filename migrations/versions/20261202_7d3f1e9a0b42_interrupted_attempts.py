"""An execution cut short by the infrastructure is recorded as ``interrupted``, not charged.

Revision ID: 7d3f1e9a0b42
Revises: 4b7e9c1d2a30
Create Date: 2026-12-02 20:40:00

Until now an attempt the database outage cut short was recorded as ``crashed`` by the
reconciler and spent the step's retry budget (issue 11). The outcome is a VARCHAR with a
CHECK constraint (portable enums): the constraint gains the new value.
"""
from alembic import op
import sqlalchemy as sa

revision = '7d3f1e9a0b42'
down_revision = '4b7e9c1d2a30'
branch_labels = None
depends_on = None

BEFORE = ('running', 'completed', 'failed', 'crashed', 'cancelled', 'waiting')
AFTER = BEFORE + ('interrupted',)


def outcome(values):
    return sa.Enum(*values, name='step_attempt_outcome', native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('step_attempts') as batch:
        batch.alter_column('outcome', type_=outcome(AFTER), existing_type=outcome(BEFORE), existing_nullable=False)


def downgrade():
    op.execute("UPDATE step_attempts SET outcome = 'crashed' WHERE outcome = 'interrupted'")
    with op.batch_alter_table('step_attempts') as batch:
        batch.alter_column('outcome', type_=outcome(BEFORE), existing_type=outcome(AFTER), existing_nullable=False)
