"""issue 10 (mail): no join token kept in the clear in the mail ledger.

Rows written before portal.mail.sealed kept `context.join_token` in plaintext and the
rendered message (`raw`) with the working link. This data migration seals the token of every
row (`context.join_token_sealed`, the key derived from the app's secret key, so it runs inside
`flask db upgrade`; without an app the plaintext token is dropped and those mails link to
"Email me my link") and hides the token in `raw` (portal.mail.compose.HIDDEN_TOKEN).
Downgrade keeps the sealed values: a plaintext token is not put back on purpose.

Revision ID: d2b3c4e5f606
Revises: d2b3c4e5f605
Create Date: 2026-12-01 05:20:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b3c4e5f606'
down_revision = 'd2b3c4e5f605'
branch_labels = None
depends_on = None

HIDDEN_TOKEN = "hidden-join-token"  # portal.mail.compose.HIDDEN_TOKEN at the time of writing
TOKEN_KEY = "join_token_sealed"


def _sealer():
    """portal.mail.sealed.seal under the running app's key, or None without an app."""
    try:
        from flask import current_app

        current_app._get_current_object()
    except RuntimeError:
        return None
    from portal.mail import sealed

    return sealed.seal


def upgrade():
    bind = op.get_bind()
    mail = sa.table("mail_message", sa.column("message_id", sa.Integer), sa.column("context", sa.JSON),
                    sa.column("raw", sa.Text))
    seal = _sealer()
    rows = bind.execute(sa.select(mail.c.message_id, mail.c.context, mail.c.raw)).all()
    for message_id, context, raw in rows:
        if isinstance(context, str):
            context = json.loads(context)
        token = (context or {}).get("join_token")
        if not token:
            continue
        context = {k: v for k, v in context.items() if k != "join_token"}
        if seal is not None:
            context[TOKEN_KEY] = seal(str(token))
        values = {"context": context}
        if raw and str(token) in raw:
            values["raw"] = raw.replace(str(token), HIDDEN_TOKEN)
        bind.execute(mail.update().where(mail.c.message_id == message_id).values(**values))


def downgrade():
    pass  # sealed tokens stay sealed: the plaintext is not restored on purpose
