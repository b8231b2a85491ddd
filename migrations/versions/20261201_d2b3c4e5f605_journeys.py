"""issue 12 (journeys): an attendee cancels their seat.

- `registration.cancelled_at`: set when the registrant cancels their seat from the room or the
  confirmation page (portal.room.seat). The row is kept for reports; a cancelled registration
  opens nothing (like a revoked one: same 404 for its link) and gets no more reminders.

Revision ID: d2b3c4e5f605
Revises: d2b3c4e5f604
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f605'
down_revision = 'd2b3c4e5f604'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # SQLite drops a plain column in place: recreating `registration` would fail on the tables
    # that reference it (foreign keys are enforced) once there are rows.
    with op.batch_alter_table('registration', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('cancelled_at')
