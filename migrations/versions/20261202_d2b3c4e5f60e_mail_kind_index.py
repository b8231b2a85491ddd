"""issue 14: an index on mail_message (webinar_id, kind).

The sender asks, before each reminder or notice, whether the webinar's cancellation was
queued (`reminders.was_cancelled`: an EXISTS on webinar and kind). With only
(webinar_id, created_at) to go by, that walked every message of the webinar: at 10,000
registrants each check read ~10,000 rows, and the sender's pass over 10,000 confirmations
kept the worker's one thread busy in SQLite for over a minute (sockets stalled, the
attendance lease lapsed).

Revision ID: d2b3c4e5f60e
Revises: d2b3c4e5f60d
Create Date: 2026-12-02 02:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f60e'
down_revision = 'd2b3c4e5f60d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_mail_message_webinar_kind', 'mail_message', ['webinar_id', 'kind'], unique=False)


def downgrade():
    op.drop_index('ix_mail_message_webinar_kind', table_name='mail_message')
