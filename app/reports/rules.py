"""The rules of usage items, written once, and who may see or write a report.

Every item rule is one SQL expression below, over a typed row ``t`` (``spent_on date, category text,
stage text, description text, amount numeric, payee text, document_number text, evidence text``) and
the report's terms (``$1`` period start, ``$2`` period end, ``$3`` the NPHD's signing day). Each gives the
message a bad cell earns, or NULL when the cell is good. The JSON batches, the PATCH of one item and the
streamed import all check their rows with these same expressions; the request schemas only add what
JSON itself needs (types, and the same limits, so a bad value is refused before it reaches SQL).
"""

from datetime import timedelta

from app.core.actor import Actor, Role
from app.core.money import MONEY_MAX, MONEY_PATTERN, NOT_AN_AMOUNT, NOT_POSITIVE, TOO_LARGE
from app.core.types import EARLIEST_DATE, LATEST_DATE, NOT_A_DATE
from app.core.visibility import may_see
from app.reports.errors import NotYourReport
from app.reports.models import COUNTED_STATUSES, ReportStatus

DESCRIPTION_MAX = 500
PAYEE_MAX = 200
DOCUMENT_MAX = 100
EVIDENCE_DIGITS = 64
# Hex digits of either case (the digest is stored as its bytes, so case carries nothing), counted by length():
# PostgreSQL's regex engine expands a bound such as {64} into as many states, built again on every call
# (~10 µs a cell against <1 µs for this pattern and a length).
EVIDENCE_PATTERN = "^[0-9a-fA-F]+$"
COLUMNS = ("spent_on", "category", "stage", "description", "amount", "payee", "document_number", "evidence_sha256")
REQUIRED = frozenset(("spent_on", "category", "stage", "description", "amount"))
MAX_REPORTED_ROWS = 100
"""A rejected batch or file names the cells of its first 100 bad rows."""

CELL_CHECKS: dict[str, str] = {
    "spent_on": f"""CASE
        WHEN t.spent_on IS NULL THEN '{NOT_A_DATE}'
        WHEN t.spent_on < $1::date OR t.spent_on > $2::date
            THEN 'outside the report period ' || $1::date || '..' || $2::date
        WHEN t.spent_on < $3::date THEN 'before the NPHD was signed (' || $3::date || ')'
    END""",
    "amount": f"""CASE
        WHEN t.amount IS NULL THEN '{NOT_AN_AMOUNT}'
        WHEN t.amount <= 0 THEN '{NOT_POSITIVE}'
        WHEN t.amount > {MONEY_MAX} THEN '{TOO_LARGE}'
    END""",
    "category": """CASE
        WHEN t.category IS NULL THEN 'required'
        WHEN t.category NOT IN (SELECT code FROM category_code)
            THEN 'unknown category code ' || quote_literal(t.category) || ' (see /codes/categories)'
    END""",
    "stage": """CASE
        WHEN t.stage IS NULL THEN 'required'
        WHEN t.stage NOT IN (SELECT code FROM stage_code)
            THEN 'unknown stage code ' || quote_literal(t.stage) || ' (see /codes/stages)'
    END""",
    "description": f"""CASE
        WHEN coalesce(t.description, '') = '' THEN 'required'
        WHEN length(t.description) > {DESCRIPTION_MAX} THEN 'longer than {DESCRIPTION_MAX} characters'
    END""",
    "payee": f"CASE WHEN length(t.payee) > {PAYEE_MAX} THEN 'longer than {PAYEE_MAX} characters' END",
    "document_number": f"""CASE
        WHEN length(t.document_number) > {DOCUMENT_MAX} THEN 'longer than {DOCUMENT_MAX} characters'
    END""",
    "evidence_sha256": f"""CASE
        WHEN coalesce(t.evidence, '') <> ''
             AND (length(t.evidence) <> {EVIDENCE_DIGITS} OR t.evidence !~ '{EVIDENCE_PATTERN}')
            THEN 'not {EVIDENCE_DIGITS} hex digits'
    END""",
}
ALL_CELLS_GOOD = " AND ".join(f"({check}) IS NULL" for check in CELL_CHECKS.values())

