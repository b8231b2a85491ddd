"""issue 11 (API): the outbox's commit-order `sequence`, API token scopes.

- `event_outbox.sequence` (BIGINT, unique): each event's position in COMMIT order, for the
  event feed (`GET /api/v1/events?after=`) and the webhook envelope. Stamped just before the
  commit from the one-row `event_counter` (see portal/core/sequencing.py for why ids are not
  enough on PostgreSQL). Rows already there are numbered in id order (all committed, so their
  order is final) and the counter starts after them.
- `api_token.scopes` (space-separated `read`, `control`, `webhooks`) and `api_token.prefix`
  (the token's first characters, shown in lists; the secret itself is stored only hashed).

Revision ID: d2b3c4e5f603
Revises: d2b3c4e5f602
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f603'
down_revision = 'd2b3c4e5f602'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'event_counter',
        sa.Column('counter_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_sequence', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('counter_id = 1', name=op.f('ck_event_counter_single_row')),
        sa.PrimaryKeyConstraint('counter_id', name=op.f('pk_event_counter')),
    )
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_event_outbox_sequence'), ['sequence'])
    op.execute("UPDATE event_outbox SET sequence = id")
    op.execute("INSERT INTO event_counter (counter_id, last_sequence) "
               "SELECT 1, COALESCE(MAX(sequence), 0) FROM event_outbox")

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('prefix', sa.String(length=16), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('prefix')
        batch_op.drop_column('scopes')
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_event_outbox_sequence'), type_='unique')
        batch_op.drop_column('sequence')
    op.drop_table('event_counter')
