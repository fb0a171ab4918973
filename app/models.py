"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.core.audit import AuditEvent
from app.core.auth import ApiKey
from app.core.idempotency import IdempotencyRecord
from app.reference.models import CategoryCode, Election, Recipient, Region, StageCode

__all__ = ["ApiKey", "AuditEvent", "CategoryCode", "Election", "IdempotencyRecord", "Recipient", "Region", "StageCode"]
