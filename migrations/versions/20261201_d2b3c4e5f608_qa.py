"""issue 13 (Q&A): questions, their votes and the per-webinar moderation setting.

- `webinar_questions`: an attendee's question (cleaned like chat), its moderation status
  (pending / visible / shadowed / hidden), answer state (open / answering / answered), an
  optional written answer and the vote count the list sorts by.
- `webinar_question_votes`: one row per (question, lead), unique: one upvote per attendee.
- `webinar_qa_settings`: per webinar, whether questions wait for a host's approval.

Revision ID: d2b3c4e5f608
Revises: d2b3c4e5f607
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f608'
down_revision = 'd2b3c4e5f607'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webinar_questions',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('moderation_status', sa.String(length=16), nullable=False),
        sa.Column('answer_state', sa.String(length=16), server_default='open', nullable=False),
        sa.Column('answer_body', sa.Text(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('votes', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint("moderation_status IN ('pending', 'visible', 'shadowed', 'hidden')",
                           name=op.f('ck_webinar_questions_moderation_status')),
        sa.CheckConstraint("answer_state IN ('open', 'answering', 'answered')",
                           name=op.f('ck_webinar_questions_answer_state')),
        sa.CheckConstraint('length(body) BETWEEN 1 AND 2000', name=op.f('ck_webinar_questions_body')),
        sa.CheckConstraint('votes >= 0', name=op.f('ck_webinar_questions_votes')),
        sa.ForeignKeyConstraint(['author_id'], ['user.user_id'], name=op.f('fk_webinar_questions_author_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_webinar_questions_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', name=op.f('pk_webinar_questions')),
    )
    op.create_index('ix_webinar_questions_webinar_votes', 'webinar_questions', ['webinar_id', 'votes'])
    op.create_index('ix_webinar_questions_webinar_author', 'webinar_questions', ['webinar_id', 'author_id'])
    op.create_table(
        'webinar_question_votes',
        sa.Column('vote_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['user.user_id'], name=op.f('fk_webinar_question_votes_lead_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['question_id'], ['webinar_questions.question_id'],
                                name=op.f('fk_webinar_question_votes_question_id_webinar_questions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('vote_id', name=op.f('pk_webinar_question_votes')),
        sa.UniqueConstraint('question_id', 'lead_id', name='uq_webinar_question_votes_lead'),
    )
    op.create_index(op.f('ix_webinar_question_votes_lead_id'), 'webinar_question_votes', ['lead_id'])
    op.create_table(
        'webinar_qa_settings',
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('moderated', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_webinar_qa_settings_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('webinar_id', name=op.f('pk_webinar_qa_settings')),
    )


def downgrade():
    op.drop_table('webinar_qa_settings')
    op.drop_index(op.f('ix_webinar_question_votes_lead_id'), table_name='webinar_question_votes')
    op.drop_table('webinar_question_votes')
    op.drop_index('ix_webinar_questions_webinar_author', table_name='webinar_questions')
    op.drop_index('ix_webinar_questions_webinar_votes', table_name='webinar_questions')
    op.drop_table('webinar_questions')