# Text to typed values, for rows that arrive as text (the import's staging table). A bad cell becomes NULL
# (which its check then names) instead of an error: the amount is cast only once MONEY_PATTERN in the CASE
# before it has vouched for it (PostgreSQL evaluates a CASE's branches in order), and a date only once it is
# found in CALENDAR. Dates and amounts are taken exactly as the definitions of app/core (the JSON bodies' own)
# say, untrimmed: a cell " 1" or "2024-03-01 " is refused here as it is in JSON. Text cells are trimmed, as JSON
# strings are.
#
# CALENDAR is every day from EARLIEST_DATE to LATEST_DATE written YYYY-MM-DD: exactly the texts that match
# DATE_PATTERN and name a real day in that range (what app.core.types.parse_date accepts), found by one hashed
# lookup instead of the pattern, three casts and the month's length per cell (~3x less CPU on a large file).
CALENDAR = f"""(SELECT to_char(day, 'YYYY-MM-DD') FROM generate_series(
    '{EARLIEST_DATE.isoformat()}'::date, '{LATEST_DATE.isoformat()}'::date, interval '1 day') AS day)"""
CALENDAR_TEXTS = frozenset(
    (EARLIEST_DATE + timedelta(days=n)).isoformat() for n in range((LATEST_DATE - EARLIEST_DATE).days + 1)
)
"""CALENDAR's texts in Python, from the same two ends: the import's direct path (app/reports/importer.py) passes a
date cell to COPY only if it is one of these, so COPY reads the same day the staging path would have typed."""
TYPED_FROM_TEXT = f"""
       btrim(s.category) AS category, btrim(s.stage) AS stage,
       btrim(s.description) AS description, btrim(s.payee) AS payee,
       btrim(s.document_number) AS document_number, btrim(s.evidence_sha256) AS evidence,
       CASE WHEN s.spent_on IN {CALENDAR} THEN s.spent_on::date END AS spent_on,
       CASE WHEN s.amount ~ '{MONEY_PATTERN}' THEN s.amount::numeric END AS amount
"""


def errors_query(rows: str) -> str:
    """The bad cells of the first bad rows of ``rows`` (a relation with ``row_number`` and the typed columns),
    and how many rows are bad: ``(row_number, column_name, message, bad_rows)``."""
    checks = ", ".join(f"('{column}', {check})" for column, check in CELL_CHECKS.items())
    return f"""
WITH typed AS MATERIALIZED ({rows}),  -- fenced: each LATERAL reference would re-run the casts
cells AS (
    SELECT t.row_number, x.column_name, x.message
    FROM typed t CROSS JOIN LATERAL (VALUES {checks}) AS x(column_name, message)
    WHERE x.message IS NOT NULL
),
first_rows AS (SELECT DISTINCT row_number FROM cells ORDER BY row_number LIMIT {MAX_REPORTED_ROWS})
SELECT c.row_number, c.column_name, c.message, (SELECT count(DISTINCT row_number) FROM cells) AS bad_rows
FROM cells c JOIN first_rows f USING (row_number)
ORDER BY c.row_number, c.column_name
"""


# --- who may do what -----------------------------------------------------------------------------


def ensure_own_recipient(actor: Actor, recipient_id: int) -> None:
    if actor.role == Role.recipient and actor.recipient_id != recipient_id:
        raise NotYourReport()


def can_see_drafts(actor: Actor, recipient_id: int) -> bool:
    """Drafts (and returned reports) are the recipient's own work: the public and other recipients see
    a report once it is submitted. Who else sees them is the visibility policy's one rule."""
    return may_see(actor, recipient_id)


def visible(actor: Actor, status: ReportStatus, recipient_id: int) -> bool:
    return status in COUNTED_STATUSES or can_see_drafts(actor, recipient_id)
