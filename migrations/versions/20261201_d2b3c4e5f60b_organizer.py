"""issue 12 (organizer): cancel, capacity, approval, registration questions, completion share.

- `webinar.cancelled_at`: stamped by Core's `cancel` (scheduled -> archived), so pages and
  rooms say "cancelled" rather than "ended".
- `webinar.capacity` (seats per start time, NULL: no limit), `webinar.requires_approval`
  (registrants wait for the organizer), `webinar.completion_percent` (the live completion
  rule's share of the live time, default 50).
- `registration.state` (confirmed | pending | declined | waitlisted) and
  `registration.answers` (the registration questions' answers, JSON).
- `registration_question`: the organizer's extra fields of a webinar's registration form.

SQLite adds the columns in place (ALTER TABLE ... ADD COLUMN with its CHECK): recreating
`webinar` or `registration` would fail on the tables that reference them once there are rows.

Revision ID: d2b3c4e5f60b
Revises: d2b3c4e5f60a
Create Date: 2026-12-01 05:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f60b'
down_revision = 'd2b3c4e5f60a'
branch_labels = None
depends_on = None

STATE_CHECK = "state IN ('confirmed', 'pending', 'declined', 'waitlisted')"
CHECKS = (
    ('webinar', 'capacity', 'capacity IS NULL OR capacity > 0'),
    ('webinar', 'completion_percent', 'completion_percent BETWEEN 1 AND 100'),
    ('registration', 'state', STATE_CHECK),
)


def _columns():
    return {
        'webinar': [
            sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('capacity', sa.Integer(), nullable=True),
            sa.Column('requires_approval', sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column('completion_percent', sa.Integer(), server_default='50', nullable=False),
        ],
        'registration': [
            sa.Column('state', sa.String(length=16), server_default='confirmed', nullable=False),
            sa.Column('answers', sa.JSON(), nullable=True),
        ],
    }


def upgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    checked = {(table, name): condition for table, name, condition in CHECKS}
    for table, columns in _columns().items():
        for column in columns:
            condition = checked.get((table, column.name))
            if sqlite and condition:
                # SQLite adds a column with its CHECK in place (ADD CONSTRAINT does not exist).
                column_sql = sa.schema.CreateColumn(column).compile(dialect=op.get_bind().dialect)
                op.execute(f'ALTER TABLE {table} ADD COLUMN {column_sql} '
                           f'CONSTRAINT ck_{table}_{column.name} CHECK ({condition})')
            else:
                op.add_column(table, column)
    if not sqlite:
        for table, name, condition in CHECKS:
            op.create_check_constraint(name, table, condition)
    op.create_table(
        'registration_question',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('webinar_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('text', 'choice', 'checkbox')",
                           name=op.f('ck_registration_question_kind')),
        sa.ForeignKeyConstraint(['webinar_id'], ['webinar.webinar_id'],
                                name=op.f('fk_registration_question_webinar_id_webinar'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', name=op.f('pk_registration_question')),
    )
    op.create_index('ix_registration_question_webinar_position', 'registration_question',
                    ['webinar_id', 'position'], unique=False)


def downgrade():
    op.drop_index('ix_registration_question_webinar_position', table_name='registration_question')
    op.drop_table('registration_question')
    if op.get_bind().dialect.name != 'sqlite':
        for table, name, _ in CHECKS:
            op.drop_constraint(op.f(f'ck_{table}_{name}'), table, type_='check')
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, columns in _columns().items():
        # On SQLite a column named by a CHECK cannot be dropped in place, and a later batch
        # migration may have turned the inline CHECKs into table constraints: rebuild the table
        # without them (migrations/env.py turns foreign keys off while it runs, so no cascade).
        checked = [name for t, name, _ in CHECKS if t == table]
        existing = {c['name'] for c in sa.inspect(op.get_bind()).get_check_constraints(table)} if sqlite else set()
        with op.batch_alter_table(table, schema=None, recreate='always' if sqlite and checked else 'auto') as batch_op:
            for name in checked:
                if f'ck_{table}_{name}' in existing:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
            for column in reversed(columns):
                batch_op.drop_column(column.name)
