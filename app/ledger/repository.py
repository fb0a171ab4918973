"""The ledger's SQL, on the transaction's driver connection: the only statements that change an agreement's
running totals, each together with the entry (or the report) it counts.

Lock order, everywhere both are taken: the agreement row, then the report row.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from app.core.idempotency import LockAhead
from app.grants.errors import AgreementNotFound
from app.grants.models import AgreementStatus
from app.grants.rules import Figures
from app.ledger.errors import DisbursementNotFound, Sp2dNumberExists, StsNumberExists
from app.ledger.rules import ReportState, ReportTally, Terms
from app.reports.errors import ReportNotFound
from app.reports.models import ReportKind, ReportStatus

FIGURES = "amount, disbursed, spent_reported, spent_accepted, refunded"
TERMS = f"id, number, region_code, recipient_id, status, signed_on, version, {FIGURES}"
"""The agreement's columns a money write is checked against, in the order of :class:`Terms` (figures last)."""

_LOCK_AGREEMENT = f"SELECT {TERMS} FROM agreement WHERE id = $1 FOR UPDATE"

AGREEMENT_AHEAD = LockAhead("agreement", "agreement_id", TERMS)
"""For the routes whose path names the agreement they pay into or refund from: its lock taken with the
Idempotency-Key's reservation (``core.idempotency``), read back by :func:`lock_agreement`."""


async def lock_agreement(sql: asyncpg.Connection, agreement_id: int, ahead: Sequence[Any] | None = None) -> Terms:
    """The agreement, locked ``FOR UPDATE`` until the transaction ends; ``ahead``: its row as this transaction
    already locked it (``Transaction.ahead("agreement", agreement_id)``), so nothing is sent."""
    row = ahead if ahead is not None else await sql.fetchrow(_LOCK_AGREEMENT, agreement_id)
    if row is None:
        raise AgreementNotFound(agreement_id)
    id_, number, region_code, recipient_id, status, signed_on, version, *figures = row
    return Terms(
        id=id_,
        number=number,
        region_code=region_code,
        recipient_id=recipient_id,
        status=AgreementStatus(status),
        signed_on=signed_on,
        version=version,
        figures=Figures(*figures),
    )


# --- payments ------------------------------------------------------------------------------------

# The entry and the running total in one statement: a payment is the hottest write of the ledger.
_PAY = """
WITH entry AS (
    INSERT INTO disbursement (agreement_id, tranche, amount, paid_on, sp2d_number, note, created_by_key_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id, agreement_id, tranche, amount, paid_on, sp2d_number, note, created_at
), total AS (
    UPDATE agreement SET disbursed = disbursed + $3 WHERE id = $1
)
SELECT * FROM entry
"""


async def pay(  # noqa: PLR0917 - the entry's columns, in order
    sql: asyncpg.Connection,
    agreement_id: int,
    tranche: int,
    amount: Decimal,
    paid_on: date,
    sp2d_number: str,
    note: str | None,
    key_id: int | None,
) -> Any:
    try:
        return await sql.fetchrow(_PAY, agreement_id, tranche, amount, paid_on, sp2d_number, note, key_id)
    except asyncpg.UniqueViolationError as exc:  # the only unique value a client sends here
        raise Sp2dNumberExists(sp2d_number) from exc


_DISBURSEMENT = """
SELECT d.id, d.agreement_id, d.amount, d.paid_on, r.id IS NOT NULL AS reversed
FROM disbursement d LEFT JOIN disbursement_reversal r ON r.disbursement_id = d.id
WHERE d.id = $1
"""


async def disbursement(sql: asyncpg.Connection, disbursement_id: int) -> Any:
    row = await sql.fetchrow(_DISBURSEMENT, disbursement_id)
    if row is None:
        raise DisbursementNotFound(disbursement_id)
    return row


_REVERSE = """
WITH entry AS (
    INSERT INTO disbursement_reversal (disbursement_id, agreement_id, amount, reversed_on, reason, created_by_key_id)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING *
), total AS (
    UPDATE agreement SET disbursed = disbursed - $3 WHERE id = $2
)
SELECT * FROM entry
"""


