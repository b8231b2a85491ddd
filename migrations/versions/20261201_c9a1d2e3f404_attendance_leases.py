"""issue 9 (attendance): worker leases for open attendance rows, and HTTP presence.

- `attendance_lease`: one row per worker process, renewed every third of the lease. A
  sweeper in every process closes the open rows of a worker whose lease expired (reason
  `timeout`) or that stopped or died (`server_restart`), so rows left open by a killed
  worker, a database blip or a deploy close within a bounded time.
- `attendance.worker_id`: the worker whose socket a row belongs to (NULL: nobody holds it).
- `attendance.seen_at`: the last poll of a page living on the polling fallback (HTTP
  presence); the sweeper closes such a row when its polls stop.
- Partial indexes on both for the sweeper's probes (open rows only).

Revision ID: c9a1d2e3f404
Revises: c9a1d2e3f403
Create Date: 2026-12-01 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9a1d2e3f404'
down_revision = 'c9a1d2e3f403'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attendance_lease',
        sa.Column('worker_id', sa.String(length=64), nullable=False),
        sa.Column('hostname', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_attendance_lease')),
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_attendance_open_worker', ['worker_id'], unique=False,
                              sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))
        batch_op.create_index('ix_attendance_open_seen', ['seen_at'], unique=False,
                              sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))


def downgrade():
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_open_seen')
        batch_op.drop_index('ix_attendance_open_worker')
        batch_op.drop_column('seen_at')
        batch_op.drop_column('worker_id')
    op.drop_table('attendance_lease')
