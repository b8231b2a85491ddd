"""issue 11 (webhooks): endpoints, secrets, deliveries, attempts and the fan-out position.

- `webhook_endpoint`: a receiver URL of a staff user (deleted with them), its event filter
  (JSON list, empty = all), optional webinar, enabled flag, why it was disabled and since when
  its deliveries fail;
- `webhook_secret`: `whsec_` signing secrets, several active during a rotation (`expires_at`);
- `webhook_delivery`: one per (endpoint, outbox event), unique; the dispatchers claim due rows
  by (status, next_attempt_at);
- `webhook_attempt`: the delivery log (status, latency, first bytes of the answer);
- `webhook_cursor`: how far the fan-out has read the outbox by `sequence`.

Revision ID: d2b3c4e5f604
Revises: d2b3c4e5f603
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f604'
down_revision = 'd2b3c4e5f603'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_endpoint',
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('owner_user_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=300), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_user_id'], ['user.user_id'],
                                name=op.f('fk_webhook_endpoint_owner_user_id_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_webhook_endpoint_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('endpoint_id', name=op.f('pk_webhook_endpoint')),
    )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoint_owner_user_id'), ['owner_user_id'], unique=False)

    op.create_table(
        'webhook_secret',
        sa.Column('secret_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.endpoint_id'],
                                name=op.f('fk_webhook_secret_endpoint_id_webhook_endpoint'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('secret_id', name=op.f('pk_webhook_secret')),
    )
    with op.batch_alter_table('webhook_secret', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_secret_endpoint_id'), ['endpoint_id'], unique=False)

    op.create_table(
        'webhook_delivery',
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.endpoint_id'],
                                name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_id'], ['event_outbox.id'],
                                name=op.f('fk_webhook_delivery_outbox_id_event_outbox'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_webhook_delivery')),
        sa.UniqueConstraint('endpoint_id', 'outbox_id', name=op.f('uq_webhook_delivery_endpoint_id_outbox_id')),
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_delivery_endpoint', ['endpoint_id', 'delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_outbox_id'), ['outbox_id'], unique=False)

    op.create_table(
        'webhook_attempt',
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('webhook_timestamp', sa.BigInteger(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('response_excerpt', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.delivery_id'],
                                name=op.f('fk_webhook_attempt_delivery_id_webhook_delivery'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_webhook_attempt')),
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempt_delivery_id'), ['delivery_id'], unique=False)

    op.create_table(
        'webhook_cursor',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_webhook_cursor')),
    )


def downgrade():
    op.drop_table('webhook_cursor')
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempt_delivery_id'))
    op.drop_table('webhook_attempt')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_outbox_id'))
        batch_op.drop_index('ix_webhook_delivery_endpoint')
        batch_op.drop_index('ix_webhook_delivery_due')
    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_secret', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_secret_endpoint_id'))
    op.drop_table('webhook_secret')
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoint_owner_user_id'))
    op.drop_table('webhook_endpoint')
