"""Tell listeners when the audit chain grows: one payload-less NOTIFY per committing transaction.

``GET /api/v1/changes?wait=`` holds a request until something newer than the client's ``seq`` commits. Each
API worker keeps one connection LISTENing on ``hibah_changes`` (app/feed/listener.py); this trigger is what
speaks to it. It fires once per INSERT statement on ``audit_event`` (the chaining trigger of migration 0004
inserts each event with one statement, during COMMIT), and PostgreSQL folds identical notifications of one
transaction into one, so a money POST pays for one ``pg_notify`` whatever number of events it writes. The
notification carries no payload: a listener learns only that the chain moved and reads the new entries itself,
under its own reader's visibility rules. PostgreSQL delivers it after the commit, so the entries are visible
to whoever is told.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE FUNCTION audit_event_notify() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_notify('hibah_changes', '');
    RETURN NULL;
END
$$
"""

NOTIFY_TRIGGER = """
CREATE TRIGGER audit_event_notify AFTER INSERT ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_notify()
"""


def upgrade() -> None:
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_notify ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_notify()")
