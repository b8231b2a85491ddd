"""issue 13 (polls): polls, their options and the attendees' answers.

- poll: a host's question of one webinar (draft -> open -> closed), single or multiple choice,
  results shown live or after closing; auto webinars: `at_sec` / `open_sec`, the point of the
  recording it opens at and for how long (timed interaction);
- poll_option: 2-10 per poll, in order;
- poll_vote: one row per chosen option of an attendee's answer, unique per (poll, lead,
  option); `cohort` names whose results it counts in ("" live; auto: the chosen start or the
  watch-now session).

Revision ID: d2b3c4e5f609
Revises: d2b3c4e5f608
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f609'
down_revision = 'd2b3c4e5f608'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'poll',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('multiple', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('results_mode', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('at_sec', sa.Integer(), nullable=True),
        sa.Column('open_sec', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name='status'),
        sa.CheckConstraint("results_mode IN ('live', 'after_close')", name='results_mode'),
        sa.CheckConstraint('length(question) BETWEEN 1 AND 300', name='question'),
        sa.CheckConstraint('at_sec IS NULL OR at_sec >= 0', name='at_sec'),
        sa.CheckConstraint('open_sec IS NULL OR open_sec > 0', name='open_sec'),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['user.user_id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('poll_id'),
    )
    op.create_index('ix_poll_webinar', 'poll', ['webinar_id', 'poll_id'])
    op.create_table(
        'poll_option',
        sa.Column('option_id', sa.Integer(), nullable=False),
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('label', sa.Text(), nullable=False),
        sa.CheckConstraint('length(label) BETWEEN 1 AND 200', name='label'),
        sa.ForeignKeyConstraint(['poll_id'], ['poll.poll_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('option_id'),
    )
    op.create_index('ix_poll_option_poll', 'poll_option', ['poll_id', 'position'])
    op.create_table(
        'poll_vote',
        sa.Column('vote_id', sa.Integer(), nullable=False),
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('option_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('cohort', sa.String(length=64), server_default='', nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['poll.poll_id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['option_id'], ['poll_option.option_id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lead_id'], ['user.user_id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.registration_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('vote_id'),
    )
    op.create_index('uq_poll_vote', 'poll_vote', ['poll_id', 'lead_id', 'option_id'], unique=True)
    op.create_index('ix_poll_vote_results', 'poll_vote', ['poll_id', 'cohort', 'option_id'])


def downgrade():
    op.drop_index('ix_poll_vote_results', table_name='poll_vote')
    op.drop_index('uq_poll_vote', table_name='poll_vote')
    op.drop_table('poll_vote')
    op.drop_index('ix_poll_option_poll', table_name='poll_option')
    op.drop_table('poll_option')
    op.drop_index('ix_poll_webinar', table_name='poll')
    op.drop_table('poll')
