"""Chain audit events at commit time, inside PostgreSQL, so the chain's lock never waits on the application.

A writing transaction inserts its events into ``audit_pending`` (``audit_append``, one statement, no lock).
A deferred constraint trigger on that table fires during COMMIT: it takes the chain's advisory lock, reads
the head, completes each event's hash, inserts the event into ``audit_event`` and drops the pending row.
The lock is then held only for that trigger and the commit's WAL flush, never across a round trip to an
application whose event loop may be busy with other requests (which, held from an append statement to a
separate COMMIT, queued 30+ writers behind it under load).

The hash stays ``sha256(prev_hash ‖ canonical JSON of the event)``, byte for byte as before: the caller
sends the canonical JSON up to the ``seq`` member (the last key in sorted order) and the trigger, which
alone knows ``seq`` once it holds the lock, completes it. Each statement of a VOLATILE PL/pgSQL function
takes a new snapshot under READ COMMITTED (the application's level), so the head is read after the lock
is granted and sees every earlier commit. ``audit_pending`` is UNLOGGED: its rows never outlive their
transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_FUNCTION = """
CREATE FUNCTION audit_append(p_events jsonb, p_request_id text) RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO audit_pending (at, actor_key_id, actor_role, action, entity, entity_id, request_id, payload, prefix)
    SELECT (e->>'at')::timestamptz, (e->>'actor_key_id')::bigint, e->>'actor_role', e->>'action', e->>'entity',
           e->>'entity_id', p_request_id, e->'payload', e->>'prefix'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, n)
    ORDER BY n
$$
"""

CHAIN_FUNCTION = """
CREATE FUNCTION audit_chain_pending() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_seq bigint;
    v_hash text;
    v_digest text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- Under a transaction-wide snapshot the head read below would miss events committed meanwhile.
        RAISE EXCEPTION 'audit events are chained only under READ COMMITTED, not %',
            current_setting('transaction_isolation') USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM pg_advisory_xact_lock(1212760641);  -- 0x48494241, "HIBA": one chain, one lock
    SELECT seq, hash INTO v_seq, v_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_hash := repeat('0', 64);
    END IF;
    v_seq := v_seq + 1;
    v_digest := encode(sha256(convert_to(v_hash || NEW.prefix || v_seq::text || '}', 'UTF8')), 'hex');
    INSERT INTO audit_event (
        seq, at, actor_key_id, actor_role, action, entity, entity_id, request_id, payload, prev_hash, hash
    ) VALUES (
        v_seq, NEW.at, NEW.actor_key_id, NEW.actor_role, NEW.action, NEW.entity, NEW.entity_id, NEW.request_id,
        NEW.payload, v_hash, v_digest
    );
    DELETE FROM audit_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""

CHAIN_TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_pending_chain AFTER INSERT ON audit_pending
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_pending()
"""


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_key_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=128), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prefix', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending')),
    prefixes=['UNLOGGED'],
    )
    op.execute(APPEND_FUNCTION)
    op.execute(CHAIN_FUNCTION)
    op.execute(CHAIN_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_pending_chain ON audit_pending")
    op.execute("DROP FUNCTION IF EXISTS audit_chain_pending()")
    op.execute("DROP FUNCTION IF EXISTS audit_append(jsonb, text)")
    op.drop_table('audit_pending')
