"""The demo: Kota Probolinggo in Pilkada 2024, with its real figures, loaded through the services.

The demo is a list of steps; each runs once per database (a ``demo.step`` audit event marks it), so a
restart loads nothing twice and a later step (the ledger, the reports) lands on an older demo database.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.actor import OPERATOR
from app.core.audit import AuditEvent
from app.reference import service as reference
from app.reference.models import ElectionKind, RecipientKind
from app.reference.schemas import ElectionCreate, RecipientCreate, RegionCreate

PROVINCE = ("35", "Jawa Timur")
CITY = ("35.74", "Kota Probolinggo")
VOTING_DAY = date(2024, 11, 27)
RECIPIENTS = [
    ("KPU Kota Probolinggo", RecipientKind.kpu),
    ("Bawaslu Kota Probolinggo", RecipientKind.bawaslu),
    ("Polres Probolinggo Kota", RecipientKind.polri),
    ("Kodim 0820/Probolinggo", RecipientKind.tni),
]


@dataclass(frozen=True)
class DemoStep:
    name: str
    load: Callable[[AsyncSession], Awaitable[None]]


async def load_reference(session: AsyncSession) -> None:
    for code, name in (PROVINCE, CITY):
        await reference.create_region(session, OPERATOR, RegionCreate(code=code, name=name))
    await reference.create_election(
        session,
        OPERATOR,
        ElectionCreate(
            name="Pemilihan Wali Kota dan Wakil Wali Kota Probolinggo 2024",
            kind=ElectionKind.mayor,
            region_code=CITY[0],
            voting_day=VOTING_DAY,
        ),
    )
    for name, kind in RECIPIENTS:
        await reference.create_recipient(
            session, OPERATOR, RecipientCreate(name=name, kind=kind, region_code=CITY[0], bank_name="Bank Jatim")
        )


STEPS: list[DemoStep] = [DemoStep("reference-2024", load_reference)]


async def _done_steps(session: AsyncSession) -> set[str]:
    statement = sa.select(col(AuditEvent.entity_id)).where(col(AuditEvent.action) == "demo.step")
    return set((await session.execute(statement)).scalars())


async def load_demo(session: AsyncSession) -> list[str]:
    """Run the steps this database has not had yet; return their names."""
    # One loader at a time, even if two `serve --demo` start together on one database.
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(0x44454D4F)))
    done = await _done_steps(session)
    loaded = []
    for step in STEPS:
        if step.name in done:
            continue
        await step.load(session)
        audit.record(session, OPERATOR, action="demo.step", entity="demo", entity_id=step.name, payload={})
        loaded.append(step.name)
    return loaded
