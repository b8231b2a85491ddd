"""issue 12/13 (recordings, players, replay): media_recording; YouTube and Vimeo stream types.

`media_recording` holds a webinar's current recording (uploaded file or link, its duration
read from the file, the live run it records, whether its replay is public). The webinar's
stream_type CHECK admits the embedded players 'youtube' and 'vimeo'.

Revision ID: d2b3c4e5f60d
Revises: d2b3c4e5f60c
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f60d'
down_revision = 'd2b3c4e5f60c'
branch_labels = None
depends_on = None

OLD_TYPES = "stream_type IN ('obs', 'zoom', 'telegram')"
NEW_TYPES = "stream_type IN ('obs', 'zoom', 'telegram', 'youtube', 'vimeo')"


def upgrade():
    op.create_table(
        'media_recording',
        sa.Column('recording_id', sa.Integer(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=True),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('duration_sec', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('public_replay', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('upload', 'link')", name=op.f('ck_media_recording_source')),
        sa.CheckConstraint('duration_sec > 0', name=op.f('ck_media_recording_duration_sec')),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'], name=op.f('fk_media_recording_webinar_id_webinar'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['user.user_id'], name=op.f('fk_media_recording_created_by_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('recording_id', name=op.f('pk_media_recording')),
    )
    op.create_index('uq_media_recording_webinar_id', 'media_recording', ['webinar_id'], unique=True)
    with op.batch_alter_table('webinar', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_webinar_stream_type'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_webinar_stream_type'), NEW_TYPES)


def downgrade():
    op.execute("UPDATE webinar SET stream_type = 'obs', stream_url = '' WHERE stream_type IN ('youtube', 'vimeo')")
    with op.batch_alter_table('webinar', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_webinar_stream_type'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_webinar_stream_type'), OLD_TYPES)
    op.drop_index('uq_media_recording_webinar_id', table_name='media_recording')
    op.drop_table('media_recording')
