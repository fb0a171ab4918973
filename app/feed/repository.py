"""The feed's SQL: one statement on the read pool, so no connection is held between reads."""

from typing import Any

from app.core.reads import Reader

# The owner (a recipient) of an event's private data, for a recipient key's view: a recipient's own
# record, or the recipient of the agreement a usage report, or an item's report, is under. A deleted item's
# report is named by its delete event's payload.
_ID = "CASE WHEN {0} ~ '^[0-9]{{1,18}}$' THEN ({0})::bigint END"
"""A text id as a bigint (NULL if it is none), compared so the primary key's index serves the lookup."""
_OWNER = """
CASE e.entity
    WHEN 'recipient' THEN (SELECT r.id FROM recipient r WHERE r.id = {entity_id})
    WHEN 'usage_report' THEN (
        SELECT a.recipient_id FROM usage_report u JOIN agreement a ON a.id = u.agreement_id
        WHERE u.id = {entity_id})
    WHEN 'usage_item' THEN (
        SELECT a.recipient_id FROM usage_report u JOIN agreement a ON a.id = u.agreement_id
        WHERE u.id = coalesce(
            (SELECT i.report_id FROM usage_item i WHERE i.id = {entity_id}), {report_id}))
END""".format(entity_id=_ID.format("e.entity_id"), report_id=_ID.format("e.payload->>'report_id'"))

_CHANGES = """
SELECT e.seq, e.at, e.action, e.entity, e.entity_id, e.payload::text AS payload, {owner} AS owner
FROM audit_event e
WHERE e.seq > $1
ORDER BY e.seq
LIMIT $2
"""
CHANGES = _CHANGES.format(owner="NULL::bigint")
CHANGES_WITH_OWNER = _CHANGES.format(owner=_OWNER)


async def changes_after(reader: Reader, after: int, limit: int, *, with_owner: bool) -> list[Any]:
    """Up to ``limit`` events after ``after``, in chain order; the owner column only when the reader needs it."""
    return await reader.fetch(CHANGES_WITH_OWNER if with_owner else CHANGES, after, limit)
