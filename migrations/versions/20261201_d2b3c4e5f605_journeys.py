"""issue 12 (journeys): what the speaker and organizer journeys need.

Reserved in the migration chain so parallel pieces land in a fixed order; it changes nothing
until its owner fills it in (then this docstring says what it does and why).

Revision ID: d2b3c4e5f605
Revises: d2b3c4e5f604
Create Date: 2026-12-01 03:00:00

"""

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f605'
down_revision = 'd2b3c4e5f604'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
