"""A generated national dataset at Pilkada 2024 scale, for benchmarks and load tests.

545 regions (37 provinces, 415 regencies, 93 cities), one election each, four grant recipients each
(about 2,200 agreements), two tranches paid, and a final usage report per agreement whose items add
up to the requested total (3,000,000 by default), streamed through the same COPY importer as the API.
Everything goes through the services, one transaction per region, so the audit chain and every rule
hold for the generated data too. Figures are random (seeded), not real.
"""

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.actor import OPERATOR, Actor, Role
from app.core.db import Transaction, transaction
from app.grants import service as grants
from app.grants.models import Scheme
from app.grants.schemas import AgreementCreate, AgreementOut
from app.ledger import service as ledger
from app.ledger.schemas import DisbursementCreate, RefundCreate
from app.reference import service as reference
from app.reference.models import ElectionKind, RecipientKind, RegionLevel
from app.reference.schemas import ElectionCreate, RecipientCreate, RegionCreate
from app.reports import service as reports
from app.reports.importer import ImportFormat, import_items
from app.reports.models import ReportKind
from app.reports.schemas import ReportCreate

# The 38 provinces' Kemendagri codes less DIY (34), which elects no governor: the 37 of Pilkada 2024.
PROVINCES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "21",
    "31",
    "32",
    "33",
    "35",
    "36",
    "51",
    "52",
    "53",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "72",
    "73",
    "74",
    "75",
    "76",
    "81",
    "82",
    "91",
    "92",
    "93",
    "94",
    "95",
    "96",
]
REGENCIES, CITIES = 415, 93
VOTING_DAY = date(2024, 11, 27)
WINNER_PROPOSED_ON = date(2025, 2, 7)
SUBMITTED_AT = datetime(2025, 4, 1, tzinfo=UTC)
SHARE = {
    RecipientKind.kpu: Decimal("1.00"),
    RecipientKind.bawaslu: Decimal("0.25"),
    RecipientKind.polri: Decimal("0.16"),
    RecipientKind.tni: Decimal("0.06"),
}
CATEGORIES = (
    ("pemungutan_suara", "honorarium_adhoc"),
    ("pembentukan_badan_adhoc", "honorarium_adhoc"),
    ("logistik", "logistik"),
    ("sosialisasi", "sosialisasi"),
    ("dukungan_operasional", "atk_operasional"),
)
AUDITOR = Actor(role=Role.auditor)


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    level: RegionLevel


def plan_regions() -> list[Plan]:
    plans = [Plan(code, f"Provinsi {code}", RegionLevel.province) for code in PROVINCES]
    for index in range(REGENCIES):
        province = PROVINCES[index % len(PROVINCES)]
        plans.append(
            Plan(f"{province}.{index // len(PROVINCES) + 1:02d}", f"Kabupaten {index + 1}", RegionLevel.regency)
        )
    for index in range(CITIES):
        province = PROVINCES[index % len(PROVINCES)]
        plans.append(Plan(f"{province}.{index // len(PROVINCES) + 71:02d}", f"Kota {index + 1}", RegionLevel.city))
    return plans


ELECTION_OF = {
    RegionLevel.province: ElectionKind.governor,
    RegionLevel.regency: ElectionKind.regent,
    RegionLevel.city: ElectionKind.mayor,
}


def _fraction(rng: random.Random, low: int, high: int) -> Decimal:
    """A random fraction between ``low`` and ``high`` ten-thousandths, exact: money never meets a float."""
    return Decimal(rng.randrange(low, high + 1)) / 10_000


async def _csv_of(rows: int, spent: Decimal, rng: random.Random) -> AsyncIterator[bytes]:
    """The report's items as CSV, yielded in chunks; the amounts add up to ``spent`` exactly."""
    each = (spent / rows).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    last = spent - each * (rows - 1)
    yield b"spent_on,category,stage,description,amount,payee\n"
    lines = []
    for number in range(rows):
        stage, category = CATEGORIES[number % len(CATEGORIES)]
        amount = last if number == rows - 1 else each
        day = date(2024, 6 + rng.randrange(6), 1 + rng.randrange(28))
        lines.append(f"{day},{category},{stage},Belanja {category} {number},{amount},Penerima {number}\n")
        if len(lines) >= 5000:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


