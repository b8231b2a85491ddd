"""issue 10 (reminders): per-webinar reminder switches, the registration's time zone, unsubscribes.

- `webinar.remind_24h`, `webinar.remind_1h`, `webinar.remind_live` (default on): which
  reminder mails portal.mail.reminders queues for the webinar (live: 24 h and 1 h before and
  "we are live" when the speaker starts; auto: 1 h before and at the chosen start).
- `registration.timezone`: the IANA zone the registering browser reported (validated against
  zoneinfo; NULL = the webinar's zone), used to show times in mails.
- `registration.reminders_unsubscribed_at`: set by the one-click unsubscribe (RFC 8058) of a
  reminder; no reminder goes to that registration after it (confirmation and link recovery
  still do).

Revision ID: d2b3c4e5f602
Revises: d2b3c4e5f601
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f602'
down_revision = 'd2b3c4e5f601'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webinar', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_24h', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('remind_1h', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('remind_live', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reminders_unsubscribed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # SQLite drops plain columns in place: recreating `webinar` or `registration` would fail on
    # the tables that reference them (foreign keys are enforced) once there are rows.
    with op.batch_alter_table('registration', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('reminders_unsubscribed_at')
        batch_op.drop_column('timezone')
    with op.batch_alter_table('webinar', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('remind_live')
        batch_op.drop_column('remind_1h')
        batch_op.drop_column('remind_24h')
