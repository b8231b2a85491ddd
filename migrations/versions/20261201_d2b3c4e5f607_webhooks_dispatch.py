"""issue 11 (webhooks): reserved for the webhooks helper.

Nothing yet: the revision holds its place in the chain so the work in flight on several
branches lands without a second head.

Revision ID: d2b3c4e5f607
Revises: d2b3c4e5f606
Create Date: 2026-12-01 05:20:00

"""

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f607'
down_revision = 'd2b3c4e5f606'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
