"""issue 9 (rooms): chat messages carry "posted as host" and the page's client id.

- webinar_chat_messages.posted_as_host: set only by the console's staff posting path
  (room.chat.post_as_staff). The host style and the console's moderation exemptions read
  it, never the author's role: a registration that reached a staff account's user row can
  no longer post in the host's style or escape a mute.
- webinar_chat_messages.client_id: the id the page gives a message before it is sent, so a
  retried post (socket died, sent again over HTTP) is stored once; unique per (webinar,
  author, client_id) where present.

Existing messages are all marked "not as host": only new console posts are host messages.

Revision ID: c9a1d2e3f402
Revises: c9a1d2e3f401
Create Date: 2026-12-01 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9a1d2e3f402'
down_revision = 'c9a1d2e3f401'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webinar_chat_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted_as_host', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_webinar_chat_messages_client_id', ['webinar_id', 'author_id', 'client_id'],
                              unique=True, sqlite_where=sa.text('client_id IS NOT NULL'),
                              postgresql_where=sa.text('client_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('webinar_chat_messages', schema=None) as batch_op:
        batch_op.drop_index('uq_webinar_chat_messages_client_id')
        batch_op.drop_column('client_id')
        batch_op.drop_column('posted_as_host')
