"""issue 10 (mail core): the mail ledger and the registration's language.

- `mail_message`: one row per (registration, kind, occurrence) — the unique key makes every
  mail exactly-once, and the row is written in the transaction of its cause. The sender claims
  due rows (status, claim token, lease), records the server's answer, attempts and back-off; with
  no SMTP configured messages are rendered and kept for /admin/mail.
- `registration.language`: the page's language at registration; mails are written in it.

Revision ID: d2b3c4e5f601
Revises: c9a1d2e3f405
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f601'
down_revision = 'c9a1d2e3f405'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_message',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('occurrence', sa.String(length=64), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('recipient_name', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('context', sa.JSON(), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('raw', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_answer', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.registration_id'],
                                name=op.f('fk_mail_message_registration_id_registration'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_mail_message_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_mail_message')),
        sa.UniqueConstraint('registration_id', 'kind', 'occurrence',
                            name=op.f('uq_mail_message_registration_id_kind_occurrence')),
    )
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.create_index('ix_mail_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_mail_message_webinar_created', ['webinar_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_message_registration_id'), ['registration_id'], unique=False)
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    # SQLite drops a plain column in place: recreating `registration` would fail on the rows
    # that reference it (foreign keys are enforced).
    with op.batch_alter_table('registration', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_message_registration_id'))
        batch_op.drop_index('ix_mail_message_webinar_created')
        batch_op.drop_index('ix_mail_message_due')
    op.drop_table('mail_message')