async def reverse(  # noqa: PLR0917 - the entry's columns, in order
    sql: asyncpg.Connection,
    disbursement_id: int,
    agreement_id: int,
    amount: Decimal,
    reversed_on: date,
    reason: str,
    key_id: int | None,
) -> Any:
    return await sql.fetchrow(_REVERSE, disbursement_id, agreement_id, amount, reversed_on, reason, key_id)


# --- refunds -------------------------------------------------------------------------------------

_REFUND = """
WITH entry AS (
    INSERT INTO refund (agreement_id, amount, returned_on, sts_number, note, created_by_key_id)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING *
), total AS (
    UPDATE agreement SET refunded = refunded + $2 WHERE id = $1
)
SELECT * FROM entry
"""


async def refund(  # noqa: PLR0917 - the entry's columns, in order
    sql: asyncpg.Connection,
    agreement_id: int,
    amount: Decimal,
    returned_on: date,
    sts_number: str,
    note: str | None,
    key_id: int | None,
) -> Any:
    try:
        return await sql.fetchrow(_REFUND, agreement_id, amount, returned_on, sts_number, note, key_id)
    except asyncpg.UniqueViolationError as exc:
        raise StsNumberExists(sts_number) from exc


# --- reports under review ------------------------------------------------------------------------

_REPORT_AGREEMENT = "SELECT agreement_id FROM usage_report WHERE id = $1"
_LOCK_REPORT = "SELECT id, agreement_id, kind, status, total, version FROM usage_report WHERE id = $1 FOR UPDATE"


async def lock_for_review(sql: asyncpg.Connection, report_id: int) -> tuple[Terms, ReportState]:
    """The report's agreement and the report, both locked (in that order)."""
    agreement_id: int | None = await sql.fetchval(_REPORT_AGREEMENT, report_id)
    if agreement_id is None:
        raise ReportNotFound(report_id)
    terms = await lock_agreement(sql, agreement_id)
    row = await sql.fetchrow(_LOCK_REPORT, report_id)
    assert row is not None  # reports are never deleted
    report = ReportState(**{**row, "kind": ReportKind(row["kind"]), "status": ReportStatus(row["status"])})
    return terms, report


_MOVE_SPENDING = """
UPDATE agreement SET spent_reported = spent_reported + $2, spent_accepted = spent_accepted + $3 WHERE id = $1
"""


async def move_spending(sql: asyncpg.Connection, agreement_id: int, reported: Decimal, accepted: Decimal) -> None:
    await sql.execute(_MOVE_SPENDING, agreement_id, reported, accepted)


_SUBMITTED = """
UPDATE usage_report SET status = 'submitted', submitted_at = $2, version = version + 1, updated_at = now()
WHERE id = $1 RETURNING *
"""
_REVIEWED = """
UPDATE usage_report SET status = $2, review_note = $3, reviewed_at = $4, reviewed_by_key_id = $5,
                        version = version + 1, updated_at = now()
WHERE id = $1 RETURNING *
"""
_REOPENED = (
    "UPDATE usage_report SET status = 'draft', version = version + 1, updated_at = now() WHERE id = $1 RETURNING *"
)


async def mark_submitted(sql: asyncpg.Connection, report_id: int, at: datetime) -> Any:
    return await sql.fetchrow(_SUBMITTED, report_id, at)


async def mark_reviewed(  # noqa: PLR0917 - the review's columns, in order
    sql: asyncpg.Connection, report_id: int, status: ReportStatus, note: str | None, at: datetime, key_id: int | None
) -> Any:
    return await sql.fetchrow(_REVIEWED, report_id, status.value, note, at, key_id)


async def mark_reopened(sql: asyncpg.Connection, report_id: int) -> Any:
    return await sql.fetchrow(_REOPENED, report_id)


# --- closing -------------------------------------------------------------------------------------

_REPORT_TALLY = """
SELECT count(*) FILTER (WHERE status = 'submitted') AS under_review,
       count(*) FILTER (WHERE kind = 'final' AND status = 'accepted') > 0 AS final_accepted,
       count(*) > 0 AS any_report,
       EXISTS (SELECT 1 FROM disbursement WHERE agreement_id = $1) AS ever_disbursed
FROM usage_report WHERE agreement_id = $1
"""
_CLOSE = """
UPDATE agreement SET status = 'closed', closed_at = now(), updated_at = now(), version = version + 1 WHERE id = $1
"""


