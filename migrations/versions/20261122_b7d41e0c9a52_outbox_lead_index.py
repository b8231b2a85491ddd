"""Index event_outbox by (webinar_id, lead_id, event): the organizer reports ask "did this
lead complete / click the CTA in this webinar" for every registrant (EXISTS probes) and for
each page of the registrations table; without it every probe scans all of the webinar's
events of that name.

Revision ID: b7d41e0c9a52
Revises: a626479677b3
Create Date: 2026-11-22 19:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d41e0c9a52'
down_revision = 'a626479677b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_event_outbox_webinar_lead_event', ['webinar_id', 'lead_id', 'event'], unique=False)


def downgrade():
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_event_outbox_webinar_lead_event')
