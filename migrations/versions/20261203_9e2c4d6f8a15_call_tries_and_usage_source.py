"""Each try of a model call in the usage log, and where every call's token counts come from.

Revision ID: 9e2c4d6f8a15
Revises: 7d3f1e9a0b42
Create Date: 2026-12-03 07:00:00

A call has one retry budget (issue 12): the tries it made share ``call_id`` and are numbered
by ``call_try``. ``usage_source`` says whether tokens were reported by the server, counted
with the model's tokenizer, or estimated from the text. Existing rows: one try each, and
the usage their server reported (a failed call recorded none).
"""
from alembic import op
import sqlalchemy as sa

revision = '9e2c4d6f8a15'
down_revision = '7d3f1e9a0b42'
branch_labels = None
depends_on = None

SOURCES = ('reported', 'counted', 'estimated')


def source(name):
    return sa.Enum(*SOURCES, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('ai_usage_log') as batch:
        batch.add_column(sa.Column('usage_source', source('usage_source'), nullable=True))
        batch.add_column(sa.Column('call_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('call_try', sa.Integer(), nullable=True))
        batch.create_index('ix_ai_usage_log_call_id', ['call_id'])
    op.execute("UPDATE ai_usage_log SET usage_source = 'reported' WHERE status = 'success'")
    with op.batch_alter_table('ai_responses') as batch:
        batch.add_column(sa.Column('usage_source', source('ai_response_usage_source'), nullable=False,
                                   server_default='reported'))
    # The models declare no server defaults: drop it so autogenerate sees no difference.
    with op.batch_alter_table('ai_responses') as batch:
        batch.alter_column('usage_source', server_default=None)


def downgrade():
    # The CHECK constraints go first: SQLite's table rebuild would keep them on a column gone.
    with op.batch_alter_table('ai_responses') as batch:
        batch.drop_constraint('ai_response_usage_source', type_='check')
        batch.drop_column('usage_source')
    with op.batch_alter_table('ai_usage_log') as batch:
        batch.drop_constraint('usage_source', type_='check')
        batch.drop_index('ix_ai_usage_log_call_id')
        batch.drop_column('call_try')
        batch.drop_column('call_id')
        batch.drop_column('usage_source')
