"""issue 12 (runs per start time, evergreen chat cohorts, the seeds' columns).

- `webinar.run_starts_at`: the start time (the main `scheduled_at` or one of the extra
  `webinar_slot` times) whose run is live, or ran last. Written by Core's start hook only
  (portal.core.runs, portal.core.lifecycle); a `stop` with later start times left sends the
  webinar back to `scheduled` and the next `start` runs the next time.
- `session`: its rows are the runs of a live webinar (one per start time). `attendee_id`,
  `progress` and `last_position_sec` were never written: a run has many attendees, and an
  auto session's progress and position live in `user_meta` under the seed 004 names
  (`autowebinar_progress_percent`, `autowebinar_last_position_sec`), so the columns go.
- `webinar_chat_messages.session_id` is now written: the run (live) or the cohort (auto: one
  scheduled start, or one watch-now viewer) the message belongs to; indexed for the room's
  history per cohort.

Revision ID: d2b3c4e5f60c
Revises: d2b3c4e5f60b
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f60c'
down_revision = 'd2b3c4e5f60b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webinar', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('run_starts_at', sa.DateTime(timezone=True), nullable=True))
    # No table references `session`, so SQLite may rebuild it to drop the columns.
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_session_progress'), type_='check')
        batch_op.drop_constraint(op.f('fk_session_attendee_id_user'), type_='foreignkey')
        batch_op.drop_column('attendee_id')
        batch_op.drop_column('progress')
        batch_op.drop_column('last_position_sec')
    with op.batch_alter_table('webinar_chat_messages', schema=None, recreate='never') as batch_op:
        batch_op.create_index('ix_webinar_chat_messages_session_message', ['webinar_id', 'session_id', 'message_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('webinar_chat_messages', schema=None, recreate='never') as batch_op:
        batch_op.drop_index('ix_webinar_chat_messages_session_message')
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_position_sec', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('progress', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attendee_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_session_attendee_id_user'), 'user', ['attendee_id'], ['user_id'],
                                    ondelete='CASCADE')
        batch_op.create_check_constraint(op.f('ck_session_progress'), sa.text('progress IS NULL OR progress IN (0, 25, 50, 75, 100)'))
    with op.batch_alter_table('webinar', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('run_starts_at')
