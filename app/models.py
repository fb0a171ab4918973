"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.audit.models import AuditCheckpoint, AuditSigningKey
from app.core.audit import AuditEvent
from app.core.auth import ApiKey
from app.core.idempotency import IdempotencyRecord
from app.grants.models import Agreement, Amendment, BudgetLine
from app.ledger.models import Disbursement, DisbursementReversal, Refund
from app.reference.models import CategoryCode, Election, Recipient, Region, StageCode
from app.reports.models import UsageItem, UsageReport, UsageReportSpend
from app.support.models import Support

__all__ = [
    "Agreement",
    "Amendment",
    "ApiKey",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSigningKey",
    "BudgetLine",
    "CategoryCode",
    "Disbursement",
    "DisbursementReversal",
    "Election",
    "IdempotencyRecord",
    "Recipient",
    "Refund",
    "Region",
    "StageCode",
    "Support",
    "UsageItem",
    "UsageReport",
    "UsageReportSpend",
]
