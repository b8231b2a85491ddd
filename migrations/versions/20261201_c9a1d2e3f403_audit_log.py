"""issue 9 (hardening): the audit record, table `audit_log`.

One row per refusal shown to someone (kind `refusal`: msgid text, status, code, path) and per
moderator or status action (`moderation`: hide, mute, unmute, ban; `status`: start, stop,
pause, publish, ...; `cta`: show, hide; `link`: revoke, restore, reissue), with who (staff
user id, registration and lead ids, client address) and which webinar (deleted with it). The
organizer's page reads one webinar's rows newest first, optionally of one kind: the index
(webinar_id, kind, audit_id).

Revision ID: c9a1d2e3f403
Revises: c9a1d2e3f402
Create Date: 2026-12-01 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9a1d2e3f403'
down_revision = 'c9a1d2e3f402'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_log',
        sa.Column('audit_id', sa.Integer(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=True),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.CheckConstraint("kind IN ('refusal', 'moderation', 'status', 'cta', 'link')", name=op.f('ck_audit_log_kind')),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_audit_log_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_webinar_kind', ['webinar_id', 'kind', 'audit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_webinar_kind')
    op.drop_table('audit_log')
