"""Append audit events in one round trip: the chain's lock, its head and the hashes in one function call.

The hash stays ``sha256(prev_hash ‖ canonical JSON of the event)``, byte for byte as before: the caller
sends the canonical JSON up to the ``seq`` member (the last key in sorted order), and the function, which
alone knows ``seq`` once it holds the lock, completes it. Each statement of a VOLATILE PL/pgSQL function
takes a new snapshot, so the head is read after the lock is granted and sees every earlier commit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_APPEND_FUNCTION = """
CREATE FUNCTION audit_append(p_events jsonb, p_request_id text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_seq bigint;
    v_hash text;
    v_event jsonb;
    v_digest text;
BEGIN
    PERFORM pg_advisory_xact_lock(1212760641);  -- 0x48494241, "HIBA": one chain, one lock
    SELECT seq, hash INTO v_seq, v_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_hash := repeat('0', 64);
    END IF;
    FOR v_event IN SELECT value FROM jsonb_array_elements(p_events) WITH ORDINALITY ORDER BY ordinality LOOP
        v_seq := v_seq + 1;
        v_digest := encode(
            sha256(convert_to(v_hash || (v_event->>'prefix') || v_seq::text || '}', 'UTF8')), 'hex'
        );
        INSERT INTO audit_event (
            seq, at, actor_key_id, actor_role, action, entity, entity_id, request_id, payload, prev_hash, hash
        ) VALUES (
            v_seq, (v_event->>'at')::timestamptz, (v_event->>'actor_key_id')::bigint, v_event->>'actor_role',
            v_event->>'action', v_event->>'entity', v_event->>'entity_id', p_request_id, v_event->'payload',
            v_hash, v_digest
        );
        v_hash := v_digest;
    END LOOP;
    RETURN v_seq;
END
$$
"""


def upgrade() -> None:
    op.execute(AUDIT_APPEND_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS audit_append(jsonb, text)")
