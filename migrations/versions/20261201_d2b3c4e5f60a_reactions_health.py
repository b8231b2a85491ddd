"""issue 13 (reactions, health panel): reaction counts per minute.

- `webinar_reaction_count`: taps of one reaction in one webinar during one UTC minute, added
  up by every worker once a second (portal.reactions). Not one row per tap: the report and the
  console's "over time" view need counts, and a storm of 1,000 taps a second must cost one
  small upsert a second per worker, not 1,000 inserts.
- The health panel (portal.health) stores nothing: it is live state of the pages present.

Revision ID: d2b3c4e5f60a
Revises: d2b3c4e5f609
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f60a'
down_revision = 'd2b3c4e5f609'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webinar_reaction_count',
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reaction', sa.String(length=16), nullable=False),
        sa.Column('taps', sa.Integer(), nullable=False),
        sa.CheckConstraint("reaction IN ('like', 'love', 'clap', 'laugh', 'wow')",
                           name=op.f('ck_webinar_reaction_count_reaction')),
        sa.CheckConstraint('taps >= 0', name=op.f('ck_webinar_reaction_count_taps')),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_webinar_reaction_count_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('webinar_id', 'minute', 'reaction', name=op.f('pk_webinar_reaction_count')),
    )


def downgrade():
    op.drop_table('webinar_reaction_count')
