"""issue 10 (reminders): per-webinar reminder switches, registration time zone and language, unsubscribes.

Reserved in the migration chain so parallel pieces land in a fixed order; it changes nothing
until its owner fills it in (then this docstring says what it does and why).

Revision ID: d2b3c4e5f602
Revises: d2b3c4e5f601
Create Date: 2026-12-01 03:00:00

"""

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f602'
down_revision = 'd2b3c4e5f601'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
