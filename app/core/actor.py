"""Who makes a request: the roles of DESIGN §1 and the actor every write is attributed to."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    finance = "finance"
    recipient = "recipient"
    auditor = "auditor"


@dataclass(frozen=True)
class Actor:
    """A key with its role and scope, or the public.

    A recipient key speaks for one recipient; a finance key may be bound to one Pemda's region.
    """

    key_id: int | None = None
    role: Role | None = None
    recipient_id: int | None = None
    region_code: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role is None


PUBLIC = Actor()
OPERATOR = Actor(key_id=None, role=Role.admin)
"""The CLI and the demo loader act for the operator of the machine, who already holds the database."""
