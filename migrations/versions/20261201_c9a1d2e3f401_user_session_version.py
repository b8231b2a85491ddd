"""issue 9 (accounts): user.session_version and the login_failure table.

- `user.session_version` (starts at 1): part of the id Flask-Login keeps in the session and
  remember cookies; bumping it ends every session of the user (logout, password reset, role
  change, disabling). Existing rows get 1, so sessions signed before the upgrade (whose id
  carries no version) are refused once and their owners log in again.
- `login_failure` (email, client, failed_at): failed logins of the last rate window, read by
  portal.auth.lockout so a stranger failing someone's password locks out only themselves.

Revision ID: c9a1d2e3f401
Revises: b7d41e0c9a52
Create Date: 2026-12-01 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9a1d2e3f401'
down_revision = 'b7d41e0c9a52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'login_failure',
        sa.Column('failure_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('failure_id'),
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_email_failed_at', ['email', 'failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_email_failed_at')
    op.drop_table('login_failure')
    # SQLite drops a plain column in place: recreating `user` would fail on the tables that
    # reference it (foreign keys are enforced) once there are rows.
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('session_version')
