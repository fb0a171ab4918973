"""The demo: Kota Probolinggo in Pilkada 2024, with its real figures, loaded through the services
(so the audit chain covers it, and the rules check it like any request).

The demo is a list of steps; each runs once per database (a ``demo.step`` audit event marks it), so a
restart loads nothing twice and a later step (the ledger, the reports) lands on an older demo database.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import col

from app.core.actor import OPERATOR
from app.core.audit import AuditEvent
from app.core.db import Transaction
from app.datasets.demo_reports import load_reports
from app.grants import service as grants
from app.grants.models import AmendmentReason, Scheme
from app.grants.schemas import AgreementCreate, AmendmentCreate, BudgetLineIn
from app.ledger import service as ledger
from app.ledger.schemas import DisbursementCreate
from app.reference import service as reference
from app.reference.models import Election, ElectionKind, Recipient, RecipientKind
from app.reference.schemas import ElectionCreate, RecipientCreate, RegionCreate
from app.support import service as support
from app.support.models import SupportKind
from app.support.schemas import SupportCreate, SupportReturn

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
    load: Callable[[Transaction], Awaitable[None]]


async def load_reference(tx: Transaction) -> None:
    for code, name in (PROVINCE, CITY):
        await reference.create_region(tx, OPERATOR, RegionCreate(code=code, name=name))
    await reference.create_election(
        tx,
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
            tx, OPERATOR, RecipientCreate(name=name, kind=kind, region_code=CITY[0], bank_name="Bank Jatim")
        )


@dataclass(frozen=True)
class DemoGrant:
    recipient: str
    number: str
    signed_on: date
    scheme: Scheme
    amount: str
    payments: tuple[tuple[int, str, date, str], ...]
    """(tranche, amount, paid_on, SP2D number)"""
    amendment: AmendmentCreate | None = None
    budget: tuple[tuple[str, str, str], ...] = ()
    """(stage, category, amount): the RAB."""


# KPU Kota Probolinggo: the real amount, and its real tranche I of only Rp1.3 billion (below the 40%
# of Permendagri 41/2020) in December 2023; the rest in 2024. Document numbers and the RAB split are
# illustrative.
KPU = DemoGrant(
    recipient="KPU Kota Probolinggo",
    number="001/NPHD/KPU-3574/XII/2023",
    signed_on=date(2023, 12, 4),
    scheme=Scheme.staged,
    amount="23116413980.00",
    payments=(
        (1, "1300000000.00", date(2023, 12, 19), "SP2D-3574-2023-12-00871"),
        (2, "12000000000.00", date(2024, 4, 25), "SP2D-3574-2024-04-00412"),
        (2, "9816413980.00", date(2024, 6, 14), "SP2D-3574-2024-06-00655"),
    ),
    budget=(
        ("pembentukan_badan_adhoc", "honorarium_adhoc", "2150000000.00"),
        ("pembentukan_badan_adhoc", "bimtek", "1100000000.00"),
        ("data_pemilih", "honorarium_adhoc", "900000000.00"),
        ("sosialisasi", "sosialisasi", "2400000000.00"),
        ("pencalonan", "rapat_konsumsi", "700000000.00"),
        ("kampanye", "percetakan", "1800000000.00"),
        ("logistik", "logistik", "3900000000.00"),
        ("logistik", "percetakan", "1250000000.00"),
        ("pemungutan_suara", "honorarium_adhoc", "4300000000.00"),
        ("pemungutan_suara", "santunan_kesehatan", "600000000.00"),
        ("rekapitulasi", "rapat_konsumsi", "650000000.00"),
        ("dukungan_operasional", "atk_operasional", "2366413980.00"),
        ("dukungan_operasional", "perjalanan_dinas", "1000000000.00"),
    ),
)
# Bawaslu Kota Probolinggo: the real NPHD of 2024-02-05 and its adendum of +Rp691,493,500.
BAWASLU = DemoGrant(
    recipient="Bawaslu Kota Probolinggo",
    number="002/NPHD/BAWASLU-3574/II/2024",
    signed_on=date(2024, 2, 5),
    scheme=Scheme.staged,
    amount="4715559500.00",
    payments=(
        (1, "1886223800.00", date(2024, 2, 16), "SP2D-3574-2024-02-00133"),
        (2, "3520829200.00", date(2024, 6, 20), "SP2D-3574-2024-06-00702"),
    ),
    amendment=AmendmentCreate(
        number="002/ADD-NPHD/BAWASLU-3574/VI/2024",
        signed_on=date(2024, 6, 1),
        new_amount=Decimal("5407053000.00"),
        reason=AmendmentReason.other,
        note="Tambahan kebutuhan pengawasan tahapan kampanye sampai penetapan",
    ),
)
# The security grants are plausible figures, not published ones.
POLRES = DemoGrant(
    recipient="Polres Probolinggo Kota",
    number="003/NPHD/POLRES-PROBOLINGGO-KOTA/I/2024",
    signed_on=date(2024, 1, 15),
    scheme=Scheme.staged,
    amount="2450000000.00",
    payments=(
        (1, "980000000.00", date(2024, 1, 29), "SP2D-3574-2024-01-00061"),
        (2, "1470000000.00", date(2024, 6, 10), "SP2D-3574-2024-06-00590"),
    ),
)
KODIM = DemoGrant(
    recipient="Kodim 0820/Probolinggo",
    number="004/NPHD/KODIM-0820/II/2024",
    signed_on=date(2024, 2, 20),
    scheme=Scheme.lump_sum,
    amount="850000000.00",
    payments=((1, "850000000.00", date(2024, 3, 5), "SP2D-3574-2024-03-00198"),),
)


async def _ids_by_name(tx: Transaction) -> tuple[int, dict[str, int]]:
    election = await tx.session.execute(
        sa.select(col(Election.id)).where(col(Election.region_code) == CITY[0], col(Election.voting_day) == VOTING_DAY)
    )
    recipients = await tx.session.execute(
        sa.select(col(Recipient.name), col(Recipient.id)).where(col(Recipient.region_code) == CITY[0])
    )
    named = {name: recipient_id for name, recipient_id in recipients if recipient_id is not None}
    election_id = election.scalar_one()
    assert election_id is not None
    return election_id, named


async def _load_grant(tx: Transaction, election_id: int, recipient_id: int, grant: DemoGrant) -> None:
    lines = [
        BudgetLineIn(stage=stage, category=category, amount=Decimal(amount)) for stage, category, amount in grant.budget
    ]
    terms = AgreementCreate(
        number=grant.number,
        election_id=election_id,
        recipient_id=recipient_id,
        signed_on=grant.signed_on,
        scheme=grant.scheme,
        amount=Decimal(grant.amount),
        budget_lines=lines or None,
    )
    agreement = await grants.create_agreement(tx, OPERATOR, terms)
    # In calendar order, so an adendum lands before the payments it made room for.
    timeline: list[tuple[date, DisbursementCreate | AmendmentCreate]] = [
        (paid_on, DisbursementCreate(tranche=tranche, amount=Decimal(amount), paid_on=paid_on, sp2d_number=sp2d))
        for tranche, amount, paid_on, sp2d in grant.payments
    ]
    if grant.amendment is not None:
        timeline.append((grant.amendment.signed_on, grant.amendment))
    for _, entry in sorted(timeline, key=lambda item: item[0]):
        if isinstance(entry, AmendmentCreate):
            await grants.amend(tx, OPERATOR, agreement.id, entry, None)
        else:
            await ledger.disburse(tx, OPERATOR, agreement.id, entry)


async def load_ledger(tx: Transaction) -> None:
    election_id, recipients = await _ids_by_name(tx)
    for grant in (KPU, BAWASLU, POLRES, KODIM):
        await _load_grant(tx, election_id, recipients[grant.recipient], grant)


# The city's support in kind (dukungan sarana dan prasarana): DEMO VALUES, plausible but not from a document
# (README: the demo). (recipient, kind, description, quantity, unit, value, handed over, BAST, returned, its BAST)
SUPPORT: list[tuple[str, SupportKind, str, str, str, str, date, str, date | None, str | None]] = [
    (
        "Bawaslu Kota Probolinggo",
        SupportKind.facility,
        "Ruang kantor sekretariat Bawaslu di Gedung Pemkot Probolinggo, Januari-Desember 2024",
        "240",
        "m2",
        "180000000.00",
        date(2024, 1, 15),
        "DEMO-BAST/027/425.103/2024",
        None,
        None,
    ),
    (
        "Bawaslu Kota Probolinggo",
        SupportKind.personnel,
        "ASN Pemkot diperbantukan ke sekretariat Bawaslu (4 orang, 12 bulan)",
        "48",
        "orang-bulan",
        "216000000.00",
        date(2024, 1, 15),
        "DEMO-BAST/028/425.103/2024",
        None,
        None,
    ),
    (
        "KPU Kota Probolinggo",
        SupportKind.asset_loan,
        "Kendaraan dinas roda empat Toyota Kijang Innova, pinjam pakai untuk distribusi logistik",
        "1",
        "unit",
        "385000000.00",
        date(2024, 5, 13),
        "DEMO-BAST/031/030/2024",
        date(2025, 2, 24),
        "DEMO-BAST/009/030/2025",
    ),
    (
        "KPU Kota Probolinggo",
        SupportKind.personnel,
        "ASN Pemkot diperbantukan ke sekretariat PPK (10 kecamatan/kelurahan, 6 bulan)",
        "60",
        "orang-bulan",
        "270000000.00",
        date(2024, 6, 3),
        "DEMO-BAST/035/030/2024",
        None,
        None,
    ),
]


async def load_support(tx: Transaction) -> None:
    election_id, recipients = await _ids_by_name(tx)
    for recipient, kind, description, quantity, unit, value, handed, bast, returned, return_bast in SUPPORT:
        given = SupportCreate(
            election_id=election_id,
            recipient_id=recipients[recipient],
            kind=kind,
            description=description,
            quantity=Decimal(quantity),
            unit=unit,
            value=Decimal(value),
            handed_over_on=handed,
            bast_number=bast,
        )
        record = await support.create(tx, OPERATOR, given)
        if returned is not None and return_bast is not None and record.id is not None:
            back = SupportReturn(returned_on=returned, return_bast_number=return_bast)
            await support.give_back(tx, OPERATOR, record.id, back, None)


STEPS: list[DemoStep] = [
    DemoStep("reference-2024", load_reference),
    DemoStep("ledger-2024", load_ledger),
    DemoStep("reports-2024", load_reports),
    DemoStep("support-2024", load_support),
]


async def _done_steps(tx: Transaction) -> set[str]:
    statement = sa.select(col(AuditEvent.entity_id)).where(col(AuditEvent.action) == "demo.step")
    return set((await tx.session.execute(statement)).scalars())


async def load_demo(tx: Transaction) -> list[str]:
    """Run the steps this database has not had yet; return their names."""
    # One loader at a time, even if two `serve --demo` start together on one database.
    await tx.sql.execute("SELECT pg_advisory_xact_lock(x'44454D4F'::bigint)")
    done = await _done_steps(tx)
    loaded = []
    for step in STEPS:
        if step.name in done:
            continue
        await step.load(tx)
        tx.record(OPERATOR, action="demo.step", entity="demo", entity_id=step.name, payload={})
        loaded.append(step.name)
    return loaded