async def report_tally(sql: asyncpg.Connection, agreement_id: int) -> ReportTally:
    row = await sql.fetchrow(_REPORT_TALLY, agreement_id)
    assert row is not None
    return ReportTally(**row)


async def close(sql: asyncpg.Connection, agreement_id: int) -> None:
    await sql.execute(_CLOSE, agreement_id)


# --- reconciliation: every running total recomputed from what it counts --------------------------

_AGREEMENT_MISMATCH = """
WITH paid AS (SELECT agreement_id, sum(amount) AS amount FROM disbursement GROUP BY agreement_id),
reversed AS (SELECT agreement_id, sum(amount) AS amount FROM disbursement_reversal GROUP BY agreement_id),
returned AS (SELECT agreement_id, sum(amount) AS amount FROM refund GROUP BY agreement_id),
reported AS (
    SELECT agreement_id,
           sum(total) FILTER (WHERE status IN ('submitted', 'accepted')) AS reported,
           sum(total) FILTER (WHERE status = 'accepted') AS accepted
    FROM usage_report GROUP BY agreement_id
)
SELECT a.id, v.field, v.stored, v.recomputed
FROM agreement a
LEFT JOIN paid p ON p.agreement_id = a.id
LEFT JOIN reversed r ON r.agreement_id = a.id
LEFT JOIN returned f ON f.agreement_id = a.id
LEFT JOIN reported s ON s.agreement_id = a.id
CROSS JOIN LATERAL (VALUES
    (1, 'disbursed', a.disbursed, coalesce(p.amount, 0) - coalesce(r.amount, 0)),
    (2, 'spent_reported', a.spent_reported, coalesce(s.reported, 0)),
    (3, 'spent_accepted', a.spent_accepted, coalesce(s.accepted, 0)),
    (4, 'refunded', a.refunded, coalesce(f.amount, 0))
) AS v(position, field, stored, recomputed)
WHERE v.stored <> v.recomputed
ORDER BY a.id, v.position
LIMIT 1
"""
_REPORT_MISMATCH = """
WITH items AS (SELECT report_id, sum(amount) AS total, count(*) AS lines FROM usage_item GROUP BY report_id),
spend AS (SELECT report_id, sum(amount) AS total, sum(items) AS lines FROM usage_report_spend GROUP BY report_id)
SELECT r.id, v.field, v.stored, v.recomputed
FROM usage_report r
LEFT JOIN items i ON i.report_id = r.id
LEFT JOIN spend s ON s.report_id = r.id
CROSS JOIN LATERAL (VALUES
    (1, 'total', r.total::numeric, coalesce(i.total, 0)),
    (2, 'item_count', r.item_count::numeric, coalesce(i.lines, 0)::numeric),
    -- the breakdown fixed at submission: exactly the items of a submitted or accepted report, nothing otherwise
    (3, 'spend_breakdown', coalesce(s.total, 0),
        CASE WHEN r.status IN ('submitted', 'accepted') THEN coalesce(i.total, 0) ELSE 0 END)
) AS v(position, field, stored, recomputed)
WHERE v.stored <> v.recomputed
ORDER BY r.id, v.position
LIMIT 1
"""
_COUNTS = "SELECT (SELECT count(*) FROM agreement) AS agreements, (SELECT count(*) FROM usage_report) AS reports"


async def first_mismatch(sql: asyncpg.Connection) -> tuple[int, int, dict[str, Any] | None]:
    """(agreements checked, reports checked, the first total that differs from its entries or None)."""
    counts = await sql.fetchrow(_COUNTS)
    assert counts is not None
    for entity, query in (("agreement", _AGREEMENT_MISMATCH), ("usage_report", _REPORT_MISMATCH)):
        row = await sql.fetchrow(query)
        if row is not None:
            return counts["agreements"], counts["reports"], {"entity": entity, **row}
    return counts["agreements"], counts["reports"], None
