"""Initial schema: users, user_meta, webinars, slots, speakers, registrations, sessions,
attendance, chat, API tokens and the event outbox (seed 000 field names).

Reviewed by hand: portable types only (no app imports), partial unique indexes for
nullable keys on SQLite and PostgreSQL, CHECK constraints for every enum.

Revision ID: a626479677b3
Revises:
Create Date: 2026-11-22 17:46:26.038242

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a626479677b3'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'organizer', 'speaker', 'lead')", name=op.f('ck_user_role')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('api_token',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.user_id'], name=op.f('fk_api_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('user_meta',
    sa.Column('umeta_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('meta_key', sa.String(length=191), nullable=False),
    sa.Column('meta_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.user_id'], name=op.f('fk_user_meta_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('umeta_id', name=op.f('pk_user_meta')),
    sa.UniqueConstraint('user_id', 'meta_key', name=op.f('uq_user_meta_user_id_meta_key'))
    )
    op.create_table('webinar',
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('cta_visibility', sa.String(length=8), nullable=False),
    sa.Column('cta_text', sa.String(length=200), nullable=False),
    sa.Column('cta_url', sa.String(length=2000), nullable=False),
    sa.Column('cta_at_sec', sa.Integer(), nullable=True),
    sa.Column('stream_type', sa.String(length=16), nullable=False),
    sa.Column('stream_url', sa.String(length=2000), nullable=False),
    sa.Column('external_chat_ref', sa.String(length=2000), nullable=False),
    sa.Column('chat_lobby_minutes', sa.Integer(), nullable=False),
    sa.Column('show_attendee_count', sa.Boolean(), nullable=False),
    sa.Column('recording_url', sa.String(length=2000), nullable=False),
    sa.Column('recording_duration_sec', sa.Integer(), nullable=True),
    sa.Column('auto_schedule', sa.JSON(), nullable=True),
    sa.Column('calendar_sequence', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("cta_visibility IN ('hidden', 'visible')", name=op.f('ck_webinar_cta_visibility')),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'live', 'paused', 'finished', 'archived')", name=op.f('ck_webinar_status')),
    sa.CheckConstraint("stream_type IN ('obs', 'zoom', 'telegram')", name=op.f('ck_webinar_stream_type')),
    sa.CheckConstraint("type IN ('live', 'auto')", name=op.f('ck_webinar_type')),
    sa.CheckConstraint('chat_lobby_minutes >= 0', name=op.f('ck_webinar_chat_lobby_minutes')),
    sa.CheckConstraint('cta_at_sec IS NULL OR cta_at_sec >= 0', name=op.f('ck_webinar_cta_at_sec')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user.user_id'], name=op.f('fk_webinar_owner_user_id_user')),
    sa.PrimaryKeyConstraint('webinar_id', name=op.f('pk_webinar')),
    sa.UniqueConstraint('slug', name=op.f('uq_webinar_slug'))
    )
    with op.batch_alter_table('webinar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webinar_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index('ix_webinar_status_scheduled_at', ['status', 'scheduled_at'], unique=False)

    op.create_table('attendance',
    sa.Column('attendance_id', sa.Integer(), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leave_reason', sa.String(length=32), nullable=True),
    sa.CheckConstraint("leave_reason IS NULL OR leave_reason IN ('left', 'disconnected', 'webinar_finished', 'banned', 'revoked', 'timeout', 'server_restart')", name=op.f('ck_attendance_leave_reason')),
    sa.CheckConstraint('left_at IS NULL OR left_at >= entered_at', name=op.f('ck_attendance_interval')),
    sa.ForeignKeyConstraint(['lead_id'], ['user.user_id'], name=op.f('fk_attendance_lead_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_attendance_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attendance_id', name=op.f('pk_attendance'))
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_session_id', ['session_id'], unique=False)
        batch_op.create_index('ix_attendance_webinar_lead', ['webinar_id', 'lead_id'], unique=False)
        batch_op.create_index('uq_attendance_open', ['session_id', 'lead_id', 'connection_id'], unique=True, sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))

    op.create_table('event_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.String(length=36), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_event_outbox_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_event_outbox_event_id'))
    )
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_outbox_dispatched_at'), ['dispatched_at'], unique=False)
        batch_op.create_index('ix_event_outbox_webinar_event', ['webinar_id', 'event'], unique=False)

    op.create_table('webinar_chat_messages',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('message_body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moderation_status', sa.String(length=16), nullable=False),
    sa.CheckConstraint("moderation_status IN ('visible', 'hidden', 'shadowed')", name=op.f('ck_webinar_chat_messages_moderation_status')),
    sa.CheckConstraint('length(message_body) BETWEEN 1 AND 2000', name=op.f('ck_webinar_chat_messages_message_body')),
    sa.ForeignKeyConstraint(['author_id'], ['user.user_id'], name=op.f('fk_webinar_chat_messages_author_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_webinar_chat_messages_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_webinar_chat_messages'))
    )
    with op.batch_alter_table('webinar_chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_webinar_chat_messages_webinar_message', ['webinar_id', 'message_id'], unique=False)

    op.create_table('webinar_slot',
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_webinar_slot_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('slot_id', name=op.f('pk_webinar_slot')),
    sa.UniqueConstraint('webinar_id', 'starts_at', name=op.f('uq_webinar_slot_webinar_id_starts_at'))
    )
    op.create_table('webinar_speaker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role = 'speaker'", name=op.f('ck_webinar_speaker_role')),
    sa.ForeignKeyConstraint(['user_id'], ['user.user_id'], name=op.f('fk_webinar_speaker_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_webinar_speaker_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webinar_speaker')),
    sa.UniqueConstraint('webinar_id', 'user_id', name=op.f('uq_webinar_speaker_webinar_id_user_id'))
    )
    with op.batch_alter_table('webinar_speaker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webinar_speaker_user_id'), ['user_id'], unique=False)

    op.create_table('registration',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('webinar_type', sa.String(length=8), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('join_token_hash', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('banned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chat_muted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("webinar_type IN ('live', 'auto')", name=op.f('ck_registration_webinar_type')),
    sa.ForeignKeyConstraint(['lead_id'], ['user.user_id'], name=op.f('fk_registration_lead_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['webinar_slot.slot_id'], name=op.f('fk_registration_slot_id_webinar_slot'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_registration_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('registration_id', name=op.f('pk_registration')),
    sa.UniqueConstraint('join_token_hash', name=op.f('uq_registration_join_token_hash')),
    sa.UniqueConstraint('webinar_id', 'lead_id', 'slot_id', name=op.f('uq_registration_webinar_id_lead_id_slot_id'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('ix_registration_webinar_registered_at', ['webinar_id', 'registered_at'], unique=False)
        batch_op.create_index('uq_registration_webinar_id_lead_id_no_slot', ['webinar_id', 'lead_id'], unique=True, sqlite_where=sa.text('slot_id IS NULL'), postgresql_where=sa.text('slot_id IS NULL'))

    op.create_table('session',
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('webinar_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('session_type', sa.String(length=8), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('last_position_sec', sa.Integer(), nullable=True),
    sa.CheckConstraint("session_type IN ('live', 'auto')", name=op.f('ck_session_session_type')),
    sa.CheckConstraint('progress IS NULL OR progress IN (0, 25, 50, 75, 100)', name=op.f('ck_session_progress')),
    sa.ForeignKeyConstraint(['attendee_id'], ['user.user_id'], name=op.f('fk_session_attendee_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['webinar_slot.slot_id'], name=op.f('fk_session_slot_id_webinar_slot'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_session_webinar_id_webinar'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_session'))
    )
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.create_index('uq_session_webinar_id_no_slot', ['webinar_id'], unique=True, sqlite_where=sa.text("slot_id IS NULL AND session_type = 'live'"), postgresql_where=sa.text("slot_id IS NULL AND session_type = 'live'"))
        batch_op.create_index('uq_session_webinar_id_slot_id', ['webinar_id', 'slot_id'], unique=True)



def downgrade():
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index('uq_session_webinar_id_slot_id')
        batch_op.drop_index('uq_session_webinar_id_no_slot', sqlite_where=sa.text("slot_id IS NULL AND session_type = 'live'"), postgresql_where=sa.text("slot_id IS NULL AND session_type = 'live'"))

    op.drop_table('session')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('uq_registration_webinar_id_lead_id_no_slot', sqlite_where=sa.text('slot_id IS NULL'), postgresql_where=sa.text('slot_id IS NULL'))
        batch_op.drop_index('ix_registration_webinar_registered_at')
        batch_op.drop_index(batch_op.f('ix_registration_lead_id'))

    op.drop_table('registration')
    with op.batch_alter_table('webinar_speaker', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webinar_speaker_user_id'))

    op.drop_table('webinar_speaker')
    op.drop_table('webinar_slot')
    with op.batch_alter_table('webinar_chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_webinar_chat_messages_webinar_message')

    op.drop_table('webinar_chat_messages')
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_event_outbox_webinar_event')
        batch_op.drop_index(batch_op.f('ix_event_outbox_dispatched_at'))

    op.drop_table('event_outbox')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('uq_attendance_open', sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))
        batch_op.drop_index('ix_attendance_webinar_lead')
        batch_op.drop_index('ix_attendance_session_id')

    op.drop_table('attendance')
    with op.batch_alter_table('webinar', schema=None) as batch_op:
        batch_op.drop_index('ix_webinar_status_scheduled_at')
        batch_op.drop_index(batch_op.f('ix_webinar_owner_user_id'))

    op.drop_table('webinar')
    op.drop_table('user_meta')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('user')