async def _agreement_cycle(
    tx: Transaction, agreement: AgreementOut, items: int, rng: random.Random, *, refund: bool
) -> None:
    first = (agreement.amount * Decimal("0.4")).quantize(Decimal("0.01"))
    for tranche, amount, paid_on in ((1, first, date(2024, 1, 25)), (2, agreement.amount - first, date(2024, 6, 14))):
        sp2d = f"SP2D-GEN-{agreement.id}-{tranche}"
        await ledger.disburse(
            tx,
            OPERATOR,
            agreement.id,
            DisbursementCreate(tranche=tranche, amount=amount, paid_on=paid_on, sp2d_number=sp2d),
        )
    reporter = Actor(role=Role.recipient, recipient_id=agreement.recipient_id)
    report = await reports.create_report(
        tx,
        reporter,
        agreement.id,
        ReportCreate(
            kind=ReportKind.final, title="Laporan akhir", period_start=agreement.signed_on, period_end=date(2025, 2, 28)
        ),
    )
    assert report.id is not None
    spent = (agreement.amount * _fraction(rng, 7800, 9700)).quantize(Decimal("0.01"))
    await import_items(tx, reporter, report.id, chunks=_csv_of(items, spent, rng), file_format=ImportFormat.csv)
    await ledger.submit(tx, reporter, report.id, None, at=SUBMITTED_AT)
    await ledger.accept(tx, AUDITOR, report.id, None, None)
    if refund:
        position = await grants.read_position(tx.sql, agreement.id)
        await ledger.refund(
            tx,
            OPERATOR,
            agreement.id,
            RefundCreate(amount=position.held, returned_on=date(2025, 4, 30), sts_number=f"STS-GEN-{agreement.id}"),
        )


async def generate_region(tx: Transaction, plan: Plan, items_per_agreement: int, rng: random.Random) -> int:
    """One region, its election, its four recipients and their grant cycles; returns the items written."""
    await reference.create_region(tx, OPERATOR, RegionCreate(code=plan.code, name=plan.name))
    election = await reference.create_election(
        tx,
        OPERATOR,
        ElectionCreate(
            name=f"Pilkada 2024 {plan.name}",
            kind=ELECTION_OF[plan.level],
            region_code=plan.code,
            voting_day=VOTING_DAY,
            winner_proposed_on=WINNER_PROPOSED_ON,
        ),
    )
    assert election.id is not None
    scale = Decimal(300_000_000_000 if plan.level == RegionLevel.province else 40_000_000_000)
    written = 0
    for kind, share in SHARE.items():
        recipient = await reference.create_recipient(
            tx,
            OPERATOR,
            RecipientCreate(name=f"{kind.value.upper()} {plan.name}", kind=kind, region_code=plan.code),
        )
        assert recipient.id is not None
        agreement = await grants.create_agreement(
            tx,
            OPERATOR,
            AgreementCreate(
                number=f"NPHD-GEN-{plan.code}-{kind.value}",
                election_id=election.id,
                recipient_id=recipient.id,
                signed_on=date(2024, 1, 10),
                scheme=Scheme.staged,
                amount=(scale * share * _fraction(rng, 5000, 15000)).quantize(Decimal("1.00")),
            ),
        )
        await _agreement_cycle(tx, agreement, items_per_agreement, rng, refund=rng.random() < 0.8)
        written += items_per_agreement
    return written


Advance = Callable[[int], None]


async def generate(engine: AsyncEngine, items: int, seed: int, advance: Advance) -> int:
    """Region by region, each in its own transaction, so progress survives and memory stays flat."""
    plans = plan_regions()
    per_agreement = max(1, items // (len(plans) * len(SHARE)))
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    written = 0
    for plan in plans:
        async with transaction(engine) as tx:
            written += await generate_region(tx, plan, per_agreement, rng)
        advance(1)
    return written
