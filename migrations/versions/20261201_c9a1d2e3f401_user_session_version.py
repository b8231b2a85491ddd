"""issue 9 (accounts): user.session_version, login lockout state.

Reserved in the migration chain so the pieces of issue 9 land in a fixed order; it changes
nothing until its owner fills it in (then this docstring says what it does and why).

Revision ID: c9a1d2e3f401
Revises: b7d41e0c9a52
Create Date: 2026-12-01 02:30:00

"""

# revision identifiers, used by Alembic.
revision = 'c9a1d2e3f401'
down_revision = 'b7d41e0c9a52'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
